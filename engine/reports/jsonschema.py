"""The published JSON Schemas of chart and dashboard definitions (docs/schemas/chart.schema.json and
dashboard.schema.json), generated from the pydantic models the engine parses with, so an editor, a linter or
the builder UI checks a chart the way a save does. The schemas check the shape; whether fields exist, may be
read by the viewer and fit their aggregates is checked by the engine (engine.reports.compile) when a chart is
saved or run.
"""

from __future__ import annotations

from typing import Any

from engine.reports.definition import AGGREGATES, ChartDefinition, DashboardDefinition
from engine.schema.jsonschema import published

DERIVED = ("ratio", "percent_of_total", "running_total", "change")


def chart_schema() -> dict[str, Any]:
    """A chart document: source, joins, dimensions, measures, filter, sort and limit, with the rules the
    models' validators check across fields written out (a schema generated from the fields alone misses them)."""
    schema = ChartDefinition.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = schema["$defs"]
    defs["Join"]["allOf"] = [_reverse_join_names_its_entity()]
    defs["Bins"]["allOf"] = [{"oneOf": [_given("width"), _given("edges")]}]  # "strictly ascending edges" is the engine's
    defs["Dimension"]["allOf"] = [{"not": {"allOf": [_given("bucket"), _given("bins")]}}]
    defs["Measure"]["allOf"] = _measure_rules()
    return published("chart", "Tangram chart definition", schema)


def dashboard_schema() -> dict[str, Any]:
    """A dashboard document: its tiles (charts by key, placed on a 24-column grid) and default filters."""
    schema = DashboardDefinition.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    return published("dashboard", "Tangram dashboard definition", schema)


def _reverse_join_names_its_entity() -> dict[str, Any]:
    """A reverse join names the entity holding the relation (`entity`); a forward join does not."""
    reverse = {"required": ["direction"], "properties": {"direction": {"const": "reverse"}}}
    return {"if": reverse, "then": _given("entity"), "else": {"not": _given("entity")}}


def _measure_rules() -> list[dict[str, Any]]:
    """Measure._kind: one aggregate or one derived measure; field/expr/where only on aggregates; an
    aggregate other than count over exactly one of field or expr; count over a field or over rows, never expr."""
    is_agg = _given("agg")
    counted = {"required": ["agg"], "properties": {"agg": {"const": "count"}}}
    other_agg = {"required": ["agg"], "properties": {"agg": {"enum": [a for a in AGGREGATES if a != "count"]}}}
    return [
        {"oneOf": [is_agg, *(_given(d) for d in DERIVED)]},
        {"if": {"not": is_agg}, "then": {"not": {"anyOf": [_given("field"), _given("expr"), _given("where")]}}},
        {"if": other_agg, "then": {"oneOf": [_given("field"), _given("expr")]}},
        {"if": counted, "then": {"not": _given("expr")}},
    ]


def _given(key: str) -> dict[str, Any]:
    """The key is present with a value (pydantic reads an explicit null as not given)."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}
