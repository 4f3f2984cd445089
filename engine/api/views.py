"""Saved views API: an entity's list and kanban views, personal or shared (engine.records.views). Thin.

Included before the record routes (engine/api/app.py): `/{app}/{entity}/views` must not be taken
for a record id.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, read_json
from engine.api.params import IdPath
from engine.api.versions import parse_if_match

router = APIRouter(prefix="/api/v1/apps/{app}/{entity}/views", tags=["views"])
IfMatch = Annotated[str | None, Header()]


def _tagged(view: dict[str, Any], status: int = 200) -> Response:
    return json_response(view, status, headers={"ETag": f'"{view["version"]}"'})


@router.get("")
async def list_views(app: str, entity: str, c: Ctx, actor: CurrentActor) -> Response:
    """The caller's views of the entity; the first item is the default (`default: true`)."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response({"items": await c.views.list(conn, actor, e)})


@router.post("", status_code=201)
async def create_view(app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """A personal view, or (for those who manage the entity) one shared with a role or everyone."""
    doc = await read_json(request)
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return _tagged(await c.views.create(conn, actor, e, doc), 201)


@router.get("/{vid}")
async def get_view(app: str, entity: str, vid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return _tagged(await c.views.get(conn, actor, e, vid))


@router.put("/{vid}")
async def replace_view(
    app: str, entity: str, vid: IdPath, request: Request, c: Ctx, actor: CurrentActor, if_match: IfMatch = None
) -> Response:
    """Send the ETag you read as If-Match: a view changed since is a 409."""
    doc = await read_json(request)
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        return _tagged(await c.views.replace(conn, actor, e, vid, doc, parse_if_match(if_match)))


@router.delete("/{vid}", status_code=204)
async def delete_view(app: str, entity: str, vid: IdPath, c: Ctx, actor: CurrentActor, if_match: IfMatch = None) -> Response:
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        await c.views.delete(conn, actor, e, vid, parse_if_match(if_match))
    return Response(status_code=204)
