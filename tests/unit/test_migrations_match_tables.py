"""The migrations build exactly the system tables the code declares: alembic's autogenerate finds
nothing to add, drop or alter on a freshly migrated database, on SQLite and PostgreSQL. Several
people write migrations by hand; this keeps them honest."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from engine.system_tables import system_metadata


def _include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """System tables only: user entity tables (app__entity) are built at run time, not by migrations."""
    table = obj if kind == "table" else getattr(obj, "table", None)
    table_name = name if kind == "table" else getattr(table, "name", "")
    return str(table_name).startswith("tg_")


async def test_migrated_schema_matches_declared_tables(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"include_object": _include, "compare_type": True}), system_metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], f"migrations and declared tables differ: {diff}"
