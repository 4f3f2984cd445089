"""Request dependencies: who is calling (bearer token or session cookie), and the check every
definition router makes before a change."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Request

from engine.api.context import Context, ctx
from engine.auth.policy import Access, may_manage
from engine.core.errors import Forbidden, Unauthorized
from engine.core.locales import from_accept_language


async def current_actor(request: Request, c: Annotated[Context, Depends(ctx)]) -> Access:
    """The caller, speaking the language its Accept-Language header asks for (English by default)."""
    actor = await _caller(request, c)
    c.api_rate.hit(actor)
    locale = from_accept_language(request.headers.get("accept-language"))
    return actor if locale == actor.locale else replace(actor, locale=locale)


async def _caller(request: Request, c: Context) -> Access:
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


def require_manage(actor: Access, app: str, entity: Any, what: str) -> None:
    """Refuse (403) a caller who may not manage the entity a definition (rule, process, chart) is
    about. A body without a usable entity key goes on to validation, which answers 422 at its path."""
    if isinstance(entity, str) and not may_manage(actor, app, entity):
        raise Forbidden(f"you may not manage the {what} of {app}.{entity}")
