"""Condition trees: parse JSON into a typed AST, checked against an entity at definition time.

    {"all": [{"field": "industry", "op": "eq", "value": "manufacturing"},
             {"field": "account.budget", "op": "gt", "value": {"field": "target_budget"}},
             {"field": "last_activity_at", "op": "older_than", "value": {"amount": 3, "unit": "days"}}]}

Groups: all / any / not. Every literal is parsed by the field's own type, so comparing a date field
to a string that is not a date is an error with its JSON path, before anything runs. The AST is
what both back ends compile: `to_python` (a callable over a record) and `to_sql` (a WHERE clause).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.core.errors import ErrorCollector
from engine.expr import operands
from engine.expr.dates import Span
from engine.expr.fields import Ref, Targets, resolve_path
from engine.expr.operands import INVALID, Var, parse_operand
from engine.expr.operators import CHANGES, LIST_VALUE, NO_VALUE, OPERAND_OPS, OPS_BY_TYPE, SET_MATCH, SPANS
from engine.schema.model import BoundField, CompiledEntity

MAX_DEPTH = 16
MAX_NODES = 500

__all__ = ["Compare", "Group", "Node", "Not", "Var", "parse_condition", "parse_operand", "to_doc"]


@dataclass(frozen=True, eq=False)
class Compare:
    ref: Ref
    op: str
    # None (no value); a literal parsed by the field type (a list for in/not_in/between/has_*);
    # a Ref (another field); a Var; a Span (relative dates).
    value: Any = None

    @property
    def field(self) -> BoundField:
        return self.ref.field


@dataclass(frozen=True, eq=False)
class Group:
    kind: str  # all | any
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Not:
    item: Node


Node = Compare | Group | Not


def parse_condition(
    doc: Any,
    entity: CompiledEntity,
    errors: ErrorCollector,
    path: str = "",
    hidden: frozenset[str] = frozenset(),
    entities: Targets | None = None,
    allow_changes: bool = False,
) -> Node | None:
    """Parse and type-check a condition; problems go to `errors` with JSON paths under `path`.

    Fields in `hidden` (the caller's field mask) are treated as unknown. `entities` are the targets
    paths may reach (see `paths.entities_for`; without them only the entity's own fields resolve).
    `allow_changes` admits changed / changed_from / changed_to: rule conditions on updates only."""
    return _Parser(entity, errors, hidden, entities or {}, allow_changes).node(doc, path, 0)


@dataclass
class _Parser:
    entity: CompiledEntity
    errors: ErrorCollector
    hidden: frozenset[str]
    targets: Targets
    allow_changes: bool
    budget: int = MAX_NODES

    def node(self, doc: Any, path: str, depth: int) -> Node | None:
        self.budget -= 1
        if depth > MAX_DEPTH or self.budget < 0:
            self.errors.add(path, "too_complex", f"conditions may nest {MAX_DEPTH} levels and hold {MAX_NODES} nodes at most")
            return None
        if not isinstance(doc, dict):
            self.errors.add(path, "type", "a condition must be an object")
            return None
        groups = [k for k in ("all", "any", "not") if k in doc]
        if not groups:
            return self.compare(doc, path)
        kind = groups[0]
        if len(doc) != 1:
            self.errors.add(path, "shape", f"a {kind!r} group must have no other keys")
            return None
        if kind == "not":
            inner = self.node(doc["not"], f"{path}/not", depth + 1)
            return None if inner is None else Not(inner)
        if not isinstance(doc[kind], list) or not doc[kind]:
            self.errors.add(f"{path}/{kind}", "type", f"{kind!r} takes a non-empty list of conditions")
            return None
        items = [self.node(c, f"{path}/{kind}/{i}", depth + 1) for i, c in enumerate(doc[kind])]
        return Group(kind, tuple(i for i in items if i is not None))

    def ref(self, key: Any) -> Ref | None:
        return resolve_path(self.entity, key, self.hidden, self.targets) if isinstance(key, str) else None

    def compare(self, doc: dict[str, Any], path: str) -> Compare | None:
        errors = self.errors
        unknown = set(doc) - {"field", "op", "value"}
        if unknown:
            errors.add(path, "shape", f"unexpected keys {sorted(unknown)}; a comparison has field, op and value")
            return None
        key, op = doc.get("field"), doc.get("op")
        ref = self.ref(key)
        if ref is None:
            errors.add(f"{path}/field", "unknown_field", f"unknown field {str(key)[:100]!r}")
            return None
        allowed = OPS_BY_TYPE.get(ref.kind, frozenset())
        if op in CHANGES and op in allowed and not self.changes_allowed(ref, op, f"{path}/op"):
            return None
        if op not in allowed:
            listed = sorted(allowed if self.allow_changes else allowed - CHANGES)
            kind = f"{'an' if ref.kind[0] in 'aeiou' else 'a'} {ref.kind}"
            message = f"operator {str(op)[:50]!r} does not apply to {kind} field; use one of {listed}"
            errors.add(f"{path}/op", "unknown_op", message)
            return None
        if op in NO_VALUE:
            if "value" in doc:
                errors.add(f"{path}/value", "not_allowed", f"{op} takes no value")
                return None
            return Compare(ref, op)
        value = self.value(ref, op, doc.get("value"), f"{path}/value")
        return None if value is INVALID else Compare(ref, op, value)

    def changes_allowed(self, ref: Ref, op: str, path: str) -> bool:
        if not self.allow_changes:
            self.errors.add(path, "not_allowed", f"{op} is only known in rule conditions on updates")
        elif ref.hops:
            self.errors.add(path, "not_allowed", f"{op} applies to the record's own fields, not to {ref.path!r}")
        return self.allow_changes and not ref.hops

    def value(self, ref: Ref, op: str, raw: Any, path: str) -> Any:
        errors = self.errors
        if op in SPANS:
            return operands.span(ref.kind, raw, errors, path)
        if op in LIST_VALUE or op in SET_MATCH or op == "between":
            return operands.values(ref.field, op, raw, errors, path)
        if isinstance(raw, dict) and op in OPERAND_OPS and set(raw) in ({"field"}, {"var"}):
            if "var" in raw:
                return operands.variable(ref, raw, errors, path)
            return operands.other_field(ref, self.ref(raw["field"]), raw, errors, path)
        return operands.literal(ref.field, op, raw, errors, path)


def to_doc(node: Node) -> dict[str, Any]:
    """The JSON form of a node (literals as the API writes them): what explanations show."""
    if isinstance(node, Group):
        return {node.kind: [to_doc(n) for n in node.items]}
    if isinstance(node, Not):
        return {"not": to_doc(node.item)}
    out: dict[str, Any] = {"field": node.ref.path, "op": node.op}
    if node.op not in NO_VALUE:
        out["value"] = value_doc(node)
    return out


def value_doc(node: Compare) -> Any:
    v, f = node.value, node.field
    if isinstance(v, Ref):
        return {"field": v.path}
    if isinstance(v, Var):
        return {"var": v.name}
    if isinstance(v, Span):
        return {"amount": v.amount, "unit": v.unit}
    if node.op in LIST_VALUE or node.op == "between":
        return [f.type.dump(f.cfg, x) for x in v]
    return f.type.dump(f.cfg, v)
