"""Storing process definitions: drafts checked whole, published as numbered versions.

Like rules, every save is checked whole, so a stored draft was publishable when it was saved;
publishing checks it again (users or fields may have gone since) and copies it into
tg_process_versions. New instances start on the published version; running ones finish on the
version they started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.errors import Conflict, ErrorCollector, NotFound
from engine.process.compile import Checked, check_process
from engine.process.runtime import ProcessEngine
from engine.process.tables import instances, process_versions, processes


@dataclass
class ProcessService:
    engine: ProcessEngine

    async def check(self, conn: AsyncConnection, app: str, doc: Any) -> Checked:
        """The checked process, or a 422 listing every problem (node ids in the messages)."""
        errors = ErrorCollector()
        checked = await check_process(conn, doc, lambda key: self.engine.entity_for(conn, app, key), errors)
        errors.raise_if_any("The process has errors")
        assert checked is not None
        return checked

    async def list(self, conn: AsyncConnection, app: str, entity: str | None = None) -> list[dict[str, Any]]:
        query = select(processes).where(processes.c.app == app).order_by(processes.c.entity, processes.c.key)
        if entity is not None:
            query = query.where(processes.c.entity == entity)
        return [process_json(r) for r in (await conn.execute(query)).all()]

    async def row(self, conn: AsyncConnection, app: str, key: str) -> Any:
        row = (await conn.execute(select(processes).where(processes.c.app == app, processes.c.key == key))).first()
        if row is None:
            raise NotFound(f"app {app!r} has no process {key!r}")
        return row

    async def create(self, conn: AsyncConnection, app: str, doc: Any) -> dict[str, Any]:
        checked = await self.check(conn, app, doc)
        key = checked.definition.key
        taken = await conn.execute(select(func.count()).where(processes.c.app == app, processes.c.key == key))
        if taken.scalar():
            raise Conflict(f"app {app!r} already has a process {key!r}")
        now = self.engine.services.clock.now()
        values = {"app": app, "key": key, "entity": checked.definition.entity, "definition": checked.definition.to_json(),
                  "version": 1, "published_version": None, "created_at": now, "updated_at": now}  # fmt: skip
        await conn.execute(insert(processes).values(values))
        return process_json(await self.row(conn, app, key))

    async def replace(self, conn: AsyncConnection, app: str, key: str, doc: Any, expected: int | None) -> dict[str, Any]:
        old = await self.row(conn, app, key)
        if expected is not None and expected != old.version:
            raise Conflict(f"process {key!r} was changed by someone else (version {old.version})", current_version=old.version)
        checked = await self.check(conn, app, doc)
        if checked.definition.key != key:
            raise Conflict(f"a process's key cannot change (it is {key!r})")
        if checked.definition.entity != old.entity and old.published_version is not None:
            raise Conflict(f"process {key!r} is published for {old.entity!r}; its entity cannot change")
        stmt = (
            update(processes).where(processes.c.id == old.id, processes.c.version == old.version)
            .values(definition=checked.definition.to_json(), entity=checked.definition.entity, version=old.version + 1,
                    updated_at=self.engine.services.clock.now())
        )  # fmt: skip
        if (await conn.execute(stmt)).rowcount != 1:
            raise Conflict(f"process {key!r} was changed by someone else; reload it")
        return process_json(await self.row(conn, app, key))

    async def publish(self, conn: AsyncConnection, app: str, key: str, actor: Access) -> dict[str, Any]:
        """The draft becomes the next version; new instances start on it."""
        row = await self.row(conn, app, key)
        checked = await self.check(conn, app, row.definition)  # users, roles or fields may have gone since the save
        latest = await conn.execute(select(func.max(process_versions.c.version)).where(process_versions.c.process_id == row.id))
        version = (latest.scalar() or 0) + 1
        now = self.engine.services.clock.now()
        await conn.execute(
            insert(process_versions).values(process_id=row.id, version=version, definition=checked.definition.to_json(),
                                            published_at=now, published_by=actor.user_id)
        )  # fmt: skip
        await conn.execute(update(processes).where(processes.c.id == row.id).values(published_version=version, updated_at=now))
        self.engine.forget(app, row.entity)
        return process_json(await self.row(conn, app, key))

    async def versions(self, conn: AsyncConnection, app: str, key: str) -> list[dict[str, Any]]:
        row = await self.row(conn, app, key)
        query = select(process_versions).where(process_versions.c.process_id == row.id).order_by(process_versions.c.version)
        return [
            {
                "version": v.version,
                "published_at": v.published_at.isoformat(),
                "published_by": v.published_by,
                "definition": v.definition,
            }
            for v in (await conn.execute(query)).all()
        ]

    async def delete(self, conn: AsyncConnection, app: str, key: str) -> None:
        """Only a process with no running instance can go (its history goes with it)."""
        row = await self.row(conn, app, key)
        running = await conn.execute(select(func.count()).where(instances.c.process_id == row.id, instances.c.state == "running"))
        if n := running.scalar():
            raise Conflict(f"process {key!r} has {n} running instance(s); withdraw or finish them first")
        await conn.execute(delete(processes).where(processes.c.id == row.id))
        self.engine.forget(app, row.entity)


def process_json(row: Any) -> dict[str, Any]:
    return dict(row.definition) | {
        "id": row.id, "app": row.app, "version": row.version, "published_version": row.published_version,
        "updated_at": row.updated_at.isoformat(),
    }  # fmt: skip
