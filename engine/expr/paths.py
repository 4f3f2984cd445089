"""Field paths through relations for the Python back end: which paths a condition reads, the
targets a parser needs to resolve them, and loading their values into native records in one
query per hop per batch (never one per record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import user_teams, users
from engine.expr.condition import Compare, Group, Node, Not
from engine.expr.fields import MAX_HOPS, Hop, Readable, Ref, Targets, resolve_path, target_name
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

CHUNK = 5000  # ids per IN list: under every driver's bind-parameter limit


def required_paths(node: Node) -> set[str]:
    """Every field path the condition reads, operands included ("budget", "account.industry")."""
    if isinstance(node, Group):
        return set().union(*(required_paths(n) for n in node.items))
    if isinstance(node, Not):
        return required_paths(node.item)
    assert isinstance(node, Compare)
    return {node.ref.path} | ({node.value.path} if isinstance(node.value, Ref) else set())


async def entities_for(store: EntityStore, conn: AsyncConnection, entity: CompiledEntity) -> dict[str, CompiledEntity]:
    """The entities paths from `entity` may reach, keyed as `parse_condition` expects: every
    entity of its app by key, plus other apps' relation targets (up to MAX_HOPS away) as "app.entity"."""
    out = {e.key: e for e in await store.list(conn, entity.app)}
    frontier, seen = [entity], {entity.key}
    for _ in range(MAX_HOPS):
        reached = []
        for e in frontier:
            for f in e.relations():
                app, key = e.relation_target(f)
                name = target_name(entity, app, key)
                if name in seen:
                    continue
                seen.add(name)
                target = out.get(name) or await store.get_or_none(conn, app, key)
                if target is not None:
                    out[name] = target
                    reached.append(target)
        frontier = reached
    return out


@dataclass(eq=False)
class _Step:
    """One relation followed from one place in the paths: the fields read at its target, and the
    relations followed on from there."""

    hop: Hop
    reads: set[str] = field(default_factory=set)
    onward: dict[str, _Step] = field(default_factory=dict)


async def load_paths(
    conn: AsyncConnection, entities: Targets, entity: CompiledEntity, records: list[dict[str, Any]], paths: set[str]
) -> None:
    """Fill each dotted path (e.g. "account.industry") into the native records, in place: None
    where there is no related record, it is deleted, or (with `Readable` targets) not readable."""
    steps: dict[str, _Step] = {}
    for path in sorted(p for p in paths if "." in p):
        ref = resolve_path(entity, path, targets=entities)
        if ref is None:
            raise ValueError(f"{path!r} is not a path of {entity.app}.{entity.key}")
        level = steps
        for i, hop in enumerate(ref.hops):
            step = level.setdefault(hop.via, _Step(hop))
            if i == len(ref.hops) - 1:
                step.reads.add(ref.field.key)
            level = step.onward
    await _follow(conn, steps, [(r, r, "") for r in records])


async def _follow(conn: AsyncConnection, steps: dict[str, _Step], sources: list[tuple[dict[str, Any], Any, str]]) -> None:
    """`sources`: (record to fill, mapping holding the relation ids, path prefix so far)."""
    for via, step in steps.items():
        ids = {src.get(via) for _, src, _ in sources} - {None}
        rows = await _fetch(conn, step, ids) if ids else {}
        onward = []
        for record, src, prefix in sources:
            row = rows.get(src.get(via))
            base = f"{prefix}{via}."
            for key in step.reads:
                record[base + key] = None if row is None else row[key]
            onward.append((record, row or {}, base))
        if step.onward:
            await _follow(conn, step.onward, onward)


async def _fetch(conn: AsyncConnection, step: _Step, ids: set[Any]) -> dict[Any, Any]:
    """{id: row mapping} of the step's live, readable targets among `ids`."""
    ordered = sorted(ids)
    out: dict[Any, Any] = {}
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i : i + CHUNK]
        query = _user_query(step, chunk) if step.hop.target is None else _entity_query(step.hop.target, step, chunk)
        for row in await conn.execute(query):
            out.setdefault(row.id, row._mapping)  # a user's lowest primary team id comes first
    return out


def _entity_query(target: Readable, step: _Step, ids: list[Any]) -> Any:
    t = target.entity.table
    columns = [t.c[k] for k in sorted(step.reads | set(step.onward)) if k != "id"]
    query = select(t.c.id, *columns).where(t.c.id.in_(ids), t.c.deleted_at.is_(None))
    scope = target.where(t) if target.where is not None else None
    return query if scope is None else query.where(scope)


def _user_query(step: _Step, ids: list[Any]) -> Any:
    primary = and_(user_teams.c.user_id == users.c.id, user_teams.c.is_primary.is_(True))
    query = select(users.c.id, users.c.email, users.c.name, user_teams.c.team_id.label("team"))
    return query.outerjoin(user_teams, primary).where(users.c.id.in_(ids)).order_by(users.c.id, user_teams.c.team_id)
