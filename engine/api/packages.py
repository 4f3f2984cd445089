"""App packages API (administrators): the catalog, installing from it or from an uploaded zip (both with
?dry_run=true for the plan only), exporting an app as a zip; and form layouts under an app's metadata.

Install and upgrade answer with the report: the plan's steps, conflicts (customer changes kept) and
definitions kept although the package dropped them. A refused package is a 422 whose errors each carry
`file` and `path` (a JSON Pointer from the package root: /rules/r1.json/entity).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor, require_manage
from engine.api.jsonio import json_response, read_json
from engine.api.versions import parse_if_match
from engine.apps.forms import FormService, form_json
from engine.apps.service import load
from engine.auth.admin.base import require_admin
from engine.auth.policy import Access, may_manage, scope
from engine.core.errors import BadRequest, Forbidden

router = APIRouter(prefix="/api/v1/meta", tags=["packages"])
DryRun = Annotated[bool, Query(description="Check everything and return the plan; write nothing")]
Force = Annotated[bool, Query(description="Reinstall the same or an older version")]
Sample = Annotated[bool, Query(description="Load the package's sample data on a first install")]
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


def _admin(actor: Access, write: bool = True) -> None:
    require_admin(actor, write=write, what="app packages")


async def _install(c: Ctx, actor: Access, source: Any, dry_run: bool, force: bool, sample: bool) -> Response:
    report = await c.packages.install(load(source), actor, dry_run=dry_run, force=force, sample=sample)
    return json_response(report, 200 if dry_run else 201)


@router.get("/packages/catalog")
async def catalog(c: Ctx, actor: CurrentActor) -> Response:
    _admin(actor, write=False)
    return json_response({"items": c.packages.catalog()})


@router.post("/packages/catalog/{key}/install")
async def install_from_catalog(
    key: str, c: Ctx, actor: CurrentActor, dry_run: DryRun = False, force: Force = False, sample: Sample = True
) -> Response:
    _admin(actor)
    return await _install(c, actor, c.packages.catalog_package(key), dry_run, force, sample)


@router.post("/packages")
async def install_upload(
    request: Request, c: Ctx, actor: CurrentActor, dry_run: DryRun = False, force: Force = False, sample: Sample = True
) -> Response:
    """The package as a zip: the raw body (application/zip) or a multipart form's `file` field."""
    _admin(actor)
    return await _install(c, actor, await _zip_body(request), dry_run, force, sample)


async def _zip_body(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=0) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadRequest("send the zip in a multipart field named 'file'")
            return await upload.read()
    if media in ZIP_TYPES:
        return await request.body()
    raise BadRequest(f"send the package as a zip (Content-Type: application/zip or multipart/form-data), not {media!r}")


@router.get("/apps/{app}/package")
async def export_package(app: str, c: Ctx, actor: CurrentActor) -> Response:
    """The app as a package zip (deterministic: the same app gives the same bytes). Its managers may, too."""
    if not may_manage(actor, app, "*"):
        _admin(actor, write=False)
    content = await c.packages.export_zip(app, actor)
    headers = {"Content-Disposition": f'attachment; filename="{app}.zip"'}
    return Response(content, media_type="application/zip", headers=headers)


# -- form layouts ------------------------------------------------------------------------------------
def _forms(c: Ctx) -> FormService:
    return FormService(c.store, c.clock)


def _tagged(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(body, status, headers={"ETag": f'"{body["version"]}"'})


async def _may_read(c: Ctx, conn: Any, actor: Access, app: str, entity: str) -> bool:
    if may_manage(actor, app, entity):
        return True
    found = await c.store.get_or_none(conn, app, entity)
    return found is not None and scope(actor, found, "read").allowed


def _entity_of(doc: Any) -> Any:
    return doc.get("entity") if isinstance(doc, dict) else None


@router.get("/apps/{app}/forms")
async def list_forms(app: str, c: Ctx, actor: CurrentActor, entity: str | None = None) -> Response:
    async with c.db.read() as conn:
        rows = await _forms(c).list(conn, app, entity)
        items = [form_json(r) for r in rows if await _may_read(c, conn, actor, app, r.entity)]
    return json_response({"items": items})


@router.post("/apps/{app}/forms", status_code=201)
async def create_form(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    require_manage(actor, app, _entity_of(doc), "forms")
    async with c.db.write() as conn:
        return _tagged(await _forms(c).create(conn, app, doc), 201)


@router.get("/apps/{app}/forms/{key}")
async def get_form(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        row = await _forms(c).row(conn, app, key)
        if not await _may_read(c, conn, actor, app, row.entity):
            raise Forbidden(f"you may not read {app}.{row.entity}")
    return _tagged(form_json(row))


@router.put("/apps/{app}/forms/{key}")
async def replace_form(
    app: str, key: str, request: Request, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Send the ETag you read as If-Match: a layout changed since is a 409."""
    doc = await read_json(request)
    async with c.db.write() as conn:
        require_manage(actor, app, (await _forms(c).row(conn, app, key)).entity, "forms")
        require_manage(actor, app, _entity_of(doc), "forms")
        return _tagged(await _forms(c).replace(conn, app, key, doc, parse_if_match(if_match)))


@router.delete("/apps/{app}/forms/{key}", status_code=204)
async def delete_form(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        require_manage(actor, app, (await _forms(c).row(conn, app, key)).entity, "forms")
        await _forms(c).delete(conn, app, key)
    return Response(status_code=204)
