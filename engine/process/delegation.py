"""Delegations (委托): a user names a delegate for a date range, optionally for one app or one
process; tasks that arrive for them in that range go to the delegate ("on behalf of"). Here: the
CRUD service behind /api/v1/me/delegations, its checks, and who a task goes to at a given time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import users
from engine.core.errors import ErrorCollector, NotFound
from engine.core.jsonvalues import iso_utc, to_utc
from engine.process.tables import delegations, processes
from engine.process.timeline import user_names
from engine.schema.tables import apps

DELEGABLE = ("approval", "fill")  # task kinds a delegation redirects (not resubmit, not cc)
MAX_HOPS = 5  # A -> B -> C ...: a chain of delegations is followed this far, no further
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Note = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]  # no control characters


class DelegationIn(BaseModel):
    """The body of POST and PUT /api/v1/me/delegations[/{id}]."""

    model_config = ConfigDict(extra="forbid")
    delegate: int = Field(ge=1, le=2**53, strict=True)  # a user id; "2" is not one
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    app: Key | None = None
    process: Key | None = None
    note: Note | None = None


def _covers(now: datetime, app: str | None, process: str | None) -> Any:
    d = delegations.c
    return (
        (d.starts_at <= now) & (d.ends_at > now)
        & (d.app.is_(None) | (d.app == app))
        & (d.process.is_(None) | (d.process == process))
    )  # fmt: skip


async def delegate_of(conn: AsyncConnection, user_id: int, app: str | None, process: str | None, now: datetime) -> int | None:
    """Who receives a task that arrives for `user_id` now: the end of the chain of delegations in
    force (the most specific first: process, then app, then all), bounded by MAX_HOPS; only active
    delegates count. None when the user has no delegation in force."""
    seen, current = {user_id}, user_id
    for _ in range(MAX_HOPS):
        query = (
            select(delegations.c.delegate_id)
            .join(users, users.c.id == delegations.c.delegate_id)
            .where(delegations.c.user_id == current, users.c.active.is_(True), _covers(now, app, process))
            .order_by(delegations.c.process.is_(None), delegations.c.app.is_(None), delegations.c.id.desc())
            .limit(1)
        )
        found = (await conn.execute(query)).scalar()
        if found is None or found in seen:
            break
        seen.add(found)
        current = int(found)
    return None if current == user_id else current


async def is_away(conn: AsyncConnection, user_id: int, app: str | None, process: str | None, now: datetime) -> bool:
    """A delegation of the user is in force now (whether or not its delegate is still active)."""
    query = select(delegations.c.id).where(delegations.c.user_id == user_id, _covers(now, app, process)).limit(1)
    return (await conn.execute(query)).first() is not None


async def list_delegations(conn: AsyncConnection, user_id: int, now: datetime) -> dict[str, Any]:
    """The user's own delegations (`items`) and those naming them as delegate (`received`)."""
    d = delegations.c
    mine = (await conn.execute(select(delegations).where(d.user_id == user_id).order_by(d.starts_at, d.id))).all()
    theirs = (await conn.execute(select(delegations).where(d.delegate_id == user_id).order_by(d.starts_at, d.id))).all()
    names = await user_names(conn, [r.delegate_id for r in mine] + [r.user_id for r in theirs])
    return {"items": [_json(r, names, now) for r in mine], "received": [_json(r, names, now) for r in theirs]}


async def get_delegation(conn: AsyncConnection, user_id: int, delegation_id: int, now: datetime) -> dict[str, Any]:
    row = await _own(conn, user_id, delegation_id)
    return _json(row, await user_names(conn, [row.delegate_id, row.user_id]), now)


async def save_delegation(
    conn: AsyncConnection, user_id: int, body: DelegationIn, now: datetime, delegation_id: int | None = None
) -> dict[str, Any]:
    """Create (no id) or replace the user's delegation after checking it; 422 at the offending field."""
    if delegation_id is not None:
        await _own(conn, user_id, delegation_id)
    await check(conn, user_id, body, delegation_id)
    values = body.model_dump()
    values["delegate_id"] = values.pop("delegate")
    if delegation_id is None:
        row = {"user_id": user_id, "created_at": now, **values}
        delegation_id = (await conn.execute(insert(delegations).values(row).returning(delegations.c.id))).scalar_one()
    else:
        await conn.execute(update(delegations).where(delegations.c.id == delegation_id).values(values))
    return await get_delegation(conn, user_id, delegation_id, now)


async def delete_delegation(conn: AsyncConnection, user_id: int, delegation_id: int) -> None:
    await _own(conn, user_id, delegation_id)
    await conn.execute(delete(delegations).where(delegations.c.id == delegation_id))


async def check(conn: AsyncConnection, user_id: int, body: DelegationIn, own_id: int | None) -> None:
    """No self, an active delegate, an end after the start, an app and process that exist, no cycle."""
    errors = ErrorCollector()
    if body.ends_at <= body.starts_at:
        errors.add("/ends_at", "range", "the delegation must end after it starts")
    if body.delegate == user_id:
        errors.add("/delegate", "self_delegation", "you cannot delegate to yourself")
    elif not await _active_user(conn, body.delegate):
        errors.add("/delegate", "unknown_user", f"no active user has the id {body.delegate}")
    await _check_scope(conn, body, errors)
    errors.raise_if_any()
    if await _reaches(conn, body, user_id, own_id):
        errors.add("/delegate", "delegation_cycle", "the delegate already delegates back to you in this period")
    errors.raise_if_any()


async def _check_scope(conn: AsyncConnection, body: DelegationIn, errors: ErrorCollector) -> None:
    if body.process is not None and body.app is None:
        errors.add("/process", "process_without_app", "name the app of the process too")
    elif body.app is not None and (await conn.execute(select(apps.c.id).where(apps.c.key == body.app))).first() is None:
        errors.add("/app", "unknown_app", f"no app has the key {body.app!r}")
    elif body.process is not None:
        query = select(processes.c.id).where(processes.c.app == body.app, processes.c.key == body.process)
        if (await conn.execute(query)).first() is None:
            errors.add("/process", "unknown_process", f"app {body.app!r} has no process {body.process!r}")


async def _reaches(conn: AsyncConnection, body: DelegationIn, user_id: int, own_id: int | None) -> bool:
    """Whether the delegate's delegations overlapping this one (in time and scope) lead back to the
    user, directly or through others (A -> B -> C -> A)."""
    d = delegations.c
    overlap = (d.starts_at < body.ends_at) & (d.ends_at > body.starts_at)
    if body.app is not None:
        overlap &= or_(d.app.is_(None), d.app == body.app)
    if body.process is not None:
        overlap &= or_(d.process.is_(None), d.process == body.process)
    if own_id is not None:
        overlap &= d.id != own_id
    frontier, seen = {body.delegate}, {body.delegate}
    while frontier:
        rows = await conn.execute(select(d.delegate_id).where(d.user_id.in_(frontier), overlap))
        nxt = {int(r[0]) for r in rows} - seen
        if user_id in nxt:
            return True
        seen |= nxt
        frontier = nxt
    return False


async def _own(conn: AsyncConnection, user_id: int, delegation_id: int) -> Any:
    query = select(delegations).where(delegations.c.id == delegation_id, delegations.c.user_id == user_id)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(f"delegation {delegation_id} does not exist or is not yours")
    return row


async def _active_user(conn: AsyncConnection, user_id: int) -> bool:
    query = select(users.c.id).where(users.c.id == user_id, users.c.active.is_(True))
    return (await conn.execute(query)).first() is not None


def _json(row: Any, names: dict[int, str], now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "user": {"id": row.user_id, "name": names.get(row.user_id)},
        "delegate": {"id": row.delegate_id, "name": names.get(row.delegate_id)},
        "starts_at": iso_utc(row.starts_at),
        "ends_at": iso_utc(row.ends_at),
        "app": row.app,
        "process": row.process,
        "note": row.note,
        "in_force": to_utc(row.starts_at) <= now < to_utc(row.ends_at),
        "created_at": iso_utc(row.created_at),
    }
