"""Administering teams: a tree where each team keeps its materialised path ("/1/4/9/"), so "a team
and its sub-teams" is one prefix match. Moving a team rewrites its whole subtree's paths in one
statement; changes to the tree are serialised so concurrent moves cannot build a cycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.admin.base import AdminService, Id, require_admin
from engine.auth.policy import Access
from engine.auth.tables import record_shares, teams, user_teams, users
from engine.core.changes import changes
from engine.core.errors import Conflict, ErrorCollector, ErrorDetail, NotFound
from engine.schema.definition import Key, Label

MAX_PATH = 1000  # the column's length


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    label: Label
    parent: Key | None = None
    manager_id: Id | None = None


class TeamPatch(BaseModel):
    """Omitted fields stay; `"parent": null` makes the team a root, `"manager_id": null` clears it."""

    model_config = ConfigDict(extra="forbid")
    label: Label = None
    parent: Key | None = None
    manager_id: Id | None = None


@dataclass(frozen=True)
class TeamAdmin(AdminService):
    async def all(self, conn: AsyncConnection, actor: Access) -> list[dict[str, Any]]:
        require_admin(actor, write=False)
        return [_json(r) for r in await conn.execute(_described().order_by(teams.c.path))]

    async def get(self, conn: AsyncConnection, actor: Access, key: str) -> dict[str, Any]:
        require_admin(actor, write=False)
        return await _team(conn, key)

    async def create(self, conn: AsyncConnection, actor: Access, body: TeamIn) -> dict[str, Any]:
        require_admin(actor, write=True)
        await _lock_tree(conn)
        if await _row(conn, body.key) is not None:
            raise Conflict(f"a team with key {body.key!r} already exists")
        errors = ErrorCollector()
        parent = await _parent(conn, body.parent, errors)
        await _check_manager(conn, body.manager_id, errors)
        errors.raise_if_any("The team has errors")
        values = {"key": body.key, "label": body.label, "manager_id": body.manager_id, "created_at": self.clock.now()}
        tid = (await conn.execute(insert(teams).values(**values, path="").returning(teams.c.id))).scalar_one()
        path = (parent.path if parent is not None else "/") + f"{tid}/"
        if len(path) > MAX_PATH:
            raise Conflict("the team tree would be too deep")
        await conn.execute(update(teams).where(teams.c.id == tid).values(path=path, parent_id=parent.id if parent else None))
        created = changes({}, {"label": body.label, "parent": body.parent, "manager_id": body.manager_id})
        await self.journal.note(conn, "team.created", actor, subject=body.key, changes=created)
        return await _team(conn, body.key)

    async def update(self, conn: AsyncConnection, actor: Access, key: str, body: TeamPatch) -> dict[str, Any]:
        """Relabel, change the manager, or move the team (with its sub-teams) under another parent."""
        require_admin(actor, write=True)
        await _lock_tree(conn)
        before = await _team(conn, key)
        values = body.model_dump(exclude_unset=True)
        errors = ErrorCollector()
        parent = await _parent(conn, values.get("parent"), errors)
        await _check_manager(conn, values.get("manager_id"), errors)
        errors.raise_if_any("The team has errors")
        changed = changes(before, values, keys=values)
        if "parent" in changed:
            await _move(conn, await _existing(conn, key), parent)
        stored = {k: values[k] for k in ("label", "manager_id") if k in changed}
        if stored:
            await conn.execute(update(teams).where(teams.c.key == key).values(**stored))
        if changed:
            await self.journal.note(conn, "team.updated", actor, subject=key, changes=changed)
        return await _team(conn, key)

    async def delete(self, conn: AsyncConnection, actor: Access, key: str) -> None:
        """Delete a team without sub-teams; its memberships and the shares with it go too."""
        require_admin(actor, write=True)
        await _lock_tree(conn)
        team = await _existing(conn, key)
        children = (await conn.execute(select(func.count()).where(teams.c.parent_id == team.id))).scalar_one()
        if children:
            raise Conflict(f"team {key!r} has {children} sub-teams: move or delete them first", sub_teams=children)
        members = (await conn.execute(delete(user_teams).where(user_teams.c.team_id == team.id))).rowcount
        await conn.execute(delete(record_shares).where(record_shares.c.team_id == team.id))
        await conn.execute(delete(teams).where(teams.c.id == team.id))
        await self.journal.note(conn, "team.deleted", actor, subject=key, detail={"members": members})


async def _move(conn: AsyncConnection, team: Any, parent: Any) -> None:
    if parent is not None and parent.path.startswith(team.path):
        message = f"team {parent.key!r} is {team.key!r} or one of its sub-teams: the move would make a cycle"
        raise Conflict(message, errors=[ErrorDetail("/parent", "cycle", message)])
    new = (parent.path if parent is not None else "/") + f"{team.id}/"
    t = teams
    subtree = t.c.path.startswith(team.path, autoescape=True)
    longest = (await conn.execute(select(func.max(func.length(t.c.path))).where(subtree))).scalar_one()
    if longest - len(team.path) + len(new) > MAX_PATH:
        raise Conflict("the team tree would be too deep")
    await conn.execute(update(t).where(t.c.id == team.id).values(parent_id=parent.id if parent is not None else None))
    await conn.execute(update(t).where(subtree).values(path=literal(new).concat(func.substr(t.c.path, len(team.path) + 1))))


async def _lock_tree(conn: AsyncConnection) -> None:
    """One tree change at a time (SQLite has a single writer already); plain reads are not blocked."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("LOCK TABLE tg_teams IN SHARE ROW EXCLUSIVE MODE"))


async def _parent(conn: AsyncConnection, key: str | None, errors: ErrorCollector) -> Any:
    if key is None:
        return None
    row = await _row(conn, key)
    if row is None:
        errors.add("/parent", "unknown_team", f"there is no team {key!r}")
    return row


async def _check_manager(conn: AsyncConnection, user_id: int | None, errors: ErrorCollector) -> None:
    if user_id is not None and (await conn.execute(select(users.c.id).where(users.c.id == user_id))).first() is None:
        errors.add("/manager_id", "unknown_user", f"there is no user {user_id}")


async def _row(conn: AsyncConnection, key: str) -> Any:
    return (await conn.execute(select(teams).where(teams.c.key == key))).first()


async def _existing(conn: AsyncConnection, key: str) -> Any:
    row = await _row(conn, key)
    if row is None:
        raise NotFound(f"team {key!r} not found")
    return row


def _described() -> Any:
    parent = teams.alias("parent")
    members = select(func.count()).where(user_teams.c.team_id == teams.c.id).scalar_subquery()
    columns = (teams.c.id, teams.c.key, teams.c.label, teams.c.manager_id, teams.c.path, teams.c.created_at)
    joined = teams.outerjoin(parent, parent.c.id == teams.c.parent_id)
    return select(*columns, parent.c.key.label("parent"), members.label("members")).select_from(joined)


async def _team(conn: AsyncConnection, key: str) -> dict[str, Any]:
    row = (await conn.execute(_described().where(teams.c.key == key))).first()
    if row is None:
        raise NotFound(f"team {key!r} not found")
    return _json(row)


def _json(row: Any) -> dict[str, Any]:
    return row._asdict()  # type: ignore[no-any-return]
