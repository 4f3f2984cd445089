"""The audit log as a Journal for the identity services (engine.auth.journal): platform events such
as sign-ins, permission changes and shares, and the look-back that throttles sign-in attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.audit.log import audit
from engine.audit.tables import audit_log
from engine.auth.journal import RecordRef
from engine.core.actor import Actor
from engine.core.clock import Clock


@dataclass(frozen=True)
class AuditJournal:
    clock: Clock

    async def note(
        self, conn: AsyncConnection, action: str, actor: Actor | None, *, subject: str | None = None,
        ip: str | None = None, detail: dict[str, Any] | None = None, changes: dict[str, Any] | None = None,
        record: RecordRef | None = None,
    ) -> None:  # fmt: skip
        await audit(conn, self.clock, action, actor, subject=subject, ip=ip, detail=detail, changes=changes, record=record)

    async def nth_latest(
        self, conn: AsyncConnection, action: str, n: int, since: datetime, *, subject: str | None = None,
        ip: str | None = None,
    ) -> datetime | None:  # fmt: skip
        a = audit_log
        query = select(a.c.at).where(a.c.action == action, a.c.at > since)  # the (action, at) index
        if subject is not None:
            query = query.where(a.c.subject == subject)
        if ip is not None:
            query = query.where(a.c.ip == ip)
        found = await conn.execute(query.order_by(a.c.at.desc()).offset(n - 1).limit(1))
        return found.scalar_one_or_none()
