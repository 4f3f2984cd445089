"""Duplicates API: a record's possible duplicates, a scan for duplicate groups, merge and undo.
Also the `Tangram-Duplicates` header: the possible duplicates warn rules found while a request saved
records (the saved record's own response body is unchanged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import IdPath
from engine.records.dedup.check import MAX_SHOWN, noting_duplicates
from engine.records.dedup.merge import MergeRequest

router = APIRouter(prefix="/api/v1/apps", tags=["duplicates"])
HEADER = b"tangram-duplicates"


@router.get("/{app}/{entity}/{rid}/duplicates")
async def record_duplicates(app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """Live records the caller may read that match this one under a duplicate rule: [{id, rules}]."""
    async with c.db.write() as conn:  # may build a new rule's keys first
        e = await c.store.get(conn, app, entity)
        return json_response({"items": await c.duplicates.duplicates_of(conn, actor, e, rid)})


@router.post("/{app}/{entity}/duplicates/scan")
async def scan_duplicates(
    app: str, entity: str, c: Ctx, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Response:
    """Groups of records (within the caller's read scope) sharing a key: [{rule, action, ids}]."""
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response({"groups": await c.duplicates.scan(conn, actor, e, limit)})


@router.post("/{app}/{entity}/merge")
async def merge_records(app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """{"survivor": id, "others": [ids], "values": {field: {"from": id} | {"value": v}}}."""
    body = parse_model(MergeRequest, await read_json(request))
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response(await c.merger.merge(conn, actor, e, body))


@router.post("/{app}/{entity}/merges/{merge_id}/undo")
async def undo_merge(app: str, entity: str, merge_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response(await c.merger.undo(conn, actor, e, merge_id))


class DuplicateHeader:
    """Pure ASGI middleware: collects what warn rules found during a write request and, on success,
    names it in `Tangram-Duplicates: crm.account/12, crm.account/15`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PATCH", "PUT"):
            await self.app(scope, receive, send)
            return
        with noting_duplicates() as notes:

            async def send_noted(message: Message) -> None:
                if message["type"] == "http.response.start" and notes.found and 200 <= message["status"] < 300:
                    value = ", ".join(list(dict.fromkeys(notes.found))[:MAX_SHOWN])
                    message = {**message, "headers": [*message.get("headers", []), (HEADER, value.encode())]}
                await send(message)

            await self.app(scope, receive, send_noted)
