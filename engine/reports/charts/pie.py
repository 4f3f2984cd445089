"""Pie and donut charts: one slice per value of the dimension, in display order, each with its raw
value as `key` (for the drill API)."""

from __future__ import annotations

from engine.reports.charts.base import ChartType, Shaped, category_order
from engine.reports.definition import ChartDefinition
from engine.reports.result import Result, dim_text, plain_number, plain_value


class Pie(ChartType):
    key = "pie"
    dimensions = (1, 1)
    measures = (1, 1)
    others = True

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        dim, measure = result.dims[0], result.measures[0]
        rows = {row.get(dim.name): row for row in result.rows}
        return [
            {"name": dim_text(dim, value), "key": plain_value(value), "value": plain_number(rows[value].get(measure.name))}
            for value in category_order(chart, dim, result.rows)
        ]


class Donut(Pie):
    key = "donut"
