"""Session sign-in for the UI, and API tokens for integrators (shown once, revocable)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import IdPath
from engine.core.errors import Unauthorized

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] = ""
    expires_at: datetime | None = None


@router.post("/login")
async def login(request: Request, c: Ctx) -> Response:
    body = parse_model(Login, await read_json(request))
    async with c.db.read() as conn:
        actor = await c.auth.check_password(conn, body.email, body.password)
    if actor is None:
        raise Unauthorized("wrong email or password")
    request.session.clear()
    request.session["user_id"] = actor.user_id
    return json_response({"user_id": actor.user_id, "is_admin": actor.is_admin})


@router.post("/logout", status_code=204)
async def logout(request: Request) -> Response:
    request.session.clear()
    return Response(status_code=204)


@router.get("/me")
async def me(actor: CurrentActor) -> Response:
    return json_response({"user_id": actor.user_id, "is_admin": actor.is_admin, "token_id": actor.token_id})


@router.get("/tokens")
async def list_tokens(c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response({"items": await c.auth.list_tokens(conn, actor.user_id or 0)})


@router.post("/tokens", status_code=201)
async def create_token(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """A new token for the caller. The token text is in this response only; store it now."""
    body = parse_model(TokenIn, await read_json(request))
    async with c.db.write() as conn:
        token, info = await c.auth.create_token(conn, actor.user_id or 0, body.name, body.expires_at)
    return json_response(info | {"token": token}, 201)


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        await c.auth.revoke_token(conn, actor.user_id or 0, token_id)
    return Response(status_code=204)
