"""The form designer's drafts: what a person is editing in an entity's designer and has not published, kept
on the server so it survives another browser or computer. One draft per person and entity, replaced whole
on every save, removed on publish. A draft is not checked: publishing is (the definition API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.tables import form_drafts
from engine.core.clock import Clock
from engine.core.errors import NotFound

MAX_BYTES = 2_000_000  # a 500-field entity with its layout stays far below this


@dataclass
class DraftService:
    clock: Clock

    def _where(self, app: str, entity: str, user_id: int) -> Any:
        c = form_drafts.c
        return (c.app == app) & (c.entity == entity) & (c.user_id == user_id)

    async def get(self, conn: AsyncConnection, app: str, entity: str, user_id: int) -> dict[str, Any]:
        row = (await conn.execute(select(form_drafts).where(self._where(app, entity, user_id)))).first()
        if row is None:
            raise NotFound(f"you have no draft of {app}.{entity}")
        return {"base_version": row.base_version, "draft": row.draft, "updated_at": row.updated_at.isoformat()}

    async def save(
        self, conn: AsyncConnection, app: str, entity: str, user_id: int, base_version: int, draft: dict[str, Any]
    ) -> dict[str, Any]:
        values = {"base_version": base_version, "draft": draft, "updated_at": self.clock.now()}
        done = await conn.execute(update(form_drafts).where(self._where(app, entity, user_id)).values(**values))
        if done.rowcount == 0:
            await conn.execute(insert(form_drafts).values(app=app, entity=entity, user_id=user_id, **values))
        return await self.get(conn, app, entity, user_id)

    async def discard(self, conn: AsyncConnection, app: str, entity: str, user_id: int) -> None:
        await conn.execute(delete(form_drafts).where(self._where(app, entity, user_id)))
