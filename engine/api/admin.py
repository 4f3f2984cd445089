"""Admin API: users (their roles, teams and tokens), teams and roles. Administrators only; every
change is audited, and this process forgets cached rights as soon as it commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from engine.api.context import Context
from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import MAX_ID, IdPath
from engine.audit.journal import AuditJournal
from engine.auth import admin as identity


async def _admins_only(request: Request, actor: CurrentActor) -> None:
    identity.require_admin(actor, write=request.method not in ("GET", "HEAD"))


router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(_admins_only)])


def _users(c: Context) -> identity.UserAdmin:
    return identity.UserAdmin(c.auth, AuditJournal(c.clock))


def _invitations(c: Context) -> identity.InvitationAdmin:
    return identity.InvitationAdmin(c.auth, AuditJournal(c.clock))


def _teams(c: Context) -> identity.TeamAdmin:
    return identity.TeamAdmin(c.auth, AuditJournal(c.clock))


def _roles(c: Context) -> identity.RoleAdmin:
    return identity.RoleAdmin(c.auth, AuditJournal(c.clock))


@asynccontextmanager
async def _changing(c: Context) -> AsyncIterator[AsyncConnection]:
    """A write transaction after which cached rights are dropped (after the commit, so no request
    can cache the old rights again in between)."""
    async with c.db.write() as conn:
        yield conn
    c.auth.forget_cached()


# -- users ---------------------------------------------------------------------------------------
@router.get("/users")
async def list_users(
    c: Ctx,
    actor: CurrentActor,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    q: Annotated[str, Query(max_length=200)] = "",
    team: Annotated[str | None, Query(max_length=63)] = None,
    role: Annotated[str | None, Query(max_length=63)] = None,
) -> Response:
    """Users by id, a page at a time: pass `next_after` back as `after`. `q`: email or name contains it;
    `team`: members of that team only; `role`: holders of that role only."""
    async with c.db.read() as conn:
        return json_response(await _users(c).page(conn, actor, after, limit, q, team, role))


@router.post("/users", status_code=201)
async def create_user(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    body = parse_model(identity.UserIn, await read_json(request))
    async with _changing(c) as conn:
        user = await _users(c).create(conn, actor, body)
    return json_response(user, 201)


@router.get("/users/{user_id}")
async def get_user(user_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response(await _users(c).get(conn, actor, user_id))


@router.patch("/users/{user_id}")
async def update_user(user_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    body = parse_model(identity.UserPatch, await read_json(request))
    async with _changing(c) as conn:
        user = await _users(c).update(conn, actor, user_id, body)
    return json_response(user)


@router.put("/users/{user_id}/roles")
async def set_user_roles(user_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Replace the user's roles: {"roles": ["member", ...]}."""
    body = parse_model(identity.RolesIn, await read_json(request))
    async with _changing(c) as conn:
        user = await _users(c).set_roles(conn, actor, user_id, body)
    return json_response(user)


@router.post("/users/{user_id}/roles/{role}")
async def add_user_role(user_id: IdPath, role: str, c: Ctx, actor: CurrentActor) -> Response:
    """Give the user one more role; the roles they hold stay (already held: no change)."""
    async with _changing(c) as conn:
        user = await _users(c).add_role(conn, actor, user_id, role)
    return json_response(user)


@router.delete("/users/{user_id}/roles/{role}")
async def remove_user_role(user_id: IdPath, role: str, c: Ctx, actor: CurrentActor) -> Response:
    """Take one role from the user; their other roles stay. Answers the user as they are now."""
    async with _changing(c) as conn:
        user = await _users(c).remove_role(conn, actor, user_id, role)
    return json_response(user)


@router.post("/invitations", status_code=201)
async def invite_user(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Add a person by email (with roles) and get their first-password link: `invitation.path` with its
    single-use token, valid for 7 days. The token is in this response only."""
    body = parse_model(identity.InviteIn, await read_json(request))
    async with _changing(c) as conn:
        invited = await _invitations(c).invite(conn, actor, body)
    return json_response(invited, 201)


@router.post("/users/{user_id}/invitation", status_code=201)
async def reinvite_user(user_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """A new first-password link for the user; their older links stop working."""
    async with _changing(c) as conn:
        invited = await _invitations(c).reissue(conn, actor, user_id)
    return json_response(invited, 201)


@router.put("/users/{user_id}/teams")
async def set_user_teams(user_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Replace the user's teams: {"primary": "sales_east", "extra": ["key_accounts"]}."""
    body = parse_model(identity.MembershipIn, await read_json(request))
    async with _changing(c) as conn:
        user = await _users(c).set_teams(conn, actor, user_id, body)
    return json_response(user)


@router.get("/users/{user_id}/tokens")
async def list_user_tokens(user_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response({"items": await _users(c).tokens(conn, actor, user_id)})


@router.delete("/users/{user_id}/tokens/{token_id}", status_code=204)
async def revoke_user_token(user_id: IdPath, token_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with _changing(c) as conn:
        await _users(c).revoke_token(conn, actor, user_id, token_id)
    return Response(status_code=204)


# -- teams ---------------------------------------------------------------------------------------
@router.get("/teams")
async def list_teams(c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response({"items": await _teams(c).all(conn, actor)})


@router.post("/teams", status_code=201)
async def create_team(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    body = parse_model(identity.TeamIn, await read_json(request))
    async with _changing(c) as conn:
        team = await _teams(c).create(conn, actor, body)
    return json_response(team, 201)


@router.get("/teams/{key}")
async def get_team(key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response(await _teams(c).get(conn, actor, key))


@router.patch("/teams/{key}")
async def update_team(key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Relabel, change the manager, or move under another parent ("parent": null makes it a root)."""
    body = parse_model(identity.TeamPatch, await read_json(request))
    async with _changing(c) as conn:
        team = await _teams(c).update(conn, actor, key, body)
    return json_response(team)


@router.delete("/teams/{key}", status_code=204)
async def delete_team(key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with _changing(c) as conn:
        await _teams(c).delete(conn, actor, key)
    return Response(status_code=204)


# -- roles ---------------------------------------------------------------------------------------
@router.get("/roles")
async def list_roles(c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response({"items": await _roles(c).all(conn, actor)})


@router.post("/roles", status_code=201)
async def create_role(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """A new role from a role definition (docs/schemas/role.schema.json)."""
    doc = await read_json(request)
    async with _changing(c) as conn:
        role = await _roles(c).create(conn, actor, doc)
    return json_response(role, 201)


@router.get("/roles/{key}")
async def get_role(key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response(await _roles(c).get(conn, actor, key))


@router.put("/roles/{key}")
async def replace_role(key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    async with _changing(c) as conn:
        role = await _roles(c).replace(conn, actor, key, doc)
    return json_response(role)


@router.delete("/roles/{key}", status_code=204)
async def delete_role(key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with _changing(c) as conn:
        await _roles(c).delete(conn, actor, key)
    return Response(status_code=204)
