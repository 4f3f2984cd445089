"""Bringing a database to a usable state: system tables migrated, built-in roles present."""

from __future__ import annotations

import asyncio

from engine.auth.service import ensure_builtin_roles
from engine.core.db import Database
from engine.core.migrate import Migrated, upgrade


def prepare_database(url: str) -> Migrated:
    """Migrate the system tables and add the built-in roles (idempotent; run by `tangram migrate`)."""
    migrated = upgrade(url)

    async def seed() -> None:
        db = Database(url)
        try:
            async with db.write() as conn:
                await ensure_builtin_roles(conn)
        finally:
            await db.dispose()

    asyncio.run(seed())
    return migrated
