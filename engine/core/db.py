"""Database engines and transactions for SQLite (embedded) and PostgreSQL (production).

SQLite is configured for serving: WAL so readers never wait for the writer, a busy timeout, foreign
keys on, and every write through one connection (a pool of SQLite writers only queues on the file
lock and spikes latency). Our own BEGIN makes SQLite DDL transactional too, so a schema change and its
metadata commit or roll back together on both databases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=pool_size, max_overflow=0, pool_timeout=60)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver must not issue its own BEGIN/COMMIT
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "foreign_keys=ON", "synchronous=NORMAL"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


CONNECT_TIMEOUT = 5  # seconds to open a PostgreSQL connection


class Database:
    """Owns the engines. `write()` and `read()` open one transaction each."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._writer = _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
            self._reader = _sqlite_engine(url, begin="BEGIN", pool_size=4)
        elif self.dialect == "postgresql":
            # A database that is away fails a request within seconds (a 503, engine.api.problems) instead of
            # holding it for asyncpg's default minute; pre-ping replaces connections it closed meanwhile.
            self._writer = create_async_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, pool_timeout=10, connect_args={"timeout": CONNECT_TIMEOUT}
            )
            self._reader = self._writer
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite+aiosqlite or postgresql+asyncpg")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def rehearse(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction that is always rolled back: dry runs do the real work, then undo it."""
        async with self._writer.connect() as conn:
            transaction = await conn.begin()
            try:
                yield conn
            finally:
                await transaction.rollback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self._reader.begin() as conn:
            yield conn

    @property
    def writer_engine(self) -> AsyncEngine:
        return self._writer

    async def dispose(self) -> None:
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
