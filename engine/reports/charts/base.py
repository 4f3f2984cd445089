"""The chart-type contract: one class per type, registered by key. A type checks what its definition
needs (dimension and measure counts, its options model) and shapes the query result into the JSON the
UI draws (ECharts). Top-N with "others" is folded here, once, for every type that allows it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.core.errors import ErrorCollector, pydantic_errors
from engine.reports.definition import MAX_DIMENSIONS, MAX_MEASURES, ChartDefinition
from engine.reports.result import OTHERS, Result, ResultDim, ordered_values

Shaped = dict[str, Any] | list[Any]
ADDITIVE = ("count", "sum")  # groups combine by adding these up


class Options(BaseModel):
    """A chart type's options model: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ChartType:
    key: ClassVar[str]
    options: ClassVar[type[Options]] = Options
    dimensions: ClassVar[tuple[int, int]] = (0, MAX_DIMENSIONS)  # fewest, most
    measures: ClassVar[tuple[int, int]] = (1, MAX_MEASURES)
    others: ClassVar[bool] = False  # top-N with the rest as one "others" group (one dimension only)
    dimension_kind: ClassVar[str | None] = None  # funnel: "select" - the compiler checks the field is one

    def check(self, chart: ChartDefinition, errors: ErrorCollector) -> None:
        """Add an error for everything this type needs that the definition lacks."""
        count_errors(chart, self.dimensions, "dimensions", "dimension", errors)
        count_errors(chart, self.measures, "measures", "measure", errors)
        if chart.others and not self.others:  # (others without a limit: the compiler says so)
            errors.add("/others", "chart_others", f"a {self.key} chart cannot group the rest as others")
        try:
            options = self.options.model_validate(chart.options)
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, prefix="/options"))
            return
        self.check_options(chart, options, errors)

    def check_options(self, chart: ChartDefinition, options: Any, errors: ErrorCollector) -> None:
        """Check the options against the rest of the definition (valid shape already)."""

    def settings(self, chart: ChartDefinition) -> Any:
        """The chart's options model (the definition was checked before)."""
        return self.options.model_validate(chart.options)

    def grouping_sets(self, chart: ChartDefinition) -> list[tuple[str, ...]] | None:
        """The groups of dimensions to aggregate over (pivot: the full set first, subtotals, () last); None: one group."""
        return None

    def shape(self, chart: ChartDefinition, result: Result) -> Shaped:
        """The JSON the UI draws, top-N folded first when the chart asks for others."""
        return self.build(chart, top_n(chart, result) if self.others else result)

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        raise NotImplementedError


def count_errors(chart: ChartDefinition, bounds: tuple[int, int], attr: str, noun: str, errors: ErrorCollector) -> None:
    fewest, most = bounds
    count = len(getattr(chart, attr))
    if fewest <= count <= most:
        return
    if fewest == most:
        wanted = f"exactly {fewest} {noun}{'' if fewest == 1 else 's'}" if fewest else f"no {noun}s"
    else:
        wanted = f"{fewest} to {most} {noun}s"
    errors.add(f"/{attr}", f"chart_{attr}", f"a {chart.type} chart takes {wanted}, not {count}")


def top_n(chart: ChartDefinition, result: Result) -> Result:
    """Keep the first `limit` groups (the compiler sorted them) and sum the rest into one "others" row.
    Measures that cannot be combined from group values (avg, median, count_distinct, derived) are None there."""
    limit = chart.limit
    if not (chart.others and limit) or len(result.dims) != 1 or len(result.rows) <= limit:
        return result
    name = result.dims[0].name
    if any(row.get(name) == OTHERS for row in result.rows):
        return result  # already folded
    rest = result.rows[limit:]
    aggregates = {m.key: m.agg for m in chart.measures}
    others: dict[str, Any] = {name: OTHERS}
    for measure in result.measures:
        others[measure.name] = combine(aggregates.get(measure.name), [row.get(measure.name) for row in rest])
    return replace(result, rows=[*result.rows[:limit], others])


def combine(agg: str | None, values: list[Any]) -> Any:
    """One value for several groups of an aggregate, or None when the groups' values cannot give it."""
    present = [v for v in values if v is not None]
    if agg in ADDITIVE:
        return sum(present) if present else (0 if agg == "count" else None)
    if agg in ("min", "max") and present:
        return min(present) if agg == "min" else max(present)
    return None


def category_order(chart: ChartDefinition, dim: ResultDim, rows: list[dict[str, Any]]) -> list[Any]:
    """The order categories are drawn in: the rows' order when the chart sorts by a measure first (the
    builder asked for biggest first), otherwise the dimension's display order (options, time)."""
    if chart.sort and chart.sort[0].by in {m.key for m in chart.measures}:
        seen = dict.fromkeys(row.get(dim.name) for row in rows)
        return [v for v in seen if v != OTHERS] + [v for v in seen if v == OTHERS]
    return ordered_values(dim, rows)


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole
