"""Retention (issue 18): the daily purge deletes done jobs, performed effects, rule runs and read notifications
older than TANGRAM_RETENTION_DAYS, and keeps everything else (pending and dead jobs, unread notifications,
newer rows, history); it schedules its own next run, and a server start restarts a broken chain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select, update

from engine import retention
from engine.core.clock import FrozenClock
from engine.jobs.queue import enqueue
from engine.jobs.tables import job_effects, jobs
from engine.jobs.worker import Worker
from engine.notify.tables import notifications


async def _count(ctx, table, where=None) -> int:
    async with ctx.db.read() as conn:
        query = select(func.count()).select_from(table)
        return (await conn.execute(query if where is None else query.where(where))).scalar_one()


async def test_the_daily_purge_deletes_only_what_is_old_and_done(ctx, admin):
    now = ctx.clock.now()
    old, recent = now - timedelta(days=40), now - timedelta(days=5)
    async with ctx.db.write() as conn:
        for state, finished in (("done", old), ("done", recent), ("dead", old), ("pending", None)):
            job_id = await enqueue(conn, now, "jobs.touch", {"key": state})
            later = now + timedelta(days=10)  # the pending one is not due when the purge runs
            await conn.execute(update(jobs).where(jobs.c.id == job_id).values(state=state, finished_at=finished, run_at=later))
        await conn.execute(insert(job_effects), [{"key": "old", "done_at": old}, {"key": "new", "done_at": recent}])
        rows = [{"read_at": old}, {"read_at": recent}, {"read_at": None}]
        await conn.execute(
            insert(notifications), [{"user_id": admin["id"], "title": "n", "body": "", "created_at": old} | r for r in rows]
        )
        await retention.ensure_scheduled(conn, now)

    purge = select(jobs).where(jobs.c.kind == retention.PURGE)
    async with ctx.db.read() as conn:
        queued = (await conn.execute(purge)).mappings().one()
    assert queued["run_at"] == retention.next_run(now) and queued["run_at"] > now
    assert await Worker(ctx.db, FrozenClock(queued["run_at"]), ctx.job_handlers).run_until_idle() == 1

    assert await _count(ctx, jobs, jobs.c.kind == "jobs.touch") == 3  # the old done job went; dead and pending stay
    assert await _count(ctx, jobs, (jobs.c.finished_at == old) & (jobs.c.state == "done")) == 0
    assert await _count(ctx, job_effects) == 1
    assert await _count(ctx, notifications) == 2  # the unread one and the recently read one
    async with ctx.db.read() as conn:
        runs = [r["run_at"] for r in (await conn.execute(purge.order_by(jobs.c.id))).mappings()]
    assert runs[-1] == queued["run_at"] + timedelta(days=1)  # tomorrow's run is queued


async def test_scheduling_twice_queues_one_purge(ctx):
    async with ctx.db.write() as conn:
        await retention.ensure_scheduled(conn, ctx.clock.now())
        await retention.ensure_scheduled(conn, ctx.clock.now())
    assert await _count(ctx, jobs, jobs.c.kind == retention.PURGE) == 1
