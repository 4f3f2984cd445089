"""Job kinds the queue itself ships: `jobs.touch`, a diagnostic.

`jobs.touch` records its payload's `key` in tg_job_touches, optionally after sleeping `sleep`
seconds (at most 60) inside its transaction. It does nothing useful for an app: it is how operators
check that workers are alive (`tangram jobs enqueue jobs.touch '{"key": "ping-1"}'`) and how the
crash test proves that every job's effect happens exactly once (the key is unique, so a second run
in effect would fail loudly instead of passing unseen).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.jobs.queue import Job, JobHandlers, PermanentFailure
from engine.jobs.tables import job_touches

TOUCH = "jobs.touch"
MAX_SLEEP = 60.0


async def touch(conn: AsyncConnection, job: Job) -> None:
    key, sleep = job.payload.get("key"), job.payload.get("sleep", 0)
    if not isinstance(key, str) or not key or len(key) > 255:
        raise PermanentFailure('jobs.touch needs a payload {"key": "<1-255 characters>"}')
    if isinstance(sleep, bool) or not isinstance(sleep, int | float) or not 0 <= sleep <= MAX_SLEEP:
        raise PermanentFailure(f'jobs.touch "sleep" must be a number of seconds from 0 to {MAX_SLEEP:g}')
    await asyncio.sleep(sleep)
    await conn.execute(insert(job_touches).values(key=key, job_id=job.id))


def register_builtins(handlers: JobHandlers) -> None:
    handlers.add(TOUCH, touch)
