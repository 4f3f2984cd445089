"""KPI: one number (options.measure, else the first measure), with the previous period's value and the
change when the chart compares periods (options.compare, read by the compiler to run the previous period
too). Naming the measure lets a rate be the number while the counts it divides are measures too."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.core.errors import ErrorCollector
from engine.reports.charts.base import ChartType, Options, Shaped, ratio
from engine.reports.definition import ChartDefinition, Compare
from engine.reports.result import Result, plain_number


class KpiOptions(Options):
    compare: Compare | None = None  # the same measure over the previous period of the same length
    measure: str | None = Field(default=None, description="The key of the measure shown (default: the first)")


class Kpi(ChartType):
    key = "kpi"
    options = KpiOptions
    dimensions = (0, 0)

    def check_options(self, chart: ChartDefinition, options: Any, errors: ErrorCollector) -> None:
        keys = [m.key for m in chart.measures]
        if options.measure is not None and options.measure not in keys:
            errors.add("/options/measure", "unknown_measure", f"{options.measure!r} is not a measure of this chart: {keys}")

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        shown: KpiOptions = self.settings(chart)
        measure = next((m for m in result.measures if m.name == shown.measure), result.measures[0])
        value = plain_number(result.rows[0].get(measure.name)) if result.rows else None
        previous = plain_number((result.kpi_previous or {}).get(measure.name))
        change = ratio(value - previous, previous) if value is not None and previous is not None else None
        shaped: dict[str, Any] = {"measure": measure.name, "label": measure.label, "format": measure.format}
        return shaped | {"value": value, "previous": previous, "change": change}
