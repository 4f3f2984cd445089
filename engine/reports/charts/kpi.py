"""KPI: one number (the first measure), with the previous period's value and the change when the
chart compares periods (options.compare, read by the compiler to run the previous period too)."""

from __future__ import annotations

from typing import Any

from engine.reports.charts.base import ChartType, Options, Shaped, ratio
from engine.reports.definition import ChartDefinition, Compare
from engine.reports.result import Result, plain_number


class KpiOptions(Options):
    compare: Compare | None = None  # the same measure over the previous period of the same length


class Kpi(ChartType):
    key = "kpi"
    options = KpiOptions
    dimensions = (0, 0)

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        measure = result.measures[0]
        value = plain_number(result.rows[0].get(measure.name)) if result.rows else None
        previous = plain_number((result.kpi_previous or {}).get(measure.name))
        change = ratio(value - previous, previous) if value is not None and previous is not None else None
        shaped: dict[str, Any] = {"measure": measure.name, "label": measure.label, "format": measure.format}
        return shaped | {"value": value, "previous": previous, "change": change}
