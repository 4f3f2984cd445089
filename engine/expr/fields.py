"""Resolves field paths of an entity, system fields included, to bound fields."""

from __future__ import annotations

from engine.schema.field_types import field_types
from engine.schema.field_types.link import UserConfig
from engine.schema.field_types.number import IntegerConfig
from engine.schema.field_types.temporal import DateTimeConfig
from engine.schema.model import BoundField, CompiledEntity


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


SYSTEM_FIELDS = _system_fields()


def resolve(entity: CompiledEntity, key: str, hidden: frozenset[str] = frozenset()) -> BoundField | None:
    """A field of the entity by key, or a system field; None when there is no such field or it is
    hidden from the caller (a hidden field answers exactly like a missing one: no inference)."""
    if key in hidden:
        return None
    return entity.fields.get(key) or SYSTEM_FIELDS.get(key)
