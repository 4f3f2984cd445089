"""Dashboards in the web app: the page (a grid of tiles and the filter bar) and one partial per tile, each
its own request, so tiles load in parallel and one failing tile shows its problem while the rest draw."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from builder_ui.i18n import text_in
from builder_ui.nav import app_for, dashboards_for
from builder_ui.render import page
from builder_ui.session import CurrentViewer, Viewer
from engine.api.context import Context
from engine.api.deps import Ctx
from engine.api.reports import overlay, problem_json
from engine.auth.tables import teams, users
from engine.core.errors import ErrorDetail, NotFound, TangramError, ValidationFailed
from engine.reports.definition import DashboardFilters
from engine.reports.dialect import ReportTimeout
from engine.reports.service import ChartService, DashboardService

router = APIRouter(include_in_schema=False)
ECHARTS = {"bar", "column", "line", "area", "pie", "donut", "funnel", "map"}
PRESETS = DashboardFilters.model_fields["relative"].annotation.__args__[0].__args__  # type: ignore[union-attr]
Short = Annotated[str | None, Query(max_length=64)]
MAX_ID = 2**63 - 1  # a user id fits a bigint; more is no user (and would overflow the query)
PRESET_LABELS = {  # English source strings; the template translates them
    "today": "Today", "this_week": "This week", "this_month": "This month", "this_quarter": "This quarter",
    "this_year": "This year", "last_7_days": "Last 7 days", "last_30_days": "Last 30 days", "last_90_days": "Last 90 days",
    "last_month": "Last month", "last_quarter": "Last quarter", "last_year": "Last year",
}  # fmt: skip


async def _dashboard(c: Context, conn: AsyncConnection, viewer: Viewer, app: str, key: str) -> Any:
    """The dashboard's definition, if the viewer may open it (read one of its charts' sources)."""
    if key not in {d.key for d in await dashboards_for(c, conn, viewer, app)}:
        raise NotFound(viewer._("No such dashboard."))
    return DashboardService.definition(await DashboardService(c.clock).row(conn, app, key))


async def _choices(conn: AsyncConnection, locale: str) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
    """The filter bar's teams (key, label) and owners (id, name)."""
    team_rows = (await conn.execute(select(teams.c.key, teams.c.label).order_by(teams.c.path))).all()
    user_rows = (await conn.execute(select(users.c.id, users.c.name).where(users.c.active).order_by(users.c.name))).all()
    return [(r.key, text_in(r.label, locale, r.key)) for r in team_rows], [(r.id, r.name) for r in user_rows]


def chosen_filters(relative: str | None, team: str | None, owner: str | None) -> DashboardFilters | None:
    """The filter bar's choices as DashboardFilters (None: the dashboard's defaults); "" clears a choice.
    A bad choice is a 422 naming its query parameter (`/relative`, `/team`, `/owner`)."""
    given: dict[str, Any] = {}
    if relative is not None:
        given["relative"] = relative or None
    if team is not None:
        given["teams"] = [team] if team else []
    if owner:
        if not (owner.isascii() and owner.isdigit() and int(owner) <= MAX_ID):
            detail = ErrorDetail("/owner", "invalid", "not a user id")
            raise ValidationFailed("The dashboard filters are not valid", errors=[detail])
        given["owners"] = [int(owner)]
    elif owner is not None:
        given["owners"] = []
    if not given:
        return None
    try:
        return DashboardFilters.model_validate(given)
    except ValidationError as exc:
        names = {"relative": "relative", "teams": "team", "owners": "owner"}
        errors = [ErrorDetail("/" + names.get(str(e["loc"][0]), str(e["loc"][0])), e["type"], e["msg"]) for e in exc.errors()]
        raise ValidationFailed("The dashboard filters are not valid", errors=errors) from exc


def pivot_point(data: dict[str, Any], row: dict[str, Any], col: dict[str, Any]) -> dict[str, Any]:
    """A pivot cell's drill-down point: its row and column keys by dimension (a subtotal names fewer)."""
    keys = [d["key"] for d in data["row_dims"]][: len(row["key"])] + [d["key"] for d in data["column_dims"]][: len(col["key"])]
    return dict(zip(keys, [*row["key"], *col["key"]], strict=True))


def _script_json(result: dict[str, Any] | None) -> str:
    """The result as JSON for a data attribute (the template escapes it)."""
    return json.dumps(result, ensure_ascii=False, default=str) if result else ""


@router.get("/apps/{app}/dashboards/{key}")
async def dashboard_page(request: Request, app: str, key: str, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        dashboard = await _dashboard(c, conn, viewer, app, key)
        charts = {}
        for tile in dashboard.tiles:
            row = await ChartService(c.reports, c.clock).row(conn, app, tile.chart)
            charts[tile.chart] = ChartService.definition(row)
        team_choices, owner_choices = await _choices(conn, viewer.locale)
        nav = await app_for(c, conn, viewer, app)
    return page(
        request, "pages/dashboard.html", viewer=viewer, nav=nav, app=app, dashboard=dashboard, charts=charts,
        defaults=dashboard.filters, presets=[(p, PRESET_LABELS.get(p, p)) for p in PRESETS],
        teams=team_choices, owners=owner_choices, current_dashboard=key,
    )  # fmt: skip


@router.get("/apps/{app}/dashboards/{key}/tiles/{index}")
async def tile_part(
    request: Request, app: str, key: str, index: int, c: Ctx, viewer: CurrentViewer,
    relative: Short = None, team: Short = None, owner: Short = None,
) -> Response:  # fmt: skip
    """One tile's data in the viewer's scope, drawn as HTML (KPI, table, pivot, leaderboard) or handed to
    ECharts as JSON; a chart that fails answers with its problem in the tile."""
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    async with c.db.read() as conn:
        dashboard = await _dashboard(c, conn, viewer, app, key)
        if not 0 <= index < len(dashboard.tiles):
            raise NotFound(viewer._("No such tile."))
        chart_key = dashboard.tiles[index].chart
        filters = overlay(dashboard.filters, chosen_filters(relative, team, owner))  # bad choices: the 422 itself
        try:
            chart = ChartService.definition(await ChartService(c.reports, c.clock).row(conn, app, chart_key))
            result = await c.reports.run(conn, app, chart, viewer.access, filters, viewer.locale)
        except TangramError as exc:
            error = problem_json(exc)
        except ReportTimeout as exc:
            error = {"status": 422, "title": str(exc)}
    return page(
        request, "components/tile.html", viewer=viewer, app=app, chart_key=chart_key, result=result, error=error,
        echarts=ECHARTS, data_json=_script_json(result), pivot_point=pivot_point,
    )  # fmt: skip
