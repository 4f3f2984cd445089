"""China province map: one value per province, named as ECharts' china map names them ("广东", "内蒙古").
Values that are no province are listed as unmatched so the builder can see why the map misses data;
spellings of the same province ("广东省", "Guangdong") are combined like top-N groups are. Each province
keeps its raw values (`keys`): a click drills down to the records of all its spellings."""

from __future__ import annotations

from typing import Any

from engine.reports.charts.base import ChartType, Shaped, combine
from engine.reports.definition import ChartDefinition
from engine.reports.provinces import canonical_province
from engine.reports.result import Result, dim_text, ordered_values, plain_number


class ChinaMap(ChartType):
    key = "map"
    dimensions = (1, 1)

    def build(self, chart: ChartDefinition, result: Result) -> Shaped:
        dim, measure = result.dims[0], result.measures[0]
        agg = next((m.agg for m in chart.measures if m.key == measure.name), None)
        values: dict[str, list[Any]] = {}
        keys: dict[str, list[Any]] = {}
        unmatched: list[Any] = []
        rows = {row.get(dim.name): row for row in result.rows}
        for raw in ordered_values(dim, result.rows):
            province = None if raw is None else canonical_province(str(raw)) or canonical_province(dim_text(dim, raw))
            if province is None:
                unmatched.append(raw)
            else:
                values.setdefault(province, []).append(rows[raw].get(measure.name))
                keys.setdefault(province, []).append(raw)
        data = [{"name": name, "value": plain_number(found[0] if len(found) == 1 else combine(agg, found)), "keys": keys[name]}
                for name, found in values.items()]  # fmt: skip
        return {"map": "china", "data": data, "unmatched": unmatched}
