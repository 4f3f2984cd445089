"""Writing the audit log: record changes (from their domain events, in the same transaction) and
platform events such as sign-ins, token and permission changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.audit.tables import audit_log
from engine.core.actor import Actor
from engine.core.changes import changes
from engine.core.clock import Clock
from engine.records.events import RecordEvent

NOT_AUDITED = {"version", "updated_at", "updated_by", "created_at", "created_by", "id"}


async def audit_record_events(conn: AsyncConnection, batch: list[RecordEvent]) -> None:
    """The hook the record service calls inside each write transaction."""
    await conn.execute(
        insert(audit_log),
        [
            {"at": e.at, "action": f"record.{e.kind}", "actor_id": e.actor.user_id, "token_id": e.actor.token_id,
             "source": e.actor.source, "app": e.app, "entity": e.entity, "record_id": e.record_id,
             "changes": changes(e.before, e.after, ignore=NOT_AUDITED), "detail": {"entity_version": e.entity_version}}
            for e in batch
        ],
    )  # fmt: skip


async def audit(
    conn: AsyncConnection, clock: Clock, action: str, actor: Actor | None, *, subject: str | None = None,
    ip: str | None = None, detail: dict[str, Any] | None = None, changes: dict[str, Any] | None = None,
    record: tuple[str, str, int] | None = None,
) -> None:  # fmt: skip
    """One platform event (auth.login, auth.login_failed, token.created, role.updated, ...); one about
    a record (a share) is filed under it, so the record's history shows it too."""
    app, entity, record_id = record or (None, None, None)
    await conn.execute(
        insert(audit_log).values(
            at=clock.now(), action=action, actor_id=actor.user_id if actor else None,
            token_id=actor.token_id if actor else None, source=actor.source if actor else "api",
            app=app, entity=entity, record_id=record_id, subject=subject, ip=ip, detail=detail, changes=changes,
        )
    )  # fmt: skip
