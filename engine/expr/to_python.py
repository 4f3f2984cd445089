"""Python back end of conditions: AST -> a callable over one record's NATIVE values (what a row
holds: Decimal, date, aware datetime, a list for multi_select, int ids; dotted keys such as
"account.industry" hold path values, see `paths.load_paths`).

Closures are built once per condition, each specialised for its operator and operand, so
evaluating a record walks no tree and dispatches on nothing. Semantics are those of `to_sql`
(two-valued, documented there); relative-date boundaries come from `dates`, computed once per Env.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from engine.expr.condition import Compare, Group, Node, Not, to_doc
from engine.expr.dates import anniversaries, window
from engine.expr.fields import Ref
from engine.expr.operands import Var
from engine.expr.operators import ANNIVERSARY, LISTS, NEGATIONS, RELATIVE, TEXTUAL
from engine.formula.env import Env

Record = Mapping[str, Any]
Predicate = Callable[[Record, Env], bool]
Getter = Callable[[Record, Env], Any]

CMP = {"eq": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def compile_python(node: Node) -> Predicate:
    """A predicate `(record, env) -> bool` equivalent to `to_sql(node, ...)` on the same row."""
    if isinstance(node, Group):
        return _group(node.kind, [compile_python(n) for n in node.items])
    if isinstance(node, Not):
        inner = compile_python(node.item)
        return lambda r, env: not inner(r, env)
    return _compare(node)


def explain(node: Node, values: Record, env: Env) -> dict[str, Any]:
    """The condition as a tree with `"matched"` on every node and, on comparisons, the field's
    actual value (and the operand's, for a field or variable): what a rule dry run shows."""
    if isinstance(node, Group):
        items = [explain(n, values, env) for n in node.items]
        hits = [i["matched"] for i in items]
        return {node.kind: items, "matched": all(hits) if node.kind == "all" else any(hits)}
    if isinstance(node, Not):
        inner = explain(node.item, values, env)
        return {"not": inner, "matched": not inner["matched"]}
    out = to_doc(node) | {"actual": _json(node.ref, values.get(node.ref.path))}
    if isinstance(node.value, Ref | Var):
        out["operand"] = _json(node.value if isinstance(node.value, Ref) else node.ref, _getter(node.value)(values, env))
    return out | {"matched": compile_python(node)(values, env)}


def _json(ref: Ref, value: Any) -> Any:
    if value is None:
        return None
    try:
        return ref.field.type.dump(ref.field.cfg, value)
    except (AttributeError, TypeError, ValueError):  # not a native value: show it as given
        return value


def _group(kind: str, preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if kind == "all":
        if len(preds) == 2:
            a, b = preds
            return lambda r, env: a(r, env) and b(r, env)

        def every(r: Record, env: Env) -> bool:
            for p in preds:  # noqa: SIM110 - a plain loop: all() over a generator costs twice as much
                if not p(r, env):
                    return False
            return True

        return every
    if len(preds) == 2:
        a, b = preds
        return lambda r, env: a(r, env) or b(r, env)

    def some(r: Record, env: Env) -> bool:
        for p in preds:  # noqa: SIM110 - as in every()
            if p(r, env):
                return True
        return False

    return some


def _compare(node: Compare) -> Predicate:
    k, op, v = node.ref.path, node.op, node.value
    if op == "ne" and not isinstance(v, Ref | Var):
        return lambda r, env: r.get(k) != v
    if op == "not_in":
        values = frozenset(v)
        return lambda r, env: r.get(k) not in values
    if op in NEGATIONS:
        positive = _compare(Compare(node.ref, NEGATIONS[op], v))
        return lambda r, env: not positive(r, env)
    if op in CMP:
        return _binary(k, op, v)
    if op in RELATIVE:
        return _relative(node)
    return BUILDERS[op](k, v, node)


def _getter(value: Ref | Var) -> Getter:
    if isinstance(value, Ref):
        other = value.path
        return lambda r, env: r.get(other)
    read = value.read
    return lambda r, env: read(env)


def _binary(k: str, op: str, v: Any) -> Predicate:
    cmp = CMP[op]
    if isinstance(v, Ref | Var):
        right = _getter(v)
        return lambda r, env: (x := r.get(k)) is not None and (y := right(r, env)) is not None and cmp(x, y)
    if op == "eq":
        return lambda r, env: r.get(k) == v
    return lambda r, env: (x := r.get(k)) is not None and cmp(x, v)


def _per_env(compute: Callable[[Env], Any]) -> Callable[[Env], Any]:
    """`compute(env)` remembered for the last Env seen: boundaries are computed once per run, not per record."""
    last: list[tuple[Env | None, Any]] = [(None, None)]

    def get(env: Env) -> Any:
        seen, value = last[0]
        if seen is not env:
            value = compute(env)
            last[0] = (env, value)
        return value

    return get


def _relative(node: Compare) -> Predicate:
    k = node.ref.path
    if node.op == ANNIVERSARY:
        days = _per_env(anniversaries)
        return lambda r, env: (x := r.get(k)) is not None and (x.month, x.day) in days(env)
    op, span, kind = node.op, node.value, node.ref.kind
    bounds = _per_env(lambda env: window(op, span, kind, env))
    return lambda r, env: (x := r.get(k)) is not None and bounds(env).holds(x)


def _in(k: str, v: Any, node: Compare) -> Predicate:
    values = frozenset(v)
    return lambda r, env: r.get(k) in values


def _between(k: str, v: Any, node: Compare) -> Predicate:
    lo, hi = v
    return lambda r, env: (x := r.get(k)) is not None and lo <= x <= hi


def _contains(k: str, v: str, node: Compare) -> Predicate:
    part = v.lower()
    return lambda r, env: (x := r.get(k)) is not None and part in x.lower()


def _starts_with(k: str, v: str, node: Compare) -> Predicate:
    part = v.lower()
    return lambda r, env: (x := r.get(k)) is not None and x.lower().startswith(part)


def _ends_with(k: str, v: str, node: Compare) -> Predicate:
    part = v.lower()
    return lambda r, env: (x := r.get(k)) is not None and x.lower().endswith(part)


def _is_empty(k: str, v: Any, node: Compare) -> Predicate:
    """Empty means no value, and also "" for text and [] for a list kind (as in `to_sql`)."""
    if node.ref.kind in TEXTUAL or node.ref.kind in LISTS:
        return lambda r, env: (x := r.get(k)) is None or x == "" or x == []
    return lambda r, env: r.get(k) is None


def _has_any(k: str, v: Any, node: Compare) -> Predicate:
    wanted = frozenset(v)
    return lambda r, env: (x := r.get(k)) is not None and not wanted.isdisjoint(x)


def _has_all(k: str, v: Any, node: Compare) -> Predicate:
    wanted = frozenset(v)
    return lambda r, env: (x := r.get(k)) is not None and wanted.issubset(x)


def _changed(k: str, v: Any, node: Compare) -> Predicate:
    """Only an update has a before state; on anything else nothing has changed."""
    return lambda r, env: env.before is not None and env.before.get(k) != r.get(k)


def _changed_from(k: str, v: Any, node: Compare) -> Predicate:
    return lambda r, env: env.before is not None and env.before.get(k) == v and r.get(k) != v


def _changed_to(k: str, v: Any, node: Compare) -> Predicate:
    return lambda r, env: env.before is not None and r.get(k) == v and env.before.get(k) != v


BUILDERS: dict[str, Callable[[str, Any, Compare], Predicate]] = {
    "in": _in,
    "between": _between,
    "contains": _contains,
    "starts_with": _starts_with,
    "ends_with": _ends_with,
    "is_empty": _is_empty,
    "has_any": _has_any,
    "has_all": _has_all,
    "changed": _changed,
    "changed_from": _changed_from,
    "changed_to": _changed_to,
}
