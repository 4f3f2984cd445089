"""The worker on a frozen clock: due jobs run once and are done, failures roll back and retry with
backoff until dead, unknown kinds are buried, leases expire and are taken over, stops are clean."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from engine.jobs.backoff import nominal
from engine.jobs.queue import enqueue
from engine.jobs.tables import job_touches, jobs
from engine.jobs.worker import Worker, in_background
from tests.unit.jobs.support import T0, job_row, touched

LEASE = timedelta(minutes=5)


def worker(db, clock, handlers, name="w1", **options):
    return Worker(db, clock, handlers, name=name, lease=LEASE, retry_delay=nominal, **options)


async def add(db, clock, kind="jobs.touch", payload=None, **options):
    async with db.write() as conn:
        return await enqueue(conn, clock.now(), kind, payload if payload is not None else {"key": "k"}, **options)


async def test_due_jobs_run_once_and_are_done(db, clock, handlers):
    ids = [await add(db, clock, payload={"key": k}) for k in ("a", "b", "c")]
    assert await worker(db, clock, handlers, batch=2).run_until_idle() == 3
    assert await touched(db) == ["a", "b", "c"]
    for job_id in ids:
        row = await job_row(db, job_id)
        assert (row["state"], row["attempts"], row["finished_at"], row["locked_by"]) == ("done", 1, T0, "w1")
        assert row["locked_until"] is None and row["last_error"] is None
    assert await worker(db, clock, handlers).run_until_idle() == 0  # done jobs never run again


async def test_a_job_due_later_waits_for_its_time(db, clock, handlers):
    job_id = await add(db, clock, run_at=T0 + timedelta(hours=1))
    w = worker(db, clock, handlers)
    assert await w.run_until_idle() == 0 and (await job_row(db, job_id))["state"] == "pending"
    clock.advance(timedelta(minutes=59, seconds=59))
    assert await w.run_until_idle() == 0
    clock.advance(timedelta(seconds=1))
    assert await w.run_until_idle() == 1 and await touched(db) == ["k"]


async def touch_then_fail(conn, job):
    await conn.execute(insert(job_touches).values(key=f"try-{job.attempts}", job_id=job.id))
    raise RuntimeError(f"boom on attempt {job.attempts}")


async def test_a_failure_rolls_back_and_retries_with_backoff(db, clock, handlers):
    handlers.add("demo.flaky", touch_then_fail)
    job_id = await add(db, clock, "demo.flaky", {}, max_attempts=5)
    w = worker(db, clock, handlers)
    for attempt, delay in [(1, 10), (2, 20), (3, 40)]:
        assert await w.run_until_idle() == 1
        row = await job_row(db, job_id)
        assert (row["state"], row["attempts"]) == ("pending", attempt)
        assert row["last_error"] == f"RuntimeError: boom on attempt {attempt}"
        assert row["run_at"] == clock.now() + timedelta(seconds=delay) and row["locked_by"] is None
        assert await touched(db) == []  # the handler's database effects were rolled back
        clock.advance(timedelta(seconds=delay - 1))
        assert await w.run_until_idle() == 0  # not before its time
        clock.advance(timedelta(seconds=1))


async def test_the_default_backoff_is_jittered_around_the_schedule(db, clock, handlers):
    handlers.add("demo.flaky", touch_then_fail)
    job_id = await add(db, clock, "demo.flaky", {})
    await Worker(db, clock, handlers).run_until_idle()
    wait = (await job_row(db, job_id))["run_at"] - T0
    assert timedelta(seconds=7.5) <= wait <= timedelta(seconds=12.5)


async def test_a_job_is_dead_after_max_attempts(db, clock, handlers):
    handlers.add("demo.flaky", touch_then_fail)
    job_id = await add(db, clock, "demo.flaky", {}, max_attempts=3)
    w = worker(db, clock, handlers)
    for _ in range(3):
        assert await w.run_until_idle() == 1
        clock.advance(timedelta(hours=1))
    row = await job_row(db, job_id)
    assert (row["state"], row["attempts"], row["last_error"]) == ("dead", 3, "RuntimeError: boom on attempt 3")
    assert row["finished_at"] == T0 + timedelta(hours=2)
    clock.advance(timedelta(days=30))
    assert await w.run_until_idle() == 0  # dead jobs stay dead until an operator retries them


async def test_a_permanent_failure_is_dead_at_once(db, clock, handlers):
    job_id = await add(db, clock, payload={"key": ""})  # jobs.touch refuses an empty key
    await worker(db, clock, handlers).run_until_idle()
    row = await job_row(db, job_id)
    assert (row["state"], row["attempts"]) == ("dead", 1)
    assert row["last_error"].startswith("PermanentFailure: jobs.touch needs a payload")


async def test_an_unknown_kind_is_dead_with_a_clear_error_and_others_still_run(db, clock, handlers):
    lost = await add(db, clock, "nobody.handles.this", {})
    fine = await add(db, clock, payload={"key": "fine"})
    assert await worker(db, clock, handlers).run_until_idle() == 2
    row = await job_row(db, lost)
    assert row["state"] == "dead" and row["last_error"] == "no handler is registered for job kind 'nobody.handles.this'"
    assert (await job_row(db, fine))["state"] == "done"


async def test_the_handler_sees_the_job(db, clock, handlers):
    seen = []

    async def record(conn, job):
        seen.append(job)

    handlers.add("demo.record", record)
    job_id = await add(db, clock, "demo.record", {"n": 1}, dedup_key="d1", max_attempts=4)
    await worker(db, clock, handlers).run_until_idle()
    [job] = seen
    assert (job.id, job.kind, job.payload, job.attempts, job.max_attempts, job.run_at, job.dedup_key) == (
        job_id, "demo.record", {"n": 1}, 1, 4, T0, "d1",
    )  # fmt: skip


async def claimed_by_a_dead_worker(db, job_id, *, attempts=1, until=T0 + LEASE):
    async with db.write() as conn:
        await conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(state="running", locked_by="dead", locked_until=until, attempts=attempts)
        )


async def test_a_job_whose_lease_expired_is_taken_over(db, clock, handlers):
    job_id = await add(db, clock)
    await claimed_by_a_dead_worker(db, job_id)
    w = worker(db, clock, handlers, name="w2")
    assert await w.run_until_idle() == 0  # the lease still holds
    clock.advance(LEASE)
    assert await w.run_until_idle() == 1
    row = await job_row(db, job_id)
    assert (row["state"], row["attempts"], row["locked_by"]) == ("done", 2, "w2")
    assert await touched(db) == ["k"]


async def test_a_worker_that_dies_on_the_last_attempt_buries_the_job(db, clock, handlers):
    job_id = await add(db, clock, max_attempts=2)
    await claimed_by_a_dead_worker(db, job_id, attempts=2)
    clock.advance(LEASE)
    await worker(db, clock, handlers).run_until_idle()
    row = await job_row(db, job_id)
    assert (row["state"], row["attempts"]) == ("dead", 3) and "lease expired" in row["last_error"]
    assert await touched(db) == []


async def test_a_worker_that_lost_its_lease_does_not_run_the_job_again(db, clock, handlers):
    job_id = await add(db, clock)
    slow = worker(db, clock, handlers, name="slow")
    [job] = await slow._claim()  # claimed, then the worker stalls past its lease
    clock.advance(LEASE)
    assert await worker(db, clock, handlers, name="fast").run_until_idle() == 1
    await slow._run(job)  # it wakes up: it no longer holds the job, so it must not run or touch it
    row = await job_row(db, job_id)
    assert (row["state"], row["attempts"], row["locked_by"], row["last_error"]) == ("done", 2, "fast", None)
    assert await touched(db) == ["k"]


async def test_a_stop_releases_claimed_jobs_not_yet_started(db, clock, handlers):
    stop = asyncio.Event()

    async def stop_now(conn, job):
        stop.set()

    handlers.add("demo.stop", stop_now)
    first = await add(db, clock, "demo.stop", {})
    rest = [await add(db, clock, payload={"key": k}) for k in ("a", "b")]
    assert await worker(db, clock, handlers).run_batch(stop) == 1
    assert (await job_row(db, first))["state"] == "done"
    for job_id in rest:
        row = await job_row(db, job_id)
        assert (row["state"], row["attempts"], row["locked_by"], row["locked_until"]) == ("pending", 0, None, None)
    assert await worker(db, clock, handlers, name="w2").run_until_idle() == 2  # claimable at once


async def test_run_works_until_stopped(db, clock, handlers):
    stop = asyncio.Event()

    async def stop_now(conn, job):
        stop.set()

    handlers.add("demo.stop", stop_now)
    for key in ("a", "b"):
        await add(db, clock, payload={"key": key})
    await add(db, clock, "demo.stop", {})
    await asyncio.wait_for(worker(db, clock, handlers, batch=1, poll_seconds=0.01).run(stop), 60)
    assert await touched(db) == ["a", "b"]


async def test_in_background_runs_jobs_and_stops_cleanly_on_exit(db, clock, handlers):
    ran = asyncio.Event()

    async def signal(conn, job):
        ran.set()

    handlers.add("demo.signal", signal)
    w = worker(db, clock, handlers, poll_seconds=0.01)
    async with in_background(w):
        job_id = await add(db, clock, "demo.signal", {})
        await asyncio.wait_for(ran.wait(), 60)
    assert (await job_row(db, job_id))["state"] == "done"


def test_a_batch_must_hold_a_job(db, clock, handlers):
    with pytest.raises(ValueError, match="batch must be at least 1"):
        Worker(db, clock, handlers, batch=0)
