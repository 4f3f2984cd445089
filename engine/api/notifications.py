"""The signed-in user's notification inbox: list (newest first), mark one or all read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response
from engine.api.params import MAX_ID, IdPath
from engine.notify import inbox

router = APIRouter(prefix="/api/v1/me/notifications", tags=["notifications"])

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_cursor of the previous page")]


@router.get("")
async def list_notifications(
    c: Ctx, actor: CurrentActor, unread: bool = False, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """A page of the caller's notifications, newest first, with the count of all unread ones."""
    async with c.db.read() as conn:
        return json_response(await inbox.page(conn, actor, unread_only=unread, limit=limit, before_id=cursor))


@router.post("/read-all")
async def mark_all_read(c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        return json_response({"marked": await inbox.mark_all_read(conn, c.clock.now(), actor)})


@router.post("/{notification_id}/read")
async def mark_read(notification_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        return json_response(await inbox.mark_read(conn, c.clock.now(), actor, notification_id))
