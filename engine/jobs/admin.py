"""Operating the queue: list jobs (dead ones above all) and send a dead job back for another try.
Shared by the admin API and the CLI; callers check rights and write the audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import Conflict, NotFound
from engine.core.jsonvalues import to_utc
from engine.jobs.tables import jobs

# Payloads carry no secrets (a webhook's job names where its secret is stored), but a job queued by
# an older version may: what operators see masks these keys at any depth.
SECRET_KEYS = frozenset({"secret", "password", "token", "api_key"})
MASK = "********"


def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_KEYS and v else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _shown(row: Any) -> dict[str, Any]:
    job = dict(row)
    job["payload"] = masked(job["payload"])
    return job


async def list_jobs(
    conn: AsyncConnection, *, state: str | None = None, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Jobs newest first; pass the last id seen as `before` for the next page."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(jobs.c.state == state)
    if before is not None:
        query = query.where(jobs.c.id < before)
    return [_shown(row) for row in (await conn.execute(query)).mappings()]


async def get_job(conn: AsyncConnection, job_id: int) -> dict[str, Any]:
    row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).mappings().one_or_none()
    if row is None:
        raise NotFound(f"there is no job {job_id}")
    return _shown(row)


async def retry(conn: AsyncConnection, job_id: int, now: datetime) -> dict[str, Any]:
    """Dead -> pending, due now, with its attempts reset (last_error stays until the next run, so the
    operator still sees why it died). Any other state is a Conflict: it is running or will run."""
    revived = await conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state == "dead")
        .values(state="pending", attempts=0, run_at=now, finished_at=None, locked_by=None, locked_until=None)
    )
    job = await get_job(conn, job_id)
    if revived.rowcount != 1:
        raise Conflict(f"job {job_id} is {job['state']}: only a dead job can be retried")
    return job


async def queue_depth(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """What an operator watches: jobs per state, how many are due now, and how long the oldest due job has
    waited (seconds; None when none is due). One grouped query and one MIN, for health and /metrics."""
    counts = {state: 0 for state in ("pending", "running", "done", "dead")}
    for state, n in (await conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))).all():
        counts[state] = n
    due = (jobs.c.state == "pending") & (jobs.c.run_at <= now)
    n_due, oldest = (await conn.execute(select(func.count(), func.min(jobs.c.run_at)).where(due))).one()
    waited = None if oldest is None else max(0.0, (now - to_utc(oldest)).total_seconds())
    return {"states": counts, "due": n_due, "oldest_due_seconds": waited}
