"""A real `tangram worker` process SIGKILLed while it works through many due process timers, then a
second one started: every instance still goes past its timer exactly once. Each timer job moves its
instance in the same transaction that marks the job done (the service task's created record and the
steps included), so a kill loses nothing that was committed and repeats nothing that was.

The flow: start -> timer (1 day) -> service task creating an order linked to the quote -> end. The
timers are made due by moving their jobs' run_at to now, as if the day had passed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from engine.api.context import Context
from engine.jobs.tables import jobs
from engine.process.tables import events, instances, steps, tokens
from tests.scenarios.process_world import APP, ProcessWorld, process_world

INSTANCES = 200
DEADLINE = 180  # seconds: a safety net against a hung test, not a performance assertion
WORKER_OPTIONS = ("--lease-seconds", "2", "--batch", "20", "--poll-seconds", "0.05")
NODES = ["done", "make_order", "start", "wait"]
TIMED: dict[str, Any] = {
    "key": "timed_order", "entity": "quote",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "wait", "type": "timer", "duration": {"amount": 1, "unit": "days"}},
        {"id": "make_order", "type": "service", "actions": [
            {"type": "create_record", "entity": "order", "link": "quote", "values": {"number": {"formula": "'SO-' & name"}}}]},
        {"id": "done", "type": "end", "outcome": "approved", "set": {"status": "approved"}},
    ],
    "edges": [{"from": "start", "to": "wait"}, {"from": "wait", "to": "make_order"}, {"from": "make_order", "to": "done"}],
}  # fmt: skip


@pytest.fixture
async def pw(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[ProcessWorld]:
    async with process_world(ctx, client, int(admin["id"])) as world:
        yield world


def start_worker(database_url: str, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var")}
    with (tmp_path / f"{name}.log").open("w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "engine", "worker", *WORKER_OPTIONS], env=env, stdout=log, stderr=log)


async def start_instances(pw: ProcessWorld) -> list[int]:
    """INSTANCES quotes, each with an instance waiting at the timer (one transaction per 50)."""
    ids: list[int] = []
    for first in range(0, INSTANCES, 50):
        async with pw.ctx.db.write() as conn:
            rep = await pw.access(conn, "rep")
            quote = await pw.ctx.store.get(conn, APP, "quote")
            for i in range(first, first + 50):
                record = await pw.ctx.records.create(conn, quote, {"name": f"Q{i:03}", "amount": "100"}, rep)
                ids.append(await pw.ctx.processes.start(conn, quote, record["id"], "timed_order", rep))
    return ids


async def progress(pw: ProcessWorld) -> dict[str, int]:
    """Completed instances and timer jobs by state."""
    async with pw.ctx.db.read() as conn:
        done = (await conn.execute(select(func.count()).where(instances.c.state == "completed"))).scalar_one()
        by_state = await conn.execute(
            select(jobs.c.state, func.count()).where(jobs.c.kind == "process.timer").group_by(jobs.c.state)
        )
        return {"completed": int(done), **{state: int(n) for state, n in by_state.all()}}


async def wait_until(pw: ProcessWorld, ready: Any, proc: subprocess.Popen[bytes]) -> dict[str, int]:
    started = time.monotonic()
    while not ready(seen := await progress(pw)):
        assert time.monotonic() - started < DEADLINE, f"gave up waiting: {seen}"
        assert proc.poll() is None, f"the worker exited early with {proc.returncode}"
        await asyncio.sleep(0.02)
    return seen


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


async def test_a_worker_killed_among_due_timers_moves_every_instance_on_exactly_once(
    pw: ProcessWorld, database_url: str, tmp_path: Path
) -> None:
    await pw.publish(TIMED)
    ids = await start_instances(pw)
    async with pw.ctx.db.write() as conn:  # the day has passed
        due = update(jobs).where(jobs.c.kind == "process.timer").values(run_at=datetime.now(UTC))
        assert (await conn.execute(due)).rowcount == INSTANCES

    first = start_worker(database_url, tmp_path, "first")
    try:  # killed well into a batch: some instances moved on, several timers claimed and not run
        await wait_until(pw, lambda s: s["completed"] >= 30 and s.get("running", 0) >= 5, first)
    finally:
        first.kill()
        first.wait(timeout=60)
    orphaned = await progress(pw)
    assert orphaned.get("running", 0) >= 1 and orphaned["completed"] < INSTANCES, orphaned

    second = start_worker(database_url, tmp_path, "second")
    try:
        await wait_until(pw, lambda s: s["completed"] == INSTANCES and s.get("done", 0) == INSTANCES, second)
    finally:
        stop(second)
    await assert_each_instance_moved_on_once(pw, ids)


async def assert_each_instance_moved_on_once(pw: ProcessWorld, ids: list[int]) -> None:
    async with pw.ctx.db.read() as conn:
        ended = dict(
            (await conn.execute(select(instances.c.id, instances.c.outcome).where(instances.c.state == "completed"))).all()
        )
        assert sorted(ended) == sorted(ids) and set(ended.values()) == {"approved"}
        ends = (await conn.execute(select(events.c.instance_id, func.count()).where(events.c.action == "ended")
                                   .group_by(events.c.instance_id))).all()  # fmt: skip
        assert sorted(ends) == [(i, 1) for i in sorted(ids)], "an instance ended more than once"
        visits = (await conn.execute(select(steps.c.instance_id, steps.c.node_id, func.count())
                                     .group_by(steps.c.instance_id, steps.c.node_id))).all()  # fmt: skip
        assert [v for v in visits if v[2] != 1] == [], "a node was visited twice"
        per_instance: dict[int, list[str]] = {}
        for iid, node, _ in visits:
            per_instance.setdefault(iid, []).append(node)
        assert all(sorted(nodes) == NODES for nodes in per_instance.values()) and len(per_instance) == len(ids)
        waiting = (await conn.execute(select(func.count()).where(tokens.c.state == "waiting"))).scalar_one()
        assert waiting == 0
        job_states = dict((await conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))).all())
        assert set(job_states) == {"done"}, f"jobs by state: {job_states}"
        taken_over = (
            await conn.execute(select(func.count()).where(jobs.c.kind == "process.timer", jobs.c.attempts == 2))
        ).scalar()
        assert taken_over, "the killed worker's claimed timers were reclaimed once its lease ran out"
    orders = await pw.items("order")
    quotes = await pw.items("quote")
    assert sorted(o["quote"] for o in orders) == sorted(q["id"] for q in quotes), "not exactly one order per quote"
    assert sorted(o["number"] for o in orders) == [f"SO-Q{i:03}" for i in range(len(ids))]
    assert {q["status"] for q in quotes} == {"approved"}
