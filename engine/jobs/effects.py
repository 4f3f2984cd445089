"""The effects ledger: lets a handler perform an effect outside the database (an email, a webhook
call) at most once per committed success, even when its job is replayed or enqueued twice.

    if await once(conn, f"email:welcome:{user_id}", now):
        await sender.send(message)

The key is written in the job's own transaction, so it commits exactly when the job's other effects
do. An outside effect cannot join that transaction, which leaves one window, stated plainly: if the
effect succeeds and then the transaction does not commit (the worker is killed, the database goes
away, or the handler raises afterwards), the key is rolled back with everything else and the effect
happens again on the retry. Outside effects are therefore at-least-once. Keep the window small:
perform the effect last, give each effect its own job (enqueue one per recipient from the job that
decides to send), and pass the key on to receivers that deduplicate (an Idempotency-Key header, a
Message-ID). On PostgreSQL two jobs racing for one key are serialised by the key's unique index:
the second waits for the first to commit and then skips.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.jobs.tables import job_effects


async def once(conn: AsyncConnection, key: str, now: datetime) -> bool:
    """Claim the effect `key` in the caller's transaction: True the first time (perform the effect),
    False when it was already performed by a committed run (skip it)."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(job_effects).values(key=key, done_at=now).on_conflict_do_nothing().returning(job_effects.c.key)
    return (await conn.execute(stmt)).scalar_one_or_none() is not None
