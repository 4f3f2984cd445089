"""The report engine as the API uses it: check a chart, run it for a viewer, show its SQL, drill down.

A chart runs as one statement under a statement timeout, its result bounded to MAX_GROUPS groups;
the chart type shapes the rows into what the UI draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.clock import Clock
from engine.core.errors import ErrorCollector, ErrorDetail, ValidationFailed
from engine.core.jsonvalues import jsonable
from engine.core.settings import Settings
from engine.expr.fields import SYSTEM_FIELDS
from engine.formula.env import Env
from engine.reports import dialect as sqld
from engine.reports.charts import chart_types
from engine.reports.compile import MAX_GROUPS, Context, Plan, compile_chart, dashboard_window
from engine.reports.definition import ChartDefinition, DashboardFilters, parse_chart
from engine.reports.result import Result, dim_text, ordered_values, plain_value
from engine.schema.store import EntityStore

TIMEOUT_SECONDS = 20.0  # one chart's statement; a dashboard runs each of its charts under it


@dataclass
class Reports:
    store: EntityStore
    clock: Clock
    settings: Settings
    timeout: float = TIMEOUT_SECONDS

    # -- definitions -----------------------------------------------------------------------------
    async def check(self, conn: AsyncConnection, app: str, doc: Any, access: Access | None = None) -> ChartDefinition:
        """The chart, or a 422 listing every problem at its JSON path (compiled once, as a viewer
        with every right would see it, so fields and joins are checked against the metadata)."""
        errors = ErrorCollector()
        chart = parse_chart(doc, errors)
        errors.raise_if_any("The chart has errors")
        assert chart is not None
        await self.plan(conn, app, chart, access or Access.system(source="report"), None)
        return chart

    async def plan(
        self, conn: AsyncConnection, app: str, chart: ChartDefinition, access: Access, filters: DashboardFilters | None,
        locale: str = "en", action: str = "read",
    ) -> Plan:  # fmt: skip
        entities = {e.key: e for e in await self.store.list(conn, app)}
        dialect = conn.dialect.name
        ctx = Context(entities, access, self.env(access), dialect, locale, filters, action)
        return compile_chart(chart, ctx)

    def env(self, access: Access) -> Env:
        return Env(now=self.clock.now(), tz=ZoneInfo(self.settings.tangram_timezone), user_id=access.user_id,
                   user_team_id=access.primary_team_id)  # fmt: skip

    # -- running ---------------------------------------------------------------------------------
    async def result(
        self, conn: AsyncConnection, app: str, chart: ChartDefinition, access: Access, filters: DashboardFilters | None,
        locale: str = "en", action: str = "read",
    ) -> Result:  # fmt: skip
        plan = await self.plan(conn, app, chart, access, filters, locale, action)
        async with sqld.timeout(conn, self.timeout):
            rows = [dict(r._mapping) for r in (await conn.execute(plan.statement)).all()]
        if len(rows) > plan.limit and plan.limit == MAX_GROUPS:
            advice = ErrorDetail("/dimensions", "too_many_groups", "filter it, or use a coarser time bucket or bins")
            raise ValidationFailed(f"the chart has more than {MAX_GROUPS:,} groups", errors=[advice])
        truncated = len(rows) > plan.limit
        rows = rows[: plan.limit]
        return _result(plan, rows, truncated)

    async def run(
        self, conn: AsyncConnection, app: str, chart: ChartDefinition, access: Access, filters: DashboardFilters | None,
        locale: str = "en",
    ) -> dict[str, Any]:  # fmt: skip
        result = await self.result(conn, app, chart, access, filters, locale)
        kind = chart_types()[chart.type]
        return {
            "key": chart.key, "type": chart.type,
            "dimensions": [{"key": d.name, "label": d.label, "kind": d.kind} for d in result.dims],
            "measures": [{"key": m.name, "label": m.label, "format": m.format} for m in result.measures],
            "data": kind.shape(chart, result), "truncated": result.truncated,
        }  # fmt: skip

    async def table(
        self, conn: AsyncConnection, app: str, chart: ChartDefinition, access: Access, filters: DashboardFilters | None,
        locale: str = "en",
    ) -> tuple[list[str], list[list[Any]]]:  # fmt: skip
        """Header and rows for an export, in the viewer's export scope: dimension texts, then measure
        values; rows in the chart's sort, else in the dimensions' display order (options, time)."""
        result = await self.result(conn, app, chart, access, filters, locale, action="export")
        header = [d.label for d in result.dims] + [m.label for m in result.measures]
        if not chart.sort:
            positions = [{v: i for i, v in enumerate(ordered_values(d, result.rows))} for d in result.dims]
            result.rows.sort(
                key=lambda row: [p.get(row.get(d.name), len(p)) for d, p in zip(result.dims, positions, strict=True)]
            )
        rows = [
            [dim_text(d, row.get(d.name)) for d in result.dims] + [plain_value(row.get(m.name)) for m in result.measures]
            for row in result.rows
        ]
        return header, rows

    async def sql(
        self, conn: AsyncConnection, app: str, chart: ChartDefinition, access: Access, filters: DashboardFilters | None
    ) -> dict[str, Any]:
        plan = await self.plan(conn, app, chart, access, filters)
        compiled = plan.statement.compile(dialect=conn.dialect)
        params = jsonable(dict(compiled.params))
        return {"dialect": conn.dialect.name, "sql": str(compiled), "params": params}

    async def drill(
        self, conn: AsyncConnection, app: str, chart: ChartDefinition, access: Access, point: dict[str, Any],
        filters: DashboardFilters | None,
    ) -> dict[str, Any]:  # fmt: skip
        """The records behind one data point, as a records-API filter on the source entity."""
        plan = await self.plan(conn, app, chart, access, filters)  # the viewer may read it, and it compiles
        assert plan.source is not None
        terms: list[Any] = [chart.filter] if chart.filter else []
        errors = ErrorCollector()
        for d in chart.dimensions:
            if d.name not in point:
                continue
            path = _source_path(chart, d.field)
            if path is None:
                errors.add(f"/point/{d.name}", "joined", "drill-down filters the source entity: this dimension is on a "
                           "join the records list cannot follow (from the other side of a relation)")  # fmt: skip
                continue
            f = plan.source.fields.get(d.field) or SYSTEM_FIELDS.get(d.field)
            dated = f is not None and f.cfg.type == "date"
            terms.extend(_point_terms(d, path, point[d.name], ZoneInfo(self.settings.tangram_timezone), dated))
        terms.extend(self._filter_terms(chart, plan, filters))
        errors.raise_if_any("The point cannot be drilled into")
        return {"entity": chart.source, "filter": {"all": terms} if terms else None}

    def _filter_terms(self, chart: ChartDefinition, plan: Plan, filters: DashboardFilters | None) -> list[dict[str, Any]]:
        """The dashboard's date range and owners as conditions (teams: see the guide's known limits)."""
        if filters is None:
            return []
        terms: list[dict[str, Any]] = []
        window = dashboard_window(filters, self.env(Access.system()))
        if window is not None and plan.source is not None:
            f = plan.source.fields.get(chart.date_field) or SYSTEM_FIELDS.get(chart.date_field)
            dated = f is not None and f.cfg.type == "date"
            lo, hi = (window[0].astimezone(self.env(Access.system()).tz).date().isoformat(),
                      window[1].astimezone(self.env(Access.system()).tz).date().isoformat()) if dated else (
                      window[0].isoformat(), window[1].isoformat())  # fmt: skip
            terms += [{"field": chart.date_field, "op": "gte", "value": lo}, {"field": chart.date_field, "op": "lt", "value": hi}]
        if filters.owners:
            terms.append({"field": "owner", "op": "in", "value": list(filters.owners)})
        return terms


def _result(plan: Plan, rows: list[dict[str, Any]], truncated: bool) -> Result:
    previous = None
    if plan.kpi_previous and rows:
        previous = {name: rows[0].get(f"{name}__previous") for name in plan.kpi_previous}
    dims = list(plan.dims)
    for d in dims:
        if d.kind == "bucket" and d.bucket:
            for r in rows:
                r[d.name] = sqld.bucket_text(r[d.name], d.bucket)
    for i, d in enumerate(dims):
        label_col = f"{d.name}__label"
        if d.kind in ("relation", "user"):
            labels = {r[d.name]: r[label_col] for r in rows if r.get(label_col) is not None}
            dims[i] = d.__class__(**{**d.__dict__, "labels": labels})
    return Result(dims, plan.measures, rows, plan.sets, previous, truncated)


def _source_path(chart: ChartDefinition, field: str) -> str | None:
    """The records-list path of a dimension's field: "acct.region" over the forward join `acct` on `account`
    is "account.region"; None through a reverse join (the list filters the source's own rows)."""
    alias, dot, rest = field.partition(".")
    if not dot:
        return field
    join = next((j for j in chart.joins if j.alias == alias), None)
    if join is None or join.direction != "forward":
        return None
    head = join.field if join.source == "source" else _source_path(chart, f"{join.source}.{join.field}")
    return None if head is None else f"{head}.{rest}"


def _point_terms(d: Any, path: str, value: Any, tz: ZoneInfo, dated: bool) -> list[dict[str, Any]]:
    """`path`: the dimension's field as the records list names it (through forward joins)."""
    if value is None:
        return [{"field": path, "op": "is_empty"}]
    if isinstance(value, list):  # a map's province: every spelling of it ("广东", "广东省")
        return [{"field": path, "op": "in", "value": value}]
    if d.bucket is not None:
        first = datetime.fromisoformat(str(value))
        after = _next_bucket(first, d.bucket)
        lo, hi = (first.date().isoformat(), after.date().isoformat()) if dated else (_local(first, tz), _local(after, tz))
        return [{"field": path, "op": "gte", "value": lo}, {"field": path, "op": "lt", "value": hi}]
    if d.bins is not None:
        lo = float(value)
        hi = _next_edge(d.bins, lo)
        return [{"field": path, "op": "gte", "value": lo}] + (
            [{"field": path, "op": "lt", "value": hi}] if hi is not None else []
        )
    return [{"field": path, "op": "eq", "value": value}]


def _next_bucket(start: datetime, unit: str) -> datetime:
    if unit == "hour":
        return start + timedelta(hours=1)
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(weeks=1)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    total = start.year * 12 + start.month - 1 + months
    return start.replace(year=total // 12, month=total % 12 + 1, day=1)


def _local(moment: datetime, tz: ZoneInfo) -> str:
    """A bucket boundary (local wall time) as the instant it is in the business time zone."""
    return moment.replace(tzinfo=tz).isoformat()


def _next_edge(bins: Any, lo: float) -> float | None:
    if bins.width is not None:
        return lo + bins.width
    later = [e for e in bins.edges or () if e > lo]
    return later[0] if later else None
