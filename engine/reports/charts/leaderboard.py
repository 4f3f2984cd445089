"""Leaderboard: the groups of one dimension (reps, teams) ranked by the first measure, highest first.
Ties share a rank and the next rank skips (1, 2, 2, 4); groups without a value come last, unranked,
as does the "others" group."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.reports.charts.base import ChartType, Shaped, top_n
from engine.reports.definition import ChartDefinition
from engine.reports.result import OTHERS, Result, dim_text, plain_number, plain_value


class Leaderboard(ChartType):
    key = "leaderboard"
    dimensions = (1, 1)
    others = True

    def shape(self, chart: ChartDefinition, result: Result) -> Shaped:
        return self.build(chart, top_n(chart, by_first_measure(result)))  # the top N by the ranked measure

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        dim, first = result.dims[0], result.measures[0].name
        measures = [{"key": m.name, "label": m.label, "format": m.format} for m in result.measures]
        entries = []
        ranks = competition_ranks([plain_number(row.get(first)) for row in result.rows])
        for row, rank in zip(result.rows, ranks, strict=True):
            value = row.get(dim.name)
            entries.append({"rank": None if value == OTHERS else rank, "key": plain_value(value),
                            "name": dim_text(dim, value),
                            "values": {m.name: plain_number(row.get(m.name)) for m in result.measures}})  # fmt: skip
        return {"measures": measures, "rows": entries}


def by_first_measure(result: Result) -> Result:
    """Highest first (stable: ties keep the compiler's order), then groups without a value, then others."""
    first, name = result.measures[0].name, result.dims[0].name
    groups = [row for row in result.rows if row.get(name) != OTHERS]
    present = [row for row in groups if row.get(first) is not None]
    missing = [row for row in groups if row.get(first) is None]
    others = [row for row in result.rows if row.get(name) == OTHERS]
    return replace(result, rows=sorted(present, key=lambda row: row[first], reverse=True) + missing + others)


def competition_ranks(values: list[Any]) -> list[int | None]:
    """Ranks of values sorted descending: equal values share the rank of the first of them."""
    ranks: list[int | None] = []
    for i, value in enumerate(values):
        if value is None:
            ranks.append(None)
        elif i and value == values[i - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(i + 1)
    return ranks
