"""Storing charts and dashboards: create, replace (If-Match versions), delete, list, each checked whole first.

A chart is checked by the report engine (its fields exist, its aggregates fit, its joins follow real relations),
so a stored chart ran when it was saved. A dashboard is a layout of saved charts of the same app: every tile's
chart must exist, and a chart cannot be deleted while a dashboard shows it (the dashboard would break silently).
Who may do what is the API's concern (engine.api.reports); these services only keep the stored rows sound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, NotFound
from engine.reports.definition import ChartDefinition, DashboardDefinition, parse_dashboard
from engine.reports.tables import charts, dashboards


class ChartChecker(Protocol):
    """The part of the report engine (engine.reports.engine.Reports) a save needs."""

    async def check(self, conn: AsyncConnection, app: str, doc: Any) -> ChartDefinition: ...


@dataclass(frozen=True)
class CheckedDashboard:
    definition: DashboardDefinition
    sources: dict[str, str]  # chart key -> its source entity, for every tile


def definition_json(row: Any) -> dict[str, Any]:
    """The stored definition with its row's id, app, version (also the ETag) and last change."""
    return dict(row.definition) | {"id": row.id, "app": row.app, "version": row.version, "updated_at": row.updated_at.isoformat()}


class _Stored:
    """CRUD shared by both kinds: one row per (app, key), the definition as JSON, a version per save."""

    def __init__(self, table: Table, noun: str, clock: Clock) -> None:
        self.table, self.noun, self.clock = table, noun, clock

    async def list(self, conn: AsyncConnection, app: str) -> list[Any]:
        t = self.table
        return list((await conn.execute(select(t).where(t.c.app == app).order_by(t.c.key))).all())

    async def row(self, conn: AsyncConnection, app: str, key: str) -> Any:
        t = self.table
        row = (await conn.execute(select(t).where(t.c.app == app, t.c.key == key))).first()
        if row is None:
            raise NotFound(f"app {app!r} has no {self.noun} {key!r}")
        return row

    async def _insert(self, conn: AsyncConnection, app: str, key: str, definition: dict[str, Any]) -> dict[str, Any]:
        t = self.table
        if (await conn.execute(select(func.count()).where(t.c.app == app, t.c.key == key))).scalar():
            raise Conflict(f"app {app!r} already has a {self.noun} {key!r}")
        now = self.clock.now()
        values = {"app": app, "key": key, "definition": definition, "version": 1, "created_at": now, "updated_at": now}
        await conn.execute(insert(t).values(values))
        return definition_json(await self.row(conn, app, key))

    def _expect(self, old: Any, expected: int | None) -> None:
        if expected is not None and expected != old.version:
            raise Conflict(
                f"{self.noun} {old.key!r} was changed by someone else (version {old.version})", current_version=old.version
            )

    async def _update(self, conn: AsyncConnection, old: Any, key: str, definition: dict[str, Any]) -> dict[str, Any]:
        if key != old.key:
            raise Conflict(f"a {self.noun}'s key cannot change (it is {old.key!r})")
        t = self.table
        stmt = (
            update(t)
            .where(t.c.id == old.id, t.c.version == old.version)
            .values(definition=definition, version=old.version + 1, updated_at=self.clock.now())
        )
        if (await conn.execute(stmt)).rowcount != 1:
            raise Conflict(f"{self.noun} {old.key!r} was changed by someone else; reload it")
        return definition_json(await self.row(conn, old.app, old.key))

    async def _delete(self, conn: AsyncConnection, row: Any) -> None:
        await conn.execute(delete(self.table).where(self.table.c.id == row.id))


class ChartService(_Stored):
    def __init__(self, reports: ChartChecker, clock: Clock) -> None:
        super().__init__(charts, "chart", clock)
        self.reports = reports

    async def check(self, conn: AsyncConnection, app: str, doc: Any) -> ChartDefinition:
        """The chart, or a 422 listing every problem at its JSON path (the report engine's check)."""
        return await self.reports.check(conn, app, doc)

    async def create(self, conn: AsyncConnection, app: str, doc: Any) -> dict[str, Any]:
        chart = await self.check(conn, app, doc)
        return await self._insert(conn, app, chart.key, chart.to_json())

    async def replace(self, conn: AsyncConnection, app: str, key: str, doc: Any, expected: int | None) -> dict[str, Any]:
        old = await self.row(conn, app, key)
        self._expect(old, expected)
        chart = await self.check(conn, app, doc)
        return await self._update(conn, old, chart.key, chart.to_json())

    async def delete(self, conn: AsyncConnection, app: str, key: str) -> None:
        row = await self.row(conn, app, key)
        showing = [d.key for d in await DashboardService(self.clock).list(conn, app) if key in _tile_charts(d.definition)]
        if showing:
            raise Conflict(
                f"chart {key!r} is on the dashboard(s) {', '.join(showing)}; take it off them first", dashboards=showing
            )
        await self._delete(conn, row)

    @staticmethod
    def definition(row: Any) -> ChartDefinition:
        """A stored chart as the engine runs it (it was checked when saved)."""
        return ChartDefinition.model_validate(row.definition)


class DashboardService(_Stored):
    def __init__(self, clock: Clock) -> None:
        super().__init__(dashboards, "dashboard", clock)

    async def check(self, conn: AsyncConnection, app: str, doc: Any) -> CheckedDashboard:
        """The dashboard with its tiles' sources, or a 422: shape problems, and /tiles/i/chart for a chart
        the app does not have."""
        errors = ErrorCollector()
        dashboard = parse_dashboard(doc, errors)
        errors.raise_if_any("The dashboard has errors")
        assert dashboard is not None
        sources = await chart_sources(conn, app, {t.chart for t in dashboard.tiles})
        for i, tile in enumerate(dashboard.tiles):
            if tile.chart not in sources:
                errors.add(f"/tiles/{i}/chart", "unknown_chart", f"app {app!r} has no chart {tile.chart!r}")
        errors.raise_if_any("The dashboard has errors")
        return CheckedDashboard(dashboard, sources)

    async def create(self, conn: AsyncConnection, app: str, checked: CheckedDashboard) -> dict[str, Any]:
        return await self._insert(conn, app, checked.definition.key, checked.definition.to_json())

    async def replace(
        self, conn: AsyncConnection, app: str, key: str, checked: CheckedDashboard, expected: int | None
    ) -> dict[str, Any]:
        old = await self.row(conn, app, key)
        self._expect(old, expected)
        return await self._update(conn, old, checked.definition.key, checked.definition.to_json())

    async def delete(self, conn: AsyncConnection, app: str, key: str) -> None:
        await self._delete(conn, await self.row(conn, app, key))

    @staticmethod
    def definition(row: Any) -> DashboardDefinition:
        return DashboardDefinition.model_validate(row.definition)


def _tile_charts(definition: dict[str, Any]) -> set[str]:
    return {t.get("chart") for t in definition.get("tiles", []) if isinstance(t, dict)}


async def chart_sources(conn: AsyncConnection, app: str, keys: set[str]) -> dict[str, str]:
    """chart key -> source entity, for those of `keys` the app has."""
    if not keys:
        return {}
    query = select(charts.c.key, charts.c.definition).where(charts.c.app == app, charts.c.key.in_(sorted(keys)))
    return {key: definition["source"] for key, definition in (await conn.execute(query)).all()}
