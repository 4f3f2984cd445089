"""No input crashes a parser: every registered field type turns ANY JSON value (as the API hands it
over: floats as Decimal, huge numbers, NaN, numbers spelled as strings, deep nesting) into a value
or an InvalidValue; a record payload into values or a ValidationFailed at the field's path; a list
filter into a condition or a ValidationFailed. Never another exception (which would be a 500)."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.actor import Actor
from engine.core.errors import BadRequest, ErrorCollector, ValidationFailed, pointer
from engine.records.query import parse_list_query
from engine.records.validation import validate_input
from engine.schema.field_types import InvalidValue, field_types
from engine.schema.model import compile_entity

OPTIONS = [{"key": "a"}, {"key": "b"}]

# Several configs per type: the checks a value meets differ with them (bounds, scale, patterns...).
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "text": [{}, {"max_length": 5, "min_length": 2, "pattern": "[a-z]+"}],
    "long_text": [{}],
    "integer": [{}, {"min": -10, "max": 10}],
    "decimal": [{}, {"precision": 15, "scale": 10}, {"precision": 1, "scale": 0}, {"min": "-0.5", "max": "99.99"}],
    "currency": [{}, {"precision": 4, "scale": 2, "currency": "EUR"}],
    "percent": [{}, {"min": 0, "max": 100}],
    "boolean": [{}],
    "date": [{}, {"min": "2020-01-01", "max": "2030-12-31"}],
    "datetime": [{}, {"min": "2020-01-01T00:00:00Z"}],
    "select": [{"options": OPTIONS}],
    "multi_select": [{"options": OPTIONS}, {"options": OPTIONS, "max_items": 1}],
    "email": [{}],
    "phone": [{}],
    "url": [{}],
    "relation": [{"target": "thing"}],
    "user": [{}],
    "auto_number": [{}],
    "json": [{}],
    "formula": [{"expression": "1", "returns": r} for r in ("number", "text", "boolean", "date", "datetime")],
    "attachment": [{}, {"max_files": 1, "required": True}],
}

NUMBER_TEXTS = [
    "1e26", "-1e26", "1e300", "1e-300", "1E+999999999", "-1e999999999", "1e-999999999", "1e999999999999999999",
    "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", " 12.5 ", "0x10", "1_000", "9" * 400,
    "0." + "0" * 400 + "1", "12.345", "-0", "1e", "", "   ",
]  # fmt: skip
DECIMAL_TEXTS = ["1e26", "-1e26", "1e300", "1e-300", "1E+999999999", "1e-999999999", "9" * 60, "0.1", "19.99", "12.345",
                 "-0", "1e15", "99999999999999.5", "NaN", "sNaN", "Infinity"]  # fmt: skip
DECIMALS = [Decimal(t) for t in DECIMAL_TEXTS]
SPECIAL_FLOATS = [1e26, 1e300, -1e300, 5e-324, float("nan"), float("inf"), float("-inf"), 1.7976931348623157e308]
HUGE_INTS = [2**63, -(2**63), 2**64, 10**40, -(10**100), 2**63 - 1, 0, -1]


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(HUGE_INTS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(SPECIAL_FLOATS),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.sampled_from(DECIMALS),
        st.text(max_size=30),
        st.sampled_from(NUMBER_TEXTS),
        st.sampled_from(["a", "b", "2026-11-23", "2026-02-30", "2026-11-23T09:30:00+08:00", "9999-12-31T23:59:59-23:59",
                         "ada@example.com", "https://example.com", "Fq3x9T0bYk2LmN8pQr4sUv", "\x00"]),
    )  # fmt: skip


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=12,
    )


def nested(depth: int) -> Any:
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def field_doc(key: str, variant: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return {"key": f"f_{key}_{i}", "type": key, **variant}


def all_fields() -> list[dict[str, Any]]:
    return [field_doc(k, v, i) for k, vs in VARIANTS.items() for i, v in enumerate(vs)]


ENTITY = compile_entity(
    SimpleNamespace(id=1, key="thing", version=1, table_name="t_app_thing", removed_fields=[],
                    definition={"key": "thing", "label": "Thing", "fields": all_fields()}),
    "app",
)  # fmt: skip
FIELD_KEYS = sorted(ENTITY.fields)


def test_every_registered_type_is_covered():
    assert {ft.key for ft in field_types()} == set(VARIANTS), "add variants for new field types"


CASES = [(k, v) for k, vs in VARIANTS.items() for v in vs]


@pytest.mark.parametrize(("key", "variant"), CASES, ids=[f"{k}-{i}" for k, vs in VARIANTS.items() for i in range(len(vs))])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values())
def test_parse_turns_any_json_into_a_value_or_invalid_value(key, variant, value):
    ft = field_types()[key]
    cfg = ft.config.model_validate(field_doc(key, variant))
    parse = ft.parser(cfg)
    if value is None:
        return  # null never reaches a parser (the record service handles it)
    try:
        parsed = parse(value)
    except InvalidValue as exc:
        assert exc.code and exc.message
        return
    ft.dump(cfg, parsed)  # what was accepted can be written back


TROUBLEMAKERS = [*NUMBER_TEXTS, *DECIMALS, *SPECIAL_FLOATS, *HUGE_INTS, nested(40), nested(2000), [Decimal("1E+999999999")]]


@pytest.mark.parametrize("key", sorted(VARIANTS))
def test_parse_known_troublemakers(key):
    """Each once, whatever hypothesis draws: 1e999999999 in a json field once took minutes (int())."""
    ft = field_types()[key]
    for variant in VARIANTS[key]:
        cfg = ft.config.model_validate(field_doc(key, variant))
        for value in TROUBLEMAKERS:
            with contextlib.suppress(InvalidValue):
                ft.dump(cfg, ft.parse(cfg, value))


# -- a whole record ---------------------------------------------------------------------------------

ACTOR = Actor(user_id=1, is_admin=True)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(json_values(), st.dictionaries(st.sampled_from(FIELD_KEYS), json_values(), max_size=8)),
       partial=st.booleans())  # fmt: skip
def test_a_record_payload_gives_values_or_validation_failed_at_field_paths(data, partial):
    errors = ErrorCollector()
    values = validate_input(ENTITY, data, ACTOR, errors, partial=partial)
    try:
        errors.raise_if_any()
    except ValidationFailed as exc:
        at = {pointer(k) for k in (data if isinstance(data, dict) else ())} | {pointer(k) for k in ENTITY.fields}
        for e in exc.errors:
            assert (e.path == "" and not isinstance(data, dict)) or e.path in at, e
        return
    assert set(values) <= set(ENTITY.fields)


# -- a list filter ----------------------------------------------------------------------------------


def _filter_text(doc: Any) -> str:
    # As a client sends it in the query string: plain JSON numbers, NaN/Infinity literals included
    # (Python's parser reads them), decimals beyond float's range as their own digits.
    if isinstance(doc, Decimal):
        return str(doc) if doc.is_finite() else "NaN" if doc.is_nan() else "Infinity" if doc > 0 else "-Infinity"
    if isinstance(doc, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_filter_text(v)}" for k, v in doc.items()) + "}"
    if isinstance(doc, list):
        return "[" + ", ".join(_filter_text(v) for v in doc) + "]"
    return json.dumps(doc)


def comparisons() -> st.SearchStrategy[Any]:
    from engine.expr.operators import OPS_BY_TYPE
    from engine.schema.field_types.formula import value_type

    def one(key: str) -> st.SearchStrategy[Any]:
        ops = sorted(OPS_BY_TYPE.get(value_type(ENTITY.fields[key].cfg), frozenset()) | {"eq", "nope"})
        return st.fixed_dictionaries({"field": st.just(key), "op": st.sampled_from(ops)}, optional={"value": json_values()})

    leaf = st.sampled_from(FIELD_KEYS).flatmap(one)
    return st.recursive(
        st.one_of(leaf, json_values()),
        lambda inner: st.one_of(
            st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
            st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
            st.fixed_dictionaries({"not": inner}),
        ),
        max_leaves=6,
    )


def list_query(filter: str | None = None, sort: str | None = None, cursor: str | None = None) -> Any:
    return parse_list_query(ENTITY, filter=filter, sort=sort, limit=50, cursor=cursor, fields=None, expand=None, count=False)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=comparisons())
def test_a_list_filter_gives_a_condition_or_validation_failed(doc):
    try:
        list_query(_filter_text(doc))
    except ValidationFailed as exc:
        assert all(e.path.startswith("/filter") and e.code and e.message for e in exc.errors)
    except BadRequest:
        pass  # not JSON at all (an int with more digits than Python reads)


NUMERIC_FIELDS = [k for k in FIELD_KEYS if k.startswith(("f_decimal", "f_currency", "f_percent", "f_integer", "f_formula_0"))]
ODD_NUMBERS = ["1e26", "-1e300", "1e999999999", "NaN", "Infinity", '"1e26"', '"NaN"', "9" * 50]


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
@pytest.mark.parametrize("op", ["eq", "gt", "between", "in"])
def test_numeric_filters_with_huge_or_odd_numbers_are_refused_at_the_value(field, op):
    for literal in ODD_NUMBERS:
        value = f"[{literal}, 1]" if op in ("between", "in") else literal
        with pytest.raises(ValidationFailed) as exc:
            list_query(f'{{"field": "{field}", "op": "{op}", "value": {value}}}')
        where = "/filter/value/0" if op in ("between", "in") else "/filter/value"
        assert [e.path for e in exc.value.errors] == [where], (literal, exc.value.errors)


@settings(max_examples=200, deadline=None)
@given(sort=st.text(max_size=40), cursor=st.one_of(st.none(), st.text(max_size=60)))
def test_sort_and_cursor_give_a_query_or_a_client_error(sort, cursor):
    with contextlib.suppress(ValidationFailed, BadRequest):
        list_query(sort=sort, cursor=cursor)
