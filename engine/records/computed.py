"""Computed (formula) fields, kept current in the transaction that changes their inputs.

- `before_save` (a BeforeSave step): computes every formula field of the records being saved,
  in dependency order, from the record as it will be stored; aggregates over child records
  (SUM(order_line.amount)) are folded by one SQL query for the whole batch.
- `after_change` (a Hook): when child records are created, changed, deleted or restored, their
  parents are saved again through the record service, which recomputes their aggregates and
  versions, audits and announces the parents like any other change. Within `deferring()` (a record
  saved with its line items) the parents are collected instead, and saved once by `recompute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.actor import Actor
from engine.core.blocks import holding
from engine.core.clock import Clock
from engine.core.errors import ErrorCollector
from engine.formula import Env, aggregations, compile_python, fold_sql, folded_key
from engine.records.events import PendingChange, RecordEvent
from engine.schema.formulas import Child, find_children, fit, in_order
from engine.schema.model import BoundField, CompiledEntity
from engine.schema.store import EntityStore

if TYPE_CHECKING:
    from engine.records.service import RecordService

Evaluator = Callable[[Mapping[str, Any], Env], Any]
RECOMPUTE_ON = {"created", "updated", "deleted", "restored"}


@dataclass
class Deferred:
    """Parents whose aggregates wait for the end of a save of many children: (app, key) -> ids."""

    parents: dict[tuple[str, str], tuple[CompiledEntity, set[int]]] = field(default_factory=dict)
    actor_id: int | None = None

    def add(self, parent: CompiledEntity, ids: set[int], actor_id: int | None) -> None:
        self.parents.setdefault((parent.app, parent.key), (parent, set()))[1].update(ids)
        self.actor_id = actor_id

    def discard(self, parent: CompiledEntity, rid: int) -> None:
        """The caller saves this parent itself (which recomputes it)."""
        if (parent.app, parent.key) in self.parents:
            self.parents[(parent.app, parent.key)][1].discard(rid)


_deferred: ContextVar[Deferred | None] = ContextVar("tangram_parents_deferred", default=None)


@dataclass(frozen=True)
class _Plan:
    entity: CompiledEntity  # kept so the cache entry is never matched by another object's id
    steps: list[tuple[BoundField, Evaluator]]
    folds: list[Any]  # the aggregate calls of all formulas (formula AST Call nodes)


@dataclass
class ComputedFields:
    store: EntityStore
    clock: Clock
    timezone: str = "UTC"
    # The service whose writes trigger these steps; set once it exists (it is built with them).
    records: RecordService | None = None
    _plans: dict[int, _Plan] = field(default_factory=dict)

    def plan(self, entity: CompiledEntity) -> _Plan:
        cached = self._plans.get(id(entity))
        if cached is None or cached.entity is not entity:
            ordered = in_order(entity)
            folds = {folded_key(c): c for _, f in ordered for c in aggregations(f)}
            cached = _Plan(entity, [(f, compile_python(formula)) for f, formula in ordered], list(folds.values()))
            self._plans[id(entity)] = cached
        return cached

    async def before_save(
        self, conn: AsyncConnection, entity: CompiledEntity, actor: Actor, changes: list[PendingChange]
    ) -> None:
        """Write each formula field's value into the change when it differs from the stored one."""
        plan = self.plan(entity)
        if not plan.steps:
            return
        env = Env.at(self.clock.now(), self.timezone, user_id=actor.user_id)
        folded = await self._fold(conn, entity, plan, [c.record_id for c in changes if c.record_id is not None])
        for change in changes:
            record = change.merged | folded.get(change.record_id, {})
            for f, evaluate in plan.steps:
                record[f.key] = value = fit(f.cfg, evaluate(record, env))
                if change.before is None or change.before.get(f.key) != value:
                    change.values[f.key] = value

    async def _fold(
        self, conn: AsyncConnection, entity: CompiledEntity, plan: _Plan, ids: list[int]
    ) -> dict[Any, dict[str, Any]]:
        """Record id -> {folded key: value} for every aggregate, in one query. A new record has no
        children yet: its aggregates are those of nothing (SUM 0), which the Python side gives."""
        if not plan.folds or not ids:
            return {}
        children = await self._children(conn, entity)
        folds = [c for c in plan.folds if c.args[0].key in children]
        if not folds:
            return {}
        t = entity.table
        exprs = [fold_sql(c, children[c.args[0].key].rows(t)) for c in folds]
        rows = (await conn.execute(select(t.c.id, *exprs).where(t.c.id.in_(ids)))).all()
        return {r[0]: {folded_key(c): v for c, v in zip(folds, r[1:], strict=True)} for r in rows}

    async def _children(self, conn: AsyncConnection, entity: CompiledEntity) -> dict[str, Child]:
        cfgs = [f.cfg for f in entity.fields.values()]
        return await find_children(conn, self.store, entity.app, entity.key, cfgs, ErrorCollector())

    async def after_change(self, conn: AsyncConnection, events: list[RecordEvent]) -> None:
        """Save again the parents whose aggregates fold the records these events changed."""
        events = [e for e in events if e.kind in RECOMPUTE_ON]
        if not events or self.records is None:
            return
        first = events[0]
        for parent, relation in await self._parents(conn, first.app, first.entity):
            ids = {rid for e in events for side in (e.before, e.after) if side and (rid := side.get(relation)) is not None}
            if (pending := _deferred.get()) is not None:
                pending.add(parent, ids, first.actor.user_id)
            else:
                await self._save_parents(conn, parent, ids, first.actor.user_id)

    async def _save_parents(self, conn: AsyncConnection, parent: CompiledEntity, ids: set[int], actor_id: int | None) -> None:
        live = await self._live(conn, parent, ids)
        if live and self.records is not None:
            # The writer's id is kept for the audit trail; the rights are the engine's: a
            # total follows its lines whatever the writer may do to the parent itself.
            access = Access.system(source="system", user_id=actor_id)
            await self.records.update_many(conn, parent, [(rid, {}, None) for rid in live], access)

    def deferring(self) -> AbstractContextManager[Deferred]:
        """Within this block, parents of changed children are collected, not saved: pass what it
        yields to `recompute` at the end, so each parent is recomputed once, on its final children."""
        return holding(_deferred, Deferred())

    async def recompute(self, conn: AsyncConnection, pending: Deferred) -> None:
        """Save the parents collected by `deferring` (outside that block)."""
        for parent, ids in pending.parents.values():
            await self._save_parents(conn, parent, ids, pending.actor_id)

    async def _parents(self, conn: AsyncConnection, app: str, key: str) -> list[tuple[CompiledEntity, str]]:
        """(parent entity, the child's relation field) for every entity of the app that folds `key`."""
        found: list[tuple[CompiledEntity, str]] = []
        for other in await self.store.list(conn, app):
            if other.key == key or not self.plan(other).folds:
                continue
            children = await self._children(conn, other)
            found += [(other, rel) for rel in sorted({c.relation for c in children.values() if c.entity.key == key})]
        return found

    async def _live(self, conn: AsyncConnection, entity: CompiledEntity, ids: set[int]) -> list[int]:
        if not ids:
            return []
        t = entity.table
        query = select(t.c.id).where(t.c.id.in_(ids), t.c.deleted_at.is_(None)).order_by(t.c.id)
        return list((await conn.execute(query)).scalars())
