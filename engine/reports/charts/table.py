"""Table: one row per group, the dimensions as text then the measures as numbers, in the compiler's
order (the chart's sort)."""

from __future__ import annotations

from typing import Any

from engine.reports.charts.base import ChartType, Shaped
from engine.reports.definition import ChartDefinition
from engine.reports.result import Result, dim_text, plain_number


class Table(ChartType):
    key = "table"
    others = True

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        columns: list[dict[str, Any]] = [{"key": dim.name, "label": dim.label} for dim in result.dims]
        columns += [{"key": m.name, "label": m.label, "format": m.format} for m in result.measures]
        rows = [
            [dim_text(dim, row.get(dim.name)) for dim in result.dims] + [plain_number(row.get(m.name)) for m in result.measures]
            for row in result.rows
        ]
        return {"columns": columns, "rows": rows}
