"""The published chart and dashboard schemas accept what the engine accepts: the user guide's charts and
dashboards (the worked examples D1-D4 among them) validate against them and parse with the engine's own
models; documents a save would refuse (a measure both aggregate and ratio, a reverse join without its entity,
a dimension both bucketed and binned...) do not validate, and the engine refuses them at the same place."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.core.errors import ErrorCollector
from engine.reports.charts import chart_types
from engine.reports.definition import parse_chart, parse_dashboard
from engine.reports.jsonschema import chart_schema, dashboard_schema

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "user-guide" / "charts-and-dashboards.md"
FENCED_JSON = re.compile(r"```json\n(.*?)```", re.DOTALL)
WORKED_EXAMPLES = {  # scenario -> the charts the guide builds for it
    "D1": {"sales_funnel"},
    "D2": {"rep_leaderboard", "payments_by_rep", "forecast_by_month"},
    "D3": {"csat_trend", "service_times"},
    "D4": {"channel_roi"},
}
OTHER_CHARTS = {"pipeline_by_month", "won_this_month", "amount_by_region_stage", "revenue_map"}


def guide_documents() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every complete chart (source and measures) and dashboard (tiles) in the guide's JSON blocks, by key."""
    charts, dashboards = {}, {}
    for block in FENCED_JSON.findall(GUIDE.read_text()):
        try:
            doc = json.loads(block)
        except json.JSONDecodeError:
            continue  # fragments ("joins": [...]) and one snippet per line
        if isinstance(doc, dict) and "source" in doc and "measures" in doc:
            charts[doc["key"]] = doc
        elif isinstance(doc, dict) and "tiles" in doc:
            dashboards[doc["key"]] = doc
    return charts, dashboards


def guide_snippets(is_kind: Any) -> list[dict[str, Any]]:
    """Single objects shown one per line (measures, joins) that `is_kind` recognises."""
    found = []
    for block in FENCED_JSON.findall(GUIDE.read_text()):
        for line in block.splitlines():
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict) and is_kind(doc):
                found.append(doc)
    return found


CHARTS, DASHBOARDS = guide_documents()


@pytest.fixture(scope="module")
def charts() -> Draft202012Validator:
    return Draft202012Validator(chart_schema())


@pytest.fixture(scope="module")
def dashboards() -> Draft202012Validator:
    return Draft202012Validator(dashboard_schema())


@pytest.mark.parametrize(("make", "name"), [(chart_schema, "chart"), (dashboard_schema, "dashboard")])
def test_the_schemas_are_valid_draft_2020_12(make: Any, name: str) -> None:
    schema = make()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://tangram.dev/schemas/{name}.schema.json"
    assert schema["title"] == f"Tangram {name} definition"


def test_the_guide_has_every_worked_example_and_the_dashboard() -> None:
    assert set(CHARTS) == set().union(*WORKED_EXAMPLES.values()) | OTHER_CHARTS
    assert set(DASHBOARDS) == {"sales_cockpit"}


@pytest.mark.parametrize("key", sorted(set().union(*WORKED_EXAMPLES.values()) | OTHER_CHARTS))
def test_guide_chart_validates_and_parses(charts: Draft202012Validator, key: str) -> None:
    doc = CHARTS[key]
    assert [e.message for e in charts.iter_errors(doc)] == []
    errors = ErrorCollector()
    chart = parse_chart(doc, errors)
    assert [(e.path, e.message) for e in errors.errors] == []
    assert chart is not None
    assert _keeps(chart.to_json(), doc)  # nothing the guide writes is dropped or changed


@pytest.mark.parametrize("key", sorted(set().union(*WORKED_EXAMPLES.values()) | OTHER_CHARTS))
def test_guide_chart_fits_its_chart_type(key: str) -> None:
    """Dimension and measure counts and the type's options (compare, cumulative, rows/columns) as a save checks them."""
    errors = ErrorCollector()
    chart = parse_chart(CHARTS[key], errors)
    assert chart is not None
    chart_types()[chart.type].check(chart, errors)
    assert [(e.path, e.message) for e in errors.errors] == []


def _keeps(parsed: Any, written: Any) -> bool:
    """`parsed` holds everything `written` says (and may add defaults: a join's "from": "source")."""
    if isinstance(written, dict):
        return isinstance(parsed, dict) and all(k in parsed and _keeps(parsed[k], v) for k, v in written.items())
    if isinstance(written, list):
        return isinstance(parsed, list) and len(parsed) == len(written) and all(map(_keeps, parsed, written))
    return parsed == written


def test_guide_dashboard_validates_parses_and_shows_guide_charts(dashboards: Draft202012Validator) -> None:
    doc = DASHBOARDS["sales_cockpit"]
    assert [e.message for e in dashboards.iter_errors(doc)] == []
    errors = ErrorCollector()
    dashboard = parse_dashboard(doc, errors)
    assert errors.errors == []
    assert dashboard is not None
    assert [t.chart for t in dashboard.tiles] == ["won_this_month", "sales_funnel", "rep_leaderboard", "forecast_by_month"]
    assert {t.chart for t in dashboard.tiles} <= set(CHARTS)
    assert dashboard.filters.relative == "this_quarter" and dashboard.filters.teams == ["east"]


def test_guide_measure_and_join_snippets_are_valid(charts: Draft202012Validator) -> None:
    schema = chart_schema()
    measure = Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/Measure"})
    join = Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/Join"})
    measures = guide_snippets(lambda d: "key" in d and "source" not in d and "chart" not in d)
    joins = guide_snippets(lambda d: "as" in d)
    assert len(measures) >= 10 and len(joins) >= 3
    for doc in measures:
        assert [e.message for e in measure.iter_errors(doc)] == [], doc
        assert _engine_errors(_chart(measures=[doc])) == [], doc
    for doc in joins:
        assert [e.message for e in join.iter_errors(doc)] == [], doc
        assert _engine_errors(_chart(joins=[doc])) == [], doc


def _chart(**parts: Any) -> dict[str, Any]:
    """A minimal chart around the parts under test; derived measures get the measures they read."""
    doc: dict[str, Any] = {"key": "probe", "type": "table", "source": "opportunity", "measures": [{"key": "n", "agg": "count"}]}
    return doc | parts


def _engine_errors(doc: dict[str, Any]) -> list[tuple[str, str]]:
    errors = ErrorCollector()
    parse_chart(doc, errors)
    return [(e.path, e.code) for e in errors.errors]


def _funnel() -> dict[str, Any]:
    return copy.deepcopy(CHARTS["sales_funnel"])


def _roi() -> dict[str, Any]:
    return copy.deepcopy(CHARTS["channel_roi"])


@pytest.mark.parametrize(
    ("measure", "valid"),
    [
        ({"key": "m", "agg": "sum", "field": "amount", "ratio": ["deals", "amount"]}, False),  # aggregate and derived
        ({"key": "m", "ratio": ["deals", "amount"], "running_total": "deals"}, False),  # two derived kinds
        ({"key": "m", "label": "Nothing"}, False),  # neither
        ({"key": "m", "ratio": ["deals", "amount"], "where": {"field": "stage", "op": "eq", "value": "won"}}, False),
        ({"key": "m", "percent_of_total": "amount", "field": "amount"}, False),  # field belongs to aggregates
        ({"key": "m", "agg": "sum"}, False),  # sum of what?
        ({"key": "m", "agg": "avg", "field": "amount", "expr": "amount * 2"}, False),  # both
        ({"key": "m", "agg": "count", "expr": "amount * 2"}, False),  # count takes a field or nothing
        ({"key": "m", "agg": "count_distinct", "expr": "LOWER(name)"}, True),
        ({"key": "m", "agg": "count", "field": "amount"}, True),
        ({"key": "m", "agg": "median", "field": "amount", "ratio": None, "expr": None}, True),  # null is not given
        ({"key": "m", "agg": "mode", "field": "amount"}, False),  # no such aggregate
        ({"key": "m", "agg": "sum", "field": "opps.account.amount"}, False),  # one dot at most
        ({"key": "m", "agg": "sum", "field": "amount", "fromat": "currency"}, False),  # unknown key
    ],
)
def test_measure_rules_match_the_engine(charts: Draft202012Validator, measure: dict[str, Any], valid: bool) -> None:
    doc = _funnel()
    doc["measures"].append(measure)
    assert charts.is_valid(doc) is valid
    engine_errors = _engine_errors(doc)
    assert (engine_errors == []) is valid
    if not valid:
        assert engine_errors[0][0].startswith("/measures/2")


@pytest.mark.parametrize(
    ("join", "valid"),
    [
        ({"as": "leads", "direction": "reverse", "field": "campaign"}, False),  # reverse without entity
        ({"as": "acct", "field": "account", "entity": "account"}, False),  # forward with entity
        ({"as": "acct", "field": "account", "direction": "forward", "entity": "account"}, False),
        ({"as": "acct", "field": "account", "direction": "forward"}, True),
        ({"as": "leads", "direction": "reverse", "entity": "lead", "field": "campaign", "required": True}, True),
        ({"as": "Leads", "direction": "reverse", "entity": "lead", "field": "campaign"}, False),  # keys are lower case
        ({"as": "leads", "direction": "sideways", "entity": "lead", "field": "campaign"}, False),
    ],
)
def test_join_rules_match_the_engine(charts: Draft202012Validator, join: dict[str, Any], valid: bool) -> None:
    doc = _roi()
    doc["joins"][0] = join
    assert charts.is_valid(doc) is valid
    engine_errors = _engine_errors(doc)
    assert (engine_errors == []) is valid
    if not valid:
        assert engine_errors[0][0].startswith("/joins/0")


@pytest.mark.parametrize(
    ("dimension", "valid"),
    [
        ({"field": "amount", "bucket": "month", "bins": {"width": 1000}}, False),  # bucket and bins
        ({"field": "amount", "bins": {"width": 1000, "edges": [0, 10]}}, False),  # width and edges
        ({"field": "amount", "bins": {"start": 5}}, False),  # neither
        ({"field": "amount", "bins": {"width": 0}}, False),
        ({"field": "amount", "bins": {"width": 1000, "start": 500}}, True),
        ({"field": "amount", "bins": {"edges": [0, 10000, 100000]}}, True),
        ({"field": "created_at", "bucket": "fortnight"}, False),
        ({"field": "created_at", "bucket": "week", "bins": None}, True),
    ],
)
def test_dimension_rules_match_the_engine(charts: Draft202012Validator, dimension: dict[str, Any], valid: bool) -> None:
    doc = _funnel()
    doc["dimensions"].append(dimension)
    assert charts.is_valid(doc) is valid
    engine_errors = _engine_errors(doc)
    assert (engine_errors == []) is valid
    if not valid:
        assert engine_errors[0][0].startswith("/dimensions/1")


def test_joins_are_published_with_as_and_from(charts: Draft202012Validator) -> None:
    doc = _roi()
    doc["joins"][1] = {"alias": "opps", "source": "leads", "direction": "reverse", "entity": "opportunity", "field": "lead"}
    assert not charts.is_valid(doc)


def test_descending_bin_edges_are_refused_by_the_engine(charts: Draft202012Validator) -> None:
    """JSON Schema cannot say "ascending": the schema lets them through, the save does not."""
    doc = _funnel()
    doc["dimensions"].append({"field": "amount", "bins": {"edges": [0, 100000, 10000]}})
    assert charts.is_valid(doc)
    assert _engine_errors(doc) == [("/dimensions/1/bins", "value_error")]


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({"measures": []}, False),  # at least one measure
        ({"dimensions": [{"field": "stage"}] * 5}, False),  # at most 4
        ({"limit": 0}, False),
        ({"limit": 10_000, "others": True}, True),
        ({"sort": [{"by": "deals", "dir": "down"}]}, False),
        ({"date_field": "Close date"}, False),
        ({"colour": "red"}, False),  # unknown key
    ],
)
def test_chart_limits_match_the_engine(charts: Draft202012Validator, change: dict[str, Any], valid: bool) -> None:
    doc = _funnel() | change
    assert charts.is_valid(doc) is valid
    assert (_engine_errors(doc) == []) is valid


@pytest.mark.parametrize(
    ("filters", "valid"),
    [
        ({"date_from": "2026-10-01", "date_to": "2026-12-31"}, True),
        ({"relative": "last_30_days", "owners": [3, 7]}, True),
        ({"relative": "last_two_weeks"}, False),
        ({"date_from": "2026-10-1"}, False),
        ({"teams": ["East team"]}, False),
        ({"owners": ["rep_e1"]}, False),  # user ids
    ],
)
def test_dashboard_filters_match_the_engine(dashboards: Draft202012Validator, filters: dict[str, Any], valid: bool) -> None:
    doc = copy.deepcopy(DASHBOARDS["sales_cockpit"]) | {"filters": filters}
    assert dashboards.is_valid(doc) is valid
    errors = ErrorCollector()
    parse_dashboard(doc, errors)
    assert (errors.errors == []) is valid


@pytest.mark.parametrize(
    ("tile", "valid"),
    [
        ({"chart": "sales_funnel", "w": 24}, True),
        ({"chart": "sales_funnel", "w": 25}, False),  # the grid is 24 columns
        ({"chart": "sales_funnel", "h": 0}, False),
        ({"w": 6}, False),  # which chart?
    ],
)
def test_tiles_match_the_engine(dashboards: Draft202012Validator, tile: dict[str, Any], valid: bool) -> None:
    doc = {"key": "board", "tiles": [tile]}
    assert dashboards.is_valid(doc) is valid
    errors = ErrorCollector()
    parse_dashboard(doc, errors)
    assert (errors.errors == []) is valid
