"""Outside jobs (an email, a webhook) wait on the network without holding a write transaction:
on SQLite, with its single writer, anything else would stall every API write for the call."""

import asyncio

from sqlalchemy import insert

from engine.core.clock import FrozenClock
from engine.core.db import Database
from engine.jobs.queue import JobHandlers, enqueue
from engine.jobs.tables import job_touches
from engine.jobs.worker import Worker
from tests.unit.jobs.support import job_row, touched


async def test_an_outside_job_leaves_the_writer_free_while_it_waits(
    db: Database, clock: FrozenClock, handlers: JobHandlers
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_call(conn, job) -> None:
        started.set()
        await release.wait()  # the network call

    handlers.add("test.call", slow_call, outside=True)
    async with db.write() as conn:
        job_id = await enqueue(conn, clock.now(), "test.call", {})
    worker = asyncio.create_task(Worker(db, clock, handlers).run_until_idle())
    await started.wait()
    async with db.write() as conn:  # would wait for the writer if the job held it
        await asyncio.wait_for(conn.execute(insert(job_touches).values(key="api write", job_id=0)), timeout=5)
    assert await touched(db) == ["api write"]
    assert (await job_row(db, job_id))["state"] == "running"
    release.set()
    assert await worker == 1
    assert (await job_row(db, job_id))["state"] == "done"


async def test_a_failing_outside_job_is_retried_not_done(db: Database, clock: FrozenClock, handlers: JobHandlers) -> None:
    async def refused(conn, job) -> None:
        raise ConnectionError("connection refused")

    handlers.add("test.refused", refused, outside=True)
    async with db.write() as conn:
        job_id = await enqueue(conn, clock.now(), "test.refused", {})
    await Worker(db, clock, handlers).run_until_idle()
    row = await job_row(db, job_id)
    assert (row["state"], row["attempts"]) == ("pending", 1) and "connection refused" in row["last_error"]


async def test_a_long_outside_job_renews_its_lease_so_no_other_worker_takes_it(
    db: Database, clock: FrozenClock, handlers: JobHandlers
) -> None:
    """Issue 18: an import running longer than the lease is never run twice."""
    from datetime import timedelta

    started, release = asyncio.Event(), asyncio.Event()
    runs = []

    async def long_import(conn, job) -> None:
        runs.append(job.id)
        started.set()
        await release.wait()

    handlers.add("test.import", long_import, outside=True)
    async with db.write() as conn:
        job_id = await enqueue(conn, clock.now(), "test.import", {})
    lease = timedelta(minutes=5)
    first = Worker(db, clock, handlers, name="first", lease=lease, renew_every=0.01)
    working = asyncio.create_task(first.run_until_idle())
    await started.wait()
    for _ in range(3):  # 12 minutes in all: well past the first lease
        clock.advance(timedelta(minutes=4))
        renewed_to = clock.now() + lease
        while (await job_row(db, job_id))["locked_until"] < renewed_to:
            await asyncio.sleep(0.01)  # the renewal turns every 10 ms
        assert await Worker(db, clock, handlers, name="second", lease=lease).run_batch() == 0
    release.set()
    assert await working == 1
    assert runs == [job_id] and (await job_row(db, job_id))["state"] == "done"
