"""The field-type contract, checked for every registered type: a config model with a valid JSON
Schema, a column that compiles on both databases, a valid value schema, and values that survive
parse -> store -> dump unchanged and match the published value schema.

A new field type must add its samples below; the first test fails until it does."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from engine.api.jsonio import dumps, loads
from engine.core.errors import ValidationFailed
from engine.schema.definition import parse_entity
from engine.schema.field_types import FieldType, InvalidValue, field_types
from engine.schema.jsonschema import entity_schema
from engine.schema.model import bind, build_table
from tests.factories import ACCOUNT, LEAD

ROOT = Path(__file__).resolve().parents[3]
DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}
OPTIONS = [{"key": "a", "label": {"en": "A"}}, {"key": "b", "color": "#1f77b4"}]

# Type-specific parameters a sample field needs (beyond key and type).
CONFIGS: dict[str, dict[str, Any]] = {
    "text": {"max_length": 300},
    "decimal": {"precision": 15, "scale": 2},
    "currency": {"currency": "EUR"},
    "select": {"options": OPTIONS},
    "multi_select": {"options": OPTIONS},
    "relation": {"target": "account"},
    "auto_number": {"prefix": "INV-", "digits": 5},
    "formula": {"expression": "ROUND(1 / 3, 2)", "scale": 2},
}

# Valid values, written as the JSON a client sends; each must come back as the same JSON.
SAMPLES: dict[str, list[str]] = {
    "text": ['"Hello, 世界"', '""', json.dumps("x" * 300), json.dumps("'; DROP TABLE t; -- <b>")],
    "long_text": [json.dumps("line 1\nline 2\ttabbed " + "é" * 1000)],
    "integer": ["0", "42", "-7", str(2**63 - 1), str(-(2**63 - 1))],
    "decimal": ["0", "12", "-0.5", "0.1", "1234.56", "19.99", "9999999999999.99"],
    "currency": ["19.99", "0.07", "100"],
    "percent": ["12.5", "100", "0.01"],
    "boolean": ["true", "false"],
    "date": ['"2026-11-23"', '"2024-02-29"', '"0001-01-01"'],
    "datetime": ['"2026-11-23T01:30:00Z"', '"2026-11-23T01:30:00.123456Z"', '"1970-01-01T00:00:00Z"'],
    "select": ['"a"', '"b"'],
    "multi_select": ['["a", "b"]', '["b"]', "[]"],
    "email": ['"ada@example.com"', '"first.last+tag@sub.example.org"'],
    "phone": ['"+86 138 0000 0000"', '"(021) 5555-0100"'],
    "url": ['"https://example.com/a?b=c#d"', '"http://localhost:8000/"'],
    "relation": ["1", str(2**63 - 1)],
    "user": ["3"],
    "json": ['{"a": [1, 2.5, null, true], "b": {"c": "d"}}', '[1, "x"]', '"text"', "3.25", "0", "false"],
    "formula": ["0", "0.33", "-12.5", "9999999999999.99"],  # values of what it returns (a number here)
    "attachment": ["[]", '["Fq3x9T0bYk2LmN8pQr4sUv"]', '["Fq3x9T0bYk2LmN8pQr4sUv", "a-b_c-d_e-f_g-h_i"]'],
}

# Values a type accepts but writes back in its canonical form.
NORMALISED: list[tuple[str, str, Any]] = [
    ("email", '"  Ada@Example.COM "', "ada@example.com"),
    ("datetime", '"2026-11-23T09:30:00+08:00"', "2026-11-23T01:30:00Z"),
    ("datetime", '"2026-11-23T01:30:00"', "2026-11-23T01:30:00Z"),
    ("multi_select", '["b", "a", "b"]', ["a", "b"]),
    ("decimal", "1.50", 1.5),
    ("decimal", "2.000", 2),
    ("integer", "3.0", 3),
    ("attachment", '[{"id": "Fq3x9T0bYk2LmN8pQr4sUv", "name": "a.pdf", "size": 3}]', ["Fq3x9T0bYk2LmN8pQr4sUv"]),
]

TYPE_KEYS = [ft.key for ft in field_types()]
VALUE_CASES = [(key, text) for key in TYPE_KEYS for text in SAMPLES.get(key, [])]


def config_doc(key: str) -> dict[str, Any]:
    return {"key": "f", "type": key, **CONFIGS.get(key, {})}


def config_of(ft: FieldType) -> Any:
    return ft.config.model_validate(config_doc(ft.key))


def value_validator(ft: FieldType) -> Draft202012Validator:
    schema = ft.value_schema(config_of(ft))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def as_json(value: Any) -> Any:
    """What a client reads: the value written by the API's JSON encoder, parsed by a plain client."""
    return json.loads(dumps(value))


def test_every_registered_type_has_samples():
    generated = {ft.key for ft in field_types() if ft.generated}
    assert set(TYPE_KEYS) - generated == set(SAMPLES), "add samples for new field types"
    assert generated <= set(CONFIGS)


# -- config model ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", TYPE_KEYS)
def test_config_model_has_a_valid_json_schema_that_accepts_the_sample_config(key):
    ft = field_types()[key]
    schema = ft.config.model_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"].get("const") == key
    Draft202012Validator(schema).validate(config_doc(key))
    cfg = config_of(ft)
    assert cfg.type == key
    assert ft.check_config(cfg) == []


@pytest.mark.parametrize("key", TYPE_KEYS)
def test_config_json_schema_refuses_what_the_model_refuses(key):
    ft = field_types()[key]
    validator = Draft202012Validator(ft.config.model_json_schema())
    for bad in (
        config_doc(key) | {"unknown_option": 1},
        config_doc(key) | {"key": "Not A Key"},
        config_doc(key) | {"type": "something_else"},
        {k: v for k, v in config_doc(key).items() if k != "key"},
    ):
        assert not validator.is_valid(bad), bad
        with pytest.raises(ValueError):
            ft.config.model_validate(bad)


# -- storage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("key", TYPE_KEYS)
def test_column_type_compiles_on_both_databases(key, dialect):
    ft = field_types()[key]
    cfg = config_of(ft)
    sql = ft.column_type(cfg).compile(dialect=DIALECTS[dialect])
    assert isinstance(sql, str) and sql
    # And as part of a real entity table, with the unique and plain indexes a field can have.
    for variant in ({}, {"unique": True}, {"indexed": True}):
        table = build_table("app__thing", bind([ft.config.model_validate(config_doc(key) | variant)]))
        ddl = str(CreateTable(table).compile(dialect=DIALECTS[dialect]))
        assert re.search(r"\bf\b", ddl), ddl
        for index in table.indexes:
            assert str(CreateIndex(index).compile(dialect=DIALECTS[dialect]))


# -- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", TYPE_KEYS)
def test_value_schema_is_a_valid_json_schema(key):
    ft = field_types()[key]
    schema = ft.value_schema(config_of(ft))
    assert isinstance(schema, dict)
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(("key", "text"), VALUE_CASES)
def test_sample_value_round_trips_and_matches_the_value_schema(key, text):
    ft = field_types()[key]
    cfg = config_of(ft)
    sent = loads(text.encode())  # exactly what the API hands to the field type (floats as Decimal)
    stored = ft.parse(cfg, sent)
    dumped = ft.dump(cfg, stored)
    assert as_json(dumped) == json.loads(text)
    errors = [e.message for e in value_validator(ft).iter_errors(as_json(dumped))]
    assert errors == [], f"{key} value {text} does not match its own value schema {ft.value_schema(cfg)}: {errors}"
    # Parsing what was written back gives the same stored value (a client can send it back).
    assert ft.parse(cfg, loads(dumps(dumped))) == stored


@pytest.mark.parametrize(("key", "text", "canonical"), NORMALISED)
def test_values_are_written_back_in_canonical_form(key, text, canonical):
    ft = field_types()[key]
    cfg = config_of(ft)
    dumped = ft.dump(cfg, ft.parse(cfg, loads(text.encode())))
    assert as_json(dumped) == canonical
    assert value_validator(ft).is_valid(as_json(dumped))


def test_auto_number_is_generated_and_its_format_matches_the_value_schema():
    ft = field_types()["auto_number"]
    cfg = config_of(ft)
    with pytest.raises(InvalidValue) as exc:
        ft.parse(cfg, "INV-00001")
    assert exc.value.code == "read_only"
    assert ft.format(cfg, 1) == "INV-00001"
    assert value_validator(ft).is_valid(ft.dump(cfg, ft.format(cfg, 12345)))
    assert ft.value_schema(cfg)["readOnly"] is True


@pytest.mark.parametrize("key", TYPE_KEYS)
def test_invalid_values_raise_invalid_value_with_a_code(key):
    """Every type refuses a value of the wrong JSON kind with InvalidValue (never another exception)."""
    ft = field_types()[key]
    cfg = config_of(ft)
    if key == "json":
        return  # every JSON value is a valid json field value
    wrong = {"boolean": "true", "multi_select": "a"}.get(key, {"not": "a scalar"})
    with pytest.raises(InvalidValue) as exc:
        ft.parse(cfg, wrong)
    assert exc.value.code and exc.value.message


# -- the published entity schema ------------------------------------------------------------------


def test_published_entity_schema_matches_the_engine():
    published = json.loads((ROOT / "docs" / "schemas" / "entity.schema.json").read_text())
    assert published == json.loads(json.dumps(entity_schema())), "run the schema export to refresh docs/schemas"


def test_entity_schema_is_valid_and_accepts_the_test_definitions():
    schema = entity_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    for doc in (LEAD, ACCOUNT):
        assert [e.message for e in validator.iter_errors(doc)] == []
        parse_entity(doc, field_types())  # and the engine agrees


def test_entity_schema_accepts_a_field_of_every_type():
    doc = {"key": "thing", "label": "Thing", "fields": [config_doc(k) | {"key": f"f_{k}"} for k in TYPE_KEYS]}
    assert [e.message for e in Draft202012Validator(entity_schema()).iter_errors(doc)] == []
    assert [f.type for f in parse_entity(doc, field_types()).fields] == TYPE_KEYS


@pytest.mark.parametrize(
    "change",
    [
        {"key": "Lead"},
        {"extra": True},
        {"fields": []},
        {"fields": [{"key": "id", "type": "integer"}]},
        {"fields": [{"key": "x", "type": "nope"}]},
        {"fields": [{"key": "x", "type": "text", "precision": 3}]},
        {"fields": [{"key": "x", "type": "select"}]},
    ],
    ids=["bad-key", "extra-key", "no-fields", "reserved-field", "unknown-type", "foreign-option", "select-no-options"],
)
def test_entity_schema_refuses_what_the_engine_refuses(change):
    doc = {"key": "thing", "label": "Thing", "fields": [{"key": "name", "type": "text"}]} | change
    assert not Draft202012Validator(entity_schema()).is_valid(doc)
    with pytest.raises(ValidationFailed):
        parse_entity(doc, field_types())
