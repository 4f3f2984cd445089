"""The process engine at run time: moving tokens through a published graph.

Every transition (a start, a person's action, a timer, a deadline) runs in one write transaction
that also holds the record changes it makes and the jobs it schedules, so a crash at any point
either keeps all of it or none of it: after a restart each instance is exactly where its last
committed transition left it, and the durable jobs (timers, deadlines, auto starts) pick up from
there. The instance row is locked (PostgreSQL: SELECT .. FOR UPDATE; SQLite has one writer) for the
whole transition, so two approvers acting on one node at the same moment are applied one after the
other, each counted once.

State: tokens say where the instance is (one per parallel branch); a split records how many
branches it started (a fork), and a join lets the token on when that many have arrived. Steps are
the node visits (the timeline); tasks are the people asked to act.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.auth.tables import users as users_table
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, Forbidden, NotFound
from engine.core.jsonvalues import jsonable
from engine.core.settings import Settings
from engine.expr.paths import entities_for, load_paths
from engine.formula.env import Env
from engine.jobs.queue import enqueue
from engine.notify.inbox import notify
from engine.notify.names import record_name
from engine.process.assignees import resolve
from engine.process.calendar import deadline
from engine.process.compile import CompiledNode, CompiledProcess, check_process
from engine.process.delegation import DELEGABLE, delegate_of
from engine.process.nodes import WAIT, CompiledEdge, Finish, Leave, Move
from engine.process.notices import notice_title
from engine.process.tables import events, forks, instances, process_versions, processes, steps, tasks, tokens
from engine.records.reads import scoped
from engine.records.service import RecordService
from engine.rules.actions import Run as ActionRun
from engine.rules.actions.base import dump_value
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

MAX_MOVES = 500  # node entries in one transition: a loop that never waits is stopped, not run forever
CACHE_TTL = 2.0  # seconds another process may use an entity's previous list of auto-start / locking processes
ENGINE_ACTOR = Access.system(source="process")


@dataclass
class ProcessServices:
    records: RecordService
    store: EntityStore
    clock: Clock
    settings: Settings
    actions: Any  # engine.rules.engine.Services: what service tasks' rule actions use


@dataclass
class Token:
    id: int
    node_id: str
    fork_id: int | None
    state: str = "waiting"
    step_id: int | None = None
    dirty: bool = False


@dataclass
class Run:
    """One transition of one instance: everything loaded once, written at the end where it can."""

    conn: AsyncConnection
    instance: dict[str, Any]
    process: CompiledProcess
    entity: CompiledEntity
    record: dict[str, Any]
    actor: Access
    env: Env
    closed_steps: list[dict[str, Any]] = field(default_factory=list)  # instant visits, inserted in one go
    tokens: dict[int, Token] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.instance["id"])

    @property
    def running(self) -> bool:
        return bool(self.instance["state"] == "running")


class ProcessEngine:
    def __init__(self, services: ProcessServices) -> None:
        self.services = services
        self._compiled: dict[tuple[int, int], CompiledProcess] = {}
        self._versions: dict[int, Any] = {}
        self._auto: dict[tuple[str, str], tuple[float, list[Any]]] = {}

    # -- definitions -----------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.services.settings.tangram_timezone)

    def env(self, actor: Access | None = None) -> Env:
        return Env(
            now=self.services.clock.now(), tz=self.tz, user_id=actor.user_id if actor else None,
            user_team_id=getattr(actor, "primary_team_id", None),
        )  # fmt: skip

    async def entity_for(self, conn: AsyncConnection, app: str, key: str) -> tuple[CompiledEntity, Any] | None:
        entity = await self.services.store.get_or_none(conn, app, key)
        return None if entity is None else (entity, await entities_for(self.services.store, conn, entity))

    async def compiled(self, conn: AsyncConnection, version_id: int) -> CompiledProcess:
        """A published version compiled against its entity as defined now (cached per entity
        version; a published version never changes, so its row is read once)."""
        row = self._versions.get(version_id)
        if row is None:
            row = (
                await conn.execute(
                    select(process_versions, processes.c.app, processes.c.entity)
                    .join(processes, processes.c.id == process_versions.c.process_id)
                    .where(process_versions.c.id == version_id)
                )
            ).one()
            self._versions[version_id] = row
        entity = await self.services.store.get(conn, row.app, row.entity)
        key = (version_id, entity.version)
        if key not in self._compiled:
            errors = ErrorCollector()
            checked = await check_process(conn, row.definition, lambda k: self.entity_for(conn, row.app, k), errors)
            if checked is None or errors:
                raise Conflict(f"process version {row.version} no longer fits entity {row.entity!r}", errors=errors.errors)
            self._compiled[key] = checked.compiled(row.process_id, row.id, row.version, row.app)
        return self._compiled[key]

    async def published(self, conn: AsyncConnection, app: str, key: str) -> CompiledProcess:
        row = (
            await conn.execute(
                select(process_versions.c.id)
                .join(processes, processes.c.id == process_versions.c.process_id)
                .where(processes.c.app == app, processes.c.key == key)
                .where(process_versions.c.version == processes.c.published_version)
            )
        ).first()
        if row is None:
            raise NotFound(f"app {app!r} has no published process {key!r}")
        return await self.compiled(conn, row.id)

    def forget(self, app: str, entity: str) -> None:
        self._auto.pop((app, entity), None)

    async def entity_processes(self, conn: AsyncConnection, app: str, entity: str) -> list[Any]:
        """Published processes of an entity (id, version id, definition), cached for CACHE_TTL:
        every save asks (auto starts, locks) and most entities have none."""
        cached = self._auto.get((app, entity))
        if cached is None or time.monotonic() - cached[0] > CACHE_TTL:
            query = (
                select(processes.c.id, processes.c.key, process_versions.c.id.label("version_id"), process_versions.c.definition)
                .join(process_versions, process_versions.c.process_id == processes.c.id)
                .where(processes.c.app == app, processes.c.entity == entity)
                .where(process_versions.c.version == processes.c.published_version)
            )
            cached = self._auto[(app, entity)] = (time.monotonic(), (await conn.execute(query)).all())
        return cached[1]

    # -- starting --------------------------------------------------------------------------------
    async def start(
        self, conn: AsyncConnection, entity: CompiledEntity, record_id: int, key: str, actor: Access, *, trigger: str = "manual"
    ) -> int:
        """Start `key` on the record; returns the instance id. A manual start needs the right to
        change the record (or to own it) and is refused (409) while one runs (unless the process allows
        several); a rule's or an automatic start returns the running instance instead."""
        if actor.source == "rule":
            trigger = "rule"  # the start_process rule action
        process = await self.published(conn, entity.app, key)
        if process.definition.entity != entity.key:
            raise NotFound(f"process {key!r} is not a process of {entity.key!r}")
        if not process.definition.enabled:
            raise Conflict(f"process {key!r} is disabled")
        if trigger == "manual":
            await self._may_submit(conn, process, entity, record_id, actor)
        record = await self._record(conn, process, entity, record_id)
        running_key = None if process.definition.allow_concurrent else f"{process.process_id}:{record_id}"
        if running_key is not None:
            taken = await conn.execute(select(instances.c.id).where(instances.c.running_key == running_key))
            if (other := taken.scalar()) is not None:
                if trigger != "manual":
                    return int(other)  # a rule or an automatic start leaves the running instance alone
                raise Conflict(f"process {key!r} is already running on this record (instance {other})", instance=other)
        now = self.services.clock.now()
        lock = {"none": None, "record": ["*"], "fields": list(process.definition.lock_fields)}[process.definition.lock]
        values = {
            "process_id": process.process_id, "version_id": process.version_id, "app": entity.app, "entity": entity.key,
            "record_id": record_id, "state": "running", "running_key": running_key, "lock": lock,
            "started_by": actor.user_id, "started_at": now, "revision": 0,
        }  # fmt: skip
        instance_id = (await conn.execute(insert(instances).values(values).returning(instances.c.id))).scalar_one()
        run = Run(conn, {**values, "id": instance_id}, process, entity, record, actor, self.env(actor))
        await self.event(run, "started", data={"trigger": trigger})
        token = await self.new_token(run, process.start.id, None)
        await self.advance(run, [token])
        return int(instance_id)

    async def _may_submit(
        self, conn: AsyncConnection, process: CompiledProcess, entity: CompiledEntity, record_id: int, actor: Access
    ) -> None:
        if not process.definition.start.manual and not actor.is_admin:
            raise Conflict(f"process {process.key!r} starts by itself; it cannot be submitted by hand")
        t = entity.table
        s = scope(actor, entity, "update" if process.definition.start.who == "editors" else "read")
        row = (
            await conn.execute(scoped(select(t.c.id, t.c.owner), s).where(t.c.id == record_id, t.c.deleted_at.is_(None)))
        ).first()
        if row is None:
            readable = scoped(select(t.c.id), scope(actor, entity, "read")).where(t.c.id == record_id)
            if (await conn.execute(readable)).first() is None:
                raise NotFound(f"{entity.key} record {record_id} does not exist")
            raise Forbidden(f"you may not submit {entity.key} record {record_id}")
        if process.definition.start.who == "owner" and row.owner != actor.user_id and not actor.is_admin:
            raise Forbidden(f"only the owner of {entity.key} record {record_id} may submit it")

    async def _record(self, conn: AsyncConnection, process: CompiledProcess, entity: CompiledEntity, rid: int) -> dict[str, Any]:
        t = entity.table
        row = (await conn.execute(select(t).where(t.c.id == rid, t.c.deleted_at.is_(None)))).first()
        if row is None:
            raise NotFound(f"{entity.key} record {rid} does not exist")
        record = dict(row._mapping)
        if process.paths:
            await load_paths(conn, await entities_for(self.services.store, conn, entity), entity, [record], set(process.paths))
        return record

    # -- opening a running instance --------------------------------------------------------------
    async def open(self, conn: AsyncConnection, instance_id: int, actor: Access) -> Run:
        """Lock the instance row for this transition and load what it needs."""
        row = (await conn.execute(select(instances).where(instances.c.id == instance_id).with_for_update())).first()
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        process = await self.compiled(conn, row.version_id)
        entity = await self.services.store.get(conn, row.app, row.entity)
        instance = dict(row._mapping)
        try:
            record = await self._record(conn, process, entity, row.record_id)
        except NotFound:
            record = {"id": row.record_id}  # deleted since: the instance can still be withdrawn or cancelled
        return Run(conn, instance, process, entity, record, actor, self.env(actor))

    async def touch(self, run: Run) -> None:
        """Bump the revision: clients polling an instance see that it moved."""
        run.instance["revision"] += 1
        await run.conn.execute(update(instances).where(instances.c.id == run.id).values(revision=run.instance["revision"]))

    # -- moving tokens ---------------------------------------------------------------------------
    async def new_token(self, run: Run, node_id: str, fork_id: int | None) -> Token:
        values = {"instance_id": run.id, "node_id": node_id, "fork_id": fork_id, "state": "waiting"}
        tid = (await run.conn.execute(insert(tokens).values(values).returning(tokens.c.id))).scalar_one()
        token = run.tokens[tid] = Token(tid, node_id, fork_id)
        return token

    async def advance(self, run: Run, queue: list[Token]) -> None:
        """Enter nodes until every token waits or the instance ends, then write what is left."""
        moves = 0
        while queue and run.running:
            token = queue.pop(0)
            moves += 1
            if moves > MAX_MOVES:
                raise Conflict(f"process {run.process.key!r} moved {MAX_MOVES} times without waiting: its graph loops")
            node = run.process.nodes[token.node_id]
            visit = Visit(self, run, token, node)
            move: Move = await node.type.enter(visit)
            queue.extend(await self._apply(run, visit, move))
        await self.flush(run)

    async def _apply(self, run: Run, visit: Visit, move: Move) -> list[Token]:
        token = visit.token
        if move is WAIT:
            token.step_id = await visit.step()
            token.dirty = True
            return []
        if isinstance(move, Finish):
            await self.close_step(visit, move.outcome)
            self.retire(token, "done")
            await self.end_path(run, move.outcome)
            return []
        assert isinstance(move, Leave)
        await self.close_step(visit, move.outcome)
        return await self.take(run, token, move.edges, visit.node)

    async def take(self, run: Run, token: Token, edges: tuple[CompiledEdge, ...], node: CompiledNode) -> list[Token]:
        """Send the token along the edges: one edge moves it, several split it into a fork."""
        if len(edges) == 1 and not self.splits(run, node):
            token.node_id, token.step_id, token.state, token.dirty = edges[0].target, None, "waiting", True
            return [token]
        if not edges:
            raise Conflict(f"node {node.id!r} has no way on for this record")
        fork = {"instance_id": run.id, "node_id": node.id, "expected": len(edges), "parent_id": token.fork_id}
        fork_id = (await run.conn.execute(insert(forks).values(fork).returning(forks.c.id))).scalar_one()
        self.retire(token, "done")
        return [await self.new_token(run, e.target, fork_id) for e in edges]

    async def load_token(self, run: Run, token_id: int) -> Token:
        if token_id not in run.tokens:
            row = (await run.conn.execute(select(tokens).where(tokens.c.id == token_id))).one()
            run.tokens[token_id] = Token(row.id, row.node_id, row.fork_id, row.state, row.step_id)
        return run.tokens[token_id]

    def splits(self, run: Run, node: CompiledNode) -> bool:
        """Is the node the split of a split/join block? Then it always records a fork, even for one
        branch (an inclusive split that took one edge), so its join counts against the right fork."""
        return node.id in run.process.graph.splits.values()

    def retire(self, token: Token, state: str) -> None:
        token.state, token.dirty = state, True

    async def join(self, run: Run, token: Token) -> bool:
        """Count the token in at its join: the last branch of its fork to arrive goes on (in the
        parent fork); the others wait, and are retired when it does."""
        if token.fork_id is None:
            return True  # reached the join without a split (a loop back): nothing to wait for
        fork = (await run.conn.execute(select(forks).where(forks.c.id == token.fork_id))).one()
        t = tokens.c
        waiting = select(t.id, t.step_id).where(
            t.instance_id == run.id, t.node_id == token.node_id, t.fork_id == fork.id, t.state == "waiting", t.id != token.id
        )
        others = (await run.conn.execute(waiting)).all()
        if len(others) + 1 < fork.expected:
            return False
        await run.conn.execute(update(tokens).where(t.id.in_([o.id for o in others])).values(state="done"))
        for other in others:
            if other.step_id is not None:
                await self.end_step(run, other.step_id, "joined")
        token.fork_id, token.dirty = fork.parent_id, True
        return True

    async def close_step(self, visit: Visit, outcome: str) -> None:
        if visit.step_id is not None:
            await self.end_step(visit.run, visit.step_id, outcome)
            return
        now = self.services.clock.now()
        visit.run.closed_steps.append(
            {"instance_id": visit.run.id, "token_id": visit.token.id, "node_id": visit.node.id,
             "node_type": visit.node.type.key, "started_at": visit.started, "ended_at": now, "outcome": outcome}
        )  # fmt: skip

    async def flush(self, run: Run) -> None:
        if run.closed_steps:
            await run.conn.execute(insert(steps), run.closed_steps)
            run.closed_steps.clear()
        for token in run.tokens.values():
            if token.dirty:
                values = {"node_id": token.node_id, "fork_id": token.fork_id, "state": token.state, "step_id": token.step_id}
                await run.conn.execute(update(tokens).where(tokens.c.id == token.id).values(values))
                token.dirty = False

    async def end_step(self, run: Run, step_id: int, outcome: str) -> None:
        now = self.services.clock.now()
        await run.conn.execute(
            update(steps).where(steps.c.id == step_id, steps.c.ended_at.is_(None)).values(ended_at=now, outcome=outcome)
        )

    async def end_path(self, run: Run, outcome: str) -> None:
        """A token reached an end: a rejection ends the instance at once; otherwise it ends when no
        other branch is still waiting."""
        if outcome != "rejected":
            live = [t for t in run.tokens.values() if t.state == "waiting"]
            known = set(run.tokens)
            t = tokens.c
            stored = select(func.count()).where(t.instance_id == run.id, t.state == "waiting", t.id.not_in(known))
            if live or (await run.conn.execute(stored)).scalar():
                return
        await self.finish(run, "completed", outcome)

    async def finish(self, run: Run, state: str, outcome: str | None, comment: str | None = None) -> None:
        """End the instance: cancel what still waits, release the lock, tell the submitter."""
        await self.flush(run)
        now = self.services.clock.now()
        conn = run.conn
        await conn.execute(
            update(tasks).where(tasks.c.instance_id == run.id, tasks.c.state.in_(("pending", "queued"))).values(state="cancelled")
        )
        await conn.execute(
            update(steps)
            .where(steps.c.instance_id == run.id, steps.c.ended_at.is_(None))
            .values(ended_at=now, outcome="cancelled")
        )
        await conn.execute(
            update(tokens).where(tokens.c.instance_id == run.id, tokens.c.state == "waiting").values(state="cancelled")
        )
        for token in run.tokens.values():
            token.state = "cancelled" if token.state == "waiting" else token.state
        values = {"state": state, "outcome": outcome, "ended_at": now, "running_key": None, "lock": None}
        run.instance.update(values)
        await conn.execute(update(instances).where(instances.c.id == run.id).values(values))
        await self.event(run, state if state != "completed" else "ended", comment=comment, data={"outcome": outcome})
        starter = run.instance["started_by"]
        if starter is not None and starter != run.actor.user_id:
            await self.tell(run, [starter], outcome or state, dedup_key=f"pinst:{run.id}:end")

    async def event(
        self, run: Run, action: str, *, step_id: int | None = None, task_id: int | None = None,
        comment: str | None = None, data: dict[str, Any] | None = None, actor_id: Any = ...,
    ) -> None:  # fmt: skip
        values = {
            "instance_id": run.id, "step_id": step_id, "task_id": task_id, "at": self.services.clock.now(),
            "actor_id": run.actor.user_id if actor_id is ... else actor_id, "action": action, "comment": comment, "data": data,
        }  # fmt: skip
        await run.conn.execute(insert(events).values(values))

    # -- tasks -----------------------------------------------------------------------------------
    async def assignees_of(
        self, conn: AsyncConnection, node: CompiledNode, submitter_id: int | None, record: dict[str, Any]
    ) -> tuple[list[int], str | None]:
        """Who a human node's tasks go to (before delegation), reading only: the resolved assignees,
        else what `if_nobody` says: ([], "skip"), the administrators ("admins"), or a 409 ("error")."""
        users = await resolve(conn, node.cfg.assignees, submitter_id=submitter_id, record=record)
        if users:
            return users, None
        if node.cfg.if_nobody == "skip":
            return [], "skip"
        if node.cfg.if_nobody == "error":
            raise Conflict(f"nobody can act on {node.id!r}: its assignees resolve to no active user")
        return await self.admins(conn), "admins"

    async def create_tasks(self, visit: Visit, kind: str) -> bool:
        cfg = visit.node.cfg
        run = visit.run
        users, _ = await self.assignees_of(run.conn, visit.node, run.instance["started_by"], run.record)
        if not users:
            return False
        step_id = await visit.step()
        sequential = getattr(cfg, "mode", "single") == "sequential"
        rows = [{"user": uid, "state": "queued" if sequential and i else "pending", "position": i} for i, uid in enumerate(users)]
        await self.add_tasks(run, visit.node, step_id, kind, rows)
        copied = await resolve(run.conn, cfg.cc, submitter_id=run.instance["started_by"], record=run.record)
        if copied:
            await self.add_tasks(run, visit.node, step_id, "cc", [{"user": u, "state": "cc", "position": 0} for u in copied])
        return True

    async def admins(self, conn: AsyncConnection) -> list[int]:
        query = select(users_table.c.id).where(users_table.c.is_admin.is_(True), users_table.c.active.is_(True))
        found = list((await conn.execute(query.order_by(users_table.c.id))).scalars())
        if not found:
            raise Conflict("nobody can act on this task: no assignee and no active administrator")
        return found

    async def add_tasks(self, run: Run, node: CompiledNode, step_id: int, kind: str, rows: list[dict[str, Any]]) -> list[int]:
        """Insert tasks; the pending ones get their deadlines and a notification."""
        now = self.services.clock.now()
        ids = []
        for r in rows:
            delegate = await self.delegate_for(run.conn, run.process, r["user"], kind, now)
            assignee = r["user"] if delegate is None else delegate
            values = {
                "instance_id": run.id, "step_id": step_id, "node_id": node.id, "kind": kind, "assignee_id": assignee,
                "state": r["state"], "position": r["position"], "created_at": now, "origin_id": r.get("origin"),
                "placement": r.get("placement"), "escalated": r.get("escalated", False), "due_at": None,
                "on_behalf_of": None if delegate is None else r["user"],
            }  # fmt: skip
            tid = (await run.conn.execute(insert(tasks).values(values).returning(tasks.c.id))).scalar_one()
            ids.append(tid)
            if delegate is not None:
                await self.event(run, "delegated", step_id=step_id, task_id=tid, actor_id=None,
                                 data={"from": r["user"], "to": delegate})  # fmt: skip
            if r["state"] == "pending":
                await self.activate(run, node, tid, assignee, kind, fresh=True)
        if kind == "cc":
            await self.tell(run, [r["user"] for r in rows], "for your information")
        return ids

    async def delegate_for(
        self, conn: AsyncConnection, process: CompiledProcess, user_id: int, kind: str, now: datetime
    ) -> int | None:
        """Whom a task of `kind` for the user goes to instead (a delegation in force), or None."""
        return await delegate_of(conn, user_id, process.app, process.key, now) if kind in DELEGABLE else None

    async def activate(
        self, run: Run, node: CompiledNode, task_id: int, assignee: int, kind: str, *, fresh: bool = False
    ) -> None:
        """A task becomes the assignee's to do: set its deadlines, tell them."""
        now = self.services.clock.now()
        due = await self.schedule_deadlines(run, node, task_id, now)
        if not fresh or due is not None:
            await run.conn.execute(update(tasks).where(tasks.c.id == task_id).values(state="pending", due_at=due, created_at=now))
        verb = {"fill": "to complete", "resubmit": "returned to you"}.get(kind, "to approve")
        await self.tell(run, [assignee], verb, dedup_key=f"ptask:{task_id}:new")

    async def tell(self, run: Run, user_ids: list[int], what: str, dedup_key: str | None = None) -> None:
        """An in-app notification about this instance's record, in each recipient's language."""
        rid, wanted = run.instance["record_id"], [u for u in user_ids if u is not None]
        if not wanted:
            return
        locale_of = select(users_table.c.id, users_table.c.locale).where(users_table.c.id.in_(wanted))
        by_locale: dict[str, list[int]] = {}
        for uid, locale in (await run.conn.execute(locale_of)).all():
            by_locale.setdefault(locale, []).append(uid)
        label, name = run.process.definition.label, record_name(run.entity, run.record)
        for locale, ids in by_locale.items():
            await notify(
                run.conn, self.services.clock.now(), ids, notice_title(label, run.process.key, what, locale), name,
                app=run.entity.app, entity=run.entity.key, record_id=rid, dedup_key=dedup_key,
            )  # fmt: skip

    def deadlines(self, node: CompiledNode, start: datetime) -> list[tuple[str, datetime]]:
        """(stage, when) of a task of the node created at `start`: remind, escalate, auto, as set."""
        limits = getattr(node.cfg, "deadline", None)
        if limits is None:
            return []
        calendar = node.calendar if limits.working_hours else None
        stages = [(stage, getattr(limits, stage)) for stage in ("remind", "escalate", "auto")]
        return [(stage, deadline(start, offset, self.tz, calendar)) for stage, offset in stages if offset is not None]

    async def schedule_deadlines(self, run: Run, node: CompiledNode, task_id: int, start: datetime) -> datetime | None:
        due = None
        for stage, at in self.deadlines(node, start):
            due = at if stage != "remind" or due is None else due
            await enqueue(run.conn, self.services.clock.now(), "process.deadline", {"task_id": task_id, "stage": stage},
                          run_at=at, dedup_key=f"ptask:{task_id}:{stage}")  # fmt: skip
        return due

    # -- record writes ---------------------------------------------------------------------------
    async def write_record(self, run: Run, values: dict[str, Any], actor: Access = ENGINE_ACTOR) -> None:
        """Native values written to the record as the engine (process writes pass locks)."""
        data = {k: dump_value(run.entity, k, v) for k, v in values.items()}
        await self.services.records.update(run.conn, run.entity, run.instance["record_id"], data, actor)
        run.record.update(values)

    async def run_actions(self, visit: Visit, prepared: Any) -> None:
        run = visit.run
        key = f"process:{run.id}:{visit.node.id}:{visit.token.id}"
        action_run = ActionRun(run.conn, self.services.actions, 0, f"{run.process.key}.{visit.node.id}", run.entity,
                               run.record, run.env, ENGINE_ACTOR, key,
                               origin={"process_version": run.process.version_id, "node": visit.node.id})  # fmt: skip
        for action, step in prepared:
            action_run.done.append({"type": action.key, **await action.run(step, action_run)})
        await self.event(run, "service", data={"node": visit.node.id, "done": jsonable(action_run.done)}, actor_id=None)

    async def set_timer(self, visit: Visit, due: datetime) -> None:
        step_id = await visit.step()
        payload = {"instance_id": visit.run.id, "token_id": visit.token.id, "step_id": step_id}
        await enqueue(visit.run.conn, self.services.clock.now(), "process.timer", payload, run_at=due,
                      dedup_key=f"ptimer:{step_id}")  # fmt: skip


class Visit:
    """A token entering a node (engine.process.nodes.base.Visit): what the node type may do."""

    def __init__(self, engine: ProcessEngine, run: Run, token: Token, node: CompiledNode) -> None:
        self.engine, self.run, self.token, self.node = engine, run, token, node
        self.step_id: int | None = None
        self.started = engine.services.clock.now()

    @property
    def record(self) -> dict[str, Any]:
        return self.run.record

    @property
    def env(self) -> Env:
        return self.run.env

    def edges(self) -> tuple[CompiledEdge, ...]:
        return self.node.edges

    async def step(self) -> int:
        """The visit's step row, written now (tasks and timers point at it)."""
        if self.step_id is None:
            if self.run.closed_steps:  # the steps passed before this one come first on the timeline (ids)
                await self.run.conn.execute(insert(steps), self.run.closed_steps)
                self.run.closed_steps.clear()
            values = {"instance_id": self.run.id, "token_id": self.token.id, "node_id": self.node.id,
                      "node_type": self.node.type.key, "started_at": self.started}  # fmt: skip
            self.step_id = (await self.run.conn.execute(insert(steps).values(values).returning(steps.c.id))).scalar_one()
        return self.step_id

    async def create_tasks(self, kind: str) -> bool:
        return await self.engine.create_tasks(self, kind)

    async def arrive_at_join(self) -> bool:
        if not self.node.joins:
            return True
        arrived = await self.engine.join(self.run, self.token)
        if not arrived:
            await self.step()
        return arrived

    async def set_timer(self, due: datetime) -> None:
        await self.engine.set_timer(self, due)

    async def run_actions(self, steps_: Any) -> None:
        await self.engine.run_actions(self, steps_)

    async def write_record(self, values: dict[str, Any]) -> None:
        await self.engine.write_record(self.run, values)


async def service_actions(conn: AsyncConnection, origin: dict[str, Any]) -> Any:
    """The stored actions of a service task ({"process_version": id, "node": "..."}), where a queued
    webhook delivery reads its signing secret (engine/rules/deliveries.py)."""
    version_id = origin.get("process_version")
    if not isinstance(version_id, int):
        return None
    definition = (await conn.execute(select(process_versions.c.definition).where(process_versions.c.id == version_id))).scalar()
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("id") == origin.get("node"):
            return node.get("actions")
    return None
