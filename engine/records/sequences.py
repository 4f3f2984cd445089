"""Gap-tolerant, duplicate-free number sequences for auto_number fields.

The counter row is incremented with UPDATE ... RETURNING inside the record's transaction: the row
lock serialises concurrent creators on PostgreSQL (SQLite has one writer), so no number repeats.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.schema.tables import sequences


async def take(conn: AsyncConnection, name: str, count: int, start: int) -> list[int]:
    """Reserve `count` consecutive numbers; the first ever handed out is `start`."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(dialect_insert(sequences).values(name=name, value=start - 1).on_conflict_do_nothing())
    last = (
        await conn.execute(
            update(sequences).where(sequences.c.name == name).values(value=sequences.c.value + count).returning(sequences.c.value)
        )
    ).scalar_one()
    return list(range(last - count + 1, last + 1))
