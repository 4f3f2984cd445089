"""Reading records: one record, a filtered page, the recycle bin; with relation expansion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import NotFound
from engine.records.query import ListQuery, build_select, count_select, encode_cursor
from engine.records.serialize import record_json
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore


@dataclass
class RecordReader:
    store: EntityStore

    async def get(
        self,
        conn: AsyncConnection,
        entity: CompiledEntity,
        rid: int,
        fields: list[str] | None = None,
        expand: list[str] | None = None,
    ) -> dict[str, Any]:
        t = entity.table
        row = (await conn.execute(select(t).where(t.c.id == rid, t.c.deleted_at.is_(None)))).first()
        if row is None:
            raise NotFound(f"{entity.key} record {rid} not found")
        record = record_json(entity, row, fields)
        await self._expand(conn, entity, [record], expand or [])
        return record

    async def list(self, conn: AsyncConnection, entity: CompiledEntity, q: ListQuery, *, binned: bool = False) -> dict[str, Any]:
        rows = (await conn.execute(build_select(entity, q, binned=binned))).all()
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        items = [record_json(entity, r, q.fields) for r in rows]
        await self._expand(conn, entity, items, q.expand)
        page: dict[str, Any] = {"items": items, "next_cursor": None}
        if more:
            last = record_json(entity, rows[-1])
            page["next_cursor"] = encode_cursor(q.sort_text, [last[k.field.key] for k in q.sort], rows[-1].id)
        if q.count:
            page["total"] = (await conn.execute(count_select(entity, q, binned=binned))).scalar_one()
        return page

    async def _expand(
        self, conn: AsyncConnection, entity: CompiledEntity, records: list[dict[str, Any]], keys: list[str]
    ) -> None:
        """Replace relation ids with the target records (one query per relation, live targets only)."""
        for key in keys:
            f = entity.fields[key]
            app, target_key = entity.relation_target(f)
            target = await self.store.get(conn, app, target_key)
            ids = {r[key] for r in records if isinstance(r.get(key), int)}
            if not ids:
                continue
            t = target.table
            found = {
                row.id: record_json(target, row)
                for row in await conn.execute(select(t).where(t.c.id.in_(ids), t.c.deleted_at.is_(None)))
            }
            for r in records:
                if isinstance(r.get(key), int):
                    r[key] = found.get(r[key], r[key])
