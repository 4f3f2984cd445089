"""Chart types: what each needs from a definition, and the exact JSON it shapes a query result into
(engine.reports.charts), plus how result values read and order (engine.reports.result)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.core.errors import ErrorCollector
from engine.core.registry import DuplicateKeyError
from engine.reports.charts import BUILTIN, chart_types, top_n
from engine.reports.definition import ChartDefinition
from engine.reports.result import OTHERS, Result, ResultDim, ResultMeasure, dim_text, ordered_values

STAGES = {"lead": "Lead", "qualified": "Qualified", "proposal": "Proposal", "won": "Won", "lost": "Lost"}
STAGE = ResultDim("stage", "Stage", "select", order=tuple(STAGES), labels=STAGES)
OWNER = ResultDim("owner", "Owner", "user", labels={1: "Ann", 2: "Bo", 3: "Cy", 4: "Di", 5: "Ed"})
MONTH = ResultDim("created_at", "Created", "bucket", bucket="month")
AMOUNT = ResultMeasure("amount", "Amount", "currency")
DEALS = ResultMeasure("deals", "Deals")

MEASURES: dict[str, dict[str, Any]] = {
    "amount": {"key": "amount", "agg": "sum", "field": "amount"},
    "deals": {"key": "deals", "agg": "count"},
    "smallest": {"key": "smallest", "agg": "min", "field": "amount"},
    "largest": {"key": "largest", "agg": "max", "field": "amount"},
    "average": {"key": "average", "agg": "avg", "field": "amount"},
    "per_deal": {"key": "per_deal", "ratio": ["amount", "deals"]},
}


def chart(
    type_: str, dims: tuple[str, ...] = ("stage",), measures: tuple[str, ...] = ("amount",), **extra: Any
) -> ChartDefinition:
    doc = {"key": "c", "type": type_, "source": "opportunity", "dimensions": [{"field": d} for d in dims]}
    return ChartDefinition.model_validate(doc | {"measures": [MEASURES[m] for m in measures]} | extra)


def shape(definition: ChartDefinition, result: Result) -> Any:
    return chart_types()[definition.type].shape(definition, result)


def problems(definition: ChartDefinition) -> list[tuple[str, str]]:
    errors = ErrorCollector()
    chart_types()[definition.type].check(definition, errors)
    return [(e.path, e.message) for e in errors.errors]


# -- the registry ----------------------------------------------------------------------------------
VALID = {  # one valid definition per registered type: a new type fails here until it has one
    "kpi": chart("kpi", dims=(), options={"compare": {"period": "month"}}),
    "bar": chart("bar", dims=("stage", "owner"), options={"stacked": True}),
    "column": chart("column"),
    "line": chart("line", dims=("created_at",)),
    "area": chart("area", dims=("created_at",)),
    "pie": chart("pie"),
    "donut": chart("donut"),
    "funnel": chart("funnel", measures=("deals", "amount"), options={"cumulative": True, "exclude": ["lost"]}),
    "table": chart("table", dims=("stage", "owner", "region"), measures=("amount", "deals", "per_deal")),
    "pivot": chart("pivot", dims=("stage", "owner"), options={"rows": ["owner"], "columns": ["stage"]}),
    "leaderboard": chart("leaderboard", dims=("owner",), measures=("amount", "deals"), limit=10, others=True),
    "map": chart("map", dims=("region",)),
}


def test_every_builtin_type_is_registered_once_by_key() -> None:
    assert chart_types().keys() == list(VALID)
    with pytest.raises(DuplicateKeyError, match="chart type 'pie' is already registered"):
        chart_types().register(BUILTIN[5]())


@pytest.mark.parametrize("key", list(VALID))
def test_each_type_accepts_its_example_and_publishes_an_options_schema(key: str) -> None:
    chart_type = chart_types()[key]
    assert problems(VALID[key]) == []
    assert chart_type.options.model_json_schema()["type"] == "object"


# -- what each type needs --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (chart("kpi"), [("/dimensions", "a kpi chart takes no dimensions, not 1")]),
        (chart("pie", measures=("amount", "deals")), [("/measures", "a pie chart takes exactly 1 measure, not 2")]),
        (chart("bar", dims=()), [("/dimensions", "a bar chart takes 1 to 2 dimensions, not 0")]),
        (chart("funnel", dims=("stage", "owner")), [("/dimensions", "a funnel chart takes exactly 1 dimension, not 2")]),
        (chart("line", options={"stacked": "maybe", "smooth": True}),
         [("/options/stacked", "Input should be a valid boolean, unable to interpret input"),
          ("/options/smooth", "Extra inputs are not permitted")]),
        (chart("kpi", dims=(), limit=5, others=True), [("/others", "a kpi chart cannot group the rest as others")]),
        (chart("kpi", dims=(), options={"measure": "margin"}),
         [("/options/measure", "'margin' is not a measure of this chart: ['amount']")]),
        (chart("funnel", measures=("average",), options={"cumulative": True}),
         [("/options/cumulative", "a cumulative funnel adds stages up: measure 'average' must be a count or a sum")]),
        (chart("pivot", dims=("stage", "owner", "region"), options={"rows": ["stage", "team"], "columns": ["stage"]}),
         [("/options/rows/1", "'team' is not a dimension of this chart"), ("/options/columns/0", "'stage' is placed twice"),
          ("/options", "dimension 'owner' is in neither rows nor columns"),
          ("/options", "dimension 'region' is in neither rows nor columns")]),
    ],
)  # fmt: skip
def test_a_definition_missing_what_its_type_needs_gets_located_errors(
    definition: ChartDefinition, expected: list[tuple[str, str]]
) -> None:
    assert problems(definition) == expected


def test_pivot_groups_every_rows_prefix_with_every_columns_prefix_full_set_first() -> None:
    pivot = chart("pivot", dims=("a", "b", "c"), options={"rows": ["a", "b"], "columns": ["c"]})
    assert chart_types()["pivot"].grouping_sets(pivot) == [("a", "b", "c"), ("a", "b"), ("a", "c"), ("a",), ("c",), ()]
    assert chart_types()["bar"].grouping_sets(chart("bar")) is None


# -- how values read and order ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bucket", "value", "text"),
    [
        ("hour", "2026-11-25T14:00", "2026-11-25 14:00"), ("day", "2026-11-25", "2026-11-25"),
        ("week", "2026-11-23", "2026-W48"), ("week", "2026-12-28", "2026-W53"), ("week", "2027-01-04", "2027-W01"),
        ("week", "2024-12-30", "2025-W01"), ("month", "2026-11-01", "2026-11"), ("quarter", "2026-10-01", "2026-Q4"),
        ("quarter", "2026-03-01", "2026-Q1"), ("year", "2026-01-01", "2026"),
    ],
)  # fmt: skip
def test_bucket_starts_read_as_their_period(bucket: str, value: str, text: str) -> None:
    assert dim_text(ResultDim("d", "D", "bucket", bucket=bucket), value) == text


def test_bins_read_as_ranges_and_others_values_as_their_labels() -> None:
    width = ResultDim("amount", "Amount", "bins", width=1000)
    edges = ResultDim("amount", "Amount", "bins", edges=(0, 1000, 10000))
    assert [dim_text(width, v) for v in (1000, Decimal("2000"), 0.5)] == ["1,000-2,000", "2,000-3,000", "0.5-1,000.5"]
    assert [dim_text(edges, v) for v in (0, 1000, 10000, -1)] == ["0-1,000", "1,000-10,000", "10,000+", "<0"]
    assert [dim_text(STAGE, v) for v in ("won", "archived", None, OTHERS)] == ["Won", "archived", "(empty)", "Others"]
    assert [dim_text(OWNER, v) for v in (2, 99)] == ["Bo", "99"]


def test_values_order_by_options_then_time_then_number_and_empty_last() -> None:
    stages = [{"stage": v} for v in ("won", None, "archived", "lead", "qualified", "won")]
    assert ordered_values(STAGE, stages) == ["lead", "qualified", "won", "archived", None]
    months = [{"created_at": v} for v in ("2027-01-01", "2026-11-01", OTHERS, "2026-12-01")]
    assert ordered_values(MONTH, months) == ["2026-11-01", "2026-12-01", "2027-01-01", OTHERS]
    bins = ResultDim("amount", "Amount", "bins", width=500)
    assert ordered_values(bins, [{"amount": v} for v in (1000, 500, Decimal("1500"), 0)]) == [0, 500, 1000, Decimal("1500")]
    assert ordered_values(OWNER, [{"owner": v} for v in (3, 1, 3, 2)]) == [3, 1, 2]  # the compiler's sort


# -- shapes ----------------------------------------------------------------------------------------
def test_kpi_shows_the_first_measure_with_the_previous_period_and_change() -> None:
    result = Result([], [AMOUNT, DEALS], [{"amount": Decimal("1200.00"), "deals": 7}], kpi_previous={"amount": 1000})
    assert shape(VALID["kpi"], result) == {
        "measure": "amount", "label": "Amount", "format": "currency", "value": 1200, "previous": 1000, "change": 0.2,
    }  # fmt: skip
    no_comparison = Result([], [AMOUNT], [{"amount": Decimal("12.5")}])
    assert shape(VALID["kpi"], no_comparison) == {
        "measure": "amount", "label": "Amount", "format": "currency", "value": 12.5, "previous": None, "change": None,
    }  # fmt: skip
    from_zero = Result([], [AMOUNT], [{"amount": 5}], kpi_previous={"amount": 0})
    assert shape(VALID["kpi"], from_zero)["change"] is None


def test_kpi_shows_the_measure_its_options_name() -> None:
    """A win rate is the number while the counts it divides are measures too (the CRM's D1 win rate)."""
    rate = chart("kpi", dims=(), measures=("amount", "deals"), options={"measure": "deals"})
    assert problems(rate) == []
    result = Result([], [AMOUNT, DEALS], [{"amount": Decimal("1200.00"), "deals": 7}])
    assert shape(rate, result)["measure"] == "deals" and shape(rate, result)["value"] == 7


def test_bar_with_one_dimension_draws_a_series_per_measure_in_option_order() -> None:
    definition = chart("column", measures=("amount", "deals"))
    result = Result([STAGE], [AMOUNT, DEALS], [{"stage": "won", "amount": Decimal("300.50"), "deals": 2},
                                               {"stage": "lead", "amount": None, "deals": 5}])  # fmt: skip
    assert shape(definition, result) == {
        "categories": ["Lead", "Won"],
        "keys": ["lead", "won"],  # the raw values the drill API takes
        "series": [{"name": "Amount", "data": [None, 300.5]}, {"name": "Deals", "data": [5, 2]}],
    }


def test_bar_with_two_dimensions_splits_the_first_measure_and_leaves_missing_combinations_null() -> None:
    result = Result([MONTH, STAGE], [AMOUNT], [
        {"created_at": "2026-12-01", "stage": "won", "amount": 50},
        {"created_at": "2026-11-01", "stage": "lead", "amount": 10},
        {"created_at": "2026-11-01", "stage": "won", "amount": 20},
    ])  # fmt: skip
    assert shape(chart("line", dims=("created_at", "stage"), options={"stacked": True}), result) == {
        "categories": ["2026-11", "2026-12"],
        "keys": ["2026-11-01", "2026-12-01"],
        "series": [{"name": "Lead", "key": "lead", "data": [10, None]}, {"name": "Won", "key": "won", "data": [20, 50]}],
    }


def test_sorting_by_a_measure_keeps_the_biggest_bar_first() -> None:
    result = Result([STAGE], [AMOUNT], [{"stage": "won", "amount": 90}, {"stage": "lead", "amount": 10}])
    assert shape(chart("bar", sort=[{"by": "amount", "dir": "desc"}]), result)["categories"] == ["Won", "Lead"]
    assert shape(chart("bar", sort=[{"by": "stage"}]), result)["categories"] == ["Lead", "Won"]


def test_pie_and_donut_slices_in_display_order_with_empty_last() -> None:
    result = Result([STAGE], [DEALS], [{"stage": None, "deals": 1}, {"stage": "won", "deals": 3}, {"stage": "lead", "deals": 6}])
    expected = [{"name": "Lead", "key": "lead", "value": 6}, {"name": "Won", "key": "won", "value": 3},
                {"name": "(empty)", "key": None, "value": 1}]  # fmt: skip
    assert shape(chart("pie", measures=("deals",)), result) == expected
    assert shape(chart("donut", measures=("deals",)), result) == expected


D1_ROWS = [  # deals per stage: 2 still leads, 3 qualified, 1 proposal, 4 won, 5 lost; an empty stage is no stage
    {"stage": "lead", "deals": 2}, {"stage": "qualified", "deals": 3}, {"stage": "proposal", "deals": 1},
    {"stage": "won", "deals": 4}, {"stage": "lost", "deals": 5}, {"stage": None, "deals": 9},
]  # fmt: skip


def test_funnel_stages_follow_the_option_order_with_conversions() -> None:
    result = Result([STAGE], [DEALS], [r for r in D1_ROWS if r["stage"] != "proposal"])
    assert shape(chart("funnel", measures=("deals",), options={"exclude": ["lost"]}), result) == {
        "measure": "deals", "label": "Deals", "stages": [
            {"stage": "lead", "name": "Lead", "value": 2, "conversion": None, "overall": 1.0},
            {"stage": "qualified", "name": "Qualified", "value": 3, "conversion": 1.5, "overall": 1.5},
            {"stage": "proposal", "name": "Proposal", "value": 0, "conversion": 0.0, "overall": 0.0},
            {"stage": "won", "name": "Won", "value": 4, "conversion": None, "overall": 2.0},  # after a stage of 0
        ],
    }  # fmt: skip


def test_cumulative_funnel_counts_every_record_that_reached_a_stage_lost_excluded() -> None:
    definition = chart("funnel", measures=("deals",), options={"cumulative": True, "exclude": ["lost"]})
    stages = shape(definition, Result([STAGE], [DEALS], D1_ROWS))["stages"]
    assert [(s["stage"], s["value"], s["conversion"], s["overall"]) for s in stages] == [
        ("lead", 10, None, 1.0), ("qualified", 8, 0.8, 0.8), ("proposal", 5, 0.625, 0.5), ("won", 4, 0.8, 0.4),
    ]  # fmt: skip


def test_table_rows_carry_dimension_texts_then_measure_numbers() -> None:
    result = Result([STAGE, OWNER], [AMOUNT, DEALS], [{"stage": "won", "owner": 1, "amount": Decimal("10.25"), "deals": 1},
                                                      {"stage": None, "owner": 9, "amount": None, "deals": 0}])  # fmt: skip
    assert shape(chart("table", dims=("stage", "owner"), measures=("amount", "deals")), result) == {
        "columns": [{"key": "stage", "label": "Stage"}, {"key": "owner", "label": "Owner"},
                    {"key": "amount", "label": "Amount", "format": "currency"},
                    {"key": "deals", "label": "Deals", "format": None}],
        "rows": [["Won", "Ann", 10.25, 1], ["(empty)", "9", None, 0]],
    }  # fmt: skip


def test_leaderboard_ranks_ties_alike_and_skips_the_next_rank() -> None:
    result = Result([OWNER], [AMOUNT, DEALS], [
        {"owner": 1, "amount": 50, "deals": 1}, {"owner": 2, "amount": 90, "deals": 3}, {"owner": 3, "amount": None, "deals": 0},
        {"owner": 4, "amount": 50, "deals": 2}, {"owner": 5, "amount": 20, "deals": 1},
    ])  # fmt: skip
    board = shape(chart("leaderboard", dims=("owner",), measures=("amount", "deals")), result)
    assert board["measures"] == [{"key": "amount", "label": "Amount", "format": "currency"},
                                 {"key": "deals", "label": "Deals", "format": None}]  # fmt: skip
    assert board["rows"] == [
        {"rank": 1, "key": 2, "name": "Bo", "values": {"amount": 90, "deals": 3}},
        {"rank": 2, "key": 1, "name": "Ann", "values": {"amount": 50, "deals": 1}},
        {"rank": 2, "key": 4, "name": "Di", "values": {"amount": 50, "deals": 2}},
        {"rank": 4, "key": 5, "name": "Ed", "values": {"amount": 20, "deals": 1}},
        {"rank": None, "key": 3, "name": "Cy", "values": {"amount": None, "deals": 0}},
    ]


def test_leaderboard_top_n_keeps_the_best_ranked_and_sums_the_rest() -> None:
    result = Result([OWNER], [AMOUNT], [{"owner": o, "amount": a} for o, a in ((1, 10), (2, 40), (3, 30), (4, 5))])
    rows = shape(VALID["leaderboard"].model_copy(update={"limit": 2}), result)["rows"]
    assert [(r["rank"], r["name"], r["values"]["amount"]) for r in rows] == [(1, "Bo", 40), (2, "Cy", 30), (None, "Others", 15)]


def test_map_names_provinces_as_echarts_does_and_lists_the_rest() -> None:
    region = ResultDim("region", "Region", "plain")
    result = Result([region], [DEALS], [{"region": "广东省", "deals": 3}, {"region": "Guangdong", "deals": 2},
                                        {"region": "新疆维吾尔自治区", "deals": 1}, {"region": "Atlantis", "deals": 4},
                                        {"region": None, "deals": 6}])  # fmt: skip
    assert shape(chart("map", dims=("region",), measures=("deals",)), result) == {
        "map": "china", "unmatched": ["Atlantis", None],
        "data": [{"name": "广东", "value": 5, "keys": ["广东省", "Guangdong"]},
                 {"name": "新疆", "value": 1, "keys": ["新疆维吾尔自治区"]}],
    }  # fmt: skip


def test_map_reads_a_select_fields_option_labels() -> None:
    region = ResultDim("region", "Region", "select", order=("gd", "nm"), labels={"gd": "广东", "nm": "Inner Mongolia"})
    result = Result([region], [AMOUNT], [{"region": "nm", "amount": 7}, {"region": "gd", "amount": 8}])
    data = shape(chart("map", dims=("region",)), result)["data"]
    assert data == [{"name": "广东", "value": 8, "keys": ["gd"]}, {"name": "内蒙古", "value": 7, "keys": ["nm"]}]  # option keys


# -- pivot -----------------------------------------------------------------------------------------
QUARTER = ResultDim("quarter", "Quarter", "bucket", bucket="quarter")
REGION = ResultDim("region", "Region", "plain")
PIVOT = chart("pivot", dims=("region", "stage", "quarter"), options={"rows": ["region", "stage"], "columns": ["quarter"]})
# deals: east/lead/Q1 10, east/won/Q1 20, east/won/Q2 5, west/won/Q2 7 - and every subtotal of them
PIVOT_ROWS = [
    {"_set": 0, "region": "east", "stage": "won", "quarter": "2026-04-01", "amount": 5},
    {"_set": 0, "region": "east", "stage": "won", "quarter": "2026-01-01", "amount": 20},
    {"_set": 0, "region": "east", "stage": "lead", "quarter": "2026-01-01", "amount": 10},
    {"_set": 0, "region": "west", "stage": "won", "quarter": "2026-04-01", "amount": 7},
    {"_set": 1, "region": "east", "stage": "lead", "amount": 10}, {"_set": 1, "region": "east", "stage": "won", "amount": 25},
    {"_set": 1, "region": "west", "stage": "won", "amount": 7},
    {"_set": 2, "region": "east", "quarter": "2026-01-01", "amount": 30},
    {"_set": 2, "region": "east", "quarter": "2026-04-01", "amount": 5},
    {"_set": 2, "region": "west", "quarter": "2026-04-01", "amount": 7},
    {"_set": 3, "region": "east", "amount": 35}, {"_set": 3, "region": "west", "amount": 7},
    {"_set": 4, "quarter": "2026-01-01", "amount": 30}, {"_set": 4, "quarter": "2026-04-01", "amount": 12},
    {"_set": 5, "amount": 42},
]  # fmt: skip


def test_pivot_lists_headers_with_subtotals_after_their_group_and_the_grand_total_last() -> None:
    sets = chart_types()["pivot"].grouping_sets(PIVOT)
    assert shape(PIVOT, Result([REGION, STAGE, QUARTER], [AMOUNT], PIVOT_ROWS, sets=sets)) == {
        "row_dims": [{"key": "region", "label": "Region"}, {"key": "stage", "label": "Stage"}],
        "column_dims": [{"key": "quarter", "label": "Quarter"}],
        "measures": [{"key": "amount", "label": "Amount", "format": "currency"}],
        "rows": [
            {"key": ["east", "lead"], "labels": ["east", "Lead"], "total": False},
            {"key": ["east", "won"], "labels": ["east", "Won"], "total": False},
            {"key": ["east"], "labels": ["east"], "total": True},
            {"key": ["west", "won"], "labels": ["west", "Won"], "total": False},
            {"key": ["west"], "labels": ["west"], "total": True},
            {"key": [], "labels": [], "total": True},
        ],
        "columns": [
            {"key": ["2026-01-01"], "labels": ["2026-Q1"], "total": False},
            {"key": ["2026-04-01"], "labels": ["2026-Q2"], "total": False},
            {"key": [], "labels": [], "total": True},
        ],
        "cells": {"amount": [[10, None, 10], [20, 5, 25], [30, 5, 35], [None, 7, 7], [None, 7, 7], [30, 12, 42]]},
    }


def test_pivot_tells_an_empty_value_from_a_total() -> None:
    pivot = chart("pivot", dims=("stage",), options={"rows": ["stage"]})
    rows = [{"_set": 0, "stage": None, "amount": 4}, {"_set": 0, "stage": "won", "amount": 6}, {"_set": 1, "amount": 10}]
    shaped = shape(pivot, Result([STAGE], [AMOUNT], rows, sets=[("stage",), ()]))
    assert [(r["labels"], r["total"]) for r in shaped["rows"]] == [(["Won"], False), (["(empty)"], False), ([], True)]
    assert shaped["columns"] == [{"key": [], "labels": [], "total": True}]
    assert shaped["cells"] == {"amount": [[6], [4], [10]]}


# -- top N with others -----------------------------------------------------------------------------
def test_top_n_sums_the_rest_where_groups_combine_and_leaves_the_others_empty() -> None:
    measures = ("amount", "deals", "smallest", "largest", "average", "per_deal")
    definition = chart("table", dims=("owner",), measures=measures, limit=2, others=True)
    rows = [{"owner": o, "amount": a, "deals": d, "smallest": s, "largest": lg, "average": a / d, "per_deal": a / d}
            for o, a, d, s, lg in ((1, 90, 3, 10, 50), (2, 60, 2, 20, 40), (3, 30, 3, 5, 15), (4, 8, 1, 8, 8))]  # fmt: skip
    result = Result([OWNER], [ResultMeasure(m, m) for m in measures], rows)
    folded = top_n(definition, result)
    assert folded.rows == [*rows[:2], {"owner": OTHERS, "amount": 38, "deals": 4, "smallest": 5, "largest": 15,
                                       "average": None, "per_deal": None}]  # fmt: skip
    assert top_n(definition, folded) == folded  # folding twice changes nothing
    assert top_n(definition.model_copy(update={"limit": 4}), result) == result  # nothing past the limit


def test_others_only_apply_to_one_dimension_and_show_as_the_last_category() -> None:
    two_dims = Result([OWNER, STAGE], [AMOUNT], [{"owner": o, "stage": "won", "amount": o} for o in (1, 2, 3)])
    assert top_n(chart("bar", dims=("owner", "stage"), limit=1, others=True), two_dims) == two_dims
    result = Result([OWNER], [AMOUNT], [{"owner": o, "amount": 10 - o} for o in (1, 2, 3)])
    definition = chart("bar", dims=("owner",), limit=2, others=True, sort=[{"by": "amount", "dir": "desc"}])
    assert shape(definition, result) == {
        "categories": ["Ann", "Bo", "Others"], "keys": [1, 2, OTHERS], "series": [{"name": "Amount", "data": [9, 8, 7]}]
    }  # fmt: skip
    assert shape(definition.model_copy(update={"type": "pie"}), result)[-1] == {"name": "Others", "key": OTHERS, "value": 7}
