"""Runtime DDL for entity tables, inside the caller's transaction (transactional on both databases).

Uses alembic's Operations on the live connection: a well-kept DDL layer that knows each dialect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Index, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.schema.model import BoundField, field_column, field_indexes


async def _run(conn: AsyncConnection, fn: Callable[[Operations, Any], None]) -> None:
    def go(sync_conn: Any) -> None:
        fn(Operations(MigrationContext.configure(sync_conn)), sync_conn)

    await conn.run_sync(go)


async def create_table(conn: AsyncConnection, table: Table) -> None:
    await conn.run_sync(lambda c: table.metadata.create_all(c, tables=[table]))


async def drop_table(conn: AsyncConnection, table: Table) -> None:
    await conn.run_sync(lambda c: table.drop(c))


async def add_column(conn: AsyncConnection, table: Table, f: BoundField) -> None:
    await _run(conn, lambda ops, _: ops.add_column(table.name, field_column(f)))


async def create_indexes(conn: AsyncConnection, indexes: list[Index]) -> None:
    await conn.run_sync(lambda c: [ix.create(c) for ix in indexes])


async def drop_indexes(conn: AsyncConnection, indexes: list[Index]) -> None:
    await conn.run_sync(lambda c: [ix.drop(c, checkfirst=False) for ix in indexes])


async def drop_column(conn: AsyncConnection, table: Table, f: BoundField) -> None:
    """Drop a purged field's column (its indexes first: SQLite cannot drop an indexed column)."""
    await drop_indexes(conn, field_indexes(table, f))
    await _run(conn, lambda ops, _: ops.drop_column(table.name, f.key))


async def change_column_type(conn: AsyncConnection, table: Table, old: BoundField, new: BoundField) -> None:
    new_type = new.type.column_type(new.cfg)

    def go(ops: Operations, sync_conn: Any) -> None:
        # SQLite types are affinities: its values already fit every widening we allow, and
        # SQLAlchemy converts on read by the declared type, so only PostgreSQL needs the ALTER.
        if sync_conn.dialect.name == "sqlite":
            return
        old_sql = old.type.column_type(old.cfg).compile(dialect=sync_conn.dialect)
        if old_sql != new_type.compile(dialect=sync_conn.dialect):
            ops.alter_column(
                table.name, new.key, type_=new_type,
                postgresql_using=f'"{new.key}"::{new_type.compile(dialect=sync_conn.dialect)}',
            )  # fmt: skip

    await _run(conn, go)
