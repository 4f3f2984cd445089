"""Domain events: written to the outbox in the same transaction as the change they describe, and
handed to in-transaction hooks (the audit log, after-save rule dispatch). Before-save steps see a
change before it is written (`PendingChange`). Hooks are
registered explicitly when the services are built; `records` never imports its subscribers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.core.errors import ErrorCollector
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


@dataclass
class PendingChange:
    """A create or update about to be written, handed to before-save steps (validation rules,
    field-setting rules, computed fields) after the input was parsed and before integrity checks,
    so whatever a step sets is checked like user input."""

    kind: str  # create | update
    record_id: int | None  # None on create
    before: Mapping[str, Any] | None  # stored native values (update only)
    values: dict[str, Any]  # native column values to write; steps may add or change entries
    path: str  # JSON path of the item, for errors
    errors: ErrorCollector  # a step that refuses the change adds an error here (the batch is refused whole)

    @property
    def merged(self) -> dict[str, Any]:
        """The record as it will be stored: before, overlaid with the values to write."""
        return {**(self.before or {}), **self.values}


BeforeSave = Callable[[AsyncConnection, CompiledEntity, Actor, list[PendingChange]], Awaitable[None]]


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
