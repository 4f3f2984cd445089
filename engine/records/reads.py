"""Reading records: one record, a filtered page, the recycle bin; with relation expansion.

Every method takes an Access and applies `scope(access, entity, "read")`: the row filter goes into
the query, hidden fields never leave it. There is no unscoped read here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, Scope, scope
from engine.core.errors import Forbidden, NotFound
from engine.records.query import ListQuery, build_select, count_select, encode_cursor
from engine.records.serialize import record_json
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

# Runs on every record a read returns, after relation expansion (file ids -> file descriptors).
AfterRead = Callable[[AsyncConnection, CompiledEntity, list[dict[str, Any]]], Awaitable[Any]]


def scoped(stmt: Any, s: Scope) -> Any:
    where = s.where(s.entity.table)
    return stmt if where is None else stmt.where(where)


@dataclass
class RecordReader:
    store: EntityStore
    after_read: Sequence[AfterRead] = ()  # wired in api/context.py; records never imports its subscribers

    async def get(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int,
        fields: list[str] | None = None, expand: list[str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """One live record the caller may read; anything else is 404 (existence does not leak)."""
        s = scope(access, entity, "read")
        t = entity.table
        row = (await conn.execute(scoped(select(t).where(t.c.id == rid, t.c.deleted_at.is_(None)), s))).first()
        if row is None:
            raise NotFound(f"{entity.key} record {rid} not found")
        record = record_json(entity, row, fields, s.hidden)
        await self.expand_relations(conn, access, entity, [record], expand or [])
        for step in self.after_read:
            await step(conn, entity, [record])
        return record

    async def list(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, q: ListQuery, *, binned: bool = False
    ) -> dict[str, Any]:
        s = scope(access, entity, "read")
        if not s.allowed:
            raise Forbidden(f"you may not read {entity.key} records")
        rows = (await conn.execute(scoped(build_select(entity, q, binned=binned), s))).all()
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        items = [record_json(entity, r, q.fields, s.hidden) for r in rows]
        await self.expand_relations(conn, access, entity, items, q.expand)
        for step in self.after_read:
            await step(conn, entity, items)
        page: dict[str, Any] = {"items": items, "next_cursor": None}
        if more:
            last = record_json(entity, rows[-1])
            page["next_cursor"] = encode_cursor(q.sort_text, [last[k.field.key] for k in q.sort], rows[-1].id)
        if q.count:
            page["total"] = (await conn.execute(scoped(count_select(entity, q, binned=binned), s))).scalar_one()
        return page

    async def expand_relations(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, records: list[dict[str, Any]], keys: list[str]
    ) -> None:
        """Replace relation ids with the target records the caller may read (one query per relation);
        a target they may not read stays a bare id."""
        for key in keys:
            f = entity.fields[key]
            app, target_key = entity.relation_target(f)
            target = await self.store.get(conn, app, target_key)
            ids = {r[key] for r in records if isinstance(r.get(key), int)}
            if not ids:
                continue
            s = scope(access, target, "read")
            t = target.table
            query = scoped(select(t).where(t.c.id.in_(ids), t.c.deleted_at.is_(None)), s)
            found = {row.id: record_json(target, row, None, s.hidden) for row in await conn.execute(query)}
            for r in records:
                if isinstance(r.get(key), int):
                    r[key] = found.get(r[key], r[key])
