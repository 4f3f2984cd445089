"""A formula field is offered by the type it returns (the ten-minute app's "days > 3" and "sum of days"): to the
condition builder (process branches, rules, lists) and to the chart designer."""

from __future__ import annotations

from types import SimpleNamespace

from builder_ui.fields import FieldView, filter_fields, value_kind


def _formula(returns: str) -> FieldView:
    return FieldView("days", "formula", "天数", cfg=SimpleNamespace(type="formula", returns=returns, scale=2))


def test_a_number_formula_is_compared_and_summed_as_a_number():
    days = _formula("number")
    assert value_kind(days) == "decimal"
    [offered] = filter_fields({"days": days}, lambda s: s)
    assert offered["key"] == "days" and offered["type"] == "decimal" and "gt" in offered["ops"]


def test_other_fields_keep_their_type_and_a_text_formula_gets_text_operators():
    assert value_kind(FieldView("n", "integer", "N")) == "integer"
    [offered] = filter_fields({"t": _formula("text")}, lambda s: s)
    assert offered["type"] == "long_text" and "contains" in offered["ops"]
