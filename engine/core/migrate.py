"""Apply the system-table migrations (alembic) to a database URL, and say what was done."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Migrated:
    """The revision a database was at before (None: no schema yet) and is at now."""

    before: str | None
    after: str | None

    def summary(self) -> str:
        if self.before is None:
            return f"created the schema at revision {self.after}"
        if self.before != self.after:
            return f"upgraded the schema from revision {self.before} to {self.after}"
        return f"already at the newest revision {self.after}"


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def current_revision(url: str) -> str | None:
    """The revision the database is at; None when it has no schema (or does not exist yet, SQLite)."""

    async def read() -> str | None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def upgrade(url: str) -> Migrated:
    """Bring the system tables to the newest revision (idempotent)."""
    cfg = alembic_config(url)
    before = current_revision(url)
    command.upgrade(cfg, "head")
    return Migrated(before, current_revision(url))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()
