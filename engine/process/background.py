"""The process engine's durable work: automatic starts, timers and task deadlines (jobs), plus the
two record-service subscriptions: starting processes on saves, and refusing edits that a running
approval locks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.actor import Actor
from engine.core.errors import Conflict, NotFound, pointer
from engine.expr.values import native_record
from engine.jobs.queue import Job, JobHandlers, enqueue
from engine.notify.inbox import notify
from engine.notify.names import record_name
from engine.process.acts import ActIn, act
from engine.process.assignees import escalation_target
from engine.process.compile import CompiledProcess
from engine.process.runtime import ENGINE_ACTOR, ProcessEngine
from engine.process.tables import instances, tasks
from engine.records.events import PendingChange, RecordEvent
from engine.schema.definition import label_text
from engine.schema.model import CompiledEntity


class Background:
    def __init__(self, engine: ProcessEngine) -> None:
        self.engine = engine

    def register_jobs(self, handlers: JobHandlers) -> None:
        handlers.add("process.start", self.start_job)
        handlers.add("process.timer", self.timer_job)
        handlers.add("process.deadline", self.deadline_job)

    # -- automatic starts ------------------------------------------------------------------------
    async def after_save(self, conn: AsyncConnection, events: list[RecordEvent]) -> None:
        """A created record, or a save after which a start condition became true, queues a start."""
        first = events[0]
        if first.kind == "deleted":
            await self._records_deleted(conn, events)
            return
        if first.kind not in ("created", "updated") or first.actor.source == "process":
            return
        rows = [r for r in await self.engine.entity_processes(conn, first.app, first.entity) if _automatic(r.definition)]
        if not rows:
            return
        entity = await self.engine.services.store.get(conn, first.app, first.entity)
        now = self.engine.services.clock.now()
        for row in rows:
            process = await self.engine.compiled(conn, row.version_id)
            for event in events:
                if _starts(process, entity, event, self.engine):
                    payload = {"process_id": process.process_id, "key": process.key, "app": entity.app,
                               "entity": entity.key, "record_id": event.record_id, "user_id": event.actor.user_id}  # fmt: skip
                    version = (event.after or {}).get("version", 0)
                    await enqueue(
                        conn, now, "process.start", payload, dedup_key=f"pstart:{process.process_id}:{event.record_id}:v{version}"
                    )

    async def _records_deleted(self, conn: AsyncConnection, events: list[RecordEvent]) -> None:
        """A record under a locking process cannot be deleted (409, the delete rolls back); the running
        instances of an unlocked one are cancelled with it."""
        t = instances.c
        query = select(t.id, t.record_id, t.lock).where(
            t.app == events[0].app, t.entity == events[0].entity, t.state == "running",
            t.record_id.in_([e.record_id for e in events]),
        )  # fmt: skip
        running = (await conn.execute(query)).all()
        for row in running:
            if row.lock:
                raise Conflict(
                    f"{events[0].entity} record {row.record_id} is locked by a running process (instance {row.id}); "
                    "withdraw it before deleting the record", instance=row.id,
                )  # fmt: skip
        for row in running:
            run = await self.engine.open(conn, row.id, ENGINE_ACTOR)
            await self.engine.finish(run, "cancelled", None, "the record was deleted")
            await self.engine.touch(run)

    async def start_job(self, conn: AsyncConnection, job: Job) -> None:
        p = job.payload
        entity = await self.engine.services.store.get_or_none(conn, p["app"], p["entity"])
        if entity is None:
            return
        actor = Access.system(source="process", user_id=p.get("user_id"))
        try:
            async with conn.begin_nested():
                await self.engine.start(conn, entity, p["record_id"], p["key"], actor, trigger="auto")
        except (Conflict, NotFound):
            return  # already running, record gone, process unpublished: nothing to start

    # -- timers ----------------------------------------------------------------------------------
    async def timer_job(self, conn: AsyncConnection, job: Job) -> None:
        p = job.payload
        run = await self.engine.open(conn, p["instance_id"], ENGINE_ACTOR)
        token = await self.engine.load_token(run, p["token_id"])
        if not run.running or token.state != "waiting" or token.step_id != p["step_id"]:
            return  # withdrawn, returned or moved on since the timer was set
        node = run.process.nodes[token.node_id]
        await self.engine.end_step(run, p["step_id"], "timer")
        await self.engine.event(run, "timer", step_id=p["step_id"], data={"node": node.id}, actor_id=None)
        await self.engine.advance(run, await self.engine.take(run, token, node.edges, node))
        await self.engine.touch(run)

    # -- deadlines -------------------------------------------------------------------------------
    async def deadline_job(self, conn: AsyncConnection, job: Job) -> None:
        """remind / escalate / auto for one task, if it is still waiting for its assignee."""
        task = (await conn.execute(select(tasks).where(tasks.c.id == job.payload["task_id"]))).first()
        if task is None or task.state != "pending":
            return
        stage = job.payload["stage"]
        if stage == "auto":
            await self._auto(conn, task)
            return
        run = await self.engine.open(conn, task.instance_id, ENGINE_ACTOR)
        if not run.running:
            return
        node = run.process.nodes[task.node_id]
        now = self.engine.services.clock.now()
        record_id = run.instance["record_id"]
        if stage == "remind":
            await self.engine.event(run, "remind", step_id=task.step_id, task_id=task.id, actor_id=None,
                                    data={"assignee": task.assignee_id})  # fmt: skip
            await notify(conn, now, [task.assignee_id], f"Reminder: {run.process.label()} is waiting for you",
                         record_name(run.entity, run.record), app=run.entity.app, entity=run.entity.key, record_id=record_id,
                         dedup_key=f"ptask:{task.id}:remind")  # fmt: skip
            return
        manager, absent = await escalation_target(conn, task.assignee_id, run.process.app, run.process.key, now)
        mode = node.cfg.deadline.escalate_mode
        data = {"assignee": task.assignee_id, "to": manager, "mode": mode} | ({"absent": absent} if absent else {})
        await self.engine.event(run, "escalate", step_id=task.step_id, task_id=task.id, actor_id=None, data=data)
        if manager is None or manager == task.assignee_id:
            return  # nobody above them: the escalation is on the timeline, the task stays
        if mode == "reassign":
            await conn.execute(
                update(tasks).where(tasks.c.id == task.id).values(state="done", decision="escalated", acted_at=now)
            )
        row = {"user": manager, "state": "pending", "position": task.position, "origin": task.id, "escalated": True,
               "placement": task.placement}  # fmt: skip
        await self.engine.add_tasks(run, node, task.step_id, task.kind, [row])
        await self.engine.touch(run)

    async def _auto(self, conn: AsyncConnection, task: Any) -> None:
        """The automatic outcome: the engine decides in the assignee's place."""
        version = (await conn.execute(select(instances.c.version_id).where(instances.c.id == task.instance_id))).scalar_one()
        process = await self.engine.compiled(conn, version)
        action = process.nodes[task.node_id].cfg.deadline.auto_action
        actor = Access.system(source="process")
        await act(self.engine, conn, task.id, ActIn(action=action, comment="decided automatically: the deadline passed"), actor)

    # -- locks -----------------------------------------------------------------------------------
    async def check_locks(
        self, conn: AsyncConnection, entity: CompiledEntity, actor: Actor, changes: list[PendingChange]
    ) -> None:
        """Refuse changes to fields a running instance locks (the engine's own writes pass)."""
        if actor.source == "process":
            return
        updates = [c for c in changes if c.kind == "update" and c.record_id is not None]
        # Entities without a published process skip the query (most saves); an instance keeps the
        # lock of the version it started on, so any published process of the entity means we look.
        if not updates or not await self._processes(conn, entity):
            return
        t = instances.c
        query = select(t.record_id, t.lock).where(
            t.app == entity.app, t.entity == entity.key, t.state == "running", t.lock.is_not(None),
            t.record_id.in_([c.record_id for c in updates]),
        )  # fmt: skip
        locks: dict[int, set[str]] = {}
        for row in (await conn.execute(query)).all():
            locks.setdefault(row.record_id, set()).update(row.lock)
        for change in updates:
            locked = locks.get(change.record_id or 0)
            if not locked:
                continue
            before = change.before or {}
            for key, value in change.values.items():
                if before.get(key) != value and ("*" in locked or key in locked):
                    change.errors.add(change.path + pointer(key), "locked", _locked(entity, key, actor.locale))

    async def _processes(self, conn: AsyncConnection, entity: CompiledEntity) -> list[Any]:
        return await self.engine.entity_processes(conn, entity.app, entity.key)


LOCKED = {
    "en": "{field} is locked while a process runs on this record; finish or withdraw the process to change it",
    "zh-CN": "流程进行中，“{field}”已锁定；完成或撤回流程后才能修改",  # noqa: RUF001 (Chinese punctuation)
}


def _locked(entity: CompiledEntity, key: str, locale: str) -> str:
    """The refusal a person reads: the field by its label, in their language."""
    f = entity.fields.get(key)
    return label_text(LOCKED, locale).format(field=(label_text(f.cfg.label, locale) if f else "") or key)


def _automatic(definition: dict[str, Any]) -> bool:
    start = definition.get("start") or {}
    return bool(start.get("on_create") or start.get("when"))


def _starts(process: CompiledProcess, entity: CompiledEntity, event: RecordEvent, engine: ProcessEngine) -> bool:
    start = process.definition.start
    if event.kind == "created" and start.on_create:
        return True
    if process.start_when is None or event.after is None:
        return False
    env = engine.env()
    if not process.start_when(native_record(entity, event.after), env):
        return False
    return event.before is None or not process.start_when(native_record(entity, event.before), env)
