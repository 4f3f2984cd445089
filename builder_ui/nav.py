"""What the viewer may open: the apps with at least one entity they may read, and per app the navigation
generated from its definitions (entity labels in the viewer's language, icons)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from builder_ui.i18n import text_in
from builder_ui.session import Viewer
from engine.api.context import Context
from engine.auth.policy import may_manage, scope
from engine.reports.service import DashboardService, chart_sources
from engine.schema.model import CompiledEntity


@dataclass(frozen=True)
class NavEntity:
    key: str
    label: str
    icon: str


@dataclass(frozen=True)
class NavApp:
    key: str
    label: str
    description: str
    entities: tuple[NavEntity, ...]
    dashboards: tuple[NavEntity, ...] = ()
    icon: str | None = None  # the app's own icon and colour ("#rrggbb"), when it has them
    color: str | None = None


def readable(viewer: Viewer, entities: list[CompiledEntity]) -> list[CompiledEntity]:
    return [e for e in entities if scope(viewer.access, e, "read").allowed]


def _app(viewer: Viewer, app: dict[str, Any], entities: list[CompiledEntity]) -> NavApp:
    items = tuple(
        NavEntity(e.key, text_in(e.label, viewer.locale, e.key), e.definition.options.icon or "rectangle-stack")
        for e in readable(viewer, entities)
    )
    label, description = text_in(app.get("label"), viewer.locale, app["key"]), text_in(app.get("description"), viewer.locale)
    return NavApp(app["key"], label, description, items, icon=app.get("icon"), color=app.get("color"))


async def apps_for(c: Context, conn: AsyncConnection, viewer: Viewer) -> list[NavApp]:
    """Every app the viewer has something to read in (a token narrowed to apps would see only those)."""
    out = []
    for app in await c.schema.list_apps(conn):
        nav = _app(viewer, app, await c.store.list(conn, app["key"]))
        if nav.entities:
            out.append(nav)
    return out


async def app_for(
    c: Context, conn: AsyncConnection, viewer: Viewer, key: str, entities: list[CompiledEntity] | None = None
) -> NavApp:
    """`entities`: the app's (`EntityStore.list`), when the page has read them already."""
    entities = await c.store.list(conn, key) if entities is None else entities
    nav = _app(viewer, await c.schema.get_app(conn, key), entities)
    return replace(nav, dashboards=tuple(await dashboards_for(c, conn, viewer, key, entities)))


async def dashboards_for(
    c: Context, conn: AsyncConnection, viewer: Viewer, app: str, entities: list[CompiledEntity] | None = None
) -> list[NavEntity]:
    """The app's dashboards the viewer may open: those showing a chart on an entity they may read (as the
    dashboards API lists them)."""
    entities = await c.store.list(conn, app) if entities is None else entities
    readable_keys = {e.key for e in readable(viewer, entities)}
    out = []
    for row in await DashboardService(c.clock).list(conn, app):
        sources = set((await chart_sources(conn, app, {t["chart"] for t in row.definition["tiles"]})).values())
        if any(s in readable_keys or may_manage(viewer.access, app, s) for s in sources):
            out.append(NavEntity(row.key, text_in(row.definition.get("label"), viewer.locale, row.key), "chart-bar"))
    return out
