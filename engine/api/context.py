"""The services one running app shares, built once at start-up and reached from requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from engine.audit.log import audit_record_events
from engine.auth.service import AuthService
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.settings import Settings
from engine.records.reads import RecordReader
from engine.records.service import RecordService
from engine.schema.service import SchemaService
from engine.schema.store import EntityStore


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=Clock)
    store: EntityStore = field(default_factory=EntityStore)

    def __post_init__(self) -> None:
        self.schema = SchemaService(self.store, self.clock)
        self.records = RecordService(self.store, self.clock, hooks=(audit_record_events,))
        self.reader = RecordReader(self.store)
        self.auth = AuthService(self.clock)


async def ctx(request: Request) -> Context:  # async: FastAPI runs sync dependencies in a thread
    return request.app.state.ctx  # type: ignore[no-any-return]
