"""The databases a benchmark run uses: a fresh SQLite file, and a fresh PostgreSQL database when a
server answers (TEST_DATABASE_URL / BENCH_DATABASE_URL, else 127.0.0.1:5432). Each is created for
the run and removed afterwards."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

from tests.benchmarks.measure import Section
from tests.benchmarks.report import section, table

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Backend:
    name: str
    url: str  # the SQLAlchemy URL of the fresh database
    work_dir: Path  # scratch space for this run (settings' var_dir)


def _pg_server() -> URL | None:
    """The configured PostgreSQL server, or the local default when its port answers."""
    configured = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if configured:
        return make_url(configured)
    url = make_url(DEFAULT_PG)
    try:
        socket.create_connection((url.host, url.port), timeout=1).close()
    except OSError:
        return None
    return url


def _admin_dsn(server: URL) -> str:
    return server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


async def _pg_admin(server: URL, sql: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(server))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def sqlite_backend() -> Iterator[Backend]:
    with tempfile.TemporaryDirectory(prefix="tangram-bench-") as tmp:
        yield Backend("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", Path(tmp))


@contextmanager
def postgres_backend(server: URL) -> Iterator[Backend]:
    name = f"tangram_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory(prefix="tangram-bench-") as tmp:
            url = server.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
            yield Backend("PostgreSQL", url, Path(tmp))
    finally:
        asyncio.run(_pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


Opener = Callable[[], AbstractContextManager[Backend]]


def plan() -> tuple[list[tuple[str, Opener]], list[str]]:
    """(name, context-manager factory) for each backend to run, and notes on the ones skipped.

    BENCH_BACKENDS=sqlite or =postgresql restricts the run to one of them."""
    wanted = {b.strip().lower() for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")}
    runs: list[tuple[str, Opener]] = []
    skipped: list[str] = []
    if "sqlite" in wanted:
        runs.append(("SQLite", sqlite_backend))
    if "postgresql" in wanted:
        server = _pg_server()
        if server is None:
            skipped.append("PostgreSQL: no server answers on 127.0.0.1:5432 and no TEST_DATABASE_URL/BENCH_DATABASE_URL")
        else:
            runs.append(("PostgreSQL", lambda: postgres_backend(server)))
    return runs, skipped


def on_each_backend(title: str, measure: Callable[[Backend], Awaitable[Section]], legend: str) -> None:
    """A fresh, migrated database per backend; `measure` on it; its table, the legend and its notes.

    `title` may name the backend as {backend}."""
    from engine.setup import prepare_database  # alembic: imported only when a benchmark runs

    runs, skipped = plan()
    for name, opener in runs:
        section(title.format(backend=name))
        started = time.perf_counter()
        with opener() as backend:
            prepare_database(backend.url)
            report = asyncio.run(measure(backend))
        print(f"\n{table(report.metrics)}\n")
        print(legend)
        print("\n".join(["", *report.notes]))
        print(f"{name} finished in {time.perf_counter() - started:.0f}s", flush=True)
    for s in skipped:
        print(f"skipped {s}")
