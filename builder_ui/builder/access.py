"""Who may open the builder, and which apps they build: administrators build every app, other users the
apps where one of their roles may manage an entity (the engine's `may_manage`, nothing re-decided here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from builder_ui.i18n import text_in
from builder_ui.session import CurrentViewer, Viewer
from engine.api.context import Context
from engine.auth.policy import may_manage
from engine.core.errors import Forbidden


def builds(viewer: Viewer, app: str, entities: list[str]) -> bool:
    """May the viewer change this app's definitions (an app without entities yet: its wildcard grant)?"""
    return viewer.access.is_admin or any(may_manage(viewer.access, app, key) for key in entities or ["*"])


async def buildable_apps(c: Context, conn: AsyncConnection, viewer: Viewer) -> list[dict[str, Any]]:
    out = []
    for app in await c.schema.list_apps(conn):
        keys = [e.key for e in await c.store.list(conn, app["key"])]
        if builds(viewer, app["key"], keys):
            out.append(app | {"entity_keys": keys})
    return out


def nav_of(app: dict[str, Any], entities: list[Any], viewer: Viewer) -> dict[str, Any]:
    """The builder's side navigation inside one app (templates/builder/layout.html's `build_app`)."""
    key = app["key"]
    return {
        "key": key,
        "label": text_in(app.get("label"), viewer.locale, key),
        "entities": [(e.key, text_in(e.label, viewer.locale, e.key)) for e in entities],
    }


async def app_nav(c: Context, conn: AsyncConnection, viewer: Viewer, app: str) -> tuple[dict[str, Any], list[Any]]:
    """The app's navigation and entities, or 403 when the viewer does not build it."""
    apps = {a["key"]: a for a in await buildable_apps(c, conn, viewer)}
    if app not in apps:
        raise Forbidden(viewer._("You do not build this app"))
    entities = await c.store.list(conn, app)
    return nav_of(apps[app], entities, viewer), entities


def may_build_anything(viewer: Viewer) -> bool:
    """Cheap check for showing the way in (top bar): administrators, app builders (they may create apps),
    or a role with a manage grant."""
    a = viewer.access
    return a.is_admin or a.creates_apps or any(g.manage for grants in a.roles for g in grants)


def manages_app(viewer: Viewer, app: str) -> bool:
    """May the viewer change the app as a whole (settings, who may use it, bin)? The engine's own check."""
    return may_manage(viewer.access, app, "*")


async def builder(viewer: CurrentViewer) -> Viewer:
    if not may_build_anything(viewer) or viewer.access.token_read_only:
        raise Forbidden(viewer._("Only people who manage an app may open the builder"))
    return viewer


CurrentBuilder = Annotated[Viewer, Depends(builder)]
