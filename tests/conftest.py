"""Test fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set, on
PostgreSQL too. Each test gets a fresh database copied from a migrated template (fast and isolated)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from engine.api.app import create_app
from engine.api.context import Context
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.settings import Settings
from engine.setup import prepare_database

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEMPLATE = f"tangram_tpl_{os.getpid()}"


def _pg_admin_dsn() -> str:
    url = make_url(PG_URL or "")
    return str(url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False))


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    prepare_database(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{TEMPLATE}"'))
    asyncio.run(_pg(f'CREATE DATABASE "{TEMPLATE}"'))
    prepare_database(make_url(PG_URL or "").set(database=TEMPLATE).render_as_string(hide_password=False))
    yield TEMPLATE
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"tangram_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(PG_URL or "").set(database=name).render_as_string(hide_password=False)
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ctx(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[Context]:
    settings = Settings(database_url=database_url, var_dir=str(tmp_path / "var"), tangram_secret_key="test-secret")
    context = Context(settings=settings, db=Database(database_url), clock=clock)
    yield context
    await context.db.dispose()


@pytest.fixture
async def admin(ctx: Context) -> dict[str, object]:
    async with ctx.db.write() as conn:
        uid, _ = await ctx.auth.ensure_admin(conn, "admin@example.com", "correct horse battery staple")
        token, _ = await ctx.auth.create_token(conn, uid, "tests")
    return {"id": uid, "token": token}


@pytest.fixture
async def client(ctx: Context, admin: dict[str, object]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx.settings, ctx)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {admin['token']}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
        yield http


@pytest.fixture
async def anon(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx.settings, ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http
