"""Reports API: charts and dashboards under an app's metadata (CRUD), and their data for viewers (run a
chart, a whole dashboard, an unsaved chart for the builder's preview, drill into a point, export a file;
administrators also see the compiled SQL).

Rights. Saving a chart takes the right to manage its source entity (as rules and processes do); saving a
dashboard, the right to manage the source of every chart on it. Data is open to whoever may read the
source: the engine scopes the rows and hides fields inside the query, so two viewers see the numbers their
roles allow. A chart's definition is listed to whoever may read its source, a dashboard to whoever may read
the source of one of its charts; a dashboard tile the viewer may not read carries an error, the rest render.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor, require_manage
from engine.api.jsonio import json_response, loads, parse_model, read_json
from engine.api.versions import parse_if_match
from engine.auth.policy import Access, may_manage, scope
from engine.core.errors import ErrorDetail, Forbidden, TangramError, ValidationFailed
from engine.reports.definition import DashboardFilters
from engine.reports.dialect import ReportTimeout
from engine.reports.export import CSV_TYPE, XLSX_TYPE, to_csv, to_xlsx
from engine.reports.service import ChartService, DashboardService, chart_sources, definition_json

meta = APIRouter(prefix="/api/v1/meta/apps/{app}", tags=["reports"])
data = APIRouter(prefix="/api/v1/apps/{app}", tags=["reports"])
router = APIRouter()
LOCALE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"  # en, zh-CN, zh-Hans-CN
Locale = Annotated[str, Field(pattern=LOCALE)]


class DataIn(BaseModel):
    """Running a saved chart or dashboard: filters overlaid on the dashboard's defaults."""

    model_config = ConfigDict(extra="forbid")
    filters: DashboardFilters | None = None
    locale: Locale = "en"


class QueryIn(DataIn):
    chart: dict[str, Any]  # an unsaved chart definition


class DrillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    point: dict[str, Any] = Field(max_length=8)  # dimension name -> its value at the point
    filters: DashboardFilters | None = None


# -- rights ----------------------------------------------------------------------------------------
async def _may_read(c: Ctx, conn: AsyncConnection, actor: Access, app: str, source: str) -> bool:
    """May the caller see a definition reporting on `source`: read its records, or manage it."""
    if may_manage(actor, app, source):
        return True
    entity = await c.store.get_or_none(conn, app, source)
    return entity is not None and scope(actor, entity, "read").allowed


async def _may_export(c: Ctx, conn: AsyncConnection, actor: Access, app: str, source: str) -> None:
    entity = await c.store.get(conn, app, source)
    if not scope(actor, entity, "export").allowed:
        raise Forbidden(f"you may not export {app}.{source} data")


def _tagged(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status, headers={"ETag": f'"{body["version"]}"'})


@asynccontextmanager
async def _report_errors(prefix: str = "") -> AsyncIterator[None]:
    """A timeout is the viewer's to fix (filter more, bucket coarser): a 422 like any refused chart.
    Problems of an unsaved chart point into the body that carried it (`prefix`)."""
    try:
        yield
    except ReportTimeout as exc:
        raise ValidationFailed(str(exc), errors=[ErrorDetail("", "timeout", str(exc))]) from None
    except ValidationFailed as exc:
        if not prefix:
            raise
        errors = [ErrorDetail(prefix + e.path, e.code, e.message) for e in exc.errors]
        raise ValidationFailed(exc.detail, errors=errors, **exc.extra) from None


async def _body(request: Request, model: type[DataIn]) -> DataIn:
    """The optional JSON body of a data request: none at all means the defaults."""
    if not (await request.body()).strip():
        return model()
    return parse_model(model, await read_json(request))


# -- charts: definitions ---------------------------------------------------------------------------
def _charts(c: Ctx) -> ChartService:
    return ChartService(c.reports, c.clock)


@meta.get("/charts")
async def list_charts(app: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        rows = await _charts(c).list(conn, app)
        items = [definition_json(r) for r in rows if await _may_read(c, conn, actor, app, r.definition["source"])]
    return json_response({"items": items})


@meta.post("/charts", status_code=201)
async def create_chart(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    require_manage(actor, app, doc.get("source") if isinstance(doc, dict) else None, "reports")
    async with c.db.write() as conn:
        return _tagged(await _charts(c).create(conn, app, doc), 201)


@meta.get("/charts/{key}")
async def get_chart(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        row = await _charts(c).row(conn, app, key)
        source = row.definition["source"]
        if not await _may_read(c, conn, actor, app, source):
            raise Forbidden(f"you may not read {app}.{source}")
    return _tagged(definition_json(row))


@meta.put("/charts/{key}")
async def replace_chart(
    app: str, key: str, request: Request, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Send the ETag you read as If-Match: a chart changed since is a 409."""
    doc = await read_json(request)
    async with c.db.write() as conn:
        old = await _charts(c).row(conn, app, key)
        require_manage(actor, app, old.definition["source"], "reports")
        require_manage(actor, app, doc.get("source") if isinstance(doc, dict) else None, "reports")
        return _tagged(await _charts(c).replace(conn, app, key, doc, parse_if_match(if_match)))


@meta.delete("/charts/{key}", status_code=204)
async def delete_chart(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    """409 while a dashboard shows the chart."""
    async with c.db.write() as conn:
        require_manage(actor, app, (await _charts(c).row(conn, app, key)).definition["source"], "reports")
        await _charts(c).delete(conn, app, key)
    return Response(status_code=204)


# -- dashboards: definitions -----------------------------------------------------------------------
def _dashboards(c: Ctx) -> DashboardService:
    return DashboardService(c.clock)


def _manages_all(actor: Access, app: str, sources: dict[str, str]) -> None:
    for chart, source in sorted(sources.items()):
        if not may_manage(actor, app, source):
            raise Forbidden(f"you may not manage dashboards showing {chart!r}: it reports on {app}.{source}")


async def _tile_sources(conn: AsyncConnection, row: Any) -> dict[str, str]:
    return await chart_sources(conn, row.app, {t["chart"] for t in row.definition["tiles"]})


@meta.get("/dashboards")
async def list_dashboards(app: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        items = []
        for row in await _dashboards(c).list(conn, app):
            sources = set((await _tile_sources(conn, row)).values())
            if any([await _may_read(c, conn, actor, app, s) for s in sorted(sources)]):
                items.append(definition_json(row))
    return json_response({"items": items})


@meta.post("/dashboards", status_code=201)
async def create_dashboard(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    async with c.db.write() as conn:
        checked = await _dashboards(c).check(conn, app, doc)
        _manages_all(actor, app, checked.sources)
        return _tagged(await _dashboards(c).create(conn, app, checked), 201)


@meta.get("/dashboards/{key}")
async def get_dashboard(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        row = await _dashboards(c).row(conn, app, key)
        sources = await _tile_sources(conn, row)
        if not any([await _may_read(c, conn, actor, app, s) for s in sorted(set(sources.values()))]):
            raise Forbidden(f"you may read none of the charts on dashboard {key!r}")
    return _tagged(definition_json(row))


@meta.put("/dashboards/{key}")
async def replace_dashboard(
    app: str, key: str, request: Request, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    doc = await read_json(request)
    async with c.db.write() as conn:
        _manages_all(actor, app, await _tile_sources(conn, await _dashboards(c).row(conn, app, key)))
        checked = await _dashboards(c).check(conn, app, doc)
        _manages_all(actor, app, checked.sources)
        return _tagged(await _dashboards(c).replace(conn, app, key, checked, parse_if_match(if_match)))


@meta.delete("/dashboards/{key}", status_code=204)
async def delete_dashboard(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        _manages_all(actor, app, await _tile_sources(conn, await _dashboards(c).row(conn, app, key)))
        await _dashboards(c).delete(conn, app, key)
    return Response(status_code=204)


# -- data ------------------------------------------------------------------------------------------
@data.post("/charts/{key}/data")
async def chart_data(app: str, key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """The chart run for the caller: {"key", "type", "data" (shaped for the chart type), "dimensions",
    "measures", "truncated"}."""
    body = await _body(request, DataIn)
    async with c.db.read() as conn, _report_errors():
        chart = ChartService.definition(await _charts(c).row(conn, app, key))
        return json_response(await c.reports.run(conn, app, chart, actor, body.filters, body.locale))


@data.post("/dashboards/{key}/data")
async def dashboard_data(app: str, key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Every tile's chart under the dashboard's filters, the body's overlaid. A tile that fails (a chart
    the caller may not read, one that no longer compiles, a timeout) carries its problem as `error`."""
    body = await _body(request, DataIn)
    async with c.db.read() as conn:
        dashboard = DashboardService.definition(await _dashboards(c).row(conn, app, key))
        filters = overlay(dashboard.filters, body.filters)
        tiles = []
        for tile in dashboard.tiles:
            placed: dict[str, Any] = tile.model_dump()
            try:
                async with _report_errors():
                    chart = ChartService.definition(await _charts(c).row(conn, app, tile.chart))
                    placed["result"] = await c.reports.run(conn, app, chart, actor, filters, body.locale)
            except TangramError as exc:
                placed["error"] = problem_json(exc)
            tiles.append(placed)
    return json_response({"key": dashboard.key, "filters": filters.model_dump(mode="json"), "tiles": tiles})


def overlay(defaults: DashboardFilters, given: DashboardFilters | None) -> DashboardFilters:
    """The viewer's filters over the dashboard's: a date range given (from/to or relative) replaces the
    default range whole; owners and teams each replace theirs when given."""
    if given is None:
        return defaults
    chosen = given.model_dump(exclude_unset=True)
    merged = defaults.model_dump()
    if chosen.keys() & {"date_from", "date_to", "relative"}:
        merged |= {"date_from": None, "date_to": None, "relative": None}
    return DashboardFilters.model_validate(merged | chosen)


def problem_json(exc: TangramError) -> dict[str, Any]:
    """The problem+json body the API would answer with alone (engine.api.problems), for one tile."""
    body: dict[str, Any] = {"type": f"/problems/{exc.type_slug}", "title": exc.title, "status": exc.status, "detail": exc.detail}
    if exc.errors:
        body["errors"] = [e.as_dict() for e in exc.errors]
    return body | exc.extra


@data.post("/query")
async def query(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Run an unsaved chart (the builder's live preview): checked as a save would be, problems at /chart/..."""
    body = parse_model(QueryIn, await read_json(request))
    async with c.db.read() as conn, _report_errors(prefix="/chart"):
        chart = await c.reports.check(conn, app, body.chart)
        return json_response(await c.reports.run(conn, app, chart, actor, body.filters, body.locale))


@data.get("/charts/{key}/sql")
async def chart_sql(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    """The compiled statement (administrators only): {"sql", "params", "dialect"}."""
    if not actor.is_admin:
        raise Forbidden("only administrators may see a chart's SQL")
    async with c.db.read() as conn, _report_errors():
        chart = ChartService.definition(await _charts(c).row(conn, app, key))
        return json_response(await c.reports.sql(conn, app, chart, actor, None))


@data.post("/charts/{key}/drill")
async def drill(app: str, key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """The records behind one point: {"entity", "filter"}, a condition for the records API."""
    body = parse_model(DrillIn, await read_json(request))
    async with c.db.read() as conn, _report_errors():
        chart = ChartService.definition(await _charts(c).row(conn, app, key))
        return json_response(await c.reports.drill(conn, app, chart, actor, body.point, body.filters))


@data.get("/charts/{key}/export")
async def export(
    app: str,
    key: str,
    c: Ctx,
    actor: CurrentActor,
    file_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    locale: Annotated[str, Query(pattern=LOCALE)] = "en",
    filters: Annotated[str | None, Query(max_length=10_000, description="DashboardFilters as JSON")] = None,
) -> Response:
    """The chart's rows as a file: dimension texts, then measure values. Takes the right to export the source."""
    chosen = parse_model(DashboardFilters, loads(filters.encode())) if filters else None
    async with c.db.read() as conn, _report_errors():
        chart = ChartService.definition(await _charts(c).row(conn, app, key))
        await _may_export(c, conn, actor, app, chart.source)
        header, rows = await c.reports.table(conn, app, chart, actor, chosen, locale)
    if file_format == "xlsx":
        content, media = to_xlsx(header, rows, chart.key), XLSX_TYPE
    else:
        content, media = to_csv(header, rows), CSV_TYPE
    disposition = f'attachment; filename="{chart.key}.{file_format}"'  # a key is [a-z0-9_]: safe in the header as is
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


router.include_router(meta)
router.include_router(data)
