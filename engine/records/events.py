"""Domain events written to the outbox in the same transaction as the change they describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.records.tables import events
from engine.schema.model import CompiledEntity


async def emit(
    conn: AsyncConnection,
    clock: Clock,
    entity: CompiledEntity,
    actor: Actor,
    kind: str,
    changes: list[tuple[int, dict[str, Any] | None, dict[str, Any] | None]],
) -> None:
    """One event per (record id, before, after); kind is created/updated/deleted/restored/purged."""
    if not changes:
        return
    now = clock.now()
    await conn.execute(
        insert(events),
        [
            {"app": entity.app, "entity": entity.key, "entity_version": entity.version, "record_id": rid, "kind": kind,
             "before": before, "after": after,
             "actor_id": actor.user_id, "token_id": actor.token_id, "source": actor.source, "occurred_at": now}
            for rid, before, after in changes
        ],
    )  # fmt: skip
