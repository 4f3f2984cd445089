"""The signed-in user's delegations (委托, engine.process.delegation): who receives the tasks that
arrive for them in a date range, optionally for one app or process. Thin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import IdPath
from engine.auth.policy import Access
from engine.core.errors import Forbidden
from engine.process import delegation
from engine.process.delegation import DelegationIn

router = APIRouter(prefix="/api/v1/me/delegations", tags=["tasks"])


def _person(actor: Access) -> int:
    if actor.user_id is None:
        raise Forbidden("only a signed-in user has delegations")
    return actor.user_id


@router.get("")
async def list_delegations(c: Ctx, actor: CurrentActor) -> Response:
    """`items`: my delegations; `received`: those that name me as the delegate."""
    async with c.db.read() as conn:
        return json_response(await delegation.list_delegations(conn, _person(actor), c.clock.now()))


@router.post("", status_code=201)
async def create_delegation(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    body = parse_model(DelegationIn, await read_json(request))
    async with c.db.write() as conn:
        return json_response(await delegation.save_delegation(conn, _person(actor), body, c.clock.now()), 201)


@router.get("/{delegation_id}")
async def get_delegation(delegation_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response(await delegation.get_delegation(conn, _person(actor), delegation_id, c.clock.now()))


@router.put("/{delegation_id}")
async def replace_delegation(delegation_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Replace every field; tasks already given to the delegate stay with them."""
    body = parse_model(DelegationIn, await read_json(request))
    async with c.db.write() as conn:
        return json_response(await delegation.save_delegation(conn, _person(actor), body, c.clock.now(), delegation_id))


@router.delete("/{delegation_id}", status_code=204)
async def delete_delegation(delegation_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        await delegation.delete_delegation(conn, _person(actor), delegation_id)
    return Response(status_code=204)
