"""The process engine on scenario P2 (discount approval) beside SpiffWorkflow, the PyPI BPMN engine.

The flow: start, an exclusive gateway on the discount (> 10 needs approval, else it ends at once),
the submitter's manager approves, then the director, end. Every instance here has discount 15, so it
takes both approvals.

Tangram runs it as an application would, each step its own write transaction on the database: the
submitter creates the quote and starts the instance; the manager finds the pending task and
approves; the director likewise. All state lives in the database.

SpiffWorkflow runs the equivalent BPMN (p2_discount.bpmn) the way its documentation persists a
workflow between steps: after starting, and after each user task, the whole workflow is serialised
to JSON (BpmnWorkflowSerializer, default registry); each step begins by deserialising the last JSON.
The JSON strings stay in memory: Spiff's side never touches a database, which favours it.

Beside both, a floor: the same three transactions as hand-written SQLAlchemy Core statements that
write only the rows any durable engine must (quote, instance, step, task): what persisting each step
in its own transaction costs at the least on this database and machine, whatever the engine.

The three run interleaved instance by instance (measure.interleave), so load swings hit all alike.

Memory per 10,000 running instances (all waiting at the manager's approval): Tangram's Python heap
growth (tracemalloc) across the starts, which should stay about flat as the state is in the
database, and the database bytes the instances add; for Spiff, the heap its live workflow objects
hold and the size of their JSON states.

Environment: BENCH_PROCESS_INSTANCES (full P2 runs timed per backend, default 2000),
BENCH_PROCESS_MEMORY (instances started for the memory figures, default 10000).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.access import load_access
from engine.auth.policy import Access
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import roles, teams, user_teams
from engine.process.tables import instances, process_versions, processes, steps, tasks
from engine.setup import prepare_database
from tests.benchmarks.backends import Backend
from tests.benchmarks.measure import Metric, Section, interleave, rate
from tests.benchmarks.report import progress
from tests.benchmarks.workload import APP, Bench, Sizes, open_bench

SPIFF_BPMN = Path(__file__).with_name("p2_discount.bpmn")
SPIFF_PROCESS = "p2_discount"
PER = 10_000  # memory is reported per this many running instances
TARGET_SPEEDUP = 10.0  # the bar: at least 10x SpiffWorkflow's throughput
DISCOUNT = 15  # above the gateway's 10: every instance takes both approvals
PHASES = ("create quote + start", "manager approves", "director approves")  # one write transaction each
FLOOR_TAG = "Floor "  # name prefix of the floor's quotes: the checks tell them from Tangram's
PROCESS_TABLES = "tg_process_"  # the runtime's tables (and tg_process_versions, which instances do not grow)
OTHER_TABLES = 4  # other tables the instances grow, listed in the notes (largest growth first)
SQLITE_FILE = "(the SQLite file)"
WARMUP = 20  # untimed instances per side first (statement caches, connection pools, Spiff's imports)

QUOTE: dict[str, Any] = {
    "key": "quote",
    "label": {"en": "Quote"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "amount", "type": "decimal", "precision": 15, "scale": 2},
        {"key": "discount", "type": "decimal", "precision": 5, "scale": 2},
        {"key": "status", "type": "select", "options": [{"key": k} for k in ("draft", "approved", "rejected")]},
    ],
}
P2: dict[str, Any] = {
    "key": "discount_approval",
    "entity": "quote",
    "label": {"en": "Discount approval"},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "big", "type": "exclusive", "label": {"en": "Discount?"}},
        {"id": "manager", "type": "approval", "assignees": [{"type": "manager"}]},
        {"id": "director", "type": "approval", "assignees": [{"type": "role", "role": "director"}]},
        {"id": "approved", "type": "end", "outcome": "approved", "set": {"status": "approved"}},
        {"id": "auto_ok", "type": "end", "outcome": "approved"},
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big", "to": "manager", "condition": {"field": "discount", "op": "gt", "value": 10}},
        {"from": "big", "to": "auto_ok", "default": True},
        {"from": "manager", "to": "director"},
        {"from": "director", "to": "approved"},
    ],
}
# Who may do what on the bench app: the submitter works on their own quotes; the manager and the
# director read what they approve.
ROLES = (
    RoleDefinition(key="sales", label={"en": "Sales"}, grants=[Grant(entity="bench.quote", read="own", create=True,
                                                                     update="own")]),
    RoleDefinition(key="sales_manager", label={"en": "Sales manager"}, grants=[Grant(entity="bench.*", read="team",
                                                                                     update="team")]),
    RoleDefinition(key="director", label={"en": "Director"}, grants=[Grant(entity="bench.*", read="all", update="all")]),
)  # fmt: skip
PEOPLE = {"submitter@x": "sales", "manager@x": "sales_manager", "director@x": "director"}


@dataclass(frozen=True)
class ProcessSizes:
    instances: int  # full P2 runs timed per side and backend
    memory: int  # instances started (and left waiting) for the memory figures

    @classmethod
    def from_env(cls) -> ProcessSizes:
        return cls(
            instances=int(os.environ.get("BENCH_PROCESS_INSTANCES", "2000")),
            memory=int(os.environ.get("BENCH_PROCESS_MEMORY", "10000")),
        )


@dataclass(frozen=True)
class Footprint:
    """What `count` running instances cost: Python heap kept (and at peak), and persisted bytes."""

    count: int
    heap: int
    peak: int
    stored: int  # the state itself: Tangram's tg_process_* tables, Spiff's JSON
    stored_also: dict[str, int] = field(default_factory=dict)  # other growth worth knowing (SQLite: the whole file)

    def per(self, value: int) -> float:
        return value * PER / self.count


# -- SpiffWorkflow ----------------------------------------------------------------------------------
class SpiffP2:
    """P2 on SpiffWorkflow: the BPMN parsed once, one serializer, the state as a JSON string."""

    def __init__(self) -> None:
        parser = BpmnParser()
        parser.add_bpmn_file(str(SPIFF_BPMN))
        self.spec: BpmnProcessSpec = parser.get_spec(SPIFF_PROCESS)
        self.serializer = BpmnWorkflowSerializer()  # the default registry

    def start(self, discount: int = DISCOUNT) -> BpmnWorkflow:
        """A new workflow run up to its first user task (or to the end)."""
        workflow = BpmnWorkflow(self.spec)
        workflow.get_next_task(state=TaskState.READY).set_data(discount=discount)
        workflow.do_engine_steps()
        return workflow

    def approve(self, state: str) -> tuple[str, BpmnWorkflow]:
        """One approval on a persisted workflow: restore it, complete the ready user task, persist."""
        workflow = self.serializer.deserialize_json(state)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(approved=True)
        task.run()
        workflow.do_engine_steps()
        return self.serializer.serialize_json(workflow), workflow

    def run_instance(self) -> int:
        """The full P2 path, persisted after each step; the size of the final state."""
        state = self.serializer.serialize_json(self.start())
        for _ in ("manager", "director"):
            state, workflow = self.approve(state)
        if not workflow.is_completed():
            raise AssertionError("the Spiff workflow did not complete after both approvals")
        return len(state)


def spiff_footprint(spiff: SpiffP2, count: int) -> Footprint:
    """`count` Spiff workflows started and waiting at the manager, kept as live objects."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        waiting = [spiff.start() for _ in range(count)]
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ready = {t.task_spec.bpmn_id for t in waiting[-1].get_tasks(state=TaskState.READY, manual=True)}
    if ready != {"manager"}:
        raise AssertionError(f"a started Spiff workflow waits at {ready}, not at the manager")
    stored = sum(len(spiff.serializer.serialize_json(w).encode()) for w in waiting)
    return Footprint(count, after - before, peak - before, stored)


# -- Tangram: the world and one instance's path -----------------------------------------------------
@dataclass
class P2World:
    bench: Bench
    submitter: Access
    manager: Access
    director: Access
    phases: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in PHASES})

    @property
    def ctx(self) -> Any:  # Any: the process services are reached as attributes of the Context
        return self.bench.ctx


async def seed(bench: Bench) -> P2World:
    """Quote entity, people (the submitter's team is managed by manager@x), roles, the published P2.

    Each user's Access is loaded once, as the API's authentication cache keeps it between requests."""
    ctx: Any = bench.ctx
    async with ctx.db.write() as conn:
        await ctx.schema.create_entity(conn, APP, QUOTE, bench.actor)
        now = ctx.clock.now()
        for role in ROLES:
            values = {"key": role.key, "definition": role.model_dump(mode="json"), "builtin": False}
            await conn.execute(insert(roles).values(**values, created_at=now, updated_at=now))
        ids = {}
        for email, role_key in PEOPLE.items():
            ids[email] = await ctx.auth.create_user(conn, email)
            await grant_role(conn, ids[email], role_key)
        team = {"key": "sales", "label": {"en": "Sales"}, "manager_id": ids["manager@x"], "path": "", "created_at": now}
        team_id = (await conn.execute(insert(teams).values(**team).returning(teams.c.id))).scalar_one()
        await conn.execute(update(teams).where(teams.c.id == team_id).values(path=f"/{team_id}/"))
        await conn.execute(insert(user_teams).values(user_id=ids["submitter@x"], team_id=team_id, is_primary=True))
        await ctx.process_service.create(conn, APP, P2)
        await ctx.process_service.publish(conn, APP, P2["key"], bench.actor)
        people = [await load_access(conn, ids[e], False, source="api") for e in PEOPLE]
    return P2World(bench, *people)


def quote_data(i: int, tag: str) -> dict[str, Any]:
    return {"name": f"{tag}{i}", "amount": Decimal(1000 + i % 9000), "discount": Decimal(DISCOUNT), "status": "draft"}


async def start_instance(world: P2World, i: int) -> int:
    """The submitter creates a quote and submits it: one transaction."""
    ctx = world.ctx
    async with ctx.db.write() as conn:
        entity = await ctx.store.get(conn, APP, "quote")
        record = await ctx.records.create(conn, entity, quote_data(i, "Quote "), world.submitter)
        instance_id: int = await ctx.processes.start(conn, entity, record["id"], P2["key"], world.submitter)
    return instance_id


async def approve(world: P2World, instance_id: int, approver: Access) -> None:
    """The approver opens their pending task on the instance and approves it: one transaction."""
    ctx = world.ctx
    async with ctx.db.write() as conn:
        pending = select(tasks.c.id).where(tasks.c.instance_id == instance_id, tasks.c.state == "pending")
        task_id = (await conn.execute(pending)).scalar_one()
        await ctx.processes.act(conn, task_id, "approve", approver, comment=None)


async def run_instance(world: P2World, i: int, timed: bool) -> None:
    """The whole P2 path; with `timed`, each transaction's seconds go to world.phases."""
    marks = [time.perf_counter()]
    instance_id = await start_instance(world, i)
    marks.append(time.perf_counter())
    await approve(world, instance_id, world.manager)
    marks.append(time.perf_counter())
    await approve(world, instance_id, world.director)
    marks.append(time.perf_counter())
    if timed:
        for name, begin, end in zip(PHASES, marks, marks[1:], strict=False):
            world.phases[name].append(end - begin)


async def check_outcomes(world: P2World, expected: int) -> str:
    """Every instance run ended approved and set its quote's status: the work was really done."""
    async with world.ctx.db.read() as conn:
        quote = (await world.ctx.store.get(conn, APP, "quote")).table
        ours = ~quote.c.name.startswith(FLOOR_TAG)
        counts = (
            select(instances.c.state, instances.c.outcome, func.count())
            .join(quote, quote.c.id == instances.c.record_id)
            .where(ours)
            .group_by(instances.c.state, instances.c.outcome)
        )
        found = {(r[0], r[1]): r[2] for r in await conn.execute(counts)}
        approved = (await conn.execute(select(func.count()).where(ours, quote.c.status == "approved"))).scalar_one()
    done = found.get(("completed", "approved"), 0)
    if done != expected or approved != expected:
        raise AssertionError(f"expected {expected} approved instances and quotes; instances {found}, approved quotes {approved}")
    return f"checked: {done:,} instances completed with outcome approved, {approved:,} quotes set to status approved"


# -- the floor: P2's three transactions written by hand -------------------------------------------
@dataclass(frozen=True)
class Floor:
    """The three write transactions with hand-written Core statements and only the rows any durable
    engine must write (the quote; per step the instance, a step and a task; no audit, events or
    tokens): what persisting each step in its own transaction costs at the least, on this database
    and machine. Its rows stay (deleting them would free pages the memory figures then reuse)."""

    world: P2World
    quote: Table
    process_id: int
    version_id: int

    @classmethod
    async def prepare(cls, world: P2World) -> Floor:
        async with world.ctx.db.read() as conn:
            quote = (await world.ctx.store.get(conn, APP, "quote")).table
            row = (
                await conn.execute(
                    select(process_versions.c.process_id, process_versions.c.id)
                    .join(processes, processes.c.id == process_versions.c.process_id)
                    .where(processes.c.app == APP, processes.c.key == P2["key"])
                    .order_by(process_versions.c.version.desc())
                    .limit(1)
                )
            ).one()
        return cls(world, quote, row[0], row[1])

    async def run(self, i: int) -> None:
        instance_id = await self.start(i)
        await self.approve(instance_id, self.world.manager.user_id, then=self.world.director.user_id)
        await self.approve(instance_id, self.world.director.user_id, then=None)

    async def start(self, i: int) -> int:
        ctx, uid = self.world.ctx, self.world.submitter.user_id
        async with ctx.db.write() as conn:
            now = ctx.clock.now()
            data = quote_data(i, FLOOR_TAG)
            stamps = {"version": 1, "created_at": now, "updated_at": now, "created_by": uid, "updated_by": uid, "owner": uid}
            record_id = (await conn.execute(insert(self.quote).values(**data, **stamps).returning(self.quote.c.id))).scalar_one()
            instance = {"process_id": self.process_id, "version_id": self.version_id, "app": APP, "entity": "quote",
                        "record_id": record_id, "state": "running", "running_key": f"{self.process_id}:{record_id}",
                        "started_by": uid, "started_at": now, "revision": 1}  # fmt: skip
            instance_id = (await conn.execute(insert(instances).values(**instance).returning(instances.c.id))).scalar_one()
            await _open_task(conn, instance_id, "manager", self.world.manager.user_id, now)
        return int(instance_id)

    async def approve(self, instance_id: int, approver: int, then: int | None) -> None:
        ctx = self.world.ctx
        async with ctx.db.write() as conn:
            now = ctx.clock.now()
            pending = select(tasks.c.id, tasks.c.step_id).where(tasks.c.instance_id == instance_id, tasks.c.state == "pending")
            task = (await conn.execute(pending)).one()
            done = {"state": "done", "decision": "approve", "acted_at": now, "acted_by": approver}
            await conn.execute(update(tasks).where(tasks.c.id == task.id).values(**done))
            await conn.execute(update(steps).where(steps.c.id == task.step_id).values(ended_at=now, outcome="approved"))
            moved = {"revision": instances.c.revision + 1}
            if then is not None:
                await _open_task(conn, instance_id, "director", then, now)
            else:
                moved |= {"state": "completed", "outcome": "approved", "running_key": None, "ended_at": now}
                record_id = select(instances.c.record_id).where(instances.c.id == instance_id).scalar_subquery()
                q = self.quote
                approved = {"status": "approved", "version": q.c.version + 1, "updated_at": now}
                await conn.execute(update(q).where(q.c.id == record_id).values(**approved))
            await conn.execute(update(instances).where(instances.c.id == instance_id).values(**moved))


async def _open_task(conn: AsyncConnection, instance_id: int, node_id: str, assignee: int, now: Any) -> None:
    visit = {"instance_id": instance_id, "node_id": node_id, "node_type": "approval", "started_at": now}
    step_id = (await conn.execute(insert(steps).values(**visit).returning(steps.c.id))).scalar_one()
    task = {"instance_id": instance_id, "step_id": step_id, "node_id": node_id, "kind": "approval", "assignee_id": assignee,
            "state": "pending", "position": 0, "created_at": now}  # fmt: skip
    await conn.execute(insert(tasks).values(**task))


# -- where the time goes: statements per transaction -------------------------------------------------
@contextmanager
def counting(world: P2World) -> Iterator[list[int]]:
    """Counts the SQL statements sent on the writer connection while open (on SQLite with our BEGIN IMMEDIATE)."""
    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    engine = world.ctx.db.writer_engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", seen)


async def statements(world: P2World, floor: Floor, i: int) -> str:
    """One more instance each way, untimed, counting each transaction's statements."""
    counts: dict[str, list[int]] = {"Tangram": [], "hand-written": []}
    steps_: dict[str, list[Callable[[int], Awaitable[Any]]]] = {
        "Tangram": [lambda n: start_instance(world, n), lambda iid: approve(world, iid, world.manager),
                    lambda iid: approve(world, iid, world.director)],
        "hand-written": [floor.start, lambda iid: floor.approve(iid, world.manager.user_id, then=world.director.user_id),
                         lambda iid: floor.approve(iid, world.director.user_id, then=None)],
    }  # fmt: skip
    for who, (begin, *approvals) in steps_.items():
        with counting(world) as count:
            instance_id = await begin(i)
        counts[who].append(count[0])
        for approval in approvals:
            with counting(world) as count:
                await approval(instance_id)
            counts[who].append(count[0])
    return (
        "SQL statements per transaction ("
        + ", ".join(PHASES)
        + "): "
        + "; ".join(f"{who} {' / '.join(map(str, n))}" for who, n in counts.items())
    )


# -- Tangram: memory --------------------------------------------------------------------------------
async def tangram_footprint(world: P2World, count: int, first: int) -> Footprint:
    """Start `count` instances (each left waiting at the manager): heap growth and database growth."""
    before_db = await table_bytes(world)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for i in range(first, first + count):
            await start_instance(world, i)
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    after_db = await table_bytes(world)
    growth = {name: size - before_db.get(name, 0) for name, size in after_db.items()}
    process = sum(v for k, v in growth.items() if k.startswith(PROCESS_TABLES))
    others = sorted(((v, k) for k, v in growth.items() if not k.startswith(PROCESS_TABLES) and v > 0), reverse=True)
    return Footprint(count, after - before, peak - before, process, {k: v for v, k in others[:OTHER_TABLES]})


async def table_bytes(world: P2World) -> dict[str, int]:
    """Bytes per table with its indexes (PostgreSQL: and TOAST); on SQLite also the whole file."""
    db = world.ctx.db
    if db.is_sqlite:
        return await asyncio.to_thread(_sqlite_bytes, make_url(db.url).database)
    query = text(
        "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname = current_schema()"
    )
    async with db.read() as conn:
        return {name: int(size) for name, size in await conn.execute(query)}


def _sqlite_bytes(path: str) -> dict[str, int]:
    """After a checkpoint (the WAL folded into the file): page bytes per table and its indexes
    (dbstat), and the file itself with its WAL."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        query = "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name GROUP BY s.tbl_name"
        sizes = {name: int(size) for name, size in conn.execute(query)}
    finally:
        conn.close()
    sizes[SQLITE_FILE] = sum(p.stat().st_size for p in (Path(path), Path(f"{path}-wal")) if p.exists())
    return sizes


# -- the report -------------------------------------------------------------------------------------
async def p2_benchmark(bench: Bench, sizes: ProcessSizes, spiff: SpiffP2, spiff_memory: Footprint) -> Section:
    report = Section()
    world = await seed(bench)
    progress(f"P2: {sizes.instances:,} full instances, Tangram and SpiffWorkflow interleaved")

    async def spiff_step(_: int) -> None:
        spiff.run_instance()

    async def tangram_step(i: int) -> None:
        await run_instance(world, i + WARMUP, timed=i >= 0)

    floor = await Floor.prepare(world)
    variants = {"tangram": tangram_step, "spiff": spiff_step, "floor": floor.run}
    samples = await interleave(variants, sizes.instances, warmup=WARMUP)
    n = sizes.instances
    tangram_s, spiff_s, floor_s = (sum(samples[k]) for k in variants)
    report.notes.append(await check_outcomes(world, n + WARMUP))
    report.metrics += [
        rate("P2 instances completed, vs SpiffWorkflow", "inst/s", n, tangram_s, spiff_s, max_ratio=1 / TARGET_SPEEDUP),
        rate("P2 instances completed, vs hand-written SQL", "inst/s", n, tangram_s, floor_s),
    ]
    report.notes += throughput_notes(world, n, tangram_s, spiff_s, floor_s)
    report.notes.append(await statements(world, floor, n + WARMUP))
    progress(f"P2 memory: {sizes.memory:,} Tangram instances started, left waiting at the manager")
    mine = await tangram_footprint(world, sizes.memory, sizes.instances + WARMUP + 1)
    report.metrics += memory_metrics(mine, spiff_memory)
    report.notes += memory_notes(mine, spiff_memory)
    return report


def throughput_notes(world: P2World, n: int, tangram_s: float, spiff_s: float, floor_s: float) -> list[str]:
    speedup = spiff_s / tangram_s
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "MISSES"
    phases = ", ".join(f"{name} {statistics.median(v) * 1000:.2f} ms" for name, v in world.phases.items())
    return [
        f"throughput: Tangram {n / tangram_s:,.0f} instances/s, SpiffWorkflow {n / spiff_s:,.0f} instances/s:"
        f" Tangram/Spiff = {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x): {verdict}",
        f"Tangram per instance (median per transaction): {phases}",
        f"hand-written SQL floor (the same 3 write transactions, minimal rows, no engine): {n / floor_s:,.0f} instances/s"
        f" = {spiff_s / floor_s:.2f}x SpiffWorkflow's throughput (Spiff keeps its JSON in memory, no database)",
    ]


def memory_metrics(mine: Footprint, spiff: Footprint) -> list[Metric]:
    def row(name: str, pick: Callable[[Footprint], int]) -> Metric:
        product, baseline = mine.per(pick(mine)) / 1024, spiff.per(pick(spiff)) / 1024
        return Metric(name, product, baseline, "KiB", product / baseline if baseline else float("nan"))

    return [
        row(f"Python heap kept per {PER:,} running", lambda f: f.heap),
        row(f"Python heap at peak per {PER:,} started", lambda f: f.peak),
        row(f"persisted state per {PER:,} running", lambda f: f.stored),
    ]


def memory_notes(mine: Footprint, spiff: Footprint) -> list[str]:
    scaled = "" if mine.count == PER and spiff.count == PER else f" (measured over {mine.count:,} / {spiff.count:,}, scaled)"
    also = ", ".join(f"{name} {mine.per(v) / 1024:,.0f} KiB" for name, v in mine.stored_also.items())
    return [
        f"memory{scaled}: instances started and left waiting at the manager's approval. Heap: tracemalloc growth across"
        " the starts, after gc (Tangram keeps its state in the database, so its heap should stay about flat; Spiff"
        " keeps live workflow objects).",
        "persisted: Tangram = the tg_process_* tables with their indexes (SQLite: dbstat pages after a WAL checkpoint;"
        " PostgreSQL: pg_total_relation_size); Spiff = its JSON states (BpmnWorkflowSerializer, utf-8 bytes).",
        f"the starts also grew, per {PER:,}: {also or 'nothing else'}",
        f"per running instance: Tangram {mine.stored / mine.count:,.0f} bytes in the process tables,"
        f" Spiff {spiff.stored / spiff.count:,.0f} bytes of JSON and {spiff.heap / spiff.count:,.0f} bytes of heap",
    ]


def run_backend(backend: Backend, sizes: ProcessSizes, spiff: SpiffP2, spiff_memory: Footprint) -> Section:
    """On a fresh database (alembic runs its own event loop, so this one is not async)."""
    prepare_database(backend.url)

    async def run() -> Section:
        async with open_bench(backend.url, backend.work_dir, Sizes.from_env()) as bench:
            started = time.perf_counter()
            report = await p2_benchmark(bench, sizes, spiff, spiff_memory)
            report.notes.append(f"{backend.name} process benchmark took {time.perf_counter() - started:.0f}s")
            return report

    return asyncio.run(run())
