"""Administering users: list, create, update; replace their roles and team memberships; see and
revoke their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.account import NewPassword
from engine.auth.admin.base import AdminService, require_admin
from engine.auth.policy import Access
from engine.auth.service import hash_password
from engine.auth.tables import roles, teams, user_roles, user_teams, users
from engine.core.changes import changes
from engine.core.errors import Conflict, ErrorCollector, NotFound, pointer
from engine.schema.field_types.text import EMAIL_RE

Locale = Literal["en", "zh-CN"]

FIELDS = (users.c.id, users.c.email, users.c.name, users.c.locale, users.c.active, users.c.is_admin, users.c.created_at)


def _email(value: str) -> str:
    value = value.strip().lower()
    if not EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    return value


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(max_length=320), AfterValidator(_email)]
    name: Annotated[str, Field(max_length=200)] = ""
    locale: Locale = "en"
    password: NewPassword | None = None  # none: the user signs in only once an admin sets one
    is_admin: bool = False


class UserPatch(BaseModel):
    """Omitted fields stay as they are; `password` sets a new one."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] = ""
    locale: Locale = "en"
    active: bool = True
    is_admin: bool = False
    password: NewPassword = ""


# Keys are looked up, not pattern-checked: any key that names no role (or team) is reported, all at once.
KeyRef = Annotated[str, Field(min_length=1, max_length=63)]


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: Annotated[list[KeyRef], Field(max_length=100)]


class MembershipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    primary: KeyRef | None = None
    extra: Annotated[list[KeyRef], Field(max_length=100)] = []


@dataclass(frozen=True)
class UserAdmin(AdminService):
    async def page(
        self, conn: AsyncConnection, actor: Access, after: int = 0, limit: int = 100, q: str = "",
        team: str | None = None, role: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A page of users by id; pass the answer's `next_after` as `after` for the next one. `q` keeps
        the users whose email or name contains it (any case); `team` the members of that team, `role`
        the holders of that role."""
        require_admin(actor, write=False)
        query = select(*FIELDS).where(users.c.id > after)
        if q.strip():
            term = q.strip().lower()
            named = func.lower(users.c.name).contains(term, autoescape=True)
            query = query.where(or_(users.c.email.contains(term, autoescape=True), named))
        if team is not None:
            members = select(user_teams.c.user_id).join(teams).where(teams.c.key == team)
            query = query.where(users.c.id.in_(members))
        if role is not None:
            query = query.where(users.c.id.in_(select(user_roles.c.user_id).join(roles).where(roles.c.key == role)))
        rows = (await conn.execute(query.order_by(users.c.id).limit(limit + 1))).all()
        items = await _described(conn, rows[:limit])
        return {"items": items, "next_after": items[-1]["id"] if len(rows) > limit else None}

    async def get(self, conn: AsyncConnection, actor: Access, user_id: int) -> dict[str, Any]:
        require_admin(actor, write=False)
        return await _user(conn, user_id)

    async def create(self, conn: AsyncConnection, actor: Access, body: UserIn) -> dict[str, Any]:
        require_admin(actor, write=True)
        uid = await self.auth.create_user(conn, body.email, body.name, body.password, body.is_admin, body.locale)
        user = await _user(conn, uid)
        created = changes({}, {k: user[k] for k in ("name", "locale", "is_admin")})
        await self.journal.note(conn, "user.created", actor, subject=user["email"], changes=created)
        return user

    async def update(self, conn: AsyncConnection, actor: Access, user_id: int, body: UserPatch) -> dict[str, Any]:
        """Change name, locale, active, is_admin or password. Nobody locks themselves out: an admin
        cannot deactivate themselves or drop their own admin rights (so one admin always remains)."""
        require_admin(actor, write=True)
        before = await _user(conn, user_id)
        values = body.model_dump(exclude_unset=True)
        password = values.pop("password", None)
        if user_id == actor.user_id and (values.get("active") is False or values.get("is_admin") is False):
            raise Conflict("you cannot deactivate yourself or remove your own administrator rights", code="self")
        changed = changes(before, values, keys=values)
        stored = {k: v for k, v in values.items() if k in changed}
        if password is not None:
            stored["password_hash"] = hash_password(password)
        if stored:
            await conn.execute(update(users).where(users.c.id == user_id).values(**stored))
            detail = {"password_set": True} if password is not None else None
            await self.journal.note(conn, "user.updated", actor, subject=before["email"], changes=changed, detail=detail)
        return await _user(conn, user_id)

    async def set_roles(self, conn: AsyncConnection, actor: Access, user_id: int, body: RolesIn) -> dict[str, Any]:
        """Replace the user's roles; an unknown role key is a 422 pointing at it."""
        require_admin(actor, write=True)
        before = await _user(conn, user_id)
        found = await _ids(conn, roles, body.roles)
        errors = ErrorCollector()
        for i, key in enumerate(body.roles):
            if key not in found:
                errors.add(pointer("roles", i), "unknown_role", f"there is no role {key!r}")
        errors.raise_if_any("Unknown roles")
        await conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
        if found:
            await conn.execute(insert(user_roles), [{"user_id": user_id, "role_id": rid} for rid in found.values()])
        return await self._roles_changed(conn, actor, before)

    async def add_role(self, conn: AsyncConnection, actor: Access, user_id: int, role: str) -> dict[str, Any]:
        """Give the user one more role (already held: nothing changes); the other roles stay."""
        require_admin(actor, write=True)
        before = await _user(conn, user_id)
        role_id = await _role_id(conn, role)
        if role not in before["roles"]:
            await conn.execute(insert(user_roles).values(user_id=user_id, role_id=role_id))
        return await self._roles_changed(conn, actor, before)

    async def remove_role(self, conn: AsyncConnection, actor: Access, user_id: int, role: str) -> dict[str, Any]:
        """Take one role from the user (not held: nothing changes); the other roles stay."""
        require_admin(actor, write=True)
        before = await _user(conn, user_id)
        role_id = await _role_id(conn, role)
        await conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id, user_roles.c.role_id == role_id))
        return await self._roles_changed(conn, actor, before)

    async def _roles_changed(self, conn: AsyncConnection, actor: Access, before: dict[str, Any]) -> dict[str, Any]:
        after = await _user(conn, before["id"])
        if after["roles"] != before["roles"]:
            changed = {"roles": [before["roles"], after["roles"]]}
            await self.journal.note(conn, "user.roles_changed", actor, subject=before["email"], changes=changed)
        return after

    async def set_teams(self, conn: AsyncConnection, actor: Access, user_id: int, body: MembershipIn) -> dict[str, Any]:
        """Replace the user's team memberships: one primary team (or none) and any extra ones."""
        require_admin(actor, write=True)
        before = await _user(conn, user_id)
        found = await _ids(conn, teams, [*([body.primary] if body.primary else []), *body.extra])
        errors = ErrorCollector()
        if body.primary and body.primary not in found:
            errors.add("/primary", "unknown_team", f"there is no team {body.primary!r}")
        for i, key in enumerate(body.extra):
            if key not in found:
                errors.add(pointer("extra", i), "unknown_team", f"there is no team {key!r}")
        errors.raise_if_any("Unknown teams")
        memberships = {found[k]: k == body.primary for k in [*body.extra, *([body.primary] if body.primary else [])]}
        await conn.execute(delete(user_teams).where(user_teams.c.user_id == user_id))
        if memberships:
            rows = [{"user_id": user_id, "team_id": tid, "is_primary": primary} for tid, primary in memberships.items()]
            await conn.execute(insert(user_teams), rows)
        after = await _user(conn, user_id)
        if after["teams"] != before["teams"]:
            changed = {"teams": [before["teams"], after["teams"]]}
            await self.journal.note(conn, "user.teams_changed", actor, subject=before["email"], changes=changed)
        return after

    async def tokens(self, conn: AsyncConnection, actor: Access, user_id: int) -> list[dict[str, Any]]:
        require_admin(actor, write=False)
        await _user(conn, user_id)
        return await self.auth.list_tokens(conn, user_id)

    async def revoke_token(self, conn: AsyncConnection, actor: Access, user_id: int, token_id: int) -> None:
        """Revoke any user's token (it stops working at once in this process)."""
        require_admin(actor, write=True)
        user = await _user(conn, user_id)
        await self.auth.revoke_token(conn, user_id, token_id)
        detail = {"token_id": token_id, "user_id": user_id}
        await self.journal.note(conn, "token.revoked", actor, subject=user["email"], detail=detail)


async def _ids(conn: AsyncConnection, table: Any, keys: list[str]) -> dict[str, int]:
    """key -> id of the rows of `table` with those keys (first mention order)."""
    wanted = list(dict.fromkeys(keys))
    found = {r.key: r.id for r in await conn.execute(select(table.c.key, table.c.id).where(table.c.key.in_(wanted)))}
    return {k: found[k] for k in wanted if k in found}


async def _role_id(conn: AsyncConnection, key: str) -> int:
    role_id = (await conn.execute(select(roles.c.id).where(roles.c.key == key))).scalar_one_or_none()
    if role_id is None:
        raise NotFound(f"there is no role {key!r}")
    return int(role_id)


async def _user(conn: AsyncConnection, user_id: int) -> dict[str, Any]:
    rows = (await conn.execute(select(*FIELDS).where(users.c.id == user_id))).all()
    if not rows:
        raise NotFound(f"user {user_id} not found")
    return (await _described(conn, rows))[0]


async def _described(conn: AsyncConnection, rows: list[Any]) -> list[dict[str, Any]]:
    """Users with their role keys and team memberships, in two queries for the whole page."""
    ids = [r.id for r in rows]
    role_keys: dict[int, list[str]] = {i: [] for i in ids}
    memberships: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        held = select(user_roles.c.user_id, roles.c.key).join(roles).where(user_roles.c.user_id.in_(ids))
        for uid, key in await conn.execute(held.order_by(roles.c.key)):
            role_keys[uid].append(key)
        joined = select(user_teams.c.user_id, teams.c.id, teams.c.key, user_teams.c.is_primary).join(teams)
        for m in await conn.execute(joined.where(user_teams.c.user_id.in_(ids)).order_by(teams.c.key)):
            memberships[m.user_id].append({"id": m.id, "key": m.key, "is_primary": m.is_primary})
    return [{**r._asdict(), "roles": role_keys[r.id], "teams": memberships[r.id]} for r in rows]
