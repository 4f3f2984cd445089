"""Relation and user cells resolved to ids for a whole batch: one query per field per batch, never one
per row, with answers cached for the rest of the import (the same account named on 5,000 rows is
looked up once).

A relation cell names its target by the target's display field or by any of its unique fields, within
what the importing user may read (their row scope and field mask); no match or several are row errors.
A user cell (and the owner column) names an active user by email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.auth.tables import users
from engine.records.reads import scoped
from engine.schema.field_types import InvalidValue
from engine.schema.model import BoundField, CompiledEntity
from engine.schema.store import EntityStore

CHUNK = 500  # values per IN list: well under every database's bound-parameter limit


@dataclass
class Resolved:
    """What a lookup text gave: the id, or why there is none."""

    id: int | None
    error: InvalidValue | None = None


@dataclass
class Lookups:
    store: EntityStore
    access: Access
    entity: CompiledEntity
    cache: dict[str, dict[str, Resolved]] = field(default_factory=dict)  # field key -> text -> answer

    async def resolve(self, conn: AsyncConnection, key: str, texts: set[str]) -> dict[str, Resolved]:
        """Answers for every text of one field (relation, user, or owner)."""
        known = self.cache.setdefault(key, {})
        wanted = sorted(t for t in texts if t not in known)
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            f = self.entity.fields.get(key)
            is_relation = f is not None and f.cfg.type == "relation"
            known.update(await (self._relation(conn, f, chunk) if is_relation else self._users(conn, chunk)))
        return known

    async def _users(self, conn: AsyncConnection, emails: list[str]) -> dict[str, Resolved]:
        email = func.lower(users.c.email)
        ids = dict((await conn.execute(select(email, users.c.id).where(email.in_(emails), users.c.active.is_(True)))).all())
        return {e: Resolved(ids[e]) if e in ids else Resolved(None, _no_user(e)) for e in emails}

    async def _relation(self, conn: AsyncConnection, f: BoundField, texts: list[str]) -> dict[str, Resolved]:
        app, key = self.entity.relation_target(f)
        target = self.entity if (app, key) == (self.entity.app, self.entity.key) else await self.store.get(conn, app, key)
        readable = scope(self.access, target, "read")
        columns = _match_fields(target, readable.hidden)
        if not columns:
            error = InvalidValue("not_found", f"{key!r} records have no display field or unique field to find them by")
            return {t: Resolved(None, error) for t in texts}
        parsed = {c.key: _parsed(c, texts) for c in columns}
        t = target.table
        terms = [t.c[c.key].in_(list(parsed[c.key])) for c in columns if parsed[c.key]]
        if not terms:
            return {text: Resolved(None, _missing(key, columns, text)) for text in texts}
        query = scoped(select(t.c.id, *(t.c[c.key] for c in columns)).where(or_(*terms), t.c.deleted_at.is_(None)), readable)
        matches: dict[str, set[int]] = {text: set() for text in texts}
        for row in (await conn.execute(query)).all():
            for c in columns:
                for text in parsed[c.key].get(row._mapping[c.key], ()):
                    matches[text].add(row.id)
        return {text: _answer(key, columns, text, ids) for text, ids in matches.items()}


def _no_user(email: str) -> InvalidValue:
    return InvalidValue("not_found", f"no active user has the email {email[:100]!r}")


def _match_fields(target: CompiledEntity, hidden: frozenset[str]) -> list[BoundField]:
    display = target.definition.display_field
    keys = [display] if display else []
    keys += [k for k, f in target.fields.items() if f.cfg.unique and k != display]
    return [target.fields[k] for k in keys if k in target.fields and k not in hidden]


def _parsed(f: BoundField, texts: list[str]) -> dict[Any, list[str]]:
    """Stored value -> the texts naming it through this field (texts the field cannot hold are left out)."""
    out: dict[Any, list[str]] = {}
    for text in texts:
        try:
            value = f.parse(int(text) if f.cfg.type in ("integer", "auto_number") and text.isdigit() else text)
        except (InvalidValue, ValueError):
            value = text if f.type.generated else None  # auto numbers are matched as they are written
        if value is not None:
            out.setdefault(value, []).append(text)
    return out


def _missing(key: str, columns: list[BoundField], text: str) -> InvalidValue:
    names = " or ".join(c.key for c in columns)
    return InvalidValue("not_found", f"no {key} record has {names} {text[:100]!r}")


def _answer(key: str, columns: list[BoundField], text: str, ids: set[int]) -> Resolved:
    if len(ids) == 1:
        return Resolved(next(iter(ids)))
    if not ids:
        return Resolved(None, _missing(key, columns, text))
    shown = ", ".join(str(i) for i in sorted(ids)[:5])
    unique = [c.key for c in columns if c.cfg.unique]
    hint = f"; use a unique field ({', '.join(unique)})" if unique else ""
    return Resolved(None, InvalidValue("ambiguous", f"{text[:100]!r} matches {len(ids)} {key} records (ids {shown}){hint}"))
