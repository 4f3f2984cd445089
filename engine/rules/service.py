"""Storing rules: create, replace, delete, list, each checked whole against its entity first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import Conflict, ErrorCollector, NotFound
from engine.expr.paths import entities_for
from engine.rules.compile import CompiledRule, check_rule, compile_rule
from engine.rules.definition import RuleDefinition, parse_rule
from engine.rules.engine import RuleEngine
from engine.rules.tables import rules
from engine.schema.model import CompiledEntity

# Webhook secrets are write-only: shown masked, kept when sent back masked.
SECRET_MASK = "********"  # noqa: S105 (the mask shown in a secret's place, not a secret)


@dataclass
class RuleService:
    engine: RuleEngine

    async def check(self, conn: AsyncConnection, app: str, doc: Any, old: Any = None) -> tuple[RuleDefinition, CompiledEntity]:
        """The rule, or a 422 listing every problem at its JSON path."""
        errors = ErrorCollector()
        if old is not None and isinstance(doc, dict):
            doc = _keep_secrets(doc, old.definition)
        rule = parse_rule(doc, errors)
        entity = None
        if rule is not None:
            entity = await self.engine.services.store.get_or_none(conn, app, rule.entity)
            if entity is None:
                errors.add("/entity", "unknown_entity", f"app {app!r} has no entity {rule.entity!r}")
            else:
                entities = await entities_for(self.engine.services.store, conn, entity)
                check_rule(rule, entity, entities, errors, processes=self.engine.services.start_process is not None)
        errors.raise_if_any("The rule has errors")
        assert rule is not None and entity is not None
        return rule, entity

    async def draft(self, conn: AsyncConnection, app: str, doc: Any) -> tuple[CompiledRule, CompiledEntity]:
        """An unsaved rule checked exactly as a save would check it (422 at its paths), compiled for a dry
        run. A draft of a stored rule (same key) keeps that rule's id and its masked secrets; nothing is written."""
        key = doc.get("key") if isinstance(doc, dict) else None
        old = None
        if isinstance(key, str):
            old = (await conn.execute(select(rules).where(rules.c.app == app, rules.c.key == key))).first()
        rule, entity = await self.check(conn, app, doc, old)
        entities = await entities_for(self.engine.services.store, conn, entity)
        return compile_rule(old.id if old else 0, old.version if old else 0, app, rule, entity, entities), entity

    async def list(self, conn: AsyncConnection, app: str, entity: str | None = None) -> list[dict[str, Any]]:
        query = select(rules).where(rules.c.app == app).order_by(rules.c.entity, rules.c.position, rules.c.id)
        if entity is not None:
            query = query.where(rules.c.entity == entity)
        return [rule_json(r) for r in (await conn.execute(query)).all()]

    async def row(self, conn: AsyncConnection, app: str, key: str) -> Any:
        row = (await conn.execute(select(rules).where(rules.c.app == app, rules.c.key == key))).first()
        if row is None:
            raise NotFound(f"app {app!r} has no rule {key!r}")
        return row

    async def create(self, conn: AsyncConnection, app: str, doc: Any) -> dict[str, Any]:
        rule, _ = await self.check(conn, app, doc)
        taken = await conn.execute(select(func.count()).where(rules.c.app == app, rules.c.key == rule.key))
        if taken.scalar():
            raise Conflict(f"app {app!r} already has a rule {rule.key!r}")
        now = self.engine.services.clock.now()
        values = _columns(rule) | {"app": app, "key": rule.key, "version": 1, "created_at": now, "updated_at": now}
        rid = (await conn.execute(insert(rules).values(values).returning(rules.c.id))).scalar_one()
        self.engine.forget(app, rule.entity)
        await self.engine.schedule(conn, rid, 1, rule)
        return rule_json(await self.row(conn, app, rule.key))

    async def replace(self, conn: AsyncConnection, app: str, key: str, doc: Any, expected: int | None) -> dict[str, Any]:
        old = await self.row(conn, app, key)
        if expected is not None and expected != old.version:
            raise Conflict(f"rule {key!r} was changed by someone else (version {old.version})", current_version=old.version)
        rule, _ = await self.check(conn, app, doc, old)
        if rule.key != key:
            raise Conflict(f"a rule's key cannot change (it is {key!r})")
        stmt = (
            update(rules)
            .where(rules.c.id == old.id, rules.c.version == old.version)
            .values(**_columns(rule), version=old.version + 1, updated_at=self.engine.services.clock.now())
        )
        if (await conn.execute(stmt)).rowcount != 1:
            raise Conflict(f"rule {key!r} was changed by someone else; reload it")
        self.engine.forget(app, old.entity)
        self.engine.forget(app, rule.entity)
        await self.engine.schedule(conn, old.id, old.version + 1, rule)
        return rule_json(await self.row(conn, app, key))

    async def delete(self, conn: AsyncConnection, app: str, key: str) -> None:
        row = await self.row(conn, app, key)
        await conn.execute(delete(rules).where(rules.c.id == row.id))
        self.engine.forget(app, row.entity)


def _columns(rule: RuleDefinition) -> dict[str, Any]:
    return {"entity": rule.entity, "definition": rule.to_json(), "enabled": rule.enabled, "position": rule.order}


def rule_json(row: Any) -> dict[str, Any]:
    definition = dict(row.definition)
    definition["actions"] = [{**a, "secret": SECRET_MASK} if a.get("secret") else a for a in definition["actions"]]
    return definition | {"id": row.id, "version": row.version, "app": row.app, "updated_at": row.updated_at.isoformat()}


def _keep_secrets(doc: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A masked secret sent back means "unchanged": take the stored one of the same action."""
    actions = doc.get("actions")
    if not isinstance(actions, list):
        return doc
    old = stored.get("actions", [])
    kept = [
        {**a, "secret": old[i].get("secret")}
        if isinstance(a, dict) and a.get("secret") == SECRET_MASK and i < len(old) else a
        for i, a in enumerate(actions)
    ]  # fmt: skip
    return {**doc, "actions": kept}
