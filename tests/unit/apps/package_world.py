"""Helpers for package tests on a real database: install as an administrator, read back, and a snapshot
of every table's rows to prove a refused install changed nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, table, text

from engine.api.context import Context
from engine.apps.service import load
from engine.auth.policy import Access
from tests.unit.apps.shop_package import write_package

ADMIN = Access.system(source="test")


async def install(ctx: Context, folder: Path, files: dict[str, Any], **options: Any) -> dict[str, Any]:
    return await ctx.packages.install(load(write_package(folder, files)), ADMIN, **options)


async def snapshot(ctx: Context) -> dict[str, list[Any]]:
    """Every table (system and entity tables) with all its rows, sorted: equal snapshots, equal databases."""
    async with ctx.db.read() as conn:
        names = await conn.run_sync(lambda sync: sorted(inspect(sync).get_table_names()))
        found = {}
        for name in names:
            if name in ("alembic_version", "sqlite_sequence"):
                continue
            rows = (await conn.execute(select(text("*")).select_from(table(name)))).all()
            found[name] = sorted(repr(tuple(r)) for r in rows)
    return found


async def records(ctx: Context, app: str, entity: str) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        e = await ctx.store.get(conn, app, entity)
        return [dict(r._mapping) for r in await conn.execute(select(e.table).order_by(e.table.c.id))]
