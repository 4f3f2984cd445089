"""Sharing API: share one record with a user or a team, list and remove its shares."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from engine.api.context import Context
from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import IdPath
from engine.audit.journal import AuditJournal
from engine.auth.shares import ShareIn, Sharing

router = APIRouter(prefix="/api/v1/apps", tags=["sharing"])


def _sharing(c: Context) -> Sharing:
    return Sharing(c.clock, AuditJournal(c.clock))


@router.get("/{app}/{entity}/{rid}/shares")
async def list_shares(app: str, entity: str, rid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """With whom the record is shared (for anyone who may read it)."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response({"items": await _sharing(c).all(conn, actor, e, rid)})


@router.post("/{app}/{entity}/{rid}/shares", status_code=201)
async def share_record(app: str, entity: str, rid: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Share with {"user_id": 7} or {"team_id": 3}, "can_edit": true to let them update it. Needs
    the right to update the record. Sharing again with the same holder changes can_edit (200)."""
    body = parse_model(ShareIn, await read_json(request))
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        share, created = await _sharing(c).share(conn, actor, e, rid, body)
    c.auth.forget_cached()  # accesses carry their shared record ids
    return json_response(share, 201 if created else 200)


@router.delete("/{app}/{entity}/{rid}/shares/{share_id}", status_code=204)
async def unshare_record(app: str, entity: str, rid: IdPath, share_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        await _sharing(c).unshare(conn, actor, e, rid, share_id)
    c.auth.forget_cached()
    return Response(status_code=204)
