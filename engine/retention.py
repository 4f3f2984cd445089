"""Retention: what piles up and nobody reads after a while is deleted by a daily job, `jobs.purge`.

Purged once older than TANGRAM_RETENTION_DAYS (default 30; 0 keeps everything): jobs that are done (dead
ones stay, for an operator to look at), the record of outside effects already performed (a retry comes
within hours, not weeks), rule runs (the execution log), and notifications that were read. Kept whatever
their age: record history and the audit log, unread notifications, running and pending jobs, and the rule
engine's fired occurrences (a date rule consults them to fire once per record and date: deleting them could
fire it again).

The job deletes in batches so that SQLite's one writer is never held for long, and schedules the next day's
run (03:00 UTC) itself; `ensure_scheduled` (called when a server starts) restarts the chain if it broke.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.clock import Clock
from engine.core.db import Database
from engine.jobs.queue import Job, JobHandlers, enqueue
from engine.jobs.tables import job_effects, jobs
from engine.notify.tables import notifications
from engine.rules.tables import rule_runs

log = logging.getLogger("tangram.retention")
PURGE = "jobs.purge"
BATCH = 5000
AT = time(3, 0)  # UTC: a quiet hour for most businesses in Asia and Europe


def _targets(cutoff: datetime) -> list[tuple[Any, Any, Any]]:
    """(table, its id column, what of it is old enough) for every purged table."""
    return [
        (jobs, jobs.c.id, (jobs.c.state == "done") & (jobs.c.finished_at < cutoff)),
        (job_effects, job_effects.c.key, job_effects.c.done_at < cutoff),
        (rule_runs, rule_runs.c.id, rule_runs.c.at < cutoff),
        (notifications, notifications.c.id, notifications.c.read_at.is_not(None) & (notifications.c.read_at < cutoff)),
    ]


async def purge(db: Database, now: datetime, days: float) -> dict[str, int]:
    """Delete what is older than `days`, a batch per write transaction; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    cutoff = now - timedelta(days=days)
    for table, key, old in _targets(cutoff):
        deleted[table.name] = 0
        while True:
            async with db.write() as conn:
                batch = select(key).where(old).limit(BATCH).scalar_subquery()
                n = (await conn.execute(delete(table).where(key.in_(batch)))).rowcount or 0
            deleted[table.name] += n
            if n < BATCH:
                break
    return deleted


def next_run(now: datetime) -> datetime:
    today = datetime.combine(now.date(), AT, tzinfo=now.tzinfo)
    return today if today > now else today + timedelta(days=1)


async def ensure_scheduled(conn: AsyncConnection, now: datetime) -> None:
    """The next daily purge is queued (nothing happens when it already is: the key names its day)."""
    at = next_run(now)
    await enqueue(conn, now, PURGE, {}, run_at=at, dedup_key=f"{PURGE}:{at.date().isoformat()}")


async def ensure_scheduled_at_start(db: Database, now: datetime) -> None:
    """A server start restarts the daily purge's chain if it broke; a database that is away then does not
    keep the server from starting (it answers 503 until the database is back; the next start queues it)."""
    try:
        async with db.write() as conn:
            await ensure_scheduled(conn, now)
    except Exception:
        log.warning("the daily purge could not be queued at start", exc_info=True)


def register(handlers: JobHandlers, db: Database, clock: Clock, days: float) -> None:
    async def run(conn: AsyncConnection, job: Job) -> None:
        now = clock.now()
        if days > 0:
            await purge(db, now, days)
        async with db.write() as next_conn:  # from its own due time: a worker may run it a little early (--as-of)
            await ensure_scheduled(next_conn, max(now, job.run_at))

    handlers.add(PURGE, run, outside=True)  # its own short write transactions, not one long one
