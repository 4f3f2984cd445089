"""Domain events: written to the outbox in the same transaction as the change they describe, and
handed to in-transaction hooks (the audit log now; before/after-save rules next). Hooks are
registered explicitly when the services are built; `records` never imports its subscribers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.records.tables import events
from engine.schema.model import CompiledEntity


@dataclass(frozen=True)
class RecordEvent:
    app: str
    entity: str
    entity_version: int
    record_id: int
    kind: str  # created | updated | deleted | restored | purged
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: Actor
    at: datetime


Hook = Callable[[AsyncConnection, list[RecordEvent]], Awaitable[None]]


async def emit(
    conn: AsyncConnection,
    clock: Clock,
    entity: CompiledEntity,
    actor: Actor,
    kind: str,
    changes: list[tuple[int, dict[str, Any] | None, dict[str, Any] | None]],
    hooks: Sequence[Hook] = (),
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
    if hooks:
        batch = [
            RecordEvent(entity.app, entity.key, entity.version, rid, kind, before, after, actor, now)
            for rid, before, after in changes
        ]
        for hook in hooks:
            await hook(conn, batch)
