"""Charts in the builder: the list of an app's charts and dashboards (`/build/apps/{app}/charts`) and the chart
designer (`/build/apps/{app}/charts/{key}`, `/new`). The designer is an island (static/js/builder-chart.js):
it edits the chart definition as JSON, previews it through `POST /api/v1/apps/{app}/query` (the engine runs it
in the builder's own scope) and saves it through the charts API. The preview is drawn by the end user's tile
(templates/components/tile.html, static/js/charts.js): one way to draw a chart."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.fields import field_views, filter_fields, operator_labels, value_kind
from builder_ui.i18n import text_in
from builder_ui.pages.dashboards import ECHARTS, _script_json, pivot_point
from builder_ui.render import page
from builder_ui.session import Viewer
from engine.api.deps import Ctx
from engine.api.jsonio import read_json
from engine.auth.policy import may_manage, scope
from engine.reports.charts import chart_types
from engine.reports.definition import AGGREGATES, BUCKETS
from engine.reports.service import ChartService, DashboardService, definition_json

router = APIRouter(include_in_schema=False)
STORED = ("id", "app", "version", "updated_at")  # what the API adds to a stored definition
TYPE_WORDS = {  # chart type -> (English name, icon); the catalog translates the names
    "bar": ("Bar", "bars-3-bottom-left"), "column": ("Column chart", "chart-bar"), "line": ("Line", "presentation-chart-line"),
    "area": ("Area", "arrow-trending-up"), "pie": ("Pie", "chart-pie"), "donut": ("Donut", "viewfinder-circle"),
    "funnel": ("Funnel", "funnel"), "map": ("Map", "map"), "kpi": ("KPI", "hashtag"), "table": ("Table", "table-cells"),
    "pivot": ("Pivot table", "squares-2x2"), "leaderboard": ("Leaderboard", "trophy"),
}  # fmt: skip
AGG_WORDS = {
    "count": "Count", "count_distinct": "Count distinct", "sum": "Sum", "avg": "Average", "min": "Minimum",
    "max": "Maximum", "median": "Median",
}  # fmt: skip
BUCKET_WORDS = {
    "hour": "By hour", "day": "By day", "week": "By week", "month": "By month", "quarter": "By quarter", "year": "By year",
}  # fmt: skip


def _strings(_: Any) -> dict[str, str]:
    """The designer's words for its browser module (no JS catalog)."""
    words = {
        "dimensions": "Dimensions", "measures": "Measures", "add_dimension": "Add as dimension",
        "add_measure": "Add as measure", "count_rows": "Count records", "remove": "Remove", "no_bucket": "As is",
        "rows": "Records", "joined": "Linked: {label}", "via": "{entity} (by the field {field})",
        "of": "{entity} whose {field} is this {source}", "remove_join": "Remove the link", "saved": "Saved.",
        "fix": "Please correct the marked settings.", "conflict": "Someone else saved this chart meanwhile. Reload to see it.",
        "loading": "Loading preview…", "empty_dims": "Click a field's “+ dimension” to group by it",
        "empty_measures": "Click a field's “+ measure”, or count records", "asc": "Ascending", "desc": "Descending",
        "no_sort": "Default order", "preview_failed": "The preview cannot be drawn:", "kept": "Kept as defined",
        "yes": "Yes", "no": "No", "all": "All of these", "any": "Any of these", "add": "Add condition",
        "group": "Add group", "field": "Field", "op": "Operator", "value": "Value", "me": "Me",
        "match": "Only records where", "move_up": "Move up", "move_down": "Move down", "dimension_short": "Dimension",
        "measure_label": "Name of the measure",
        "measure_short": "Measure", "bucket": "Time bucket", "aggregate": "Aggregate", "first_measure": "The first measure",
        "option_stacked": "Stacked", "option_cumulative": "Cumulative (each stage counts the ones after it)",
        "option_exclude": "Stages left out (keys, comma separated)", "option_measure": "Measure shown",
        "option_rows": "Rows", "option_columns": "Columns", "option_compare": "Compared with the previous period",
    }  # fmt: skip
    return {k: _(v) for k, v in words.items()}


def _entity_json(e: Any, viewer: Viewer) -> dict[str, Any]:
    """An entity as the designer offers it: readable fields with their types (a formula's: what it returns, so
    the days of a leave request can be summed), relations to same-app entities,
    and the fields the condition builder offers."""
    fvs = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
    fields = [
        {"key": f.key, "label": f.label, "type": value_kind(f),
         "target": f.target[1] if f.target and f.target[0] == e.app else None}
        for f in fvs.values()
    ]  # fmt: skip
    return {"label": text_in(e.label, viewer.locale, e.key), "fields": fields, "filter": filter_fields(fvs, viewer._)}


def _types(_: Any) -> list[dict[str, Any]]:
    out = []
    for kind in chart_types():
        name, icon = TYPE_WORDS.get(kind.key, (kind.key, "chart-bar"))
        out.append({
            "key": kind.key, "label": _(name), "icon": icon, "dimensions": list(kind.dimensions),
            "measures": list(kind.measures), "others": kind.others, "schema": kind.options.model_json_schema(),
        })  # fmt: skip
    return out


def island_json(data: dict[str, Any]) -> Markup:
    """The designer's data for its JSON block, keys in their stored order (Jinja's tojson sorts them, and a
    definition saved back must keep its order to stay byte for byte the same)."""
    return htmlsafe_json_dumps(data, dumps=json.dumps)


def stored(row_json: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The definition as it was saved (what a PUT sends back) and its version."""
    return {k: v for k, v in row_json.items() if k not in STORED}, row_json["version"]


@router.get("/build/apps/{app}/charts")
async def charts_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        labels = {e.key: text_in(e.label, viewer.locale, e.key) for e in entities}
        rows = await ChartService(c.reports, c.clock).list(conn, app)
        rows = [r for r in rows if may_manage(viewer.access, app, r.definition["source"])]
        boards = await DashboardService(c.clock).list(conn, app)
    sources = {r.key: r.definition["source"] for r in rows}
    charts = [
        {"key": r.key, "label": text_in(r.definition.get("label"), viewer.locale, r.key), "type": r.definition["type"],
         "source": labels.get(r.definition["source"], r.definition["source"])}
        for r in rows
    ]  # fmt: skip
    dashboards = [
        {"key": d.key, "label": text_in(d.definition.get("label"), viewer.locale, d.key), "tiles": len(d.definition["tiles"])}
        for d in boards
        if all(t["chart"] in sources for t in d.definition["tiles"])  # the builder manages every chart on it
    ]  # fmt: skip
    types = {k: (viewer._(name), icon) for k, (name, icon) in TYPE_WORDS.items()}
    return page(request, "builder/charts.html", viewer=viewer, build_section="charts", build_app=nav, app_key=app,
                charts=charts, dashboards=dashboards, types=types)  # fmt: skip


async def _designer(request: Request, app: str, key: str | None, c: Ctx, viewer: Viewer) -> Response:
    _ = viewer._
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        chart, version = None, None
        if key is not None:
            chart, version = stored(definition_json(await ChartService(c.reports, c.clock).row(conn, app, key)))
        taken = [r.key for r in await ChartService(c.reports, c.clock).list(conn, app)]
    ops, units = operator_labels(_)
    data = {
        "app": app, "chart": chart, "version": version, "locale": viewer.locale, "taken": taken,
        "entities": {e.key: _entity_json(e, viewer) for e in entities if may_manage(viewer.access, app, e.key)},
        "types": _types(_), "aggregates": {a: _(AGG_WORDS[a]) for a in AGGREGATES},
        "buckets": {b: _(BUCKET_WORDS[b]) for b in BUCKETS}, "ops": ops, "units": units, "strings": _strings(_),
        "back": request.query_params.get("back", "") if request.query_params.get("back", "").startswith("/build/") else "",
    }  # fmt: skip
    title = text_in((chart or {}).get("label"), viewer.locale, key or "") or _("New chart")
    return page(request, "builder/chart.html", viewer=viewer, build_section="charts", build_app=nav, app_key=app,
                data=data, data_json=island_json(data), title=title, is_new=key is None)  # fmt: skip


@router.get("/build/apps/{app}/charts/new")
async def new_chart_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    return await _designer(request, app, None, c, viewer)


@router.get("/build/apps/{app}/charts/{key}")
async def chart_page(request: Request, app: str, key: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    return await _designer(request, app, key, c, viewer)


@router.post("/build/apps/{app}/charts/tile")
async def tile(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    """A chart API answer ({result} or {error}: what `/query` or `/charts/{key}/data` returned) drawn as the
    dashboard draws a tile. Only draws what it is given: the data came from the API in the builder's scope."""
    body = await read_json(request)
    result = body.get("result") if isinstance(body, dict) and isinstance(body.get("result"), dict) else None
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    if result is None and error is None:
        error = {"title": viewer._("The preview cannot be drawn:")}
    async with c.db.read() as conn:
        await app_nav(c, conn, viewer, app)
    return page(
        request, "components/tile.html", viewer=viewer, app=app, chart_key=(result or {}).get("key", ""), result=result,
        error=error, echarts=ECHARTS, data_json=_script_json(result), pivot_point=pivot_point,
    )  # fmt: skip
