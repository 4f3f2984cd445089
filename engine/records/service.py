"""The record service: every write to a user entity goes through here.

Each call runs inside the caller's transaction and writes the change, its outbox event and any
cascaded changes together. Input is validated whole before anything is written, so a bad batch
writes nothing and reports every problem with its JSON path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, Scope, scope
from engine.core.actor import SYSTEM, Actor
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, ErrorDetail, Forbidden, NotFound, ValidationFailed
from engine.records import sequences
from engine.records.events import BeforeSave, Hook, PendingChange, emit
from engine.records.integrity import check_references, check_unique
from engine.records.reads import scoped
from engine.records.serialize import record_json
from engine.records.validation import validate_input
from engine.schema.definition import label_text
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore, referrers

MAX_CASCADE = 8


@dataclass
class RecordService:
    store: EntityStore
    clock: Clock
    hooks: Sequence[Hook] = ()  # in-transaction subscribers to record events (the audit log)
    # Run in order on every create/update batch before integrity checks (rules, computed fields).
    before_save: Sequence[BeforeSave] = ()

    async def _before_save(
        self, conn: AsyncConnection, entity: CompiledEntity, actor: Access, changes: list[PendingChange]
    ) -> None:
        for step in self.before_save:
            await step(conn, entity, actor, changes)

    async def _emit(self, conn: AsyncConnection, entity: CompiledEntity, actor: Access, kind: str, changes: Any) -> None:
        await emit(conn, self.clock, entity, actor, kind, changes, self.hooks)

    # -- create ----------------------------------------------------------------------------------
    async def create(self, conn: AsyncConnection, entity: CompiledEntity, data: Any, actor: Access) -> dict[str, Any]:
        return (await self.create_many(conn, entity, [data], actor, paths=[""]))[0]

    async def create_many(
        self, conn: AsyncConnection, entity: CompiledEntity, items: list[Any], actor: Access, paths: list[str] | None = None
    ) -> list[dict[str, Any]]:
        paths = paths or [f"/items/{i}" for i in range(len(items))]
        s = scope(actor, entity, "create")
        if not s.allowed:
            raise Forbidden(f"you may not create {entity.key} records")
        errors = ErrorCollector()
        batch = [
            validate_input(entity, item, actor, errors, partial=False, path=p, scope=s)
            for item, p in zip(items, paths, strict=True)
        ]
        if not errors:
            pending = [PendingChange("create", None, None, v, p, errors) for v, p in zip(batch, paths, strict=True)]
            await self._before_save(conn, entity, actor, pending)
        await check_references(conn, self.store, actor, entity, batch, errors, paths)
        await check_unique(conn, entity, batch, [None] * len(batch), errors, paths)
        _refuse(errors, len(items))
        now = self.clock.now()
        stamps = {
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by": actor.user_id,
            "updated_by": actor.user_id,
            "deleted_at": None,
        }
        rows = [{k: v.get(k) for k in entity.fields} | stamps | {"owner": v.get("owner", actor.user_id)} for v in batch]
        await self._number(conn, entity, rows)
        for row, rid in zip(rows, await _insert(conn, entity, rows), strict=True):
            row["id"] = rid
        # The values are the parsed ones just written: no need to read them back from the database.
        records = [record_json(entity, r) for r in rows]
        await self._emit(conn, entity, actor, "created", [(r["id"], None, r) for r in records])
        return [_masked(r, s) for r in records]

    async def _number(self, conn: AsyncConnection, entity: CompiledEntity, rows: list[dict[str, Any]]) -> None:
        for key, f in entity.fields.items():
            if f.type.generated:
                numbers = await sequences.take(conn, f"{entity.table_name}.{key}", len(rows), f.cfg.start)
                for row, n in zip(rows, numbers, strict=True):
                    row[key] = f.type.format(f.cfg, n)

    # -- update ----------------------------------------------------------------------------------
    async def update(
        self,
        conn: AsyncConnection,
        entity: CompiledEntity,
        rid: int,
        data: Any,
        actor: Access,
        expected_version: int | None = None,
        *,
        touch: bool = False,
    ) -> dict[str, Any]:
        """Change one record. `touch`: write a new version even if no field changes (its line items did)."""
        return (await self.update_many(conn, entity, [(rid, data, expected_version)], actor, paths=[""], touch=touch))[0]

    async def update_many(
        self,
        conn: AsyncConnection,
        entity: CompiledEntity,
        items: list[tuple[int, Any, int | None]],
        actor: Access,
        paths: list[str] | None = None,
        touch: bool = False,
    ) -> list[dict[str, Any]]:
        paths = paths or [f"/items/{i}" for i in range(len(items))]
        s = scope(actor, entity, "update")
        current = await self._load(conn, entity, [rid for rid, _, _ in items], lock=True, scope=s)
        errors = ErrorCollector()
        batch = []
        for (rid, data, expected), path in zip(items, paths, strict=True):
            row = current.get(rid)
            if row is None:
                refusal = await self._refusal(conn, actor, entity, rid, "change")
                if path == "":  # a single PATCH: the record itself is what is refused
                    raise refusal
                errors.add(path + "/id", "forbidden" if isinstance(refusal, Forbidden) else "not_found", refusal.detail)
            elif expected is not None and expected != row.version:
                raise changed_elsewhere(actor, rid, row.version)
            batch.append(validate_input(entity, data, actor, errors, partial=True, path=path, scope=s))
        if not errors:
            pending = [
                PendingChange("update", rid, dict(current[rid]._mapping), values, path, errors)
                for (rid, _, _), values, path in zip(items, batch, paths, strict=True)
            ]
            await self._before_save(conn, entity, actor, pending)
        await check_references(conn, self.store, actor, entity, batch, errors, paths)
        await check_unique(conn, entity, batch, [rid for rid, _, _ in items], errors, paths)
        _refuse(errors, len(items))
        return [
            _masked(await self._write(conn, entity, current[rid], values, actor, touch), s)
            for (rid, _, _), values in zip(items, batch, strict=True)
        ]

    async def _write(
        self, conn: AsyncConnection, entity: CompiledEntity, row: Any, values: dict[str, Any], actor: Access, touch: bool = False
    ) -> dict[str, Any]:
        before = record_json(entity, row)
        changed = {k: v for k, v in values.items() if row._mapping[k] != v}
        if not changed and not touch:
            return before
        after = await self._bump(conn, entity, row, changed, actor)
        await self._emit(conn, entity, actor, "updated", [(row.id, before, after)])
        return after

    async def _bump(
        self, conn: AsyncConnection, entity: CompiledEntity, row: Any, values: dict[str, Any], actor: Access
    ) -> dict[str, Any]:
        """Write values and a new version, guarded by the version read (no lost update)."""
        t = entity.table
        stmt = (
            update(t)
            .where(t.c.id == row.id, t.c.version == row.version)
            .values(**values, version=row.version + 1, updated_at=self.clock.now(), updated_by=actor.user_id)
            .returning(*t.c)
        )
        new = (await conn.execute(stmt)).first()
        if new is None:
            raise changed_elsewhere(actor, row.id)
        return record_json(entity, new)

    # -- delete, restore, purge ------------------------------------------------------------------
    async def delete(
        self, conn: AsyncConnection, entity: CompiledEntity, rid: int, actor: Access, expected_version: int | None = None
    ) -> None:
        """Move a record to the recycle bin, applying each referring relation's on_delete."""
        s = scope(actor, entity, "delete")
        row = (await self._load(conn, entity, [rid], lock=True, scope=s)).get(rid)
        if row is None:
            raise await self._refusal(conn, actor, entity, rid, "delete")
        if expected_version is not None and expected_version != row.version:
            raise changed_elsewhere(actor, rid, row.version)
        await self._bin(conn, entity, row, actor, depth=0)

    async def _bin(self, conn: AsyncConnection, entity: CompiledEntity, row: Any, actor: Access, depth: int) -> None:
        # Cascades are effects of the definition (like a foreign key's), not of the caller's rights.
        await self._detach(conn, entity, row.id, actor, depth, live_only=True)
        # Read again: detaching may have saved this record (its totals over the records binned).
        row = (await self._load(conn, entity, [row.id], lock=False)).get(row.id, row)
        before = record_json(entity, row)
        await self._bump(conn, entity, row, {"deleted_at": self.clock.now()}, actor)
        await self._emit(conn, entity, actor, "deleted", [(row.id, before, None)])

    async def restore(self, conn: AsyncConnection, entity: CompiledEntity, rid: int, actor: Access) -> dict[str, Any]:
        """Bring a binned record back, if it still fits the entity as it is defined today."""
        s = scope(actor, entity, "delete")
        row = await self._binned(conn, entity, rid, s)
        await self._check_restorable(conn, entity, row)
        after = await self._bump(conn, entity, row, {"deleted_at": None}, actor)
        await self._emit(conn, entity, actor, "restored", [(rid, None, after)])
        return _masked(after, s)

    async def _check_restorable(self, conn: AsyncConnection, entity: CompiledEntity, row: Any) -> None:
        errors = ErrorCollector()
        stored = record_json(entity, row)
        data = {k: stored[k] for k, f in entity.fields.items() if not (f.type.generated or f.type.computed)}
        values = validate_input(entity, data, SYSTEM, errors, partial=True)
        await check_references(conn, self.store, Access.system(), entity, [values], errors, [""])
        await check_unique(conn, entity, [values], [row.id], errors, [""])
        if errors:
            detail = (
                "the record cannot be restored: it no longer fits the definition, or a live record holds one of its unique values"
            )
            raise Conflict(detail, errors=errors.errors)

    async def purge(self, conn: AsyncConnection, entity: CompiledEntity, rid: int, actor: Access) -> None:
        """Delete a binned record for good."""
        row = await self._binned(conn, entity, rid, scope(actor, entity, "delete"))
        await self._purge(conn, entity, row, actor, depth=0)

    async def _purge(self, conn: AsyncConnection, entity: CompiledEntity, row: Any, actor: Access, depth: int) -> None:
        await self._detach(conn, entity, row.id, actor, depth, live_only=False)
        await conn.execute(delete(entity.table).where(entity.table.c.id == row.id))
        await self._emit(conn, entity, actor, "purged", [(row.id, record_json(entity, row), None)])

    async def _detach(
        self, conn: AsyncConnection, entity: CompiledEntity, rid: int, actor: Access, depth: int, live_only: bool
    ) -> None:
        if depth >= MAX_CASCADE:
            raise Conflict(f"deleting would cascade more than {MAX_CASCADE} levels deep; delete the dependent records first")
        for other, f in await referrers(self.store, conn, entity):
            t = other.table
            query = select(t).where(t.c[f.key] == rid)
            if live_only:
                query = query.where(t.c.deleted_at.is_(None))
            rows = (await conn.execute(query)).all()
            if not rows:
                continue
            rule = f.cfg.on_delete
            if rule == "restrict":
                raise Conflict(f"{len(rows)} {other.key} records refer to it through {f.key!r}; change or delete them first")
            for ref in rows:
                if rule == "set_null":
                    await self._write(conn, other, ref, {f.key: None}, actor)
                elif ref.deleted_at is None:
                    await self._bin(conn, other, ref, actor, depth + 1)
                else:
                    await self._purge(conn, other, ref, actor, depth + 1)

    # -- bulk ------------------------------------------------------------------------------------
    async def upsert_many(
        self, conn: AsyncConnection, entity: CompiledEntity, items: list[Any], match_on: str, actor: Access
    ) -> list[dict[str, Any]]:
        """Create or update by a unique field, all or nothing; results in item order."""
        f = entity.fields.get(match_on)
        if f is None or not f.cfg.unique:
            raise ValidationFailed(
                "Invalid upsert",
                errors=[ErrorDetail("/match_on", "not_unique", f"{match_on!r} is not a unique field of {entity.key!r}")],
            )
        errors = ErrorCollector()
        keys = []
        for i, item in enumerate(items):
            raw = item.get(match_on) if isinstance(item, dict) else None
            try:
                keys.append(None if raw is None else f.type.parse(f.cfg, raw))
            except ValueError:
                keys.append(None)
            if keys[-1] is None:
                errors.add(f"/items/{i}/{match_on}", "required", f"every item needs a valid {match_on!r} to match on")
        errors.raise_if_any("Some items have errors; nothing was saved")
        t = entity.table
        existing = dict(
            (await conn.execute(select(t.c[match_on], t.c.id).where(t.c[match_on].in_(keys), t.c.deleted_at.is_(None)))).all()
        )
        creates = [(i, item) for i, item in enumerate(items) if keys[i] not in existing]
        updates = [(i, item) for i, item in enumerate(items) if keys[i] in existing]
        results: dict[int, dict[str, Any]] = {}
        if updates:
            done = await self.update_many(
                conn, entity, [(existing[keys[i]], item, None) for i, item in updates], actor, [f"/items/{i}" for i, _ in updates]
            )
            results |= dict(zip([i for i, _ in updates], done, strict=True))
        if creates:
            done = await self.create_many(conn, entity, [item for _, item in creates], actor, [f"/items/{i}" for i, _ in creates])
            results |= dict(zip([i for i, _ in creates], done, strict=True))
        return [results[i] for i in range(len(items))]

    # -- loading ---------------------------------------------------------------------------------
    async def _load(
        self, conn: AsyncConnection, entity: CompiledEntity, ids: list[int], lock: bool, scope: Scope | None = None
    ) -> dict[int, Any]:
        """Live rows by id, within `scope` when given (None: internal, e.g. upsert matching)."""
        t = entity.table
        query = select(t).where(t.c.id.in_(ids), t.c.deleted_at.is_(None))
        if scope is not None:
            query = scoped(query, scope)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return {r.id: r for r in (await conn.execute(query)).all()}

    async def _refusal(self, conn: AsyncConnection, actor: Access, entity: CompiledEntity, rid: int, verb: str) -> Exception:
        """Why a record is out of reach: 403 if the caller can see it, else 404 (BOLA: existence of
        records they may not read never leaks)."""
        t = entity.table
        query = scoped(select(t.c.id).where(t.c.id == rid, t.c.deleted_at.is_(None)), scope(actor, entity, "read"))
        if (await conn.execute(query)).first() is not None:
            return Forbidden(f"you may not {verb} {entity.key} record {rid}")
        return NotFound(f"{entity.key} record {rid} not found")

    async def _binned(self, conn: AsyncConnection, entity: CompiledEntity, rid: int, s: Scope) -> Any:
        """A binned record within the delete scope; 403 if the caller can only read it, else 404."""
        t = entity.table
        in_bin = select(t).where(t.c.id == rid, t.c.deleted_at.is_not(None))
        query = scoped(in_bin, s)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        if row is not None:
            return row
        if (await conn.execute(scoped(in_bin, scope(s.access, entity, "read")))).first() is not None:
            raise Forbidden(f"you may not restore or purge {entity.key} record {rid}")
        raise NotFound(f"{entity.key} record {rid} is not in the recycle bin")


async def _insert(conn: AsyncConnection, entity: CompiledEntity, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in one batched statement; their new ids in input order."""
    table = entity.table
    if conn.dialect.name == "sqlite":
        # SQLAlchemy can only batch SQLite's INSERT .. RETURNING without ordering it. With one
        # writer and AUTOINCREMENT, ids rise in input order, so sorting them restores it.
        return sorted((await conn.execute(insert(table).returning(table.c.id), rows)).scalars())
    return list((await conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)).scalars())


CHANGED_ELSEWHERE = {
    "en": "This record was changed by someone else; reload it to see their changes, then try again",
    "zh-CN": "该记录已被他人修改，请刷新查看最新内容后重试",  # noqa: RUF001 (Chinese punctuation)
}


def changed_elsewhere(actor: Actor, rid: int, current_version: int | None = None) -> Conflict:
    """The 409 of a stale write, in words for the person who made it (no keys, no version numbers)."""
    extra = {"current_version": current_version} if current_version is not None else {}
    return Conflict(label_text(CHANGED_ELSEWHERE, actor.locale), id=rid, **extra)


def _refuse(errors: ErrorCollector, count: int) -> None:
    """A single record's lone error is the detail a person reads; a batch keeps the summary."""
    errors.raise_if_any("The record has errors" if count == 1 else "Some items have errors; nothing was saved", lone=count == 1)


def _masked(record: dict[str, Any], s: Scope) -> dict[str, Any]:
    """What the caller may see of a record it just wrote."""
    return {k: v for k, v in record.items() if k not in s.hidden} if s.hidden else record
