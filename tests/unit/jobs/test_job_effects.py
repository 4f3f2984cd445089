"""The effects ledger: an outside effect is performed once per committed success, and a rolled-back
run leaves its key free so the retry performs it."""

import pytest
from sqlalchemy import select

from engine.jobs.effects import once
from engine.jobs.queue import enqueue
from engine.jobs.tables import job_effects
from engine.jobs.worker import Worker
from tests.unit.jobs.support import T0, job_row


async def test_a_key_is_granted_once(db):
    async with db.write() as conn:
        assert await once(conn, "email:1", T0) is True
        assert await once(conn, "email:1", T0) is False
        assert await once(conn, "email:2", T0) is True
    async with db.write() as conn:
        assert await once(conn, "email:1", T0) is False
    async with db.read() as conn:
        rows = (await conn.execute(select(job_effects).order_by(job_effects.c.key))).all()
    assert [(r.key, r.done_at) for r in rows] == [("email:1", T0), ("email:2", T0)]


async def test_a_rolled_back_key_is_free_again(db):
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            assert await once(conn, "email:1", T0)
            raise RuntimeError("the job failed after the effect")
    async with db.write() as conn:
        assert await once(conn, "email:1", T0) is True


async def test_two_jobs_for_one_effect_perform_it_once(db, clock, handlers):
    sent = []

    async def send(conn, job):
        if await once(conn, f"email:welcome:{job.payload['user']}", clock.now()):
            sent.append(job.id)

    handlers.add("demo.send", send)
    async with db.write() as conn:
        ids = [await enqueue(conn, T0, "demo.send", {"user": 7}) for _ in range(2)]
    assert await Worker(db, clock, handlers).run_until_idle() == 2
    assert sent == [ids[0]]
    assert [(await job_row(db, i))["state"] for i in ids] == ["done", "done"]
