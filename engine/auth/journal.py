"""The audit journal as the identity services use it: write one entry, look back at recent ones.

`auth` sits below `audit` in the layers (the audit log subscribes to record events), so services
here are handed a Journal (engine.audit.journal.AuditJournal) instead of importing the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.actor import Actor

RecordRef = tuple[str, str, int]  # (app, entity, record id)


class Journal(Protocol):
    async def note(
        self, conn: AsyncConnection, action: str, actor: Actor | None, *, subject: str | None = None,
        ip: str | None = None, detail: dict[str, Any] | None = None, changes: dict[str, Any] | None = None,
        record: RecordRef | None = None,
    ) -> None:  # fmt: skip
        """Append one entry in the caller's transaction (it commits or rolls back with the change)."""

    async def nth_latest(
        self, conn: AsyncConnection, action: str, n: int, since: datetime, *, subject: str | None = None,
        ip: str | None = None,
    ) -> datetime | None:  # fmt: skip
        """When the n-th most recent `action` after `since` (for that subject or ip) happened; None if
        there were fewer than n."""
