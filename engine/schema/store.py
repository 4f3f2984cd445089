"""Loads compiled entities by app and key, compiling each (entity id, version) only once per process.
Entities of an app in the recycle bin are not found (as if binned themselves) until the app is restored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import NotFound
from engine.schema.model import CompiledEntity, compile_entity
from engine.schema.tables import apps, entities


class EntityStore:
    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], CompiledEntity] = {}

    async def get(self, conn: AsyncConnection, app: str, entity: str) -> CompiledEntity:
        """The live entity, or NotFound. One small indexed query; the definition only on a cache miss."""
        head = (
            await conn.execute(
                select(entities.c.id, entities.c.version)
                .join(apps, apps.c.id == entities.c.app_id)
                .where(apps.c.key == app, entities.c.key == entity, entities.c.deleted_at.is_(None), apps.c.deleted_at.is_(None))
            )
        ).first()
        if head is None:
            raise NotFound(f"entity {entity!r} not found in app {app!r}")
        return await self.compiled(conn, head.id, head.version, app)

    async def get_or_none(self, conn: AsyncConnection, app: str, entity: str) -> CompiledEntity | None:
        try:
            return await self.get(conn, app, entity)
        except NotFound:
            return None

    async def compiled(self, conn: AsyncConnection, entity_id: int, version: int, app: str) -> CompiledEntity:
        cached = self._cache.get((entity_id, version))
        if cached is not None:
            return cached
        row = (await conn.execute(select(entities).where(entities.c.id == entity_id))).one()
        compiled = compile_entity(row, app)
        self._cache[(entity_id, row.version)] = compiled
        return compiled

    async def list(self, conn: AsyncConnection, app: str) -> list[CompiledEntity]:
        rows = (
            await conn.execute(
                select(entities.c.id, entities.c.version, entities.c.key)
                .join(apps, apps.c.id == entities.c.app_id)
                .where(apps.c.key == app, entities.c.deleted_at.is_(None), apps.c.deleted_at.is_(None))
                .order_by(entities.c.id)
            )
        ).all()
        return [await self.compiled(conn, r.id, r.version, app) for r in rows]

    def forget(self, key: Any = None) -> None:
        self._cache.clear()


async def referrers(store: EntityStore, conn: AsyncConnection, target: CompiledEntity) -> list[tuple[CompiledEntity, Any]]:
    """Every (entity, relation field) in any app that points at `target`."""
    rows = (
        await conn.execute(
            select(entities.c.id, entities.c.version, apps.c.key.label("app"))
            .join(apps, apps.c.id == entities.c.app_id)
            .where(entities.c.deleted_at.is_(None), apps.c.deleted_at.is_(None))
        )
    ).all()
    found = []
    for r in rows:
        other = await store.compiled(conn, r.id, r.version, r.app)
        found += [(other, f) for f in other.relations() if other.relation_target(f) == (target.app, target.key)]
    return found
