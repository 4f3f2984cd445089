"""Condition trees: parse JSON into a typed AST, checked against an entity at definition time.

    {"all": [{"field": "industry", "op": "eq", "value": "manufacturing"},
             {"field": "budget", "op": "gt", "value": 500000}]}

Groups: all / any / not. Every value is parsed by the field's own type, so comparing a date field to
a string that is not a date is an error with its JSON path, before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.core.errors import ErrorCollector
from engine.expr.fields import resolve
from engine.schema.field_types import InvalidValue
from engine.schema.model import BoundField, CompiledEntity

MAX_DEPTH = 16
MAX_NODES = 500

TEXTUAL = {"text", "long_text", "email", "phone", "url", "auto_number"}
ORDERED = {"integer", "decimal", "currency", "percent", "date", "datetime"}
EQUALITY = {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}
OPS_BY_TYPE: dict[str, set[str]] = {
    **{t: EQUALITY | {"contains", "not_contains", "starts_with", "ends_with"} for t in TEXTUAL},
    **{t: EQUALITY | {"gt", "gte", "lt", "lte", "between"} for t in ORDERED},
    **{t: EQUALITY for t in ("select", "boolean", "relation", "user")},
    **{t: {"is_empty", "is_not_empty"} for t in ("multi_select", "json")},
}
NO_VALUE = {"is_empty", "is_not_empty"}
TEXT_MATCH = {"contains", "not_contains", "starts_with", "ends_with"}
LIST_VALUE = {"in", "not_in"}
# Relaxed when parsing operands: a filter may compare with values the field would not store.
RELAXED = {"min": None, "max": None, "min_length": None, "max_length": 1_000_000, "pattern": None}


@dataclass(frozen=True)
class Compare:
    field: BoundField
    op: str
    value: Any  # parsed by the field type; a list for in/not_in and between


@dataclass(frozen=True)
class Group:
    kind: str  # all | any
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | Group | Not


def parse_condition(
    doc: Any, entity: CompiledEntity, errors: ErrorCollector, path: str = "", hidden: frozenset[str] = frozenset()
) -> Node | None:
    """Parse and type-check a condition; problems go to `errors` with JSON paths under `path`.
    Fields in `hidden` (the caller's field mask) are treated as unknown."""
    return _Parser(entity, errors, hidden).node(doc, path, 0)


@dataclass
class _Parser:
    entity: CompiledEntity
    errors: ErrorCollector
    hidden: frozenset[str]
    budget: int = MAX_NODES

    def node(self, doc: Any, path: str, depth: int) -> Node | None:
        return _parse(doc, self, path, depth)


def _parse(doc: Any, p: _Parser, path: str, depth: int) -> Node | None:
    errors = p.errors
    p.budget -= 1
    if depth > MAX_DEPTH or p.budget < 0:
        errors.add(path, "too_complex", f"conditions may nest {MAX_DEPTH} levels and hold {MAX_NODES} nodes at most")
        return None
    if not isinstance(doc, dict):
        errors.add(path, "type", "a condition must be an object")
        return None
    groups = [k for k in ("all", "any", "not") if k in doc]
    if groups:
        if len(doc) != 1:
            errors.add(path, "shape", f"a {groups[0]!r} group must have no other keys")
            return None
        kind = groups[0]
        if kind == "not":
            inner = p.node(doc["not"], f"{path}/not", depth + 1)
            return None if inner is None else Not(inner)
        if not isinstance(doc[kind], list) or not doc[kind]:
            errors.add(f"{path}/{kind}", "type", f"{kind!r} takes a non-empty list of conditions")
            return None
        items = [p.node(c, f"{path}/{kind}/{i}", depth + 1) for i, c in enumerate(doc[kind])]
        return Group(kind, tuple(i for i in items if i is not None))
    return _compare(doc, p, path)


def _compare(doc: dict[str, Any], p: _Parser, path: str) -> Node | None:
    entity, errors = p.entity, p.errors
    unknown = set(doc) - {"field", "op", "value"}
    if unknown:
        errors.add(path, "shape", f"unexpected keys {sorted(unknown)}; a comparison has field, op and value")
        return None
    key, op = doc.get("field"), doc.get("op")
    f = resolve(entity, key, p.hidden) if isinstance(key, str) else None
    if f is None:
        errors.add(f"{path}/field", "unknown_field", f"unknown field {str(key)[:100]!r}")
        return None
    allowed = OPS_BY_TYPE.get(f.cfg.type, set())
    if op not in allowed:
        errors.add(
            f"{path}/op",
            "unknown_op",
            f"operator {str(op)[:50]!r} does not apply to a {f.cfg.type} field; use one of {sorted(allowed)}",
        )
        return None
    if op in NO_VALUE:
        if "value" in doc:
            errors.add(f"{path}/value", "not_allowed", f"{op} takes no value")
            return None
        return Compare(f, op, None)
    value = _operand(f, op, doc.get("value"), errors, f"{path}/value")
    return None if value is _INVALID else Compare(f, op, value)


_INVALID = object()


def _operand(f: BoundField, op: str, raw: Any, errors: ErrorCollector, path: str) -> Any:
    if op in LIST_VALUE or op == "between":
        size_ok = isinstance(raw, list) and (len(raw) == 2 if op == "between" else 1 <= len(raw) <= 1000)
        if not size_ok:
            shape = "a list [low, high]" if op == "between" else "a list of 1-1000 values"
            errors.add(path, "type", f"{op} takes {shape}")
            return _INVALID
        values = [_one(f, op, v, errors, f"{path}/{i}") for i, v in enumerate(raw)]
        return _INVALID if _INVALID in values else values
    return _one(f, op, raw, errors, path)


def _one(f: BoundField, op: str, raw: Any, errors: ErrorCollector, path: str) -> Any:
    if raw is None:
        errors.add(path, "null", "compare with null using is_empty / is_not_empty")
        return _INVALID
    try:
        return parse_operand(f, raw, text_match=op in TEXT_MATCH)
    except InvalidValue as exc:
        errors.add(path, exc.code, exc.message)
        return _INVALID


def parse_operand(f: BoundField, raw: Any, text_match: bool = False) -> Any:
    """A value to compare a field with: parsed by the field's type, minus the limits that only
    apply to stored values (a filter may look for budgets below the field's minimum)."""
    if text_match or f.type.generated:  # fragments of text; auto numbers compare as text
        if not isinstance(raw, str) or "\x00" in raw:
            raise InvalidValue("type", "expected a string")
        return raw
    relaxed = f.cfg.model_copy(update={k: v for k, v in RELAXED.items() if k in type(f.cfg).model_fields})
    return f.type.parse(relaxed, raw)
