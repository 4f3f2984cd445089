"""Administering roles: each a RoleDefinition (validated by parse_role, every error with its JSON
path). Built-in roles may be edited but not deleted; a role still held by users cannot be deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.admin.base import AdminService, require_admin
from engine.auth.policy import Access
from engine.auth.roles import parse_role
from engine.auth.tables import roles, user_roles
from engine.core.changes import changes
from engine.core.errors import Conflict, ErrorDetail, NotFound, ValidationFailed


@dataclass(frozen=True)
class RoleAdmin(AdminService):
    async def all(self, conn: AsyncConnection, actor: Access) -> list[dict[str, Any]]:
        require_admin(actor, write=False)
        return [_json(r) for r in await conn.execute(_described().order_by(roles.c.key))]

    async def get(self, conn: AsyncConnection, actor: Access, key: str) -> dict[str, Any]:
        require_admin(actor, write=False)
        return await _role(conn, key)

    async def create(self, conn: AsyncConnection, actor: Access, doc: Any) -> dict[str, Any]:
        require_admin(actor, write=True)
        role = parse_role(doc)
        if (await conn.execute(select(roles.c.id).where(roles.c.key == role.key))).first() is not None:
            raise Conflict(f"a role with key {role.key!r} already exists")
        definition = role.model_dump(mode="json")
        now = self.clock.now()
        values = {"key": role.key, "definition": definition, "builtin": False, "created_at": now, "updated_at": now}
        await conn.execute(insert(roles).values(**values))
        await self.journal.note(conn, "role.created", actor, subject=role.key, changes=changes({}, definition))
        return await _role(conn, role.key)

    async def replace(self, conn: AsyncConnection, actor: Access, key: str, doc: Any) -> dict[str, Any]:
        """Replace the role's definition (built-ins too); its key cannot change."""
        require_admin(actor, write=True)
        role = parse_role(doc)
        if role.key != key:
            error = ErrorDetail("/key", "immutable", f"a role's key cannot change: it must stay {key!r}")
            raise ValidationFailed("Invalid role definition", errors=[error])
        before = await _role(conn, key)
        definition = role.model_dump(mode="json")
        changed = changes(before["definition"], definition)
        if changed:
            stored = {"definition": definition, "updated_at": self.clock.now()}
            await conn.execute(update(roles).where(roles.c.key == key).values(**stored))
            await self.journal.note(conn, "role.updated", actor, subject=key, changes=changed)
        return await _role(conn, key)

    async def delete(self, conn: AsyncConnection, actor: Access, key: str) -> None:
        require_admin(actor, write=True)
        role = await _role(conn, key)
        if role["builtin"]:
            raise Conflict(f"{key!r} is a built-in role: it can be edited but not deleted", code="builtin")
        if role["users"]:
            message = f"role {key!r} is still held by {role['users']} users: take it from them first"
            raise Conflict(message, code="in_use", users=role["users"])
        await conn.execute(delete(roles).where(roles.c.key == key))
        await self.journal.note(conn, "role.deleted", actor, subject=key, changes=changes(role["definition"], {}))


def _described() -> Any:
    holders = select(func.count()).where(user_roles.c.role_id == roles.c.id).scalar_subquery()
    return select(roles.c.key, roles.c.builtin, roles.c.definition, roles.c.updated_at, holders.label("users"))


async def _role(conn: AsyncConnection, key: str) -> dict[str, Any]:
    row = (await conn.execute(_described().where(roles.c.key == key))).first()
    if row is None:
        raise NotFound(f"role {key!r} not found")
    return _json(row)


def _json(row: Any) -> dict[str, Any]:
    return {"key": row.key, "label": row.definition.get("label"), **row._asdict()}
