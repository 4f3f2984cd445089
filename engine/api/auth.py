"""Session sign-in for the UI, and API tokens for integrators (shown once, revocable)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from engine.api.csrf import csrf_token
from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import IdPath
from engine.audit.journal import AuditJournal
from engine.auth import account
from engine.auth.admin import invitations
from engine.schema.definition import Key

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1000)]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] = ""
    expires_at: datetime | None = None
    read_only: bool = False
    apps: Annotated[list[Key], Field(min_length=1, max_length=100)] | None = None  # none: every app


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, Field(min_length=1, max_length=1000)]
    new_password: account.NewPassword


@router.post("/login")
async def login(request: Request, c: Ctx) -> Response:
    """Sign in (a session cookie). Audited; after 5 failures for an email or 20 from an address in
    15 minutes, attempts get 429 with Retry-After."""
    body = parse_model(Login, await read_json(request))
    ip = request.client.host if request.client else None
    actor = await account.sign_in(c.db, c.auth, AuditJournal(c.clock), body.email, body.password, ip)
    request.session.clear()
    request.session["user_id"] = actor.user_id
    # Cookie-authenticated writes must echo this token (header X-CSRF-Token): engine/api/csrf.py.
    return json_response({"user_id": actor.user_id, "is_admin": actor.is_admin, "csrf_token": csrf_token(request.session)})


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: account.NewPassword


@router.get("/invitations/{token}")
async def invitation(token: Annotated[str, Path(max_length=100)], c: Ctx) -> Response:
    """Whom a first-password link is for (404 once used, replaced or expired)."""
    async with c.db.read() as conn:
        return json_response(await invitations.invited(conn, c.auth, token))


@router.post("/invitations/{token}")
async def accept_invitation(token: Annotated[str, Path(max_length=100)], request: Request, c: Ctx) -> Response:
    """Choose the first password through an invitation link; signs in (a session cookie), like login."""
    body = parse_model(InvitationAccept, await read_json(request))
    actor = await invitations.accept(c.db, c.auth, AuditJournal(c.clock), token, body.password)
    request.session.clear()
    request.session["user_id"] = actor.user_id
    return json_response({"user_id": actor.user_id, "is_admin": actor.is_admin, "csrf_token": csrf_token(request.session)})


@router.post("/logout", status_code=204)
async def logout(request: Request) -> Response:
    request.session.clear()
    return Response(status_code=204)


@router.get("/me")
async def me(actor: CurrentActor) -> Response:
    return json_response({"user_id": actor.user_id, "is_admin": actor.is_admin, "token_id": actor.token_id})


@router.post("/password", status_code=204)
async def change_password(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    body = parse_model(PasswordChange, await read_json(request))
    ip = request.client.host if request.client else None
    await account.change_password(c.db, c.auth, AuditJournal(c.clock), actor, body.current_password, body.new_password, ip)
    return Response(status_code=204)


@router.get("/tokens")
async def list_tokens(c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response({"items": await c.auth.list_tokens(conn, actor.user_id or 0)})


@router.post("/tokens", status_code=201)
async def create_token(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """A new token for the caller, optionally `read_only` and/or limited to some `apps`. The token
    text is in this response only; store it now."""
    body = parse_model(TokenIn, await read_json(request))
    journal = AuditJournal(c.clock)
    async with c.db.write() as conn:
        token, info = await account.issue_token(
            conn, c.auth, journal, actor, body.name, body.expires_at, body.read_only, body.apps
        )
    return json_response(info | {"token": token}, 201)


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        await account.revoke_token(conn, c.auth, AuditJournal(c.clock), actor, token_id)
    return Response(status_code=204)
