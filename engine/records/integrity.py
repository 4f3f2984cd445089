"""Checks that need the database: relation/user targets exist, unique values are free.

Each check runs one query per field for a whole batch, never one per record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.auth.tables import users
from engine.core.errors import ErrorCollector, pointer
from engine.records.reads import scoped
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore


async def check_references(
    conn: AsyncConnection,
    store: EntityStore,
    access: Access,
    entity: CompiledEntity,
    batch: list[dict[str, Any]],
    errors: ErrorCollector,
    paths: list[str],
) -> None:
    """Relation values must name live records the caller may read (linking to one they cannot see
    would reveal that it exists); user and owner values must name active users."""
    links = [(k, f) for k, f in entity.fields.items() if f.cfg.type in ("relation", "user")]
    for key, f in [*links, ("owner", None)]:
        wanted = {v[key] for v in batch if v.get(key) is not None}
        if not wanted:
            continue
        if f is None or f.cfg.type == "user":
            found = set(
                (await conn.execute(select(users.c.id).where(users.c.id.in_(wanted), users.c.active.is_(True)))).scalars()
            )
            what = "an active user"
        else:
            target_app, target_key = entity.relation_target(f)
            target = (
                entity if (target_app, target_key) == (entity.app, entity.key) else await store.get(conn, target_app, target_key)
            )
            t = target.table
            query = scoped(select(t.c.id).where(t.c.id.in_(wanted), t.c.deleted_at.is_(None)), scope(access, target, "read"))
            found = set((await conn.execute(query)).scalars())
            what = f"a {target_key} record"
        for values, path in zip(batch, paths, strict=True):
            if values.get(key) is not None and values[key] not in found:
                errors.add(path + pointer(key), "not_found", f"{values[key]} is not {what}")


async def check_unique(
    conn: AsyncConnection,
    entity: CompiledEntity,
    batch: list[dict[str, Any]],
    ids: list[int | None],
    errors: ErrorCollector,
    paths: list[str],
) -> None:
    """Unique among live records, and within the batch itself. `ids` are the records being updated."""
    t = entity.table
    for key, f in entity.fields.items():
        if not f.cfg.unique:
            continue
        wanted = {v[key] for v in batch if v.get(key) is not None}
        if not wanted:
            continue
        rows = (await conn.execute(select(t.c.id, t.c[key]).where(t.c[key].in_(wanted), t.c.deleted_at.is_(None)))).all()
        holder = {r[1]: r[0] for r in rows}
        seen: dict[Any, int] = {}
        for i, (values, rid, path) in enumerate(zip(batch, ids, paths, strict=True)):
            value = values.get(key)
            if value is None:
                continue
            if value in holder and holder[value] != rid:
                errors.add(path + pointer(key), "unique", f"{key!r} must be unique: this value is already used")
            elif value in seen:
                errors.add(path + pointer(key), "unique", f"{key!r} must be unique: item {seen[value]} has the same value")
            seen.setdefault(value, i)
