"""Saved views of an entity's list or kanban board (tg_views): personal to their author, or shared with a
role or everyone ("*") by those who manage the entity, one shared view being the entity's default.

A view is only list parameters: whoever uses it lists through their own read scope, and what they may
not read is dropped from it (engine.records.view_check). Another user's personal view answers 404.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from engine.auth.policy import Access, may_manage, scope
from engine.auth.tables import roles, user_roles
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, Forbidden, NotFound
from engine.core.jsonvalues import iso_utc
from engine.expr.fields import Targets
from engine.records.query import filter_targets
from engine.records.tables import views
from engine.records.view_check import (
    GENERATED_NAME,
    Viewer,
    check_fields,
    for_viewer,
    generated_definition,
    list_params,
    parse_document,
)
from engine.records.view_definition import ViewDocument
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

MAX_VIEWS = 100  # per author and entity


class Views:
    """The saved-view service; every call takes the connection and the caller's Access."""

    def __init__(self, store: EntityStore, clock: Clock) -> None:
        self.store, self.clock = store, clock

    async def viewer(self, conn: AsyncConnection, access: Access, entity: CompiledEntity) -> Viewer:
        """The caller as views see them; 403 unless they may read the entity's records."""
        s = scope(access, entity, "read")
        if not s.allowed:
            raise Forbidden(f"you may not read {entity.app}.{entity.key} records")
        return Viewer(access, entity, s.hidden, may_manage(access, entity.app, entity.key))

    async def list(self, conn: AsyncConnection, access: Access, entity: CompiledEntity) -> list[dict[str, Any]]:
        """The caller's own views, those shared with one of their roles or everyone (all shared ones for
        a manager), the default first: the stored one or, when there is none, a generated one."""
        v = await self.viewer(conn, access, entity)
        t = views
        rows = (await conn.execute(select(t).where(_of(entity), _visible(v)).order_by(t.c.id))).all()
        items = [await self._json(conn, v, r) for r in rows]
        items.sort(key=lambda item: not item["default"])  # stable: the rest stay in creation order
        return items if any(i["default"] for i in items) else [generated_json(v), *items]

    async def default_view(self, conn: AsyncConnection, access: Access, entity: CompiledEntity) -> dict[str, Any]:
        """The entity's effective default for this caller: the shared default view, else a generated one."""
        v = await self.viewer(conn, access, entity)
        row = (await conn.execute(select(views).where(_of(entity), views.c.is_default))).first()
        return generated_json(v) if row is None else await self._json(conn, v, row)

    async def get(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, vid: int) -> dict[str, Any]:
        v = await self.viewer(conn, access, entity)
        return await self._json(conn, v, await _row(conn, v, vid))

    async def create(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, doc: Any) -> dict[str, Any]:
        """Save a new view; sharing it or making it the default needs the right to manage the entity."""
        v = await self.viewer(conn, access, entity)
        if access.token_read_only:
            raise Forbidden("a read-only token cannot save views")
        view = await self._check(conn, v, doc)
        count = select(func.count()).where(_of(entity), views.c.owner_id == v.user_id)
        if (await conn.execute(count)).scalar_one() >= MAX_VIEWS:
            raise Conflict(f"you have {MAX_VIEWS} views of {entity.app}.{entity.key}; delete one first")
        if view.is_default:
            await self._drop_default(conn, v)
        now, uid = self.clock.now(), v.user_id
        values = _columns(view) | {"app": entity.app, "entity": entity.key, "owner_id": uid, "version": 1}
        stamps = {"created_at": now, "updated_at": now, "created_by": uid, "updated_by": uid}
        vid = (await conn.execute(insert(views).values(values | stamps).returning(views.c.id))).scalar_one()
        return await self.get(conn, access, entity, vid)

    async def replace(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, vid: int, doc: Any, expected: int | None
    ) -> dict[str, Any]:
        """Replace a view the caller may edit; `expected` (If-Match) refuses a lost update with 409."""
        v = await self.viewer(conn, access, entity)
        old = await _editable(conn, v, vid, expected)
        view = await self._check(conn, v, doc)
        if view.is_default and not old.is_default:
            await self._drop_default(conn, v)
        now = self.clock.now()
        stmt = (
            update(views)
            .where(views.c.id == vid, views.c.version == old.version)
            .values(_columns(view) | {"version": old.version + 1, "updated_at": now, "updated_by": v.user_id})
        )
        if (await conn.execute(stmt)).rowcount != 1:
            raise Conflict(f"view {vid} was changed by someone else; reload it")
        return await self.get(conn, access, entity, vid)

    async def delete(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, vid: int, expected: int | None) -> None:
        v = await self.viewer(conn, access, entity)
        old = await _editable(conn, v, vid, expected)
        await conn.execute(delete(views).where(views.c.id == old.id))

    async def _check(self, conn: AsyncConnection, v: Viewer, doc: Any) -> ViewDocument:
        view = parse_document(doc)
        if (view.shared_with is not None or view.is_default) and not v.manages:
            raise Forbidden(f"sharing a view needs the right to manage {v.entity.app}.{v.entity.key}")
        errors = ErrorCollector()
        check_fields(v, view, await self._targets(conn, v, view.filter), errors)
        if view.is_default and view.shared_with is None:
            errors.add("/is_default", "not_shared", "the default view is a shared view: set shared_with")
        if view.shared_with not in (None, "*"):
            known = await conn.execute(select(roles.c.id).where(roles.c.key == view.shared_with))
            if known.first() is None:
                errors.add("/shared_with", "unknown_role", f"there is no role {view.shared_with!r}")
        errors.raise_if_any("The view has errors")
        return view

    async def _targets(self, conn: AsyncConnection, v: Viewer, condition: dict[str, Any] | None) -> Targets:
        text = None if condition is None else json.dumps(condition)
        return await filter_targets(self.store, conn, v.access, v.entity, text)

    async def _drop_default(self, conn: AsyncConnection, v: Viewer) -> None:
        """The entity has one default: the view that becomes it takes the flag from the one that was."""
        t = views
        values = {"is_default": False, "version": t.c.version + 1, "updated_at": self.clock.now(), "updated_by": v.user_id}
        await conn.execute(update(t).where(_of(v.entity), t.c.is_default).values(values))

    async def _json(self, conn: AsyncConnection, v: Viewer, row: Any) -> dict[str, Any]:
        definition, usable = for_viewer(v, row.definition, await self._targets(conn, v, row.definition.get("filter")))
        stamps = {k: iso_utc(getattr(row, k)) for k in ("created_at", "updated_at")}
        return {
            "id": row.id, "app": row.app, "entity": row.entity, "name": row.name, "shared_with": row.shared_with,
            "is_default": row.is_default, "default": row.is_default, "generated": False, **definition,
            "mine": row.owner_id is not None and row.owner_id == v.user_id, "can_edit": _may_edit(v, row),
            "usable": usable, "list_params": list_params(definition), "owner_id": row.owner_id, "version": row.version,
            **stamps, "created_by": row.created_by, "updated_by": row.updated_by,
        }  # fmt: skip


def generated_json(v: Viewer) -> dict[str, Any]:
    """The generated default as a view (no id: it is not stored, and nobody edits it)."""
    definition = generated_definition(v)
    return {
        "id": None, "app": v.entity.app, "entity": v.entity.key, "name": GENERATED_NAME, "shared_with": "*",
        "is_default": False, "default": True, "generated": True, **definition, "mine": False, "can_edit": False,
        "usable": True, "list_params": list_params(definition), "owner_id": None, "version": None,
        "created_at": None, "updated_at": None, "created_by": None, "updated_by": None,
    }  # fmt: skip


def _of(entity: CompiledEntity) -> ColumnElement[bool]:
    return and_(views.c.app == entity.app, views.c.entity == entity.key)


def _visible(v: Viewer) -> ColumnElement[bool]:
    t = views
    terms = [and_(t.c.owner_id == v.user_id, t.c.shared_with.is_(None)), t.c.shared_with == "*", t.c.is_default]
    if v.user_id is not None:  # shared with a role the user holds: in the same statement (one round trip less)
        terms.append(t.c.shared_with.in_(select(roles.c.key).join(user_roles).where(user_roles.c.user_id == v.user_id)))
    if v.manages:
        terms.append(t.c.shared_with.is_not(None))
    return or_(*terms)


def _may_edit(v: Viewer, row: Any) -> bool:
    if row.shared_with is None:
        return row.owner_id is not None and row.owner_id == v.user_id and not v.access.token_read_only
    return v.manages


async def _row(conn: AsyncConnection, v: Viewer, vid: int) -> Any:
    row = (await conn.execute(select(views).where(_of(v.entity), views.c.id == vid, _visible(v)))).first()
    if row is None:
        raise NotFound(f"{v.entity.app}.{v.entity.key} has no view {vid}")
    return row


async def _editable(conn: AsyncConnection, v: Viewer, vid: int, expected: int | None) -> Any:
    row = await _row(conn, v, vid)
    if not _may_edit(v, row):
        raise Forbidden(f"only those who manage {v.entity.app}.{v.entity.key} may change a shared view")
    if expected is not None and expected != row.version:
        raise Conflict(f"view {vid} was changed by someone else (version {row.version})", current_version=row.version)
    return row


def _columns(view: ViewDocument) -> dict[str, Any]:
    return {"name": view.name, "shared_with": view.shared_with, "is_default": view.is_default, "definition": view.definition()}
