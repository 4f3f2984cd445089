"""Imports API: upload a CSV/XLSX file into an entity (run as a durable job), follow it, download its
error report, and ask which field each column would feed. Thin: parse, call the import service, shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import UnsupportedMediaType, json_response, loads, parse_model
from engine.api.params import IdPath
from engine.core.errors import ErrorDetail, ValidationFailed
from engine.core.settings import Settings
from engine.imports.options import ImportOptions
from engine.imports.report import error_report

router = APIRouter(prefix="/api/v1/apps", tags=["imports"])
RAW_TYPES = (
    "text/csv", "text/plain", "text/tab-separated-values", "application/octet-stream", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)  # fmt: skip


def UPLOAD_LIMITS(settings: Settings) -> tuple[tuple[str, int], ...]:
    """The import routes take files up to max_import_bytes (plus room for the multipart envelope)."""
    limit = settings.max_import_bytes + 64 * 1024
    return ((r"/api/v1/apps/[^/]+/[^/]+/imports(/suggest)?", limit),)


async def _upload(request: Request, options: str | None) -> tuple[str, bytes, Any]:
    """The file and the options JSON: a multipart form (file, options) or the raw file as the body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=5) as form:
            file, field = form.get("file"), form.get("options")
            if not isinstance(file, UploadFile):
                raise ValidationFailed(
                    "No file", errors=[ErrorDetail("/file", "required", "send the file in the form field 'file'")]
                )
            data = await file.read()
            return file.filename or "upload", data, field if isinstance(field, str) else options
    if media in RAW_TYPES:
        name = request.query_params.get("file_name", "upload.xlsx" if "sheet" in media else "upload.csv")
        return name, await request.body(), options
    raise UnsupportedMediaType("send the file as multipart/form-data (field 'file') or as the raw body (text/csv, XLSX)")


def _options(text: str | None) -> ImportOptions:
    return parse_model(ImportOptions, loads(text.encode()) if text else {})


@router.post("/{app}/{entity}/imports", status_code=202)
async def start_import(
    app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor,
    options: Annotated[str | None, Query(max_length=100_000, description="ImportOptions as JSON")] = None,
) -> Response:  # fmt: skip
    """Check the file and mapping (any problem: 4xx, nothing stored), then queue the import as a job."""
    name, data, text = await _upload(request, options)
    chosen = _options(text)
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        status = await c.imports.start(conn, actor, e, name, data, chosen)
    return json_response(status, 202, headers={"Location": f"/api/v1/apps/{app}/{entity}/imports/{status['id']}"})


@router.post("/{app}/{entity}/imports/suggest")
async def suggest_mapping(
    app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor,
    options: Annotated[str | None, Query(max_length=100_000)] = None,
) -> Response:  # fmt: skip
    """The mapping a sheet's header suggests (by field key or label, zh-CN or en, or resemblance), what it
    leaves out, the workbook's sheets, and per select column the cells no option (or value_map) matches."""
    name, data, text = await _upload(request, options)
    chosen = _options(text)
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
    return json_response(c.imports.suggest(actor, e, name, data, chosen))


@router.get("/{app}/{entity}/imports")
async def import_history(
    app: str, entity: str, c: Ctx, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Response:
    """The caller's own imports into the entity, newest first (state and counts; no file, no errors)."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response({"items": await c.imports.history(conn, actor, e, limit)})


@router.get("/{app}/{entity}/imports/{import_id}")
async def import_status(app: str, entity: str, import_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """State, counts (total, processed, created, updated, failed) and the first row errors."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response(await c.imports.status(conn, actor, e, import_id))


@router.get("/{app}/{entity}/imports/{import_id}/errors")
async def import_errors(
    app: str, entity: str, import_id: IdPath, c: Ctx, actor: CurrentActor,
    file_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
) -> Response:  # fmt: skip
    """Every row error as a file: row (the header is row 1), column, value, code, message."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        errors = await c.imports.errors(conn, actor, e, import_id)
    content, media = error_report(errors, file_format)
    disposition = f'attachment; filename="import-{import_id}-errors.{file_format}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})
