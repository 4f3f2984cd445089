"""Match keys: one digest of a record's normalised values per duplicate rule, kept in tg_dedup_keys.

Keys are written by a record hook on every create, update, delete, restore and purge, in the same
transaction as the change, for live records only (a binned record duplicates nothing). Every path
computes a key from the record's JSON values (`record_json`), so a key written by the hook, by a
rebuild or asked for by a check is the same text for the same value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.records.dedup.normalize import NORMALIZERS
from engine.records.dedup.tables import dedup_built, dedup_keys
from engine.records.events import RecordEvent
from engine.records.serialize import record_json
from engine.schema.definition import DuplicateRule
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

BUILD_CHUNK = 2000
IN_CHUNK = 1000  # values per IN list: PostgreSQL takes at most 32,767 parameters in one statement
LIVE_KINDS = {"created", "updated", "restored"}
GONE_KINDS = {"deleted", "purged"}


def chunks(items: list[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rules_of(entity: CompiledEntity) -> list[DuplicateRule]:
    return list(entity.definition.options.duplicates or [])


def rule_fields(rule: DuplicateRule) -> list[str]:
    return [m.field for m in rule.match]


def rule_key(rule: DuplicateRule, record: Mapping[str, Any]) -> str | None:
    """The digest two records must share to match under `rule`; None when a matched field gives no
    key (a record with no phone is nobody's duplicate by phone)."""
    parts = []
    for m in rule.match:
        part = NORMALIZERS[m.normalize](record.get(m.field))
        if part is None:
            return None
        parts.append(part)
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def json_values(entity: CompiledEntity, native: Mapping[str, Any]) -> dict[str, Any]:
    """Native column values (a pending change) as the record's JSON values, the form keys are made of."""
    out = {}
    for key, value in native.items():
        f = entity.fields.get(key)
        if f is not None:
            out[key] = None if value is None else f.type.dump(f.cfg, value)
    return out


def _rows(entity: CompiledEntity, rules: list[DuplicateRule], records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"app": entity.app, "entity": entity.key, "rule": rule.key, "record_id": r["id"], "key": k}
        for r in records
        for rule in rules
        if (k := rule_key(rule, r)) is not None
    ]


async def write_keys(
    conn: AsyncConnection, entity: CompiledEntity, rules: list[DuplicateRule], live: list[Mapping[str, Any]], gone: list[int]
) -> None:
    """Replace the keys of the `live` records (JSON records with an id) and drop those of `gone` ids."""
    k = dedup_keys
    ids = [r["id"] for r in live] + gone
    if not ids or not rules:
        return
    names = [r.key for r in rules]
    for chunk in chunks(ids):
        await conn.execute(
            delete(k).where(k.c.app == entity.app, k.c.entity == entity.key, k.c.rule.in_(names), k.c.record_id.in_(chunk))
        )
    rows = _rows(entity, rules, live)
    if rows:
        await conn.execute(insert(k), rows)


@dataclass
class DedupKeys:
    """The record hook that keeps keys current, and the one-time build of a rule's keys."""

    store: EntityStore
    # (app, entity, definition version) -> its compiled entity, or None when it has no rules: the
    # hook runs on every write of every entity and most have none.
    _seen: dict[tuple[str, str, int], CompiledEntity | None] = field(default_factory=dict)

    async def _entity(self, conn: AsyncConnection, e: RecordEvent) -> CompiledEntity | None:
        cache_key = (e.app, e.entity, e.entity_version)
        if cache_key not in self._seen:
            entity = await self.store.get_or_none(conn, e.app, e.entity)
            self._seen[cache_key] = entity if entity is not None and rules_of(entity) else None
        return self._seen[cache_key]

    async def after_change(self, conn: AsyncConnection, events: list[RecordEvent]) -> None:
        if not events:
            return
        entity = await self._entity(conn, events[0])
        if entity is None:
            return
        rules = rules_of(entity)
        watched = {f for rule in rules for f in rule_fields(rule)}
        live = [e.after for e in events if e.kind in LIVE_KINDS and e.after and _touches(e, watched)]
        gone = [e.record_id for e in events if e.kind in GONE_KINDS]
        await write_keys(conn, entity, rules, live, gone)

    async def ensure_built(self, conn: AsyncConnection, entity: CompiledEntity) -> None:
        """Build the keys of every rule not yet built for this definition version (a rule added or
        changed since, or records written before it existed): one pass over the live records."""
        b = dedup_built
        built = dict(
            (
                await conn.execute(select(b.c.rule, b.c.entity_version).where(b.c.app == entity.app, b.c.entity == entity.key))
            ).all()
        )
        stale = [r for r in rules_of(entity) if built.get(r.key) != entity.version]
        if not stale:
            return
        try:
            async with conn.begin_nested():
                await self._build(conn, entity, stale)
        except IntegrityError:
            pass  # a concurrent request built the same keys first (PostgreSQL); theirs are committed and current

    async def _build(self, conn: AsyncConnection, entity: CompiledEntity, rules: list[DuplicateRule]) -> None:
        k, b, t = dedup_keys, dedup_built, entity.table
        names = [r.key for r in rules]
        await conn.execute(delete(k).where(k.c.app == entity.app, k.c.entity == entity.key, k.c.rule.in_(names)))
        columns = sorted({f for r in rules for f in rule_fields(r)})
        last = 0
        while True:
            query = (
                select(t.c.id, *(t.c[c] for c in columns))
                .where(t.c.id > last, t.c.deleted_at.is_(None))
                .order_by(t.c.id)
                .limit(BUILD_CHUNK)
            )
            chunk = (await conn.execute(query)).all()
            if not chunk:
                break
            rows = _rows(entity, rules, [record_json(entity, r, columns) for r in chunk])
            if rows:
                await conn.execute(insert(k), rows)
            last = chunk[-1].id
        await conn.execute(delete(b).where(b.c.app == entity.app, b.c.entity == entity.key, b.c.rule.in_(names)))
        await conn.execute(
            insert(b), [{"app": entity.app, "entity": entity.key, "rule": n, "entity_version": entity.version} for n in names]
        )


def _touches(e: RecordEvent, watched: set[str]) -> bool:
    """An update that changed no matched field leaves the keys as they are."""
    return e.kind != "updated" or any((e.before or {}).get(f) != (e.after or {}).get(f) for f in watched)


def key_pairs_filter(entity: CompiledEntity, pairs: set[tuple[str, str]]) -> Any:
    """WHERE (rule, key) is one of `pairs`, for one entity (served by the key index)."""
    k = dedup_keys
    by_rule: dict[str, set[str]] = {}
    for rule, key in pairs:
        by_rule.setdefault(rule, set()).add(key)
    return and_(
        k.c.app == entity.app,
        k.c.entity == entity.key,
        or_(*(and_(k.c.rule == rule, k.c.key.in_(sorted(keys))) for rule, keys in by_rule.items())),
    )
