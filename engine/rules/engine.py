"""The rule engine at run time.

- Before the save (`before_save`, a record-service step): matching before-save rules set fields
  or refuse the change, inside the saving transaction.
- After the save (`after_save`, an in-transaction event hook): each matching after-save rule
  becomes a durable job ("rules.run") committed with the change, so a rule never acts on a change
  that rolled back and never misses one that committed. The condition is judged on the change
  itself (so `changed_to` sees this update); the job acts on the record as it is when it runs.
- Timed rules ("rules.tick"): one INSERT .. SELECT marks every record the compiled condition
  matches as fired for this occurrence and returns them; "rules.fire" jobs run the actions on
  chunks of them.

Cascades (a rule's write triggering more rules) carry the chain of rule ids on the actor; a chain
deeper than MAX_DEPTH or returning to a rule already in it is stopped and logged, never infinite.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import String, and_, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, TangramError, ValidationFailed
from engine.core.settings import Settings
from engine.expr.dates import Span, shift
from engine.expr.paths import entities_for, load_paths
from engine.expr.to_python import explain
from engine.expr.to_sql import to_sql
from engine.expr.values import native_record
from engine.formula.env import Env
from engine.jobs.queue import Job, JobHandlers, enqueue
from engine.records.events import PendingChange, RecordEvent
from engine.records.service import RecordService
from engine.rules.actions import ActionFailed, Run
from engine.rules.actions.effects import Wait
from engine.rules.compile import CompiledRule, compile_rule
from engine.rules.definition import OnDate, OnFieldChange, OnSchedule, RuleDefinition
from engine.rules.log import log_run, log_runs, run_row
from engine.rules.tables import rule_fires, rules
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

log = logging.getLogger("tangram.rules")
MAX_DEPTH = 8  # rules triggering rules triggering rules ...
LIST_TTL = 2.0  # seconds another process may run an entity's previous rules after a change
MAX_RUNS_PER_TRANSACTION = 1000
TICK_BATCH = 100_000  # records one tick statement marks; a full batch continues after its last id
FIRE_CHUNK = 200  # fired records whose actions one job runs
OCCURRENCE = String(40)

ProcessStarter = Callable[[AsyncConnection, CompiledEntity, int, str, Access], Awaitable[Any]]


@dataclass
class Services:
    """What actions may use. Built by the composition root (engine.api.context)."""

    records: RecordService
    store: EntityStore
    clock: Clock
    settings: Settings
    start_process: ProcessStarter | None = None

    async def enqueue(self, conn: AsyncConnection, kind: str, payload: dict[str, Any], **kw: Any) -> int | None:
        return await enqueue(conn, self.clock.now(), kind, payload, **kw)


@dataclass
class RuleEngine:
    services: Services
    # A stored rule that no longer fits its entity (a field it reads was removed) is kept here as the
    # error: it is skipped, so an entity change never makes every save of the entity fail.
    _compiled: dict[tuple[int, int], CompiledRule | ValidationFailed] = field(default_factory=dict)
    # The enabled rules of each entity, kept for LIST_TTL seconds: every save asks twice (before and
    # after), and most entities have no rules. Changes made through this process apply at once
    # (`forget`); another process (a standalone worker) sees them within LIST_TTL.
    _lists: dict[tuple[str, str], tuple[float, list[tuple[int, int, Any]]]] = field(default_factory=dict)

    # -- loading ---------------------------------------------------------------------------------
    async def rules_for(self, conn: AsyncConnection, entity: CompiledEntity) -> list[CompiledRule]:
        """Enabled rules of an entity that fit it, in evaluation order (order, then id)."""
        compiled = [
            await self._compile(conn, entity, rid, version, doc)
            for rid, version, doc in await self._rows(conn, entity.app, entity.key)
        ]
        return [r for r in compiled if isinstance(r, CompiledRule)]

    async def _rows(self, conn: AsyncConnection, app: str, entity: str) -> list[tuple[int, int, Any]]:
        cached = self._lists.get((app, entity))
        if cached is None or time.monotonic() - cached[0] > LIST_TTL:
            t = rules.c
            query = select(t.id, t.version, t.definition).where(t.app == app, t.entity == entity, t.enabled.is_(True))
            rows = [(r.id, r.version, r.definition) for r in await conn.execute(query.order_by(t.position, t.id))]
            cached = self._lists[(app, entity)] = (time.monotonic(), rows)
        return cached[1]

    def forget(self, app: str, entity: str) -> None:
        """Drop the cached rule list of an entity (its rules changed)."""
        self._lists.pop((app, entity), None)

    async def compiled(self, conn: AsyncConnection, rule_id: int) -> tuple[CompiledRule, CompiledEntity] | None:
        row = (await conn.execute(select(rules).where(rules.c.id == rule_id))).first()
        if row is None or not row.enabled:
            return None
        entity = await self.services.store.get(conn, row.app, row.entity)
        rule = await self._compile(conn, entity, row.id, row.version, row.definition)
        return (rule, entity) if isinstance(rule, CompiledRule) else None

    async def compile_row(self, conn: AsyncConnection, row: Any) -> tuple[CompiledRule, CompiledEntity]:
        """A stored rule (a tg_rules row) compiled against its entity as defined now; 409 listing the
        problems when it no longer fits (it is skipped at run time until it is fixed)."""
        entity = await self.services.store.get(conn, row.app, row.entity)
        rule = await self._compile(conn, entity, row.id, row.version, row.definition)
        if not isinstance(rule, CompiledRule):
            raise Conflict(rule.detail, errors=rule.errors)
        return rule, entity

    async def _compile(
        self, conn: AsyncConnection, entity: CompiledEntity, rid: int, version: int, doc: Any
    ) -> CompiledRule | ValidationFailed:
        key = (rid, version * 100_000 + entity.version)  # a new entity version may change field types
        if key not in self._compiled:
            definition = RuleDefinition.model_validate(doc)
            entities = await entities_for(self.services.store, conn, entity)
            try:
                self._compiled[key] = compile_rule(rid, version, entity.app, definition, entity, entities)
            except ValidationFailed as exc:
                log.warning(
                    "rule %s (%s) no longer fits %s.%s and is skipped: %s",
                    rid,
                    definition.key,
                    entity.app,
                    entity.key,
                    exc.errors,
                )
                self._compiled[key] = exc
        return self._compiled[key]

    def env(self, actor: Actor | None, before: Mapping[str, Any] | None = None) -> Env:
        return Env(
            now=self.services.clock.now(),
            tz=ZoneInfo(self.services.settings.tangram_timezone),
            user_id=actor.user_id if actor else None,
            user_team_id=getattr(actor, "primary_team_id", None),
            before=before,
        )

    # -- before the save -------------------------------------------------------------------------
    async def before_save(
        self, conn: AsyncConnection, entity: CompiledEntity, actor: Actor, changes: list[PendingChange]
    ) -> None:
        todo = [r for r in await self.rules_for(conn, entity) if r.definition.when == "before_save"]
        if not todo:
            return
        # One dict per change for all rules: a rule's writes land in it (and in the change), so the
        # next rule sees them; relation paths are loaded once for the whole batch.
        records = [change.merged for change in changes]
        for change, record in zip(changes, records, strict=True):
            if change.kind == "create":
                record.setdefault("owner", actor.user_id)  # what the record service will store
        await self._load_paths(conn, entity, todo, records)
        logged = []  # written in one statement for the batch (an import saves 500 records a call)
        for rule in todo:
            for change, record in zip(changes, records, strict=True):
                env = self.env(actor, change.before)
                if not _fires_before(rule.definition, change, record) or not rule.matches(record, env):
                    continue
                run = Run(conn, self.services, rule.id, rule.key, entity, record, env, _rule_actor(actor, rule),
                          f"rule:{rule.id}:before", change=change)  # fmt: skip
                await self._steps(rule, run, 0)
                logged.append(run_row(self.services.clock.now(), rule.id, change.record_id, "before_save", run.done))
        await log_runs(conn, logged)

    async def _load_paths(
        self, conn: AsyncConnection, entity: CompiledEntity, rules_: list[CompiledRule], records: list[dict[str, Any]]
    ) -> None:
        """Fill the relation paths the rules' conditions read into the records: one query per hop."""
        paths = set().union(*(r.paths for r in rules_))
        if records and any("." in p for p in paths):
            await load_paths(conn, await entities_for(self.services.store, conn, entity), entity, records, paths)

    # -- after the save --------------------------------------------------------------------------
    async def after_save(self, conn: AsyncConnection, events: list[RecordEvent]) -> None:
        first = events[0]
        if not await self._rows(conn, first.app, first.entity):
            return  # most entities have no rules: no further work on their saves
        entity = await self.services.store.get(conn, first.app, first.entity)
        todo = [r for r in await self.rules_for(conn, entity) if r.definition.when == "after_save"]
        todo = [r for r in todo if r.definition.trigger.type not in ("schedule", "date")]
        if not todo:
            return
        states = [
            (native_record(entity, e.before) if e.before is not None else None,
             native_record(entity, e.after) if e.after is not None else None)
            for e in events
        ]  # fmt: skip
        records = [dict(after if after is not None else before or {}) for before, after in states]
        await self._load_paths(conn, entity, todo, records)
        for event, (before, after), record in zip(events, states, records, strict=True):
            for rule in todo:
                if _fires_after(rule.definition, event, before, after):
                    await self._dispatch(conn, rule, event, before, record)

    async def _dispatch(
        self,
        conn: AsyncConnection,
        rule: CompiledRule,
        event: RecordEvent,
        before: dict[str, Any] | None,
        record: dict[str, Any],
    ) -> None:
        if not rule.matches(record, self.env(event.actor, before)):
            return
        stop = _stop_reason(conn, rule, event.actor.cause)
        now = self.services.clock.now()
        if stop:
            await log_run(conn, now, rule.id, event.record_id, event.kind, [], outcome="stopped", detail=stop)
            return
        version = record.get("version", 0)
        payload = {"rule_id": rule.id, "record_id": event.record_id, "trigger": event.kind, "cause": list(event.actor.cause)}
        key = f"rule:{rule.id}:rec:{event.record_id}:v{version}:{event.kind}"
        await enqueue(conn, now, "rules.run", payload, dedup_key=key)

    # -- jobs ------------------------------------------------------------------------------------
    def register_jobs(self, handlers: JobHandlers) -> None:
        handlers.add("rules.run", self.run_job)
        handlers.add("rules.tick", self.tick_job)
        handlers.add("rules.fire", self.fire_job)

    async def run_job(self, conn: AsyncConnection, job: Job) -> None:
        """Run a matched rule's actions (from `start`, after a wait) on the record as it is now."""
        p = job.payload
        found = await self.compiled(conn, p["rule_id"])
        if found is None:
            return  # deleted or disabled since: nothing to do
        rule, entity = found
        record = await _load(conn, entity, p["record_id"], binned=p.get("trigger") == "deleted")
        now = self.services.clock.now()
        if record is None:
            await log_run(conn, now, rule.id, p["record_id"], p["trigger"], [], outcome="skipped", detail="the record is gone")
            return
        await self._load_paths(conn, entity, [rule], [record])
        env = self.env(None)
        if p.get("recheck") and not rule.still_matches(record, env):
            await log_run(
                conn, now, rule.id, record["id"], p["trigger"], [], outcome="skipped", detail="the condition no longer holds"
            )
            return
        actor = Access(user_id=None, is_admin=True, source="rule", unrestricted=True, cause=(*p.get("cause", ()), rule.id))
        run = Run(conn, self.services, rule.id, rule.key, entity, record, env, actor, job.dedup_key or f"job:{job.id}")
        await self._run_logged(conn, rule, run, p)

    async def _run_logged(self, conn: AsyncConnection, rule: CompiledRule, run: Run, p: dict[str, Any]) -> None:
        now = self.services.clock.now()
        try:
            async with conn.begin_nested():  # a failing action undoes the run's other writes
                await self._steps(rule, run, p.get("start", 0), p)
        except (ActionFailed, TangramError) as exc:
            detail = str(exc) if isinstance(exc, ActionFailed) else _problem_text(exc)
            await log_run(conn, now, rule.id, run.record["id"], p["trigger"], run.done, outcome="error", detail=detail)
            return
        await log_run(conn, now, rule.id, run.record["id"], p["trigger"], run.done)

    async def _steps(self, rule: CompiledRule, run: Run, start: int, payload: dict[str, Any] | None = None) -> None:
        for i in range(start, len(rule.steps)):
            step = rule.steps[i]
            if isinstance(step.action, Wait):
                await self._later(run, step.action.delay(step.prepared), i + 1, step.prepared.recheck, payload or {})
                run.done.append({"type": "wait", "until": (run.env.now + step.action.delay(step.prepared)).isoformat()})
                return
            result = await step.action.run(step.prepared, run)
            run.done.append({"type": step.action.key, **result})

    async def _later(self, run: Run, delay: timedelta, start: int, recheck: bool, payload: dict[str, Any]) -> None:
        rest = {**payload, "rule_id": run.rule_id, "record_id": run.record["id"], "start": start, "recheck": recheck}
        rest.setdefault("trigger", "wait")
        rest.setdefault("cause", list(run.actor.cause[:-1]))
        await self.services.enqueue(run.conn, "rules.run", rest, run_at=run.env.now + delay, dedup_key=f"{run.key}:after:{start}")

    # -- timed rules -----------------------------------------------------------------------------
    async def schedule(self, conn: AsyncConnection, rule_id: int, version: int, definition: RuleDefinition) -> None:
        """Queue the first tick of a timed rule (on create, update and enable)."""
        if not definition.enabled or definition.trigger.type not in ("schedule", "date"):
            return
        now = self.services.clock.now()
        at = self._next_tick(definition, now)
        payload = {"rule_id": rule_id, "version": version, "occurrence": at.isoformat()}
        await enqueue(conn, now, "rules.tick", payload, run_at=at, dedup_key=f"rule:{rule_id}:v{version}:tick:{at.isoformat()}")

    def _next_tick(self, definition: RuleDefinition, after: datetime) -> datetime:
        trigger = definition.trigger
        if isinstance(trigger, OnSchedule):
            local = after.astimezone(ZoneInfo(self.services.settings.tangram_timezone))
            return croniter(trigger.cron, local).get_next(datetime)
        assert isinstance(trigger, OnDate)
        return after + _interval(trigger.check_every.amount, trigger.check_every.unit)

    async def tick_job(self, conn: AsyncConnection, job: Job) -> None:
        """A timed rule's occurrence: one statement marks every due record fired and returns them;
        their actions run in jobs of FIRE_CHUNK records, so no transaction holds the writer long."""
        p = job.payload
        found = await self.compiled(conn, p["rule_id"])
        if found is None or found[0].version != p["version"]:
            return  # disabled, deleted or changed: the new version queued its own ticks
        rule, entity = found
        fired = await self.fire_due(conn, rule, entity, p["occurrence"], p.get("after_id", 0))
        now = self.services.clock.now()
        for i in range(0, len(fired), FIRE_CHUNK):
            chunk = {"rule_id": rule.id, "items": fired[i : i + FIRE_CHUNK]}
            await enqueue(conn, now, "rules.fire", chunk, dedup_key=f"{job.dedup_key}:{p.get('after_id', 0)}:{i}")
        if len(fired) == TICK_BATCH:  # more records are due for this occurrence: continue after the last
            more = {**p, "after_id": fired[-1][0]}
            await enqueue(conn, now, "rules.tick", more, dedup_key=f"{job.dedup_key}:after:{fired[-1][0]}")
            return
        at = self._next_tick(rule.definition, max(now, datetime.fromisoformat(p["occurrence"])))
        nxt = {"rule_id": rule.id, "version": rule.version, "occurrence": at.isoformat()}
        await enqueue(conn, now, "rules.tick", nxt, run_at=at, dedup_key=f"rule:{rule.id}:v{rule.version}:tick:{at.isoformat()}")

    async def fire_job(self, conn: AsyncConnection, job: Job) -> None:
        """Run a timed rule's actions on a chunk of fired records (each undone alone if it fails)."""
        found = await self.compiled(conn, job.payload["rule_id"])
        if found is None:
            return
        rule, entity = found
        items = [(int(rid), str(occurrence)) for rid, occurrence in job.payload["items"]]
        records = await _load_many(conn, entity, [rid for rid, _ in items])
        await self._load_paths(conn, entity, [rule], list(records.values()))
        env, trigger = self.env(None), {"trigger": rule.definition.trigger.type, "cause": []}
        actor = Access(user_id=None, is_admin=True, source="rule", unrestricted=True, cause=(rule.id,))
        for rid, occurrence in items:
            if rid not in records:
                continue  # purged since it was fired
            run = Run(
                conn,
                self.services,
                rule.id,
                rule.key,
                entity,
                records[rid],
                env,
                actor,
                f"rule:{rule.id}:rec:{rid}:occ:{occurrence}",
            )
            await self._run_logged(conn, rule, run, trigger)

    async def fire_due(
        self, conn: AsyncConnection, rule: CompiledRule, entity: CompiledEntity, occurrence: str, after_id: int = 0
    ) -> list[tuple[int, str]]:
        """Mark the records due for this occurrence as fired and return them: one INSERT .. SELECT."""
        stmt = due_statement(rule, entity, self.env(None), occurrence, self.services.clock.now(), after_id)
        return sorted((r[0], r[1]) for r in (await conn.execute(stmt)).all())

    # -- dry run ---------------------------------------------------------------------------------
    async def dry_run(
        self, conn: AsyncConnection, rule: CompiledRule, entity: CompiledEntity, records: list[dict[str, Any]], actor: Actor
    ) -> list[dict[str, Any]]:
        """Judge the rule on stored records and show what its actions would do. The actions run for
        real inside a savepoint that is always rolled back (the caller's transaction is too)."""
        out = []
        await self._load_paths(conn, entity, [rule], records)
        for record in records:
            env = self.env(actor)
            item: dict[str, Any] = {"record_id": record["id"], "matched": rule.matches(record, env)}
            if rule.condition is not None:
                item["condition"] = explain(rule.condition, record, env)
            if item["matched"]:
                item["actions"], item["error"] = await self._rehearse(conn, rule, entity, record, env, actor)
            out.append(item)
        return out

    async def _rehearse(
        self, conn: AsyncConnection, rule: CompiledRule, entity: CompiledEntity, record: dict[str, Any], env: Env, actor: Actor
    ) -> tuple[list[dict[str, Any]], str | None]:
        errors = ErrorCollector()
        change = PendingChange("update", record["id"], record, {}, "", errors) if rule.definition.when == "before_save" else None
        run = Run(conn, self.services, rule.id, rule.key, entity, dict(record), env, _rule_actor(actor, rule), "dry-run", change)
        error = None
        savepoint = await conn.begin_nested()
        try:
            await self._steps(rule, run, 0)
        except (ActionFailed, TangramError) as exc:
            error = str(exc) if isinstance(exc, ActionFailed) else _problem_text(exc)
        finally:
            await savepoint.rollback()
        if errors:
            error = "; ".join(e.message for e in errors.errors)
        return run.done, error


def due_statement(rule: CompiledRule, entity: CompiledEntity, env: Env, occurrence: str, now: datetime, after_id: int = 0) -> Any:
    """INSERT INTO tg_rule_fires SELECT the records due now and not fired for their occurrence,
    RETURNING them. A schedule's occurrence is the tick; a date trigger's is the date value, so a
    new date (a new last activity) arms the rule again."""
    t = entity.table
    trigger = rule.definition.trigger
    where = [t.c.deleted_at.is_(None), t.c.id > after_id]
    if rule.condition is not None:
        where.append(to_sql(rule.condition, t, env))
    if isinstance(trigger, OnDate):
        col = t.c[trigger.field]
        f = entity.fields.get(trigger.field)
        kind = "date" if f is not None and f.cfg.type == "date" else "datetime"
        # Due when field + offset <= now (after), field - offset <= now (before).
        bound = shift(env, Span(trigger.offset.amount, trigger.offset.unit), -1 if trigger.direction == "after" else 1, kind)
        where += [col.is_not(None), col <= bound]
        occ: Any = col.cast(OCCURRENCE)
    else:
        occ = literal(occurrence, OCCURRENCE)
    f = rule_fires.c
    done = exists().where(f.rule_id == rule.id, f.record_id == t.c.id, f.occurrence == occ)
    chosen = select(literal(rule.id), t.c.id, occ, literal(now, rule_fires.c.at.type)).where(and_(*where), ~done)
    chosen = chosen.order_by(t.c.id).limit(TICK_BATCH)
    return (
        rule_fires.insert()
        .from_select(["rule_id", "record_id", "occurrence", "at"], chosen)
        .returning(rule_fires.c.record_id, rule_fires.c.occurrence)
    )


def _interval(amount: int, unit: str) -> timedelta:
    """How often a date trigger is checked (a month counts as 30 days here: it is only a period)."""
    if unit == "months":
        return timedelta(days=30 * amount)
    return timedelta(**{unit: amount})


def _fires_before(rule: RuleDefinition, change: PendingChange, record: Mapping[str, Any]) -> bool:
    kind = rule.trigger.type
    if change.kind == "create":
        return kind in ("created", "saved")
    if kind in ("updated", "saved"):
        return True
    if isinstance(rule.trigger, OnFieldChange):
        before = change.before or {}
        return any(before.get(k) != record.get(k) for k in rule.trigger.fields)
    return False


def _fires_after(rule: RuleDefinition, event: RecordEvent, before: Any, after: Any) -> bool:
    kind = rule.trigger.type
    if event.kind == "created":
        return kind in ("created", "saved")
    if event.kind == "deleted":
        return kind == "deleted"
    if event.kind != "updated":
        return False
    if kind in ("updated", "saved"):
        return True
    if isinstance(rule.trigger, OnFieldChange):
        return any((before or {}).get(k) != (after or {}).get(k) for k in rule.trigger.fields)
    return False


def _stop_reason(conn: AsyncConnection, rule: CompiledRule, cause: tuple[int, ...]) -> str | None:
    """Why a cascade must stop here, or None. The per-transaction budget lives on the connection."""
    if rule.id in cause:
        return "cycle: rules " + " -> ".join(str(r) for r in (*cause, rule.id)) + " trigger each other"
    if len(cause) >= MAX_DEPTH:
        return f"cascade deeper than {MAX_DEPTH} rules: " + " -> ".join(str(r) for r in (*cause, rule.id))
    txn = id(conn.get_transaction())
    owner, spent = conn.info.get("tg_rule_budget", (None, 0))
    spent = spent + 1 if owner == txn else 1
    conn.info["tg_rule_budget"] = (txn, spent)
    if spent > MAX_RUNS_PER_TRANSACTION:
        return f"more than {MAX_RUNS_PER_TRANSACTION} rule runs in one transaction"
    return None


def _rule_actor(actor: Actor, rule: CompiledRule) -> Access:
    """System rights, the chain of rules that led here, and the caller's language for its refusals."""
    cause = (*actor.cause, rule.id)
    return Access(user_id=None, is_admin=True, source="rule", unrestricted=True, cause=cause, locale=actor.locale)


async def _load_many(conn: AsyncConnection, entity: CompiledEntity, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    t = entity.table
    return {r.id: dict(r._mapping) for r in (await conn.execute(select(t).where(t.c.id.in_(ids))))}


async def _load(conn: AsyncConnection, entity: CompiledEntity, rid: int, binned: bool) -> dict[str, Any] | None:
    t = entity.table
    query = select(t).where(t.c.id == rid)
    if not binned:
        query = query.where(t.c.deleted_at.is_(None))
    row = (await conn.execute(query)).first()
    return dict(row._mapping) if row is not None else None


def _problem_text(exc: TangramError) -> str:
    errors = getattr(exc, "errors", None) or []
    return exc.detail + "".join(f"; {e.path or '/'}: {e.message}" for e in errors)
