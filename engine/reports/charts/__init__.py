"""The registry of chart types: one class per type, registered by key."""

from __future__ import annotations

from functools import cache

from engine.core.registry import Registry
from engine.reports.charts.base import ChartType, Options, Shaped, top_n
from engine.reports.charts.funnel import Funnel
from engine.reports.charts.kpi import Kpi
from engine.reports.charts.leaderboard import Leaderboard
from engine.reports.charts.map import ChinaMap
from engine.reports.charts.pie import Donut, Pie
from engine.reports.charts.pivot import Pivot
from engine.reports.charts.series import Area, Bar, Column, Line
from engine.reports.charts.table import Table

BUILTIN = (Kpi, Bar, Column, Line, Area, Pie, Donut, Funnel, Table, Pivot, Leaderboard, ChinaMap)


@cache
def chart_types() -> Registry[ChartType]:
    registry: Registry[ChartType] = Registry("chart type")
    for cls in BUILTIN:
        registry.register(cls())
    return registry


__all__ = ["BUILTIN", "ChartType", "Options", "Shaped", "chart_types", "top_n"]
