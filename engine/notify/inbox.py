"""The in-app notification inbox: rules add notifications, each user lists and marks only their own."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from engine.auth.policy import Access
from engine.auth.tables import users
from engine.core.errors import Forbidden, NotFound
from engine.notify.tables import notifications

n = notifications
MAX_TITLE = 300
MAX_BODY = 10_000
MAX_DEDUP_KEY = 255
PUBLIC = (n.c.id, n.c.title, n.c.body, n.c.app, n.c.entity, n.c.record_id, n.c.created_at, n.c.read_at, n.c.dedup_key)
TASK_KEY = re.compile(r"ptask:(\d+):")  # the process engine's key for a task's notifications


async def notify(
    conn: AsyncConnection,
    now: datetime,
    user_ids: Iterable[int],
    title: str,
    body: str,
    *,
    app: str | None = None,
    entity: str | None = None,
    record_id: int | None = None,
    dedup_key: str | None = None,
) -> int:
    """Add one notification per active user in `user_ids`, inside the caller's transaction; returns
    how many were created. With a `dedup_key`, a user who already has a notification under that key
    gets no second one, so a replayed job does not notify twice. Unknown or inactive users are skipped."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return 0
    active = (await conn.execute(select(users.c.id).where(users.c.id.in_(wanted), users.c.active.is_(True)))).scalars()
    found = set(active)
    # A job must not die over a long rendered text: keep the head, the inbox shows a summary anyway.
    row = {
        "title": _clip(title, MAX_TITLE), "body": _clip(body, MAX_BODY), "app": app, "entity": entity,
        "record_id": record_id, "created_at": now, "read_at": None, "dedup_key": _key(dedup_key),
    }  # fmt: skip
    rows = [{"user_id": uid, **row} for uid in wanted if uid in found]
    if not rows:
        return 0
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = await conn.execute(dialect_insert(n).values(rows).on_conflict_do_nothing().returning(n.c.id))
    return len(created.all())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(dedup_key: str | None) -> str | None:
    if dedup_key is None or len(dedup_key) <= MAX_DEDUP_KEY:
        return dedup_key
    return "sha256:" + hashlib.sha256(dedup_key.encode()).hexdigest()


def _mine(actor: Access) -> list[ColumnElement[bool]]:
    """The caller's own notifications; a token limited to some apps sees only those apps' ones."""
    if actor.user_id is None:
        raise Forbidden("only a signed-in user has notifications")
    where = [n.c.user_id == actor.user_id]
    if actor.token_apps is not None:
        where.append(n.c.app.in_(sorted(actor.token_apps)))
    return where


async def page(
    conn: AsyncConnection, actor: Access, *, unread_only: bool = False, limit: int = 50, before_id: int | None = None
) -> dict[str, Any]:
    """Newest first: {"items", "next_cursor" (pass back as `before_id`), "unread" (count of all unread)}."""
    where = _mine(actor)
    if unread_only:
        where.append(n.c.read_at.is_(None))
    if before_id is not None:
        where.append(n.c.id < before_id)
    rows = (await conn.execute(select(*PUBLIC).where(*where).order_by(n.c.id.desc()).limit(limit + 1))).all()
    items = [_public(r) for r in rows[:limit]]
    next_cursor = str(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor, "unread": await unread_count(conn, actor)}


async def unread_count(conn: AsyncConnection, actor: Access) -> int:
    query = select(func.count()).select_from(n).where(*_mine(actor), n.c.read_at.is_(None))
    return int((await conn.execute(query)).scalar_one())


async def mark_read(conn: AsyncConnection, now: datetime, actor: Access, notification_id: int) -> dict[str, Any]:
    """Mark one of the caller's notifications read (again: keeps the first read time). Another
    user's notification is as unknown as a missing one: 404."""
    _writable(actor)
    where = [*_mine(actor), n.c.id == notification_id]
    await conn.execute(update(n).where(*where, n.c.read_at.is_(None)).values(read_at=now))
    row = (await conn.execute(select(*PUBLIC).where(*where))).first()
    if row is None:
        raise NotFound(f"there is no notification {notification_id}")
    return _public(row)


def _public(row: Any) -> dict[str, Any]:
    """A notification as its reader sees it; `task_id` names the process task it is about, if any."""
    out = row._asdict()
    match = TASK_KEY.match(out.pop("dedup_key") or "")
    out["task_id"] = int(match.group(1)) if match else None
    return out


async def mark_all_read(conn: AsyncConnection, now: datetime, actor: Access) -> int:
    """Mark every unread notification of the caller read; returns how many changed."""
    _writable(actor)
    result = await conn.execute(update(n).where(*_mine(actor), n.c.read_at.is_(None)).values(read_at=now))
    return int(result.rowcount)


def _writable(actor: Access) -> None:
    if actor.token_read_only:
        raise Forbidden("a read-only token cannot mark notifications read")
