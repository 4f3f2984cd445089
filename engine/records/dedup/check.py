"""Checking duplicate rules: on save (a before-save step), for one record, and as a scan.

On save, a `block` rule refuses the item (422 at the first matched field, code "duplicate", naming
the matching records the caller may read and only counting the others); a `warn` rule lets it save
and notes the matches in the request's `DuplicateNotes`, which the API turns into the
`Tangram-Duplicates` response header. Matches are found by the key index, never by scanning records.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.core.actor import Actor
from engine.core.blocks import holding
from engine.core.errors import NotFound, pointer
from engine.records.dedup.keys import DedupKeys, chunks, json_values, key_pairs_filter, rule_fields, rule_key, rules_of
from engine.records.dedup.tables import dedup_keys
from engine.records.events import PendingChange
from engine.records.reads import scoped
from engine.schema.definition import DuplicateRule, label_text
from engine.schema.model import CompiledEntity

MAX_SHOWN = 20  # ids named in one message or header


@dataclass
class DuplicateNotes:
    """Possible duplicates the warn rules found during one request: 'app.entity/id' of each."""

    found: list[str] = field(default_factory=list)


_notes: ContextVar[DuplicateNotes | None] = ContextVar("tangram_duplicate_notes", default=None)


def noting_duplicates() -> AbstractContextManager[DuplicateNotes]:
    """Collect the warn rules' matches of the saves made within this block (one request)."""
    return holding(_notes, DuplicateNotes())


@dataclass
class DuplicateChecks:
    keys: DedupKeys

    async def before_save(
        self, conn: AsyncConnection, entity: CompiledEntity, actor: Actor, changes: list[PendingChange]
    ) -> None:
        """Refuse items a block rule matches; note those a warn rule matches."""
        rules = rules_of(entity)
        wanted = [(c, rule, key) for c in changes for rule in rules if (key := _changed_key(entity, rule, c)) is not None]
        if not wanted:
            return
        await self.keys.ensure_built(conn, entity)
        holders = await _holders(conn, entity, {(rule.key, key) for _, rule, key in wanted})
        first_in_batch: dict[tuple[str, str], PendingChange] = {}
        readable = await _readable(conn, actor, entity, {rid for ids in holders.values() for rid in ids})
        for change, rule, key in wanted:
            others = sorted(rid for rid in holders.get((rule.key, key), ()) if rid != change.record_id)
            earlier = first_in_batch.setdefault((rule.key, key), change)
            if rule.action == "block":
                _refuse(change, entity, rule, others, readable, earlier if earlier is not change else None)
            elif others and (notes := _notes.get()) is not None:
                notes.found += [f"{entity.app}.{entity.key}/{rid}" for rid in others if rid in readable]

    async def duplicates_of(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int
    ) -> list[dict[str, Any]]:
        """The live records the caller may read that match this record under some rule, with the rules."""
        t = entity.table
        live = select(t.c.id).where(t.c.id == rid, t.c.deleted_at.is_(None))
        if (await conn.execute(scoped(live, scope(access, entity, "read")))).first() is None:
            raise NotFound(f"{entity.key} record {rid} not found")
        await self.keys.ensure_built(conn, entity)
        k = dedup_keys
        mine = select(k.c.rule, k.c.key).where(k.c.app == entity.app, k.c.entity == entity.key, k.c.record_id == rid)
        pairs = {(r.rule, r.key) for r in await conn.execute(mine)}
        if not pairs:
            return []
        query = scoped(
            select(k.c.record_id, k.c.rule)
            .join(t, t.c.id == k.c.record_id)
            .where(key_pairs_filter(entity, pairs), k.c.record_id != rid)
            .order_by(k.c.record_id, k.c.rule),
            scope(access, entity, "read"),
        )
        found: dict[int, list[str]] = {}
        for r in await conn.execute(query):
            found.setdefault(r.record_id, []).append(r.rule)
        return [{"id": i, "rules": rules} for i, rules in found.items()]

    async def scan(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, limit: int) -> list[dict[str, Any]]:
        """Groups of two or more live records the caller may read that share a key, per rule, oldest
        first: one GROUP BY ... HAVING count > 1 per rule over the key index, then the groups' members."""
        await self.keys.ensure_built(conn, entity)
        k, t = dedup_keys, entity.table
        s = scope(access, entity, "read")
        groups: list[dict[str, Any]] = []
        for rule in rules_of(entity):
            if len(groups) >= limit:
                break
            mine = scoped(
                select(k.c.key, func.min(k.c.record_id).label("first"))
                .join(t, t.c.id == k.c.record_id)
                .where(k.c.app == entity.app, k.c.entity == entity.key, k.c.rule == rule.key, t.c.deleted_at.is_(None)),
                s,
            )
            shared = mine.group_by(k.c.key).having(func.count() > 1).order_by("first").limit(limit - len(groups))
            keys = [r.key for r in await conn.execute(shared)]
            if keys:
                groups += await _members(conn, entity, s, rule, keys)
        return groups


async def _members(
    conn: AsyncConnection, entity: CompiledEntity, s: Any, rule: DuplicateRule, keys: list[str]
) -> list[dict[str, Any]]:
    k, t = dedup_keys, entity.table
    query = scoped(
        select(k.c.key, k.c.record_id)
        .join(t, t.c.id == k.c.record_id)
        .where(k.c.app == entity.app, k.c.entity == entity.key, k.c.rule == rule.key, k.c.key.in_(keys))
        .order_by(k.c.record_id),
        s,
    )
    by_key: dict[str, list[int]] = {key: [] for key in keys}
    for r in await conn.execute(query):
        by_key[r.key].append(r.record_id)
    return [{"rule": rule.key, "action": rule.action, "ids": ids} for ids in by_key.values()]


def _changed_key(entity: CompiledEntity, rule: DuplicateRule, change: PendingChange) -> str | None:
    """The key to look up for a create, or for an update that changes a matched field."""
    fields = rule_fields(rule)
    if change.kind == "update" and not any(
        f in change.values and change.values[f] != (change.before or {}).get(f) for f in fields
    ):
        return None
    return rule_key(rule, json_values(entity, {f: change.merged.get(f) for f in fields}))


async def _holders(
    conn: AsyncConnection, entity: CompiledEntity, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], list[int]]:
    """(rule, key) -> ids of the live records holding it: one indexed query for the whole batch."""
    k = dedup_keys
    found: dict[tuple[str, str], list[int]] = {}
    for chunk in chunks(sorted(pairs)):
        for r in await conn.execute(select(k.c.rule, k.c.key, k.c.record_id).where(key_pairs_filter(entity, set(chunk)))):
            found.setdefault((r.rule, r.key), []).append(r.record_id)
    return found


async def _readable(conn: AsyncConnection, actor: Actor, entity: CompiledEntity, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    access = actor if isinstance(actor, Access) else Access.system()
    t = entity.table
    found: set[int] = set()
    for chunk in chunks(sorted(ids)):
        query = scoped(select(t.c.id).where(t.c.id.in_(chunk)), scope(access, entity, "read"))
        found |= set((await conn.execute(query)).scalars())
    return found


def _refuse(
    change: PendingChange, entity: CompiledEntity, rule: DuplicateRule, others: list[int], readable: set[int],
    earlier: PendingChange | None,
) -> None:  # fmt: skip
    """Add the block rule's error at the item's first matched field."""
    path = change.path + pointer(rule.match[0].field)
    name = rule.key if rule.label is None else f"{rule.key} ({label_text(rule.label)})"
    if others:
        shown = [rid for rid in others if rid in readable]
        hidden = len(others) - len(shown)
        named = f"{entity.key} {', '.join(map(str, shown[:MAX_SHOWN]))}" if shown else ""
        unseen = f"{hidden} {entity.key} record{'s' if hidden > 1 else ''} you may not read" if hidden else ""
        which = " and ".join(p for p in (named, unseen) if p)
        change.errors.add(path, "duplicate", f"duplicate rule {name!r} blocks this: it matches {which}")
    elif earlier is not None:
        change.errors.add(
            path, "duplicate", f"duplicate rule {name!r} blocks this: it matches item {earlier.path or '/'} of this batch"
        )
