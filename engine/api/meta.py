"""Metadata API: apps and entity definitions (list, create, read, update, bin, restore, purge)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from engine.api.context import Context
from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.versions import parse_if_match
from engine.apps.app_admin import require_app_manager
from engine.apps.drafts import MAX_BYTES as MAX_DRAFT_BYTES
from engine.apps.drafts import DraftService
from engine.auth.app_grants import PRESETS
from engine.auth.policy import Access, may_create_apps, may_manage
from engine.core.errors import ErrorDetail, Forbidden, ValidationFailed
from engine.schema.app_style import AppColor, AppIcon
from engine.schema.definition import Help, Key, Label, field_json
from engine.schema.model import CompiledEntity

router = APIRouter(prefix="/api/v1/meta", tags=["metadata"])
Confirm = Annotated[str | None, Query(description="Repeat the key to confirm a destructive change")]


class AppIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    label: Label
    description: Help | None = None
    icon: AppIcon | None = Field(default=None, description="One of the app icons (heroicons names)")
    color: AppColor | None = Field(default=None, description='"#rrggbb"')


class AppPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key = Field(default=None, description="Only while the app has no entity")  # type: ignore[assignment]
    label: Label = None  # omitted: unchanged; an explicit null is refused by the Label validator
    description: Help | None = None
    icon: AppIcon | None = None
    color: AppColor | None = None


Preset = Literal["none", "read", "own", "team", "all", "manage"]


class AccessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Key
    preset: Preset


class TeamAccessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: Key
    preset: Preset


@asynccontextmanager
async def _changing(c: Context) -> AsyncIterator[AsyncConnection]:
    """A write after which cached rights are dropped (roles may have changed)."""
    async with c.db.write() as conn:
        yield conn
    c.auth.forget_cached()


def _manager(actor: Access, app: str, entity: Any) -> None:
    if not isinstance(entity, str) or not may_manage(actor, app, entity):
        raise Forbidden(f"you may not change the definition of {app}.{entity}")


def entity_json(e: CompiledEntity) -> dict[str, Any]:
    return e.definition.to_json() | {"version": e.version, "removed_fields": [field_json(f) for f in e.removed]}


@router.get("/apps")
async def list_apps(c: Ctx, actor: CurrentActor, binned: bool = False) -> Response:
    """Every app; `binned=true`: the apps in the recycle bin that you manage."""
    async with c.db.read() as conn:
        if binned:
            return json_response({"items": await c.app_admin.binned(conn, actor)})
        return json_response({"items": await c.schema.list_apps(conn)})


@router.post("/apps", status_code=201)
async def create_app(request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Administrators, and holders of the "builder" role (who then manage the app through a role made for it)."""
    if not may_create_apps(actor):
        raise Forbidden("only administrators and app builders may create apps")
    body = parse_model(AppIn, await read_json(request))
    async with _changing(c) as conn:
        return json_response(await c.app_admin.create(conn, actor, body.model_dump(exclude_none=True)), 201)


@router.get("/apps/{app}")
async def get_app(app: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response(await c.schema.get_app(conn, app))


@router.patch("/apps/{app}")
async def update_app(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Labels, description, icon, colour; the key only while the app has no entity. Its managers may."""
    require_app_manager(actor, app)
    body = parse_model(AppPatch, await read_json(request))
    async with _changing(c) as conn:
        return json_response(await c.app_admin.update(conn, actor, app, body.model_dump(exclude_unset=True)))


@router.delete("/apps/{app}", status_code=204)
async def delete_app(app: str, c: Ctx, actor: CurrentActor, confirm: Confirm = None) -> Response:
    """Move the app to the recycle bin (restore brings it back as it was)."""
    async with c.db.write() as conn:
        await c.app_admin.bin(conn, actor, app, confirm)
    return Response(status_code=204)


@router.post("/apps/{app}/restore")
async def restore_app(app: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        return json_response(await c.app_admin.restore(conn, actor, app))


@router.post("/apps/{app}/purge", status_code=204)
async def purge_app(app: str, c: Ctx, actor: CurrentActor, confirm: Confirm = None) -> Response:
    """Remove an app without entities from the recycle bin for good (administrators)."""
    async with c.db.write() as conn:
        await c.app_admin.purge(conn, actor, app, confirm)
    return Response(status_code=204)


@router.get("/apps/{app}/access")
async def app_access(app: str, c: Ctx, actor: CurrentActor) -> Response:
    """Who may use the app: every role with what it may do here (a preset, or "custom"), and the teams given
    access to it (`teams`)."""
    async with c.db.read() as conn:
        items = await c.app_admin.access(conn, actor, app)
        return json_response({"items": items, "teams": await c.app_admin.team_access(conn, actor, app), "presets": list(PRESETS)})


@router.put("/apps/{app}/access")
async def set_app_access(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Set one role's access to the app: {"role": "member", "preset": "own"} (its grant on "app.*")."""
    require_app_manager(actor, app)
    body = parse_model(AccessIn, await read_json(request))
    async with _changing(c) as conn:
        return json_response(await c.app_admin.set_access(conn, actor, app, body.role, body.preset))


@router.put("/apps/{app}/access/teams")
async def set_team_access(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Give a team and its sub-teams access to the app: {"team": "sales", "preset": "own"}; "none" removes it.
    Stored as a role of the app held by the team (not exported with the app)."""
    require_app_manager(actor, app)
    body = parse_model(TeamAccessIn, await read_json(request))
    async with _changing(c) as conn:
        return json_response(await c.app_admin.set_team_access(conn, actor, app, body.team, body.preset))


@router.get("/apps/{app}/entities")
async def list_entities(app: str, c: Ctx, actor: CurrentActor, binned: bool = False) -> Response:
    """The app's entities; `binned=true` lists the ones in its recycle bin instead."""
    async with c.db.read() as conn:
        if binned:
            return json_response({"items": await c.schema.binned_entities(conn, app)})
        await c.schema.get_app(conn, app)
        return json_response({"items": [entity_json(e) for e in await c.store.list(conn, app)]})


@router.post("/apps/{app}/entities", status_code=201)
async def create_entity(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    _manager(actor, app, doc.get("key") if isinstance(doc, dict) else None)
    async with c.db.write() as conn:
        entity = await c.schema.create_entity(conn, app, doc, actor)
        return json_response(entity_json(entity), 201, headers={"ETag": f'"{entity.version}"'})


@router.get("/apps/{app}/entities/{entity}")
async def get_entity(app: str, entity: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response(entity_json(e), headers={"ETag": f'"{e.version}"'})


@router.put("/apps/{app}/entities/{entity}")
async def update_entity(
    app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Publish a new version of the definition. Send the version you edited (If-Match or "version")."""
    _manager(actor, app, entity)
    doc = await read_json(request)
    expected = parse_if_match(if_match)
    if isinstance(doc, dict):
        doc = dict(doc)
        body_version = doc.pop("version", None)
        doc.pop("removed_fields", None)
        if expected is None and body_version is not None:
            if isinstance(body_version, bool) or not isinstance(body_version, int):
                raise ValidationFailed(
                    "Invalid entity definition", errors=[ErrorDetail("/version", "type", "version must be an integer")]
                )
            expected = body_version
    async with c.db.write() as conn:
        e = await c.schema.update_entity(conn, app, entity, doc, actor, expected)
        return json_response(entity_json(e), headers={"ETag": f'"{e.version}"'})


@router.post("/apps/{app}/entities/{entity}/check")
async def check_entity(app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Check a draft definition as publishing would (shape, configs, relation targets, formulas) without
    saving it: 200 with the definition as it would be stored, or 422 with every error at its JSON path."""
    _manager(actor, app, entity)
    doc = await read_json(request)
    if isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k not in ("version", "removed_fields")}
    async with c.db.read() as conn:
        return json_response((await c.schema.check_entity(conn, app, doc)).to_json())


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_version: Annotated[int, Field(ge=1)]
    draft: dict[str, Any]


def _drafter(actor: Access, app: str, entity: str) -> int:
    _manager(actor, app, entity)
    if actor.user_id is None:
        raise Forbidden("drafts belong to a person; this credential has none")
    return actor.user_id


@router.get("/apps/{app}/entities/{entity}/draft")
async def get_draft(app: str, entity: str, c: Ctx, actor: CurrentActor) -> Response:
    """Your unpublished draft of this entity in the form designer ({entity, form}), or 404."""
    user = _drafter(actor, app, entity)
    async with c.db.read() as conn:
        return json_response(await DraftService(c.clock).get(conn, app, entity, user))


@router.put("/apps/{app}/entities/{entity}/draft")
async def save_draft(app: str, entity: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Keep your draft (replaced whole; not checked: publishing checks). `base_version`: the version it edits."""
    user = _drafter(actor, app, entity)
    raw = await request.body()
    if len(raw) > MAX_DRAFT_BYTES:
        raise ValidationFailed(
            "The draft is too large", errors=[ErrorDetail("/draft", "too_large", f"at most {MAX_DRAFT_BYTES} bytes")]
        )
    body = parse_model(DraftIn, await read_json(request))
    async with c.db.write() as conn:
        await c.store.get(conn, app, entity)
        return json_response(await DraftService(c.clock).save(conn, app, entity, user, body.base_version, body.draft))


@router.delete("/apps/{app}/entities/{entity}/draft", status_code=204)
async def discard_draft(app: str, entity: str, c: Ctx, actor: CurrentActor) -> Response:
    user = _drafter(actor, app, entity)
    async with c.db.write() as conn:
        await DraftService(c.clock).discard(conn, app, entity, user)
    return Response(status_code=204)


@router.delete("/apps/{app}/entities/{entity}", status_code=204)
async def delete_entity(app: str, entity: str, c: Ctx, actor: CurrentActor, confirm: Confirm = None) -> Response:
    """Move the entity to the recycle bin (its table and data are kept until purged)."""
    _manager(actor, app, entity)
    async with c.db.write() as conn:
        await c.schema.delete_entity(conn, app, entity, confirm)
    return Response(status_code=204)


@router.post("/apps/{app}/entities/{entity}/restore")
async def restore_entity(app: str, entity: str, c: Ctx, actor: CurrentActor) -> Response:
    _manager(actor, app, entity)
    async with c.db.write() as conn:
        return json_response(entity_json(await c.schema.restore_entity(conn, app, entity)))


@router.post("/apps/{app}/entities/{entity}/purge", status_code=204)
async def purge_entity(app: str, entity: str, c: Ctx, actor: CurrentActor, confirm: Confirm = None) -> Response:
    """Drop a binned entity's table and data for good."""
    _manager(actor, app, entity)
    async with c.db.write() as conn:
        await c.schema.purge_entity(conn, app, entity, confirm)
    return Response(status_code=204)


@router.post("/apps/{app}/entities/{entity}/purge-removed-fields")
async def purge_removed_fields(app: str, entity: str, c: Ctx, actor: CurrentActor, confirm: Confirm = None) -> Response:
    _manager(actor, app, entity)
    async with c.db.write() as conn:
        return json_response(entity_json(await c.schema.purge_removed_fields(conn, app, entity, confirm, actor)))


@router.get("/apps/{app}/entities/{entity}/versions")
async def entity_versions(app: str, entity: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return json_response({"items": await c.schema.versions(conn, app, entity)})
