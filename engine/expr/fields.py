"""Resolves field paths of an entity to bound fields: its own fields, system fields, and paths
through relations (`account.industry`, `account.owner.team`) with the hops a back end follows.

A path only reaches what the caller may read: a field in the caller's mask, or a target entity
missing from `targets` (the caller cannot read it), answers exactly like a missing field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.sql import ColumnElement

from engine.schema.definition import FieldBase
from engine.schema.field_types import field_types
from engine.schema.field_types.formula import value_type
from engine.schema.field_types.link import UserConfig
from engine.schema.field_types.number import IntegerConfig
from engine.schema.field_types.temporal import DateTimeConfig
from engine.schema.field_types.text import EmailConfig, TextConfig
from engine.schema.model import BoundField, CompiledEntity

MAX_HOPS = 3

# The caller's row filter on a target table (or an alias of it); None means every row.
RowFilter = Callable[[Any], ColumnElement[bool] | None]


class TeamConfig(FieldBase):
    """A user's primary team, reached as `<user field>.team`: compared by team id or `user.team`."""

    type: Literal["team"]


def _system_fields() -> dict[str, BoundField]:
    registry = field_types()
    out = {}
    for key in ("id", "version"):
        out[key] = BoundField(IntegerConfig(key=key, type="integer"), registry["integer"])
    for key in ("created_at", "updated_at"):
        out[key] = BoundField(DateTimeConfig(key=key, type="datetime"), registry["datetime"])
    for key in ("owner", "created_by", "updated_by"):
        out[key] = BoundField(UserConfig(key=key, type="user"), registry["user"])
    return out


def _user_fields() -> dict[str, BoundField]:
    registry = field_types()
    return {
        "team": BoundField(TeamConfig(key="team", type="team"), registry["user"]),  # ids parse like user ids
        "email": BoundField(EmailConfig(key="email", type="email"), registry["email"]),
        "name": BoundField(TextConfig(key="name", type="text", max_length=200), registry["text"]),
    }


SYSTEM_FIELDS = _system_fields()
USER_FIELDS = _user_fields()  # what a path may read of a user (tg_users, primary team)


@dataclass(frozen=True, eq=False)
class Readable:
    """A relation target as one caller may read it: the fields hidden from them and their row filter."""

    entity: CompiledEntity
    hidden: frozenset[str] = frozenset()
    where: RowFilter | None = None


# Targets of a root entity's relations, keyed by entity key (same app) or "app.entity" (other apps).
Targets = Mapping[str, CompiledEntity | Readable]


@dataclass(frozen=True, eq=False)
class Hop:
    """One relation followed: `via` is the relation or user field of the previous step."""

    via: str
    target: Readable | None  # None: the user the field points at


@dataclass(frozen=True, eq=False)
class Ref:
    """A field read by a condition: `path` is also its key in native records ("account.industry")."""

    path: str
    field: BoundField
    hops: tuple[Hop, ...] = ()
    relation_target: tuple[str, str] | None = None  # (app, entity) when the field is a relation

    @property
    def kind(self) -> str:
        return value_type(self.field.cfg)


def resolve(entity: CompiledEntity, key: str, hidden: frozenset[str] = frozenset()) -> BoundField | None:
    """A field of the entity by key, or a system field; None when there is no such field or it is
    hidden from the caller (a hidden field answers exactly like a missing one: no inference)."""
    if key in hidden:
        return None
    return entity.fields.get(key) or SYSTEM_FIELDS.get(key)


def resolve_path(
    entity: CompiledEntity, path: str, hidden: frozenset[str] = frozenset(), targets: Targets | None = None
) -> Ref | None:
    """The field at the end of `path`, or None if any step is unknown or unreadable."""
    parts = path.split(".")
    if len(parts) > MAX_HOPS + 1:
        return None
    hops: list[Hop] = []
    current: Readable | None = Readable(entity, hidden)
    for part in parts[:-1]:
        if current is None:  # nothing leads on from a user's team, email or name
            return None
        f = resolve(current.entity, part, current.hidden)
        if f is None or f.cfg.type not in ("relation", "user"):
            return None
        nxt = None if f.cfg.type == "user" else _target(entity, current.entity, f, targets or {})
        if f.cfg.type == "relation" and nxt is None:
            return None
        hops.append(Hop(part, nxt))
        current = nxt
    last = parts[-1]
    f = USER_FIELDS.get(last) if current is None else resolve(current.entity, last, current.hidden)
    if f is None:
        return None
    relation = current.entity.relation_target(f) if current is not None and f.cfg.type == "relation" else None
    return Ref(path, f, tuple(hops), relation)


def target_name(root: CompiledEntity, app: str, key: str) -> str:
    """How `targets` names an entity seen from `root`: its key in the same app, else "app.entity"."""
    return key if app == root.app else f"{app}.{key}"


def _target(root: CompiledEntity, owner: CompiledEntity, f: BoundField, targets: Targets) -> Readable | None:
    app, key = owner.relation_target(f)
    found = targets.get(target_name(root, app, key)) or targets.get(f"{app}.{key}")
    return found if isinstance(found, Readable) or found is None else Readable(found)
