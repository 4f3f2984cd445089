"""Python back end: a formula becomes a tree of closures, built once and then called per record.

The callable takes the record (field key -> native value: Decimal or int, str, bool, date, aware
datetime, list) and an Env. An aggregate reads its child key ("order_line.amount") from the
record as a list of the child values; a caller that folded it in SQL passes the result under
the call's `folded_key` ("SUM(order_line.amount)") instead.
Compile a formula that `check` accepted; the null rules are the ones docs/user-guide/formulas.md states.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from engine.formula.ast import Binary, Call, ChildRef, FieldRef, Formula, Literal, Node, Unary, Var, folded_key
from engine.formula.env import Env
from engine.formula.functions import Aggregate
from engine.formula.library import functions

Evaluator = Callable[[Mapping[str, Any], Env], Any]

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def compile_python(formula: Formula) -> Evaluator:
    """A callable computing the formula for one record."""
    return _compile(formula.root)


def _compile(node: Node) -> Evaluator:
    if isinstance(node, Literal):
        value = node.value
        return lambda r, e: value
    if isinstance(node, FieldRef):
        key = node.key
        return lambda r, e: r.get(key)
    if isinstance(node, Var):
        return _variable(node.name)
    if isinstance(node, Unary):
        return _unary(node)
    if isinstance(node, Binary):
        return _binary(node)
    if isinstance(node, Call):
        return _call(node)
    raise AssertionError(f"{node!r} outside an aggregate: the type checker refuses it")


def _variable(name: str) -> Evaluator:
    if name == "now":
        return lambda r, e: e.now
    if name == "today":
        return lambda r, e: e.today
    return lambda r, e: e.user_id


def _unary(node: Unary) -> Evaluator:
    inner = _compile(node.operand)
    if node.op == "NOT":
        return lambda r, e: not inner(r, e)
    return lambda r, e: None if (v := inner(r, e)) is None else -v


def _binary(node: Binary) -> Evaluator:
    left, right = _compile(node.left), _compile(node.right)
    op = node.op
    if op == "AND":
        return lambda r, e: bool(left(r, e)) and bool(right(r, e))
    if op == "OR":
        return lambda r, e: bool(left(r, e)) or bool(right(r, e))
    if op == "&":
        return lambda r, e: (left(r, e) or "") + (right(r, e) or "")
    if op in COMPARE:
        compare = COMPARE[op]

        def compared(r: Mapping[str, Any], e: Env) -> bool:
            a, b = left(r, e), right(r, e)
            return a is not None and b is not None and compare(a, b)

        return compared
    arithmetic = _ARITHMETIC[op]

    def computed(r: Mapping[str, Any], e: Env) -> Any:
        a, b = left(r, e), right(r, e)
        return None if a is None or b is None else arithmetic(Decimal(a), Decimal(b))

    return computed


def _divide(a: Decimal, b: Decimal) -> Decimal | None:
    try:
        return a / b
    except (DivisionByZero, InvalidOperation):
        return None


_ARITHMETIC: dict[str, Callable[[Decimal, Decimal], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide,
}  # fmt: skip


def _call(node: Call) -> Evaluator:
    fn = functions()[node.name]
    if len(node.args) == 1 and isinstance(node.args[0], ChildRef):
        assert fn.aggregate is not None
        return _aggregate(fn.aggregate, node.args[0].key, folded_key(node))
    args = [_compile(a) for a in node.args]
    impl = fn.python
    if fn.uses_env:
        return lambda r, e: impl(e, *[a(r, e) for a in args])
    return lambda r, e: impl(*[a(r, e) for a in args])


def _aggregate(agg: Aggregate, key: str, folded: str) -> Evaluator:
    def fold(r: Mapping[str, Any], e: Env) -> Any:
        if folded in r:
            return r[folded]
        present = [v for v in r.get(key) or () if v is not None]
        return agg.python(present) if present else agg.empty

    return fold
