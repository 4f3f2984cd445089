"""Putting work on the durable queue, and the registry of handlers that know how to do it.

`enqueue` writes through the caller's connection, so a record change and the jobs it causes commit
or roll back together (the outbox pattern): no job for a change that never happened, no change
whose follow-up work is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.registry import Registry
from engine.jobs.tables import jobs


@dataclass(frozen=True)
class Job:
    """One claimed job as its handler sees it. `attempts` counts this run (the first run is 1)."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    run_at: datetime
    dedup_key: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Job:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


# A handler runs inside the write transaction that also marks its job done: its database effects
# commit exactly once. Raising rolls them back and schedules a retry.
Handler = Callable[[AsyncConnection, Job], Awaitable[None]]


class PermanentFailure(Exception):
    """Raise from a handler when retrying cannot help (a malformed payload, a 4xx from a webhook):
    the job goes straight to dead, with this message as its last error."""


@dataclass(frozen=True)
class JobKind:
    key: str
    handler: Handler
    # An outside job talks to the network (an email, a webhook): its handler gets a read-only
    # connection and no write transaction is held while it waits (on SQLite that would block every
    # writer); the job is marked done just after it returns. It is at-least-once: a worker dying
    # between the call and that mark repeats the call, so pass the job's key to the receiver.
    outside: bool = False


class JobHandlers(Registry[JobKind]):
    """Handlers by job kind (a stable dotted key such as "rules.after_save"); duplicates refused."""

    def __init__(self) -> None:
        super().__init__("job kind")

    def add(self, kind: str, handler: Handler, *, outside: bool = False) -> Handler:
        """Register `handler` for `kind` and return it unchanged."""
        self.register(JobKind(kind, handler, outside))
        return handler


async def enqueue(
    conn: AsyncConnection,
    now: datetime,
    kind: str,
    payload: dict[str, Any],
    *,
    run_at: datetime | None = None,
    dedup_key: str | None = None,
    max_attempts: int = 10,
) -> int | None:
    """Add a job in the caller's transaction; returns its id, or None when a job with the same
    `dedup_key` already exists (whatever its state: a key names one piece of work, ever)."""
    if not kind:
        raise ValueError("a job needs a kind")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    values = {
        "kind": kind, "payload": payload, "state": "pending", "run_at": run_at or now, "created_at": now,
        "attempts": 0, "max_attempts": max_attempts, "dedup_key": dedup_key,
    }  # fmt: skip
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING, not try/except: a failed INSERT would abort the caller's whole
    # transaction on PostgreSQL.
    stmt = dialect_insert(jobs).values(values).on_conflict_do_nothing(index_elements=[jobs.c.dedup_key])
    return (await conn.execute(stmt.returning(jobs.c.id))).scalar_one_or_none()
