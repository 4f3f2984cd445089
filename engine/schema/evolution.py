"""Online evolution of an entity: diff two definitions into a checked plan of DDL steps.

- add a field: a new nullable column (a required field on a non-empty table needs a default, which
  is written into existing records); re-adding a removed field's key restores its kept column;
- remove a field: the column is kept (data recoverable) until the removed fields are purged;
- relabel, options, help text, display field: metadata only, no DDL;
- change type or constraints: only where no stored value is lost or left invalid, else 409 with why;
- add or change a formula field: every formula of every record is recomputed by one UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import Conflict, ErrorDetail
from engine.formula import Env
from engine.schema import ddl
from engine.schema.definition import EntityDefinition, field_json
from engine.schema.formulas import Child, sql_values
from engine.schema.model import BoundField, CompiledEntity, bind, build_table, field_indexes

COSMETIC = {"label", "help_text", "read_only", "default"}
Problem = tuple[str, str]  # (code, message)


@dataclass
class Plan:
    entity: CompiledEntity
    table: Table  # the table as the new definition describes it (new columns included)
    added: list[BoundField] = field(default_factory=list)
    restored: list[tuple[BoundField, BoundField]] = field(default_factory=list)
    removed: list[BoundField] = field(default_factory=list)
    changed: list[tuple[BoundField, BoundField]] = field(default_factory=list)
    backfill: dict[str, Any] = field(default_factory=dict)
    kept_removed: list[Any] = field(default_factory=list)

    def removed_json(self) -> list[Any]:
        return [field_json(f) for f in self.kept_removed]

    @property
    def recompute(self) -> bool:
        """Whether a formula field was added, restored or changed (so stored values are stale)."""
        touched = self.added + [new for _, new in self.restored + self.changed]
        return any(f.type.computed for f in touched)

    def summary(self) -> dict[str, Any]:
        return {
            "added": [f.key for f in self.added],
            "restored": [new.key for _, new in self.restored],
            "removed": [f.key for f in self.removed],
            "changed": [new.key for _, new in self.changed],
        }

    async def apply(self, conn: AsyncConnection) -> None:
        table = self.table
        for f in self.added:
            await ddl.add_column(conn, table, f)
            await ddl.create_indexes(conn, field_indexes(table, f))
        for old, new in self.restored + self.changed:
            await ddl.change_column_type(conn, table, old, new)
            await _reindex(conn, table, old, new)
        if self.backfill:
            await conn.execute(update(table).where(table.c.deleted_at.is_(None)).values(**self.backfill))


async def recompute_formulas(conn: AsyncConnection, entity: CompiledEntity, children: dict[str, Child], env: Env) -> None:
    """Store every formula field's value for every record (the recycle bin's too), in SQL."""
    values = sql_values(entity, entity.table, children, env)
    if values:
        await conn.execute(update(entity.table).values(**values))


async def _reindex(conn: AsyncConnection, table: Table, old: BoundField, new: BoundField) -> None:
    before = {ix.name for ix in field_indexes(table, old)}
    after = {ix.name: ix for ix in field_indexes(table, new)}
    await ddl.drop_indexes(conn, [ix for ix in field_indexes(table, old) if ix.name not in after])
    await ddl.create_indexes(conn, [ix for name, ix in after.items() if name not in before])


async def plan_changes(conn: AsyncConnection, current: CompiledEntity, new: EntityDefinition) -> Plan:
    problems: list[ErrorDetail] = []
    old_fields = current.fields
    removed_by_key = {f.key: f for f in current.removed}
    new_fields = bind(new.fields)
    plan = Plan(current, current.table)
    live_rows = await _count(conn, current, None)
    for i, f in enumerate(new_fields):
        old = old_fields.get(f.key)
        if old is None and f.key in removed_by_key:
            kept = bind([removed_by_key.pop(f.key)])[0]
            found = await _check_change(conn, current, kept, f, live_rows)
            plan.restored.append((kept, f))
        elif old is None:
            found = _check_new(f, live_rows, plan)
            plan.added.append(f)
        elif _material(old.cfg) != _material(f.cfg):
            found = await _check_change(conn, current, old, f, live_rows)
            plan.changed.append((old, f))
        else:
            found = []
        problems += [ErrorDetail(f"/fields/{i}", code, message) for code, message in found]
    new_keys = {f.key for f in new_fields}
    plan.removed = [f for k, f in old_fields.items() if k not in new_keys]
    plan.kept_removed = list(removed_by_key.values()) + [f.cfg for f in plan.removed]
    plan.table = build_table(current.table_name, new_fields + bind(plan.kept_removed))
    if problems:
        raise Conflict("The change cannot be applied without losing or invalidating data", errors=problems)
    return plan


def _material(cfg: Any) -> dict[str, Any]:
    return cfg.model_dump(exclude=COSMETIC)


def _check_new(f: BoundField, live_rows: int, plan: Plan) -> list[Problem]:
    if f.cfg.required and live_rows and f.cfg.default is None:
        return [("needs_default", f"{f.key!r} is required but {live_rows} existing records have no value: give it a default")]
    if f.cfg.unique and live_rows > 1 and f.cfg.default is not None:
        return [("unique_default", f"{f.key!r} is unique, so a default cannot be written into {live_rows} existing records")]
    if f.cfg.default is not None and live_rows:
        plan.backfill[f.key] = f.type.parse(f.cfg, f.cfg.default)
    return []


async def _check_change(
    conn: AsyncConnection, entity: CompiledEntity, old: BoundField, new: BoundField, live_rows: int
) -> list[Problem]:
    blocker = old.type.change_blocker(old.cfg, new.cfg)
    if blocker:
        return [("lossy_type_change", blocker)]
    problems: list[Problem] = []
    col = entity.table.c[new.key]
    violation = new.type.violation(new.cfg, col, old.cfg)
    if violation is not None and (n := await _count(conn, entity, (col.is_not(None)) & violation)):
        problems.append(
            ("data_conflict", f"{n} records have a {new.key!r} value that the new settings refuse; change them first")
        )
    if new.cfg.required and live_rows and (n := await _count(conn, entity, col.is_(None))):
        problems.append(("data_conflict", f"{new.key!r} cannot become required: {n} records have no value"))
    if new.cfg.unique and not old.cfg.unique:
        dupes = select(col).where(entity.table.c.deleted_at.is_(None), col.is_not(None)).group_by(col).having(func.count() > 1)
        if n := (await conn.execute(select(func.count()).select_from(dupes.subquery()))).scalar_one():
            problems.append(("data_conflict", f"{new.key!r} cannot become unique: {n} values are held by more than one record"))
    return problems


async def _count(conn: AsyncConnection, entity: CompiledEntity, condition: Any) -> int:
    table = entity.table
    query = select(func.count()).select_from(table).where(table.c.deleted_at.is_(None))
    if condition is not None:
        query = query.where(condition)
    return int((await conn.execute(query)).scalar_one())
