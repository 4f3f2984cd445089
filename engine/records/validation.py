"""Validation of record input against an entity: every problem reported with its JSON path."""

from __future__ import annotations

from typing import Any

from engine.auth.policy import Scope
from engine.core.actor import Actor
from engine.core.errors import ErrorCollector, pointer
from engine.schema.field_types import InvalidValue
from engine.schema.model import CompiledEntity

CLIENT_WRITABLE_SYSTEM = {"owner"}
TRUSTED_SOURCES = {"rule", "process", "system", "import"}


def validate_input(
    entity: CompiledEntity, data: Any, actor: Actor, errors: ErrorCollector, *, partial: bool, path: str = "",
    scope: Scope | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Parse a create (partial=False) or update (partial=True) payload into column values. With a
    scope, its hidden fields answer as unknown, its read-only fields refuse writes, and the owner
    may be set to someone else only with the assign right (no mass assignment)."""
    hidden = scope.hidden if scope else frozenset()
    locked = scope.read_only if scope else frozenset()
    if not isinstance(data, dict):
        errors.add(path, "type", "a record must be a JSON object")
        return {}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        f = None if key in hidden else entity.fields.get(key)
        if f is None:
            _non_field(entity, key, raw, values, errors, path)
            if key == "owner" and scope is not None and not scope.rights.assign and raw != actor.user_id:
                errors.add(path + "/owner", "read_only", "you may not assign records to someone else")
        elif f.type.generated or f.type.computed or key in locked or (f.cfg.read_only and actor.source not in TRUSTED_SOURCES):
            errors.add(path + pointer(key), "read_only", f"{key!r} is read-only")
        elif raw is None:
            if f.cfg.required:
                errors.add(path + pointer(key), "required", f"{key!r} is required")
            values[key] = None
        else:
            try:
                values[key] = f.parse(raw)
            except InvalidValue as exc:
                errors.add(path + pointer(key), exc.code, exc.message)
    if not partial:
        _defaults(entity, data, values, errors, path)
    return values


def _defaults(entity: CompiledEntity, data: dict[str, Any], values: dict[str, Any], errors: ErrorCollector, path: str) -> None:
    for key, f in entity.fields.items():
        if key in data or f.type.generated or f.type.computed:
            continue
        if f.cfg.default is not None:
            values[key] = f.default_value
        elif f.cfg.required:
            errors.add(path + pointer(key), "required", f"{key!r} is required")


def _non_field(entity: CompiledEntity, key: str, raw: Any, values: dict[str, Any], errors: ErrorCollector, path: str) -> None:
    where = path + pointer(key)
    if key == "owner":
        _owner(raw, values, errors, where)
    elif key in ("id", "version", "created_at", "updated_at", "created_by", "updated_by", "deleted_at"):
        errors.add(where, "read_only", f"{key!r} is set by the server")
    else:
        errors.add(where, "unknown_field", f"{str(key)[:100]!r} is not a field of {entity.key!r}")


def _owner(raw: Any, values: dict[str, Any], errors: ErrorCollector, where: str) -> None:
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 2**63 - 1):
        errors.add(where, "type", "owner must be a user id")
        return
    values["owner"] = raw
