"""Roles and permissions (`/build/roles`, administrators): the roles with their holders, and a role editor
whose matrix (entities x actions, a row scope per cell, hidden / read-only fields) saves through the admin
roles API (PUT); beside it, what the role lets people do, in words (role_words.explain)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import JSONResponse, Response

from builder_ui.builder.access import CurrentBuilder
from builder_ui.builder.role_words import AppEntities, explain
from builder_ui.i18n import text_in
from builder_ui.render import page
from builder_ui.session import Viewer
from engine.api.context import Context
from engine.api.deps import Ctx
from engine.api.jsonio import read_json
from engine.audit.journal import AuditJournal
from engine.auth import admin as identity
from engine.auth.roles import LEVELS, parse_role
from engine.core.errors import ValidationFailed

router = APIRouter(include_in_schema=False)


async def administrator(viewer: CurrentBuilder) -> Viewer:
    """Roles, people and teams are the administrators' (the engine's rule, asked here for a page)."""
    identity.require_admin(viewer.access, write=False)
    return viewer


CurrentAdmin = Annotated[Viewer, Depends(administrator)]


def role_admin(c: Context) -> identity.RoleAdmin:
    return identity.RoleAdmin(c.auth, AuditJournal(c.clock))


async def installed(c: Context, conn: AsyncConnection) -> list[AppEntities]:
    return [AppEntities(a["key"], a.get("label"), await c.store.list(conn, a["key"])) for a in await c.schema.list_apps(conn)]


def role_card(role: dict[str, Any], locale: str) -> dict[str, Any]:
    return {"key": role["key"], "label": text_in(role["label"], locale, role["key"]), "builtin": role["builtin"],
            "users": role["users"], "description": text_in(role["definition"].get("description"), locale)}  # fmt: skip


@router.get("/build/roles")
async def roles_page(request: Request, c: Ctx, viewer: CurrentAdmin) -> Response:
    async with c.db.read() as conn:
        roles = await role_admin(c).all(conn, viewer.access)
    cards = sorted((role_card(r, viewer.locale) for r in roles), key=lambda r: (not r["builtin"], r["label"]))
    return page(request, "builder/roles.html", viewer=viewer, roles=cards, build_section="roles")


@router.get("/build/roles/{key}")
async def role_editor(request: Request, key: str, c: Ctx, viewer: CurrentAdmin) -> Response:
    async with c.db.read() as conn:
        role = await role_admin(c).get(conn, viewer.access, key)
        apps = await installed(c, conn)
    loc = viewer.locale
    matrix = [
        {"key": a.key, "label": text_in(a.label, loc, a.key), "entities": [
            {"key": e.key, "label": text_in(e.label, loc, e.key),
             "fields": [{"key": k, "label": text_in(f.cfg.label, loc, k)} for k, f in e.fields.items()]}
            for e in a.entities]}
        for a in apps
    ]  # fmt: skip
    lines = explain(parse_role(role["definition"]), apps, loc, viewer._)
    return page(
        request, "builder/role_edit.html", viewer=viewer, role=role_card(role, loc), definition=role["definition"],
        apps=matrix, levels=LEVELS, lines=lines, build_section="roles",
    )  # fmt: skip


@router.post("/build/roles/{key}/explain")
async def explain_draft(request: Request, key: str, c: Ctx, viewer: CurrentAdmin) -> Response:
    """The words for the editor's unsaved draft (the matrix changes them as it is edited)."""
    try:
        role = parse_role(await read_json(request))
    except ValidationFailed:
        return JSONResponse({"lines": None})
    async with c.db.read() as conn:
        apps = await installed(c, conn)
    return JSONResponse({"lines": explain(role, apps, viewer.locale, viewer._)})
