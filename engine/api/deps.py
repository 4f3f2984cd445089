"""Request dependencies: who is calling (bearer token or session cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from engine.api.context import Context, ctx
from engine.auth.policy import Access
from engine.core.errors import Unauthorized


async def current_actor(request: Request, c: Annotated[Context, Depends(ctx)]) -> Access:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        actor = await c.auth.authenticate(c.db, token.strip())
        if actor is None:
            raise Unauthorized("the API token is invalid, expired or revoked")
        return actor
    async with c.db.read() as conn:
        user_id = request.session.get("user_id") if "session" in request.scope else None
        if isinstance(user_id, int):
            actor = await c.auth.actor_for_user(conn, user_id)
            if actor is not None:
                return actor
    raise Unauthorized("authenticate with 'Authorization: Bearer <token>' or sign in")


CurrentActor = Annotated[Access, Depends(current_actor)]
Ctx = Annotated[Context, Depends(ctx)]
