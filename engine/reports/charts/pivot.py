"""Pivot: row dimensions x column dimensions x measures, with subtotals and grand totals.

The compiler aggregates every grouping set `grouping_sets` names (each rows prefix with each columns
prefix, full set first, () the grand total) and tags each result row with its set. The shape lists the
row headers and column headers in display order, each subtotal after its group and the grand total
last (marked "total": true), and per measure a matrix of cells: cells[measure][row][column].
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from engine.core.errors import ErrorCollector
from engine.reports.charts.base import ChartType, Options, Shaped
from engine.reports.definition import MAX_DIMENSIONS, ChartDefinition
from engine.reports.result import Result, ResultDim, dim_text, ordered_values, plain_number, plain_value

Key = tuple[Any, ...]


class PivotOptions(Options):
    rows: list[str] = Field(default_factory=list, max_length=MAX_DIMENSIONS)  # dimension names, outermost first
    columns: list[str] = Field(default_factory=list, max_length=MAX_DIMENSIONS)


class Pivot(ChartType):
    key = "pivot"
    options = PivotOptions
    dimensions = (1, MAX_DIMENSIONS)

    def check_options(self, chart: ChartDefinition, options: Any, errors: ErrorCollector) -> None:
        names = [dim.name for dim in chart.dimensions]
        placed: list[str] = []
        for side in ("rows", "columns"):
            for i, name in enumerate(getattr(options, side)):
                if name not in names:
                    errors.add(f"/options/{side}/{i}", "pivot_dimension", f"{name!r} is not a dimension of this chart")
                elif name in placed:
                    errors.add(f"/options/{side}/{i}", "pivot_dimension", f"{name!r} is placed twice")
                placed.append(name)
        for name in names:
            if name not in placed:
                errors.add("/options", "pivot_dimension", f"dimension {name!r} is in neither rows nor columns")

    def grouping_sets(self, chart: ChartDefinition) -> list[tuple[str, ...]] | None:
        options: PivotOptions = self.settings(chart)
        rows, columns = options.rows, options.columns
        return [tuple(rows[:i] + columns[:j]) for i in range(len(rows), -1, -1) for j in range(len(columns), -1, -1)]

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        options: PivotOptions = self.settings(chart)
        dims = {dim.name: dim for dim in result.dims}
        row_dims, column_dims = [dims[n] for n in options.rows], [dims[n] for n in options.columns]
        sets = result.sets or self.grouping_sets(chart) or []
        cells = {group_key(sets, row): row for row in result.rows}
        row_keys, column_keys = axis_keys(row_dims, sets, result), axis_keys(column_dims, sets, result)
        return {
            "row_dims": [{"key": d.name, "label": d.label} for d in row_dims],
            "column_dims": [{"key": d.name, "label": d.label} for d in column_dims],
            "measures": [{"key": m.name, "label": m.label, "format": m.format} for m in result.measures],
            "rows": [header(row_dims, key, len(row_dims)) for key in row_keys],
            "columns": [header(column_dims, key, len(column_dims)) for key in column_keys],
            "cells": {
                m.name: [[cell(cells, row_dims, r, column_dims, c, m.name) for c in column_keys] for r in row_keys]
                for m in result.measures
            },
        }


def group_key(sets: list[tuple[str, ...]], row: dict[str, Any]) -> Key:
    """A result row's identity: its set's dimensions with their values (a dimension outside the set is
    absent, not empty: the row of the empty stage is no total)."""
    return identity([(name, row.get(name)) for name in sets[row.get("_set", 0)]])


def identity(pairs: list[tuple[str, Any]]) -> Key:
    return tuple(sorted(pairs, key=lambda pair: pair[0]))  # in name order: the set's own order does not matter


def cell(cells: dict[Key, dict[str, Any]], row_dims: list[ResultDim], r: Key, column_dims: list[ResultDim], c: Key,
         measure: str) -> int | float | None:  # fmt: skip
    named = [*zip([d.name for d in row_dims], r, strict=False), *zip([d.name for d in column_dims], c, strict=False)]
    found = cells.get(identity(named))
    return plain_number(found.get(measure)) if found else None


def axis_keys(dims: list[ResultDim], sets: list[tuple[str, ...]], result: Result) -> list[Key]:
    """Every header of one axis: leaves, each group's subtotal after its members, the grand total () last."""
    if not dims:
        return [()]
    names = [d.name for d in dims]
    full = [row for row in result.rows if set(names) <= set(sets[row.get("_set", 0)])]
    leaves = {tuple(row.get(n) for n in names) for row in full}
    orders = [ordered_values(dim, full) for dim in dims]
    keys: list[Key] = []
    walk(orders, leaves, (), keys)
    return [*keys, ()]


def walk(orders: list[list[Any]], leaves: set[Key], prefix: Key, out: list[Key]) -> None:
    depth = len(prefix)
    if depth == len(orders):
        out.append(prefix)
        return
    present = {leaf[: depth + 1] for leaf in leaves if leaf[:depth] == prefix}
    for value in orders[depth]:
        key = (*prefix, value)
        if key in present:
            walk(orders, leaves, key, out)
            if depth + 1 < len(orders):
                out.append(key)  # the group's subtotal


def header(dims: list[ResultDim], key: Key, depth: int) -> dict[str, Any]:
    return {
        "key": [plain_value(v) for v in key],
        "labels": [dim_text(d, v) for d, v in zip(dims, key, strict=False)],
        "total": len(key) < depth or not key,  # () is the grand total even on an axis without dimensions
    }
