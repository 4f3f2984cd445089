"""Enqueueing: jobs join the caller's transaction (the outbox), dedup keys name one piece of work,
and the handler registry refuses a kind registered twice."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.core.registry import DuplicateKeyError
from engine.jobs.queue import JobHandlers, enqueue
from engine.jobs.tables import jobs
from tests.unit.jobs.support import T0, job_row


async def count_jobs(db) -> int:
    async with db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(jobs))).scalar_one()


async def test_enqueue_writes_a_pending_job(db):
    async with db.write() as conn:
        job_id = await enqueue(conn, T0, "jobs.touch", {"key": "a"}, max_attempts=3)
    row = await job_row(db, job_id)
    assert row["kind"] == "jobs.touch" and row["payload"] == {"key": "a"}
    assert (row["state"], row["attempts"], row["max_attempts"]) == ("pending", 0, 3)
    assert row["run_at"] == T0 and row["created_at"] == T0
    assert row["locked_by"] is None and row["dedup_key"] is None


async def test_enqueue_can_schedule_later(db):
    async with db.write() as conn:
        job_id = await enqueue(conn, T0, "jobs.touch", {"key": "a"}, run_at=T0 + timedelta(days=3))
    assert (await job_row(db, job_id))["run_at"] == T0 + timedelta(days=3)


async def test_jobs_commit_or_roll_back_with_the_callers_transaction(db):
    """The outbox pattern: a change that rolls back takes its jobs with it."""

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.write() as conn:
            await enqueue(conn, T0, "jobs.touch", {"key": "lost"})
            raise Boom
    assert await count_jobs(db) == 0


async def test_a_dedup_key_is_enqueued_once(db):
    async with db.write() as conn:
        first = await enqueue(conn, T0, "jobs.touch", {"key": "a"}, dedup_key="rule:1:rec:7")
        again = await enqueue(conn, T0, "jobs.touch", {"key": "b"}, dedup_key="rule:1:rec:7")
        other = await enqueue(conn, T0, "jobs.touch", {"key": "c"}, dedup_key="rule:1:rec:8")
        # the caller's transaction is intact after the refused duplicate (no aborted transaction on PostgreSQL)
        unkeyed = [await enqueue(conn, T0, "jobs.touch", {"key": k}) for k in ("d", "e")]
    assert isinstance(first, int) and again is None and isinstance(other, int) and all(unkeyed)
    assert (await job_row(db, first))["payload"] == {"key": "a"}  # the first one wins, unchanged
    assert await count_jobs(db) == 4


async def test_a_dedup_key_stays_taken_across_transactions(db):
    for _ in range(2):
        async with db.write() as conn:
            last = await enqueue(conn, T0, "jobs.touch", {"key": "a"}, dedup_key="once")
    assert last is None and await count_jobs(db) == 1


@pytest.mark.parametrize(("kind", "max_attempts", "message"), [("", 3, "needs a kind"), ("x", 0, "at least 1")])
async def test_enqueue_refuses_nonsense(db, kind, max_attempts, message):
    async with db.write() as conn:
        with pytest.raises(ValueError, match=message):
            await enqueue(conn, T0, kind, {}, max_attempts=max_attempts)


def test_registering_a_kind_twice_is_an_error():
    handlers = JobHandlers()

    async def handler(conn, job):
        return None

    assert handlers.add("demo.kind", handler) is handler
    assert handlers["demo.kind"].handler is handler and "demo.kind" in handlers
    with pytest.raises(DuplicateKeyError, match=r"job kind 'demo\.kind' is already registered"):
        handlers.add("demo.kind", handler)
