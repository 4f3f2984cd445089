"""A record's history: its audit entries, shown only to those who may read the record, with the
fields hidden from them left out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.audit.tables import audit_log
from engine.auth.policy import Access, scope
from engine.core.errors import NotFound
from engine.records.reads import scoped
from engine.schema.model import CompiledEntity


async def record_history(conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int) -> list[dict[str, Any]]:
    """Oldest first. The record may be live or in the recycle bin; one the caller cannot read is 404."""
    s = scope(access, entity, "read")
    t = entity.table
    if (await conn.execute(scoped(select(t.c.id).where(t.c.id == rid), s))).first() is None:
        raise NotFound(f"{entity.key} record {rid} not found")
    a = audit_log
    rows = await conn.execute(
        select(a).where(a.c.app == entity.app, a.c.entity == entity.key, a.c.record_id == rid).order_by(a.c.id)
    )
    return [
        {"at": r.at, "action": r.action, "actor_id": r.actor_id, "token_id": r.token_id, "source": r.source,
         "changes": {k: v for k, v in (r.changes or {}).items() if k not in s.hidden}}
        for r in rows
    ]  # fmt: skip
