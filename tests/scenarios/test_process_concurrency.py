"""Two people acting on one process at the same moment, each in their own transaction on their own
PostgreSQL connection: the instance row lock must apply them one after the other, so each decision
counts exactly once and the instance moves on exactly once. (SQLite has a single writer: there,
transactions cannot overlap at all.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engine.api.context import Context
from engine.core.clock import FrozenClock
from engine.core.errors import Conflict
from engine.process.tables import steps, tokens
from tests.scenarios.process_world import START, ProcessWorld, email, process_world

ROUNDS = 20
SIGNERS = ("director", "finance_director")
COUNTERSIGN: dict[str, Any] = {
    "key": "countersign", "entity": "quote",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "sign", "type": "approval", "mode": "all", "assignees": [{"type": "users", "users": [email(w) for w in SIGNERS]}]},
        {"id": "next", "type": "approval", "assignees": [{"type": "users", "users": [email("legal")]}]},
        {"id": "done", "type": "end", "outcome": "approved"},
    ],
    "edges": [{"from": "start", "to": "sign"}, {"from": "sign", "to": "next"}, {"from": "next", "to": "done"}],
}  # fmt: skip


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def pw(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[ProcessWorld]:
    if ctx.db.is_sqlite:
        pytest.skip("concurrent transactions need PostgreSQL; SQLite has one writer, so actions cannot overlap")
    async with process_world(ctx, client, int(admin["id"])) as world:
        yield world


async def at_once(pw: ProcessWorld, moves: list[tuple[str, Any]]) -> list[BaseException | None]:
    """Run each (who, move) in its own write transaction; all are inside their transactions before
    any is released, so they really overlap. Returns each one's exception, or None."""
    ready = [asyncio.Event() for _ in moves]
    go = asyncio.Event()

    async def one(i: int, who: str, move: Any) -> None:
        async with pw.ctx.db.write() as conn:
            access = await pw.access(conn, who)
            ready[i].set()
            await go.wait()
            await move(conn, access)

    runs = [asyncio.create_task(one(i, who, move)) for i, (who, move) in enumerate(moves)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 30)
    go.set()
    results = await asyncio.gather(*runs, return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


def approve(pw: ProcessWorld, task_id: int) -> Any:
    async def move(conn: Any, access: Any) -> None:
        await pw.ctx.processes.act(conn, task_id, "approve", access)

    return move


async def counts(pw: ProcessWorld, iid: int) -> tuple[int, int]:
    """(visits of the countersign node, tokens waiting) of the instance."""
    async with pw.ctx.db.read() as conn:
        visits = (await conn.execute(select(func.count()).where(steps.c.instance_id == iid, steps.c.node_id == "sign"))).scalar()
        waiting = select(func.count()).where(tokens.c.instance_id == iid, tokens.c.state == "waiting")
        return int(visits or 0), int((await conn.execute(waiting)).scalar() or 0)


async def test_two_countersigners_approving_at_the_same_moment_each_count_once(pw: ProcessWorld) -> None:
    await pw.publish(COUNTERSIGN)
    for round_ in range(ROUNDS):
        quote = await pw.create("quote", name=f"Q{round_}", amount="100")
        iid = await pw.start("quote", quote["id"], "countersign")
        tasks = {who: await pw.the_task(who, iid) for who in SIGNERS}
        failures = await at_once(pw, [(who, approve(pw, tasks[who])) for who in SIGNERS])
        assert failures == [None, None], f"round {round_}: {failures}"
        assigned = await pw.assigned(iid)
        assert assigned == [
            ("sign", "director", "done", "approve"), ("sign", "finance_director", "done", "approve"),
            ("next", "legal", "pending", None),
        ], f"round {round_}: the node must be decided once, with both votes, and move on once"  # fmt: skip
        [sign] = [s for s in await pw.timeline(iid) if s.node_id == "sign"]
        assert (sign.outcome, sign.ended_at is not None) == ("approved", True), f"round {round_}"
        assert await counts(pw, iid) == (1, 1), f"round {round_}: one visit of the node, one token going on"
        assert [a for a in await pw.actions(iid) if a == "approve"] == ["approve", "approve"]
        assert (await pw.instance(iid)).revision == 2  # each transition bumped it once


async def test_an_approval_racing_a_withdrawal_leaves_one_consistent_outcome(pw: ProcessWorld) -> None:
    await pw.publish(COUNTERSIGN)
    for round_ in range(ROUNDS):
        quote = await pw.create("quote", name=f"W{round_}", amount="100")
        iid = await pw.start("quote", quote["id"], "countersign")
        task = await pw.the_task("director", iid)

        async def withdraw(conn: Any, access: Any, iid: int = iid) -> None:
            await pw.ctx.processes.withdraw(conn, iid, access, "changed my mind")

        failures = await at_once(pw, [("director", approve(pw, task)), ("rep", withdraw)])
        assert failures[1] is None, f"round {round_}: the withdrawal must succeed: {failures[1]}"
        assert failures[0] is None or isinstance(failures[0], Conflict), f"round {round_}: {failures[0]!r}"
        assert (await pw.instance(iid)).state == "withdrawn"
        decided = dict(((w, (s, d)) for n, w, s, d in await pw.assigned(iid) if n == "sign"))
        # approved before the withdrawal, or cancelled by it (and the approval refused): never both
        expected = ("cancelled", None) if failures[0] is not None else ("done", "approve")
        assert decided == {"director": expected, "finance_director": ("cancelled", None)}, f"round {round_}"
        assert await counts(pw, iid) == (1, 0)
