"""The chart and dashboard designers' island: the stored definition reaches the page in its stored key order
(so saving it back unchanged is byte for byte the same) and cannot close its script block."""

from __future__ import annotations

import json

from builder_ui.builder.charts import island_json, stored


def test_the_island_keeps_the_stored_key_order_and_escapes_html() -> None:
    chart = {"key": "d1", "type": "funnel", "label": {"zh-CN": "漏斗", "en": "</script><b>"}, "filter": {"op": "eq"}}
    text = str(island_json({"chart": chart}))
    assert "</script>" not in text and "<b>" not in text
    assert list(json.loads(text)["chart"]) == ["key", "type", "label", "filter"]
    assert list(json.loads(text)["chart"]["label"]) == ["zh-CN", "en"]


def test_a_stored_row_gives_back_its_definition_and_version() -> None:
    definition, version = stored({"key": "d1", "type": "kpi", "id": 7, "app": "crm", "version": 3, "updated_at": "x"})
    assert definition == {"key": "d1", "type": "kpi"} and version == 3


def test_every_word_the_designers_hand_to_their_modules_is_translated() -> None:
    from builder_ui.builder import charts, dashboards
    from builder_ui.i18n import gettext

    zh = gettext("zh-CN")
    same = lambda text, **_: text  # noqa: E731
    words = [*charts._strings(same).values(), *dashboards._strings(same).values()]
    words += [name for name, _icon in charts.TYPE_WORDS.values()] + [*charts.AGG_WORDS.values(), *charts.BUCKET_WORDS.values()]
    words += [name for name, _n in (*dashboards.WIDTHS, *dashboards.HEIGHTS) if name.isalpha() or " " in name]
    assert [w for w in words if zh(w) == w] == []


def test_a_number_formula_is_offered_as_a_number_so_it_can_be_summed() -> None:
    """F5: the project's margin (a formula) is added up in the margin chart, not only counted."""
    from builder_ui.fields import FieldView, value_kind  # value_kind: what the chart designer offers aggregates by
    from engine.schema.field_types.formula import FormulaConfig

    margin = FormulaConfig.model_validate({"key": "margin", "type": "formula", "expression": "a - b"})
    when = FormulaConfig.model_validate({"key": "due", "type": "formula", "expression": "TODAY()", "returns": "date"})
    assert value_kind(FieldView("margin", "formula", "Margin", cfg=margin)) == "decimal"
    assert value_kind(FieldView("due", "formula", "Due", cfg=when)) == "date"
    assert value_kind(FieldView("name", "text", "Name")) == "text"
