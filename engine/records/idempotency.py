"""Idempotency-Key support: the first response to a keyed POST is stored in the same transaction
as its effect, so a retry gets that response back and nothing is created twice."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.clock import Clock
from engine.core.errors import TangramError
from engine.records.tables import idempotency_keys as keys

KEEP_FOR = timedelta(hours=24)  # as Stripe: long enough for any client's retries


class KeyReused(TangramError):
    status = 422
    title = "Idempotency key reused"
    type_slug = "idempotency-key-reused"


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


async def recall(conn: AsyncConnection, clock: Clock, user_id: int, key: str, print_: str) -> tuple[int, Any] | None:
    """The stored response for this key, if any; a key older than KEEP_FOR is forgotten."""
    row = (await conn.execute(select(keys).where(keys.c.user_id == user_id, keys.c.key == key))).first()
    if row is not None and row.created_at < clock.now() - KEEP_FOR:
        await conn.execute(delete(keys).where(keys.c.user_id == user_id, keys.c.created_at < clock.now() - KEEP_FOR))
        row = None
    if row is None:
        return None
    if row.fingerprint != print_:
        raise KeyReused("this Idempotency-Key was already used for a different request")
    return row.status_code, row.response


async def remember(conn: AsyncConnection, clock: Clock, user_id: int, key: str, print_: str, status: int, response: Any) -> None:
    # Forget this user's expired keys as new ones arrive, so the table stays bounded per user.
    await conn.execute(delete(keys).where(keys.c.user_id == user_id, keys.c.created_at < clock.now() - KEEP_FOR))
    await conn.execute(
        insert(keys).values(
            user_id=user_id, key=key, fingerprint=print_, status_code=status, response=response, created_at=clock.now()
        )
    )
