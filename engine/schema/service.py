"""Metadata service: apps and entity definitions, published as versions and materialised as tables.

Every change runs in the caller's transaction: metadata, DDL and data checks commit or roll back
together. A change that could lose data is refused (409) with the reason, never attempted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.core.errors import BadRequest, Conflict, ErrorCollector, ErrorDetail, NotFound, ValidationFailed
from engine.core.sql import short_name
from engine.formula import Env, child_refs
from engine.schema import ddl
from engine.schema.definition import EntityDefinition, parse_entity
from engine.schema.evolution import plan_changes, recompute_formulas
from engine.schema.field_types import field_types
from engine.schema.formulas import Child, check_formulas, find_children, parsed
from engine.schema.model import CompiledEntity, bind, build_table
from engine.schema.store import EntityStore
from engine.schema.tables import apps, entities, entity_versions


@dataclass
class SchemaService:
    store: EntityStore
    clock: Clock

    # -- apps ---------------------------------------------------------------------------------
    async def create_app(
        self, conn: AsyncConnection, key: str, label: Any, description: Any, icon: str | None = None, color: str | None = None
    ) -> dict[str, Any]:
        found = (await conn.execute(select(apps.c.deleted_at).where(apps.c.key == key))).first()
        if found is not None:
            where = " in the recycle bin: restore it, or choose another key" if found.deleted_at else ""
            taken = f"the key {key!r} is taken" + (" by an app in the recycle bin" if found.deleted_at else "")
            raise Conflict(f"app {key!r} already exists{where}", errors=[_err("/key", "taken", taken)])
        now = self.clock.now()
        values = {"key": key, "label": label, "description": description, "icon": icon, "color": color}
        await conn.execute(insert(apps).values(**values, created_at=now, updated_at=now))
        return await self.get_app(conn, key)

    async def get_app(self, conn: AsyncConnection, key: str, *, binned: bool = False) -> dict[str, Any]:
        """The live app (or, `binned=True`, the app in the recycle bin); NotFound otherwise."""
        row = (await conn.execute(select(apps).where(apps.c.key == key))).first()
        if row is None or (row.deleted_at is not None) != binned:
            where = "in the recycle bin" if binned else "found"
            raise NotFound(f"app {key!r} not {where}")
        return _app_json(row)

    async def list_apps(self, conn: AsyncConnection, *, binned: bool = False) -> list[dict[str, Any]]:
        """Live apps by key (or, `binned=True`, the apps in the recycle bin)."""
        query = select(apps).where(apps.c.deleted_at.is_not(None) if binned else apps.c.deleted_at.is_(None))
        return [_app_json(r) for r in (await conn.execute(query.order_by(apps.c.key))).all()]

    async def update_app(self, conn: AsyncConnection, key: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Labels, description, icon, colour; and the key itself while the app has no entity (live or binned)."""
        app = await self.get_app(conn, key)
        new_key = changes.get("key", key)
        if new_key != key:
            count = (
                await conn.execute(select(func.count()).select_from(entities).where(entities.c.app_id == app["id"]))
            ).scalar_one()
            if count:
                error = _err("/key", "immutable", "the key cannot change once the app has a published form")
                raise ValidationFailed("Invalid app", errors=[error])
            if (await conn.execute(select(apps.c.id).where(apps.c.key == new_key))).first():
                raise Conflict(f"app {new_key!r} already exists", errors=[_err("/key", "taken", f"the key {new_key!r} is taken")])
        await conn.execute(update(apps).where(apps.c.key == key).values(**changes, updated_at=self.clock.now()))
        return await self.get_app(conn, new_key)

    async def delete_app(self, conn: AsyncConnection, key: str, confirm: str | None) -> dict[str, Any]:
        """Move the app to the recycle bin: it leaves every list and its records cannot be reached, but its
        definitions, tables and data stay as they are until it is restored."""
        app = await self.get_app(conn, key)
        _require_confirmation(confirm, key)
        referrers = [
            ref for e in await self.store.list(conn, key) for ref in await self._referrers(conn, key, e.key, exclude=e.id)
            if ref.split(".")[0] != key
        ]  # fmt: skip
        if referrers:
            raise Conflict(f"entities of other apps relate to {key!r}: {', '.join(referrers)}; remove those fields first")
        await conn.execute(update(apps).where(apps.c.id == app["id"]).values(deleted_at=self.clock.now()))
        return await self.get_app(conn, key, binned=True)

    async def restore_app(self, conn: AsyncConnection, key: str) -> dict[str, Any]:
        app = await self.get_app(conn, key, binned=True)
        await conn.execute(update(apps).where(apps.c.id == app["id"]).values(deleted_at=None, updated_at=self.clock.now()))
        return await self.get_app(conn, key)

    async def purge_app(self, conn: AsyncConnection, key: str, confirm: str | None) -> None:
        """Remove an app from the recycle bin for good; only an app without entities (purge those first)."""
        app = await self.get_app(conn, key, binned=True)
        _require_confirmation(confirm, key)
        count = (
            await conn.execute(select(func.count()).select_from(entities).where(entities.c.app_id == app["id"]))
        ).scalar_one()
        if count:
            raise Conflict(f"app {key!r} still has {count} entities; restore it, delete and purge them first")
        await conn.execute(delete(apps).where(apps.c.key == key))

    # -- entities ------------------------------------------------------------------------------
    async def create_entity(self, conn: AsyncConnection, app: str, doc: Any, actor: Actor) -> CompiledEntity:
        app_row = await self.get_app(conn, app)
        definition = parse_entity(doc, field_types())
        await self._check_targets(conn, app, definition)
        await self._check_formulas(conn, app, definition)
        taken = (
            await conn.execute(
                select(entities.c.deleted_at).where(entities.c.app_id == app_row["id"], entities.c.key == definition.key)
            )
        ).first()
        if taken is not None:
            where = " (it is in the recycle bin: restore or purge it)" if taken.deleted_at else ""
            raise Conflict(f"entity {definition.key!r} already exists in app {app!r}{where}")
        table_name = await self._free_table_name(conn, app, definition.key)
        now = self.clock.now()
        entity_id = (
            await conn.execute(
                insert(entities).values(
                    app_id=app_row["id"], key=definition.key, table_name=table_name, version=1,
                    definition=definition.to_json(), removed_fields=[], created_at=now, updated_at=now,
                ).returning(entities.c.id)
            )
        ).scalar_one()  # fmt: skip
        await ddl.create_table(conn, build_table(table_name, bind(definition.fields)))
        await self._record_version(conn, entity_id, 1, definition.to_json(), {"created": True}, actor)
        return await self.store.get(conn, app, definition.key)

    async def update_entity(
        self, conn: AsyncConnection, app: str, key: str, doc: Any, actor: Actor, expected_version: int | None = None
    ) -> CompiledEntity:
        current = await self.store.get(conn, app, key)
        if expected_version is not None and expected_version != current.version:
            raise Conflict(
                f"entity {key!r} is at version {current.version}, not {expected_version}; reload and reapply your change",
                current_version=current.version,
            )
        definition = parse_entity(doc, field_types())
        if definition.key != key:
            raise ValidationFailed("Invalid entity definition", errors=[_err("/key", "immutable", "an entity key cannot change")])
        await self._check_targets(conn, app, definition)
        children = await self._check_formulas(conn, app, definition)
        plan = await plan_changes(conn, current, definition)
        await plan.apply(conn)
        version = current.version + 1
        await conn.execute(
            update(entities)
            .where(entities.c.id == current.id)
            .values(
                definition=definition.to_json(), removed_fields=plan.removed_json(), version=version, updated_at=self.clock.now()
            )
        )
        await self._record_version(conn, current.id, version, definition.to_json(), plan.summary(), actor)
        try:
            updated = await self.store.get(conn, app, key)
            await self._check_folding(conn, app, key)
            if plan.recompute:
                await recompute_formulas(conn, updated, children, Env.at(self.clock.now()))
        except Exception:
            self.store.forget()  # it compiled a version this transaction will not keep
            raise
        return updated

    async def check_entity(self, conn: AsyncConnection, app: str, doc: Any) -> EntityDefinition:
        """What publishing `doc` would check before touching data: its shape, each field's config, relation
        targets and formulas (each error at its JSON path, a formula's with the parser's line and column).
        Nothing is written; changes refused for the data already stored are found only on publish."""
        await self.get_app(conn, app)
        definition = parse_entity(doc, field_types())
        await self._check_targets(conn, app, definition)
        await self._check_formulas(conn, app, definition)
        return definition

    async def delete_entity(self, conn: AsyncConnection, app: str, key: str, confirm: str | None) -> None:
        """Move an entity to the recycle bin: its table and data stay until purged."""
        entity = await self.store.get(conn, app, key)
        _require_confirmation(confirm, key)
        referrers = await self._referrers(conn, app, key, exclude=entity.id)
        if referrers:
            raise Conflict(f"entity {key!r} is the target of relation fields: {', '.join(referrers)}; remove them first")
        await conn.execute(update(entities).where(entities.c.id == entity.id).values(deleted_at=self.clock.now()))

    async def restore_entity(self, conn: AsyncConnection, app: str, key: str) -> CompiledEntity:
        row = await self._binned(conn, app, key)
        await conn.execute(update(entities).where(entities.c.id == row.id).values(deleted_at=None))
        return await self.store.get(conn, app, key)

    async def purge_entity(self, conn: AsyncConnection, app: str, key: str, confirm: str | None) -> None:
        """Drop a binned entity's table for good. Its version history is removed with it."""
        row = await self._binned(conn, app, key)
        _require_confirmation(confirm, key)
        table = build_table(row.table_name, [])
        await ddl.drop_table(conn, table)
        await conn.execute(delete(entity_versions).where(entity_versions.c.entity_id == row.id))
        await conn.execute(delete(entities).where(entities.c.id == row.id))

    async def purge_removed_fields(
        self, conn: AsyncConnection, app: str, key: str, confirm: str | None, actor: Actor
    ) -> CompiledEntity:
        """Drop the kept columns of removed fields; their data is gone after this."""
        entity = await self.store.get(conn, app, key)
        _require_confirmation(confirm, key)
        if not entity.removed:
            raise Conflict(f"entity {key!r} has no removed fields to purge")
        for f in bind(entity.removed):
            await ddl.drop_column(conn, entity.table, f)
        purged = [f.key for f in entity.removed]
        await conn.execute(
            update(entities).where(entities.c.id == entity.id).values(removed_fields=[], version=entity.version + 1)
        )
        await self._record_version(
            conn, entity.id, entity.version + 1, entity.definition.to_json(), {"purged_fields": purged}, actor
        )
        return await self.store.get(conn, app, key)

    async def binned_entities(self, conn: AsyncConnection, app: str) -> list[dict[str, Any]]:
        """Entities in the app's recycle bin: their keys, labels and when they were deleted."""
        app_row = await self.get_app(conn, app)
        rows = (
            await conn.execute(
                select(entities.c.key, entities.c.definition, entities.c.version, entities.c.deleted_at)
                .where(entities.c.app_id == app_row["id"], entities.c.deleted_at.is_not(None))
                .order_by(entities.c.key)
            )
        ).all()
        return [{"key": r.key, "label": r.definition["label"], "version": r.version, "deleted_at": r.deleted_at} for r in rows]

    async def versions(self, conn: AsyncConnection, app: str, key: str) -> list[dict[str, Any]]:
        entity = await self.store.get(conn, app, key)
        rows = (
            await conn.execute(
                select(entity_versions).where(entity_versions.c.entity_id == entity.id).order_by(entity_versions.c.version)
            )
        ).all()
        return [
            {
                "version": r.version,
                "definition": r.definition,
                "change": r.change,
                "created_at": r.created_at,
                "created_by": r.created_by,
            }
            for r in rows
        ]

    # -- helpers -------------------------------------------------------------------------------
    async def _check_targets(self, conn: AsyncConnection, app: str, definition: EntityDefinition) -> None:
        errors = ErrorCollector()
        for i, f in enumerate(definition.fields):
            if f.type != "relation":
                continue
            target_app, _, target = f.target.rpartition(".")
            if (target_app or app, target) == (app, definition.key):
                continue  # self-reference (e.g. parent account)
            if await self.store.get_or_none(conn, target_app or app, target) is None:
                errors.add(f"/fields/{i}/target", "unknown_entity", f"relation target {f.target!r} does not exist")
        errors.raise_if_any("Invalid entity definition")

    async def _check_formulas(self, conn: AsyncConnection, app: str, definition: EntityDefinition) -> dict[str, Child]:
        """Formula fields read fields that exist, give what they return, form no cycle, and fold
        child entities that point at this one; the children found, by child key."""
        errors = ErrorCollector()
        children = await find_children(conn, self.store, app, definition.key, definition.fields, errors)
        check_formulas(list(definition.fields), children, errors)
        errors.raise_if_any("Invalid entity definition")
        return children

    async def _check_folding(self, conn: AsyncConnection, app: str, key: str) -> None:
        """Totals of other entities over this one (SUM(order_line.amount)) must still hold after its
        change: a removed field or relation they fold is refused (409), not left to compute 0."""
        problems = []
        for other in await self.store.list(conn, app):
            folded = {r.entity for f in parsed(other.definition.fields).values() for r in child_refs(f)}
            if other.key == key or key not in folded:
                continue
            try:
                await self._check_formulas(conn, app, other.definition)
            except ValidationFailed as exc:
                problems += [ErrorDetail("", "formula", f"{other.key}{e.path}: {e.message}") for e in exc.errors]
        if problems:
            raise Conflict(f"formulas of other entities fold {key!r} records and would break", errors=problems)

    async def _referrers(self, conn: AsyncConnection, app: str, key: str, exclude: int) -> list[str]:
        found = []
        for other_app in (a["key"] for a in await self.list_apps(conn)):
            for e in await self.store.list(conn, other_app):
                if e.id == exclude:
                    continue
                found += [f"{e.app}.{e.key}.{f.key}" for f in e.relations() if e.relation_target(f) == (app, key)]
        return found

    async def _free_table_name(self, conn: AsyncConnection, app: str, key: str) -> str:
        """ "app__entity", or with a number when keys with "__" make two entities' names meet."""
        for n in range(1, 1000):
            name = short_name(app, "", key, *([str(n)] if n > 1 else []))
            if name.startswith("sqlite_"):  # SQLite reserves these names
                name = short_name("x", app, "", key, *([str(n)] if n > 1 else []))
            if (await conn.execute(select(entities.c.id).where(entities.c.table_name == name))).first() is None:
                return name
        raise Conflict(f"no free table name for {app}.{key}")

    async def _binned(self, conn: AsyncConnection, app: str, key: str) -> Any:
        row = (
            await conn.execute(
                select(entities).join(apps, apps.c.id == entities.c.app_id).where(apps.c.key == app, entities.c.key == key)
            )
        ).first()
        if row is None or row.deleted_at is None:
            raise NotFound(f"entity {key!r} is not in the recycle bin of app {app!r}")
        return row

    async def _record_version(
        self, conn: AsyncConnection, entity_id: int, version: int, definition: Any, change: Any, actor: Actor
    ) -> None:
        await conn.execute(
            insert(entity_versions).values(
                entity_id=entity_id, version=version, definition=definition, change=change,
                created_at=self.clock.now(), created_by=actor.user_id,
            )
        )  # fmt: skip


def _app_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "key": row.key, "label": row.label, "description": row.description, "icon": row.icon,
            "color": row.color, "created_at": row.created_at, "updated_at": row.updated_at,
            "deleted_at": row.deleted_at}  # fmt: skip


def _require_confirmation(confirm: str | None, key: str) -> None:
    if confirm != key:
        raise BadRequest(f"this change is destructive: repeat the key to confirm it (confirm={key})")


def _err(path: str, code: str, message: str) -> ErrorDetail:
    return ErrorDetail(path, code, message)
