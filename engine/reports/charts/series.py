"""Bar, column, line and area charts: categories along one axis and one series per measure, or per
value of a second dimension (the first measure split by it, stacked when options.stacked). `keys` and a
split series' `key` carry the raw dimension values beside the texts, for the drill API."""

from __future__ import annotations

from typing import Any

from engine.reports.charts.base import ChartType, Options, Shaped, category_order
from engine.reports.definition import ChartDefinition
from engine.reports.result import Result, dim_text, ordered_values, plain_number, plain_value


class SeriesOptions(Options):
    stacked: bool = False


class SeriesChart(ChartType):
    options = SeriesOptions
    dimensions = (1, 2)
    others = True

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        categories = category_order(chart, result.dims[0], result.rows)
        texts = [dim_text(result.dims[0], value) for value in categories]
        keys = [plain_value(value) for value in categories]
        if len(result.dims) == 1:
            return {"categories": texts, "keys": keys, "series": by_measure(result, categories)}
        return {"categories": texts, "keys": keys, "series": split_by_second(result, categories)}


def by_measure(result: Result, categories: list[Any]) -> list[dict[str, Any]]:
    name = result.dims[0].name
    rows = {row.get(name): row for row in result.rows}
    return [
        {"name": measure.label, "data": [plain_number(rows[value].get(measure.name)) for value in categories]}
        for measure in result.measures
    ]


def split_by_second(result: Result, categories: list[Any]) -> list[dict[str, Any]]:
    first, second = result.dims
    measure = result.measures[0]
    cells = {(row.get(first.name), row.get(second.name)): plain_number(row.get(measure.name)) for row in result.rows}
    return [
        {"name": dim_text(second, split), "key": plain_value(split), "data": [cells.get((value, split)) for value in categories]}
        for split in ordered_values(second, result.rows)
    ]


class Bar(SeriesChart):
    key = "bar"  # horizontal bars


class Column(SeriesChart):
    key = "column"  # vertical bars


class Line(SeriesChart):
    key = "line"


class Area(SeriesChart):
    key = "area"
