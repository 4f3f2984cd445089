"""Funnel: the stages of a select field in their defined order, each with its conversion from the
previous stage and from the first. Cumulative: a stage counts every record at it or at a later stage
(everything that reached it), computed from the per-stage values; excluded stages (lost) are dropped
before that, as their records reached none of the later stages."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.core.errors import ErrorCollector
from engine.reports.charts.base import ADDITIVE, ChartType, Options, Shaped, ratio
from engine.reports.definition import ChartDefinition
from engine.reports.result import Result, ResultDim, dim_text, plain_number


class FunnelOptions(Options):
    cumulative: bool = False
    exclude: list[str] = Field(default_factory=list, max_length=100)  # option keys left out (lost, ...)


class Funnel(ChartType):
    key = "funnel"
    options = FunnelOptions
    dimensions = (1, 1)
    dimension_kind = "select"

    def check_options(self, chart: ChartDefinition, options: Any, errors: ErrorCollector) -> None:
        first = chart.measures[0]
        if options.cumulative and first.agg not in ADDITIVE:
            errors.add("/options/cumulative", "funnel_cumulative",
                       f"a cumulative funnel adds stages up: measure {first.key!r} must be a count or a sum")  # fmt: skip

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        options: FunnelOptions = self.settings(chart)
        dim, measure = result.dims[0], result.measures[0]
        by_stage = {row.get(dim.name): plain_number(row.get(measure.name)) for row in result.rows}
        stages = [key for key in stage_keys(dim, result) if key not in options.exclude]
        values = [by_stage.get(key) or 0 for key in stages]
        if options.cumulative:
            values = reached(values)
        return {"measure": measure.name, "label": measure.label, "stages": stage_entries(dim, stages, values)}


def stage_keys(dim: ResultDim, result: Result) -> list[Any]:
    """The select options in their defined order; values that are no option (empty, removed) are no stage."""
    if dim.order is not None:
        return list(dim.order)
    return [row.get(dim.name) for row in result.rows if row.get(dim.name) is not None]


def reached(values: list[int | float]) -> list[int | float]:
    """Each stage plus every later one: the records that got at least that far."""
    totals: list[int | float] = []
    running: int | float = 0
    for value in reversed(values):
        running += value
        totals.append(running)
    return totals[::-1]


def stage_entries(dim: ResultDim, stages: list[Any], values: list[int | float]) -> list[dict[str, Any]]:
    entries = []
    for i, (key, value) in enumerate(zip(stages, values, strict=True)):
        conversion = ratio(value, values[i - 1]) if i else None
        entries.append({"stage": key, "name": dim_text(dim, key), "value": value, "conversion": conversion,
                        "overall": ratio(value, values[0])})  # fmt: skip
    return entries
