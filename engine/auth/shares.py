"""Explicit sharing of one record with a user or a team, beyond what their row scope shows them
(the policy's row filter reads these shares). Whoever may update a record may share it; whoever
may read it may see with whom it is shared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.admin.base import Id
from engine.auth.journal import Journal
from engine.auth.policy import Access, scope
from engine.auth.tables import record_shares, teams, users
from engine.core.clock import Clock
from engine.core.errors import ErrorCollector, Forbidden, NotFound
from engine.schema.model import CompiledEntity


class ShareIn(BaseModel):
    """Exactly one of user_id and team_id; `can_edit` lets them update (and re-share) the record."""

    model_config = ConfigDict(extra="forbid")
    user_id: Id | None = None
    team_id: Id | None = None
    can_edit: bool = False


@dataclass(frozen=True)
class Sharing:
    clock: Clock
    journal: Journal

    async def all(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int) -> list[dict[str, Any]]:
        await _reach(conn, access, entity, rid, "read")
        rows = await conn.execute(_described().where(*_of(entity, rid)).order_by(record_shares.c.id))
        return [r._asdict() for r in rows]

    async def share(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int, body: ShareIn
    ) -> tuple[dict[str, Any], bool]:
        """Share the record (or change can_edit of an existing share). Returns (share, created)."""
        await _reach(conn, access, entity, rid, "update")
        await _check_holder(conn, body)
        s = record_shares
        holder = (s.c.user_id == body.user_id) if body.user_id is not None else (s.c.team_id == body.team_id)
        existing = (await conn.execute(select(s).where(*_of(entity, rid), holder))).first()
        ref = (entity.app, entity.key, rid)
        subject = {"user_id": body.user_id} if body.user_id is not None else {"team_id": body.team_id}
        if existing is None:
            values = {"app": entity.app, "entity": entity.key, "record_id": rid, "user_id": body.user_id,
                      "team_id": body.team_id, "can_edit": body.can_edit, "created_at": self.clock.now(),
                      "created_by": access.user_id}  # fmt: skip
            sid = (await conn.execute(insert(s).values(**values).returning(s.c.id))).scalar_one()
            changes = {k: [None, v] for k, v in (subject | {"can_edit": body.can_edit}).items()}
            await self.journal.note(conn, "share.created", access, record=ref, changes=changes, detail={"share_id": sid})
            return await _share(conn, sid), True
        if existing.can_edit != body.can_edit:
            await conn.execute(update(s).where(s.c.id == existing.id).values(can_edit=body.can_edit))
            changes = {"can_edit": [existing.can_edit, body.can_edit]}
            detail = {"share_id": existing.id} | subject
            await self.journal.note(conn, "share.updated", access, record=ref, changes=changes, detail=detail)
        return await _share(conn, existing.id), False

    async def unshare(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int, share_id: int) -> None:
        await _reach(conn, access, entity, rid, "update")
        s = record_shares
        row = (await conn.execute(select(s).where(s.c.id == share_id, *_of(entity, rid)))).first()
        if row is None:
            raise NotFound(f"share {share_id} of {entity.key} record {rid} not found")
        await conn.execute(delete(s).where(s.c.id == share_id))
        holder = {"user_id": [row.user_id, None]} if row.user_id is not None else {"team_id": [row.team_id, None]}
        changes = holder | {"can_edit": [row.can_edit, None]}
        ref = (entity.app, entity.key, rid)
        await self.journal.note(conn, "share.deleted", access, record=ref, changes=changes, detail={"share_id": share_id})


async def may_share(conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int) -> bool:
    """Whether the caller may share this live record: sharing needs the right to update it. Pages ask
    this to offer a Share button; the API's own check below is the same function."""
    return await _found(conn, access, entity, rid, "read") and await _found(conn, access, entity, rid, "update")


async def _reach(conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int, action: str) -> None:
    """A live record the caller may read (else 404: existence does not leak) and, for "update", may
    also update (else 403)."""
    if not await _found(conn, access, entity, rid, "read"):
        raise NotFound(f"{entity.key} record {rid} not found")
    if action == "update" and not await may_share(conn, access, entity, rid):
        raise Forbidden(f"you may not share this {entity.key} record: sharing needs the right to update it")


async def _found(conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int, action: str) -> bool:
    t = entity.table
    query = select(t.c.id).where(t.c.id == rid, t.c.deleted_at.is_(None))
    where = scope(access, entity, action).where(t)
    return (await conn.execute(query if where is None else query.where(where))).first() is not None


async def _check_holder(conn: AsyncConnection, body: ShareIn) -> None:
    errors = ErrorCollector()
    if (body.user_id is None) == (body.team_id is None):
        errors.add("/user_id", "required", "give exactly one of user_id and team_id")
    elif body.user_id is not None:
        if (await conn.execute(select(users.c.id).where(users.c.id == body.user_id))).first() is None:
            errors.add("/user_id", "unknown_user", f"there is no user {body.user_id}")
    elif (await conn.execute(select(teams.c.id).where(teams.c.id == body.team_id))).first() is None:
        errors.add("/team_id", "unknown_team", f"there is no team {body.team_id}")
    errors.raise_if_any("The share has errors")


def _of(entity: CompiledEntity, rid: int) -> tuple[Any, ...]:
    s = record_shares
    return (s.c.app == entity.app, s.c.entity == entity.key, s.c.record_id == rid)


def _described() -> Any:
    s = record_shares
    columns = (s.c.id, s.c.user_id, users.c.email.label("user_email"), s.c.team_id, teams.c.key.label("team_key"))
    joined = s.outerjoin(users, users.c.id == s.c.user_id).outerjoin(teams, teams.c.id == s.c.team_id)
    return select(*columns, s.c.can_edit, s.c.created_at, s.c.created_by).select_from(joined)


async def _share(conn: AsyncConnection, share_id: int) -> dict[str, Any]:
    return (await conn.execute(_described().where(record_shares.c.id == share_id))).one()._asdict()
