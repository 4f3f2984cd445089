"""Files API: upload to an attachment field (pending until a record save names them), download a
record's file or thumbnail (only with read access to the record and the field), or one's own pending file."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import UnsupportedMediaType, json_response
from engine.api.params import IdPath
from engine.core.errors import ErrorCollector
from engine.core.settings import Settings
from engine.files.service import MB, Incoming
from engine.files.sniff import INLINE
from engine.schema.field_types.attachment import FILE_ID, MAX_FILES

router = APIRouter(prefix="/api/v1/apps", tags=["files"])
FileIdPath = Annotated[str, Path(pattern=f"^{FILE_ID}$", description="File id")]


def UPLOAD_LIMITS(settings: Settings) -> tuple[tuple[str, int], ...]:
    """An upload request carries at most TANGRAM_MAX_FILE_MB in total (plus the multipart envelope)."""
    return ((r"/api/v1/apps/[^/]+/[^/]+/files/[^/]+", settings.tangram_max_file_mb * MB + 64 * 1024),)


@router.post("/{app}/{entity}/files/{field}", status_code=201)
async def upload(app: str, entity: str, field: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """multipart/form-data with one or more parts named `files`: 201 {"items": [file descriptors]}, pending
    (only the uploader sees them) until a record is saved with their ids in `field`."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
        raise UnsupportedMediaType("send the files as multipart/form-data, each in a part named 'files'")
    async with request.form(max_files=MAX_FILES + 1, max_fields=MAX_FILES + 1) as form:
        errors = ErrorCollector()
        for key, value in form.multi_items():
            if key != "files" or not isinstance(value, UploadFile):
                errors.add(f"/{key[:100]}", "unknown_field", "only file parts named 'files' are accepted")
        errors.raise_if_any("The form has errors")
        parts = [v for v in form.getlist("files") if isinstance(v, UploadFile)]
        incoming = [Incoming(p.filename, p.file, p.size or 0) for p in parts]
        items = await c.files.upload(actor, app, entity, field, incoming)
    return json_response({"items": items}, 201)


@router.get("/{app}/{entity}/files/{file_id}")
async def download_pending(
    app: str, entity: str, file_id: FileIdPath, c: Ctx, actor: CurrentActor, thumbnail: bool = False
) -> Response:
    """One's own pending file (uploaded, not yet saved on a record); 404 for anyone else."""
    async with c.db.read() as conn:
        row = await c.files.pending(conn, actor, app, entity, file_id)
    return await _send(c, row, thumbnail)


@router.get("/{app}/{entity}/{rid}/files/{file_id}")
async def download(
    app: str, entity: str, rid: IdPath, file_id: FileIdPath, c: Ctx, actor: CurrentActor, thumbnail: bool = False
) -> Response:
    """A file on a record the caller may read, in a field they may see (else 404); `?thumbnail=1` for
    a PNG thumbnail of an image."""
    async with c.db.read() as conn:
        row = await c.files.attached(conn, actor, app, entity, rid, file_id)
    return await _send(c, row, thumbnail)


async def _send(c: Any, row: Any, thumbnail: bool) -> Response:
    body = await c.files.content(row, thumbnail)
    media = "image/png" if thumbnail else row.content_type
    inline = media in INLINE
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": _disposition("inline" if inline else "attachment", row.name),
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-cache",
    }
    if not thumbnail:
        headers["Content-Length"] = str(row.size)
    charset = "; charset=utf-8" if media.startswith("text/") else ""
    return StreamingResponse(body, media_type=media + charset, headers=headers)


def _disposition(kind: str, name: str) -> str:
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
