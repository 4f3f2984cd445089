"""Real worker processes: one is SIGKILLed in the middle of a batch and another takes over once the
dead one's leases expire; every job still runs to completion exactly once in effect. On PostgreSQL,
workers in two processes racing for the same jobs never run one twice."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from engine.core.clock import Clock
from engine.core.db import Database
from engine.jobs.queue import enqueue
from engine.jobs.tables import job_touches, jobs

JOBS = 200
DEADLINE = 180  # seconds: a safety net against a hung test, not a performance assertion


def start_worker(database_url, tmp_path, name, *options):
    env = os.environ | {"DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var")}
    with (tmp_path / f"{name}.log").open("w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "engine", "worker", *options], env=env, stdout=log, stderr=log)


async def enqueue_touches(db, sleep):
    async with db.write() as conn:
        return [await enqueue(conn, Clock().now(), "jobs.touch", {"key": f"k{i:03}", "sleep": sleep}) for i in range(JOBS)]


async def states(db):
    async with db.read() as conn:
        rows = await conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))
        return dict(rows.all())


async def wait_until(db, ready, *procs):
    started = time.monotonic()
    while not ready(await states(db)):
        assert time.monotonic() - started < DEADLINE, f"gave up waiting; jobs by state: {await states(db)}"
        for proc in procs:
            assert proc.poll() is None, f"a worker exited early with {proc.returncode}: {' '.join(proc.args)}"
        await asyncio.sleep(0.02)
    return await states(db)


async def assert_each_job_done_and_touched_exactly_once(db, ids):
    async with db.read() as conn:
        done = dict((await conn.execute(select(jobs.c.id, jobs.c.state))).all())
        touches = (await conn.execute(select(job_touches.c.job_id, job_touches.c.key))).all()
    assert set(done.values()) == {"done"} and sorted(done) == sorted(ids)
    # the key is unique, so a second run in effect could not have committed; and no touch is missing
    assert sorted(job_id for job_id, _ in touches) == sorted(ids)
    assert sorted(key for _, key in touches) == [f"k{i:03}" for i in range(JOBS)]


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0  # a graceful stop: the job in hand finished, the process exited cleanly


async def test_a_worker_killed_mid_batch_loses_no_job_and_runs_none_twice(database_url, tmp_path):
    db = Database(database_url)
    worker_options = ("--lease-seconds", "2", "--batch", "20", "--poll-seconds", "0.05")
    try:
        ids = await enqueue_touches(db, sleep=0.02)
        first = start_worker(database_url, tmp_path, "first", *worker_options)
        try:
            # Kill it while it is well into a batch: some jobs done, several claimed and not finished.
            await wait_until(db, lambda s: s.get("done", 0) >= 30 and s.get("running", 0) >= 5, first)
        finally:
            first.kill()
            first.wait(timeout=60)
        orphaned = await states(db)
        assert orphaned.get("running", 0) >= 1 and orphaned.get("done", 0) < JOBS

        second = start_worker(database_url, tmp_path, "second", *worker_options)
        try:
            await wait_until(db, lambda s: s.get("done", 0) == JOBS, second)
        finally:
            stop(second)
        await assert_each_job_done_and_touched_exactly_once(db, ids)
        async with db.read() as conn:
            taken_over = (await conn.execute(select(func.count()).where(jobs.c.attempts == 2))).scalar_one()
        assert taken_over >= 1  # the dead worker's claimed jobs were reclaimed after its lease expired
    finally:
        await db.dispose()


async def test_concurrent_workers_never_run_a_job_twice(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("several concurrent workers are a PostgreSQL deployment; SQLite has one writer")
    db = Database(database_url)
    options = ("--concurrency", "3", "--batch", "5", "--poll-seconds", "0.02")
    try:
        workers = [start_worker(database_url, tmp_path, f"w{n}", *options) for n in range(2)]
        try:
            ids = await enqueue_touches(db, sleep=0.005)
            await wait_until(db, lambda s: s.get("done", 0) == JOBS, *workers)
        finally:
            for proc in workers:
                stop(proc)
        await assert_each_job_done_and_touched_exactly_once(db, ids)
        async with db.read() as conn:
            claims = dict((await conn.execute(select(jobs.c.attempts, func.count()).group_by(jobs.c.attempts))).all())
            runners = (await conn.execute(select(func.count(jobs.c.locked_by.distinct())))).scalar_one()
        assert claims == {1: JOBS}  # no job was ever handed to a second worker
        assert runners >= 2  # and the work really was shared
    finally:
        await db.dispose()
