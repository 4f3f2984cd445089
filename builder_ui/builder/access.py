"""Who may open the builder, and which apps they build: administrators build every app, other users the
apps where one of their roles may manage an entity (the engine's `may_manage`, nothing re-decided here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

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
