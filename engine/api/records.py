"""Records API: the generic REST surface of every entity. Thin: parse, call one service, shape."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response, StreamingResponse

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import MAX_ID, IdPath
from engine.api.versions import parse_if_match, require_version
from engine.audit import history
from engine.auth.policy import Access, scope
from engine.core.errors import BadRequest, ErrorCollector
from engine.records import idempotency
from engine.records.export import XLSX_TYPE, export_columns, export_csv, export_xlsx
from engine.records.query import caller_env, filter_targets, parse_list_query
from engine.schema.model import CompiledEntity

router = APIRouter(prefix="/api/v1/apps", tags=["records"])
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


class Bulk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["create", "update", "upsert"]
    items: Annotated[list[Any], Field(min_length=1, max_length=1000)]
    match_on: str | None = None


def _record(body: Any, status: int = 200) -> Response:
    version = body.get("version")  # absent when ?fields= left it out
    return json_response(body, status, headers={"ETag": f'"{version}"'} if isinstance(version, int) else None)


async def _list(c: Ctx, actor: Access, app: str, entity: str, binned: bool, **params: Any) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        q = parse_list_query(e, **params, **await filter_context(c, conn, actor, e, params["filter"]))
        return json_response(await c.reader.list(conn, actor, e, q, binned=binned))


async def filter_context(c: Ctx, conn: AsyncConnection, actor: Access, e: CompiledEntity, filter: str | None) -> dict[str, Any]:
    """What a list filter may see: the caller's field mask, the relation targets they may read, and
    their variables (user, team, now, today in the installation's time zone)."""
    return {
        "hidden": scope(actor, e, "read").hidden,
        "targets": await filter_targets(c.store, conn, actor, e, filter),
        "env": caller_env(actor, c.clock.now(), c.settings.tangram_timezone),
    }


Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/{app}/{entity}")
async def list_records(
    app: str, entity: str, c: Ctx, actor: CurrentActor,
    filter: str | None = None, sort: str | None = None, limit: Limit = 50, cursor: str | None = None,
    fields: str | None = None, expand: str | None = None, count: bool = False, q: str | None = None,
) -> Response:  # fmt: skip
    """A page of live records: `filter` (JSON condition), `q` (text search), `sort` (-budget,name), cursor paging."""
    return await _list(
        c,
        actor,
        app,
        entity,
        False,
        filter=filter,
        sort=sort,
        limit=limit,
        cursor=cursor,
        fields=fields,
        expand=expand,
        count=count,
        q=q if q and q.strip() else None,  # an empty search box lists everything
    )


@router.get("/{app}/{entity}/trash")
async def list_trash(
    app: str, entity: str, c: Ctx, actor: CurrentActor,
    filter: str | None = None, sort: str | None = None, limit: Limit = 50, cursor: str | None = None, count: bool = False,
) -> Response:  # fmt: skip
    """The recycle bin: deleted records, restorable until purged."""
    return await _list(
        c, actor, app, entity, True, filter=filter, sort=sort, limit=limit, cursor=cursor, fields=None, expand=None, count=count
    )


@router.get("/{app}/{entity}/export")
async def export_records(
    app: str, entity: str, c: Ctx, actor: CurrentActor,
    format: Literal["csv", "xlsx"] = "csv", filter: str | None = None, sort: str | None = None, fields: str | None = None,
) -> Response:  # fmt: skip
    """Every record of the list view the caller may export, as CSV (UTF-8 with BOM for Excel) or XLSX."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        seen = await filter_context(c, conn, actor, e, filter)
    q = parse_list_query(e, filter=filter, sort=sort, limit=1, cursor=None, fields=fields, expand=None, count=False, **seen)
    export_columns(actor, e, q)  # refuses before the response starts
    headers = {"Content-Disposition": f'attachment; filename="{app}-{entity}.{format}"'}
    if format == "xlsx":
        return Response(await export_xlsx(c.db, actor, e, q), media_type=XLSX_TYPE, headers=headers)
    return StreamingResponse(export_csv(c.db, actor, e, q), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{app}/{entity}/{rid}/history")
async def record_history(app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """The record's audit trail: who changed which field from what to what, and when."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response({"items": await history.record_history(conn, actor, e, rid)})


@router.post("/{app}/{entity}", status_code=201)
async def create_record(
    app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:  # fmt: skip
    data = await read_json(request)
    if idempotency_key is None:
        async with c.db.write() as conn:
            e = await c.store.get(conn, app, entity)
            return _record(await c.lines.create(conn, e, data, actor), 201)
    if not KEY_RE.match(idempotency_key):
        raise BadRequest("Idempotency-Key must be 1-255 printable ASCII characters")
    assert actor.user_id is not None
    print_ = idempotency.fingerprint("POST", request.url.path, await request.body())
    try:
        async with c.db.write() as conn:
            if (seen := await idempotency.recall(conn, c.clock, actor.user_id, idempotency_key, print_)) is None:
                e = await c.store.get(conn, app, entity)
                record = await c.lines.create(conn, e, data, actor)
                await idempotency.remember(conn, c.clock, actor.user_id, idempotency_key, print_, 201, record)
                return _record(record, 201)
    except IntegrityError:
        # A concurrent request with the same key won the race; its response is now stored.
        async with c.db.read() as conn:
            seen = await idempotency.recall(conn, c.clock, actor.user_id, idempotency_key, print_)
        if seen is None:
            raise
    response = _record(seen[1], seen[0])
    response.headers["Idempotent-Replayed"] = "true"
    return response


@router.post("/{app}/{entity}/bulk")
async def bulk(app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Create, update (items carry id, optional version) or upsert (by a unique field) up to 1000
    records, all or nothing."""
    body = parse_model(Bulk, await read_json(request))
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        if body.op == "create":
            items = await c.records.create_many(conn, e, body.items, actor)
        elif body.op == "upsert":
            items = await c.records.upsert_many(conn, e, body.items, body.match_on or "", actor)
        else:
            items = await c.records.update_many(conn, e, _update_items(body.items, c.settings.tangram_require_if_match), actor)
        return json_response({"items": items})


def _split_version(item: Any, path: str, errors: ErrorCollector) -> tuple[dict[str, Any], int | None]:
    if not isinstance(item, dict):
        errors.add(path, "type", "expected a JSON object")
        return {}, None
    values = dict(item)
    version = values.pop("version", None)
    if version is not None and not _is_id(version):
        errors.add(f"{path}/version", "type", "version must be a positive integer")
    return values, version


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _update_items(raw_items: list[Any], version_required: bool) -> list[tuple[int, Any, int | None]]:
    errors = ErrorCollector()
    items = []
    for i, item in enumerate(raw_items):
        values, version = _split_version(item, f"/items/{i}", errors)
        if version_required and version is None and isinstance(item, dict):
            errors.add(f"/items/{i}/version", "required", "send the version you read (TANGRAM_REQUIRE_IF_MATCH is on)")
        rid = values.pop("id", None)
        if not _is_id(rid) and isinstance(item, dict):
            errors.add(f"/items/{i}/id", "required", "an update item needs the integer id of the record")
        items.append((rid, values, version))
    errors.raise_if_any("The request body has errors")
    return items


@router.get("/{app}/{entity}/{rid}")
async def get_record(
    app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor,
    fields: str | None = None, expand: str | None = None, lines: bool = False,
) -> Response:  # fmt: skip
    """One record; `lines=true` adds the line items of its record form's lines sections."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        hidden = scope(actor, e, "read").hidden
        q = parse_list_query(
            e, filter=None, sort=None, limit=1, cursor=None, fields=fields, expand=expand, count=False, hidden=hidden
        )
        record = await c.reader.get(conn, actor, e, rid, q.fields, q.expand)
        if lines:
            await c.lines.read(conn, actor, e, record)
        return _record(record)


@router.patch("/{app}/{entity}/{rid}")
async def update_record(
    app: str,
    entity: str,
    rid: IdPath,
    request: Request,
    c: Ctx,
    actor: CurrentActor,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Change some fields. Send the version you read (If-Match or "version") to refuse lost updates."""
    errors = ErrorCollector()
    values, version = _split_version(await read_json(request), "", errors)
    errors.raise_if_any("The request body has errors")
    header = parse_if_match(if_match)
    expected = require_version(c.settings.tangram_require_if_match, header if header is not None else version)
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return _record(await c.lines.update(conn, e, rid, values, actor, expected))


@router.delete("/{app}/{entity}/{rid}", status_code=204)
async def delete_record(
    app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Move the record to the recycle bin."""
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        await c.records.delete(
            conn, e, rid, actor, require_version(c.settings.tangram_require_if_match, parse_if_match(if_match))
        )
    return Response(status_code=204)


@router.post("/{app}/{entity}/trash/{rid}/restore")
async def restore_record(app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return _record(await c.records.restore(conn, e, rid, actor))


@router.delete("/{app}/{entity}/trash/{rid}", status_code=204)
async def purge_record(app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """Delete a binned record for good."""
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        await c.records.purge(conn, e, rid, actor)
    return Response(status_code=204)
