"""The dashboard designer (`/build/apps/{app}/dashboards/{key}`, `/new`): saved charts laid out in rows of
width and height presets, the default filters every tile runs under. An island (static/js/builder-dashboard.js)
edits the definition as JSON, previews each tile through `POST /api/v1/apps/{app}/charts/{key}/data` with the
designer's filters (drawn by the end user's tile) and saves through the dashboards API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.builder.charts import TYPE_WORDS, island_json, stored
from builder_ui.i18n import text_in
from builder_ui.pages.dashboards import PRESET_LABELS, PRESETS, _choices
from builder_ui.render import page
from builder_ui.session import Viewer
from engine.api.deps import Ctx
from engine.auth.policy import may_manage
from engine.reports.service import ChartService, DashboardService, definition_json

router = APIRouter(include_in_schema=False)
WIDTHS = (("1/3", 8), ("1/2", 12), ("2/3", 16), ("Full width", 24))
HEIGHTS = (("Small", 3), ("Medium", 6), ("Large", 9))


def _strings(_: Any) -> dict[str, str]:
    words = {
        "width": "Width", "height": "Height", "remove": "Remove", "left": "Move left", "right": "Move right",
        "up": "Move up", "down": "Move down", "saved": "Saved.", "fix": "Please correct the marked settings.",
        "conflict": "Someone else saved this dashboard meanwhile. Reload to see it.", "loading": "Loading…",
        "failed": "This tile could not be loaded", "custom": "Custom ({n})", "empty": "Add a chart to start",
        "edit_chart": "Edit the chart",
    }  # fmt: skip
    return {k: _(v) for k, v in words.items()}


async def _designer(request: Request, app: str, key: str | None, c: Ctx, viewer: Viewer) -> Response:
    _ = viewer._
    async with c.db.read() as conn:
        nav, _entities = await app_nav(c, conn, viewer, app)
        dashboard, version = None, None
        if key is not None:
            dashboard, version = stored(definition_json(await DashboardService(c.clock).row(conn, app, key)))
        taken = [r.key for r in await DashboardService(c.clock).list(conn, app)]
        rows = await ChartService(c.reports, c.clock).list(conn, app)
        teams, owners = await _choices(conn, viewer.locale)
    charts = [
        {"key": r.key, "label": text_in(r.definition.get("label"), viewer.locale, r.key), "type": r.definition["type"],
         "icon": TYPE_WORDS.get(r.definition["type"], ("", "chart-bar"))[1]}
        for r in rows
        if may_manage(viewer.access, app, r.definition["source"])
    ]  # fmt: skip
    data = {
        "app": app, "dashboard": dashboard, "version": version, "locale": viewer.locale, "taken": taken, "charts": charts,
        "widths": [[_(n), w] for n, w in WIDTHS], "heights": [[_(n), h] for n, h in HEIGHTS], "strings": _strings(_),
    }  # fmt: skip
    title = text_in((dashboard or {}).get("label"), viewer.locale, key or "") or _("New dashboard")
    return page(
        request, "builder/dashboard.html", viewer=viewer, build_section="charts", build_app=nav, app_key=app, data=data,
        data_json=island_json(data), title=title, is_new=key is None, presets=[(p, PRESET_LABELS.get(p, p)) for p in PRESETS],
        teams=teams, owners=owners, filters=(dashboard or {}).get("filters") or {},
    )  # fmt: skip


@router.get("/build/apps/{app}/dashboards/new")
async def new_dashboard_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    return await _designer(request, app, None, c, viewer)


@router.get("/build/apps/{app}/dashboards/{key}")
async def dashboard_page(request: Request, app: str, key: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    return await _designer(request, app, key, c, viewer)
