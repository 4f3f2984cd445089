"""SQL back end: a formula becomes one SQLAlchemy expression; every value is a bound parameter.

Null rules match the Python back end: comparisons are two-valued (NULL compares as FALSE),
arithmetic with NULL is NULL, division by zero is NULL, `&` and CONCAT read NULL as ''.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    case,
    cast,
    false,
    func,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.sql import ColumnElement, operators
from sqlalchemy.types import JSON, TypeEngine

from engine.formula import dialect
from engine.formula.ast import NULL, Binary, Call, ChildRef, FieldRef, Formula, Literal, Node, Unary, Var
from engine.formula.check import annotate
from engine.formula.env import Env
from engine.formula.functions import Arg, constant
from engine.formula.library import functions
from engine.formula.library.texts import concat_sql


@dataclass(frozen=True)
class ChildRows:
    """How SQL reaches one record's child rows, given in `columns` under a child key such as
    "order_line.amount": the child's value column and the condition that selects the live child
    rows of the record in the enclosing query (correlated to it)."""

    value: ColumnElement[Any]
    where: ColumnElement[bool]


def to_sql(formula: Formula, columns: Mapping[str, Any], env: Env, kinds: Mapping[str, str] | None = None) -> ColumnElement[Any]:
    """The formula over `columns` (field key -> column, child key -> ChildRows). Kinds default to
    those the columns' types imply; pass the entity's own when they say more (relations are ids)."""
    node_kinds = annotate(formula, kinds if kinds is not None else {k: kind_of(c) for k, c in columns.items()})
    expr = _Compiler(columns, env, node_kinds).sql(formula.root)
    return dialect.typed(expr, node_kinds[id(formula.root)])


def kind_of(column: Any) -> str:
    """The formula kind of a column (or of the value column of child rows) from its SQL type."""
    sql_type: TypeEngine[Any] = column.value.type if isinstance(column, ChildRows) else column.type
    sql_type = getattr(sql_type, "impl_instance", None) or sql_type
    for types, kind in KIND_OF_TYPE:
        if isinstance(sql_type, types):
            return kind
    raise TypeError(f"no formula kind for SQL type {sql_type!r}")


KIND_OF_TYPE: list[tuple[Any, str]] = [
    (Boolean, "boolean"), ((Integer, BigInteger, Numeric, Float), "number"), (String, "text"), (DateTime, "datetime"),
    (Date, "date"), (JSON, "list"),
]  # fmt: skip


# The kind each operator's operands take (a NULL operand is typed with it); comparisons: either.
OPERAND_KINDS = {"AND": "boolean", "OR": "boolean", "&": "text", "+": "number", "-": "number", "*": "number", "/": "number"}


class _Compiler:
    def __init__(self, columns: Mapping[str, Any], env: Env, kinds: dict[int, str]) -> None:
        self.columns = columns
        self.env = env
        self.kinds = kinds

    def sql(self, node: Node, want: str | None = None) -> Any:
        """SQL of a node; `want` is the kind its place takes, which types a NULL there (PostgreSQL
        cannot resolve `NULL + NULL` or `abs(NULL)` without one)."""
        if self.kinds[id(node)] == NULL and want not in (None, NULL, "T"):
            return cast(null(), dialect.SQL_TYPES[want])
        if isinstance(node, Literal):
            return _literal(node)
        if isinstance(node, FieldRef):
            return self.columns[node.key]
        if isinstance(node, Var):
            return self._variable(node.name)
        if isinstance(node, Unary):
            inner = self.sql(node.operand, "boolean" if node.op == "NOT" else "number")
            if node.op == "NOT":  # a CASE, not NOT: PostgreSQL reads "NOT x IS NULL" as "NOT (x IS NULL)"
                return case((func.coalesce(inner, false()), false()), else_=true())
            return -inner
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Call):
            return self._call(node)
        raise AssertionError(f"{node!r} outside an aggregate: the type checker refuses it")

    def _variable(self, name: str) -> Any:
        if name == "now":
            return literal(self.env.now, dialect.DATETIME)
        if name == "today":
            return literal(self.env.today, Date())
        return literal(self.env.user_id, BigInteger())

    def _binary(self, node: Binary) -> Any:
        op = node.op
        want = OPERAND_KINDS.get(op)
        a, b = self.sql(node.left, want), self.sql(node.right, want)
        if op in ("AND", "OR"):
            a, b = func.coalesce(a, false()), func.coalesce(b, false())
            return (a & b) if op == "AND" else (a | b)
        if op == "&":
            return concat_sql([a, b])
        if op == "/":
            return dialect.divide(a, b)
        if op in ("+", "-", "*"):
            return dialect.typed(a, "number").operate(_OPERATORS[op], b)
        if self.kinds[id(node.left)] == "text" and op not in ("=", "!="):
            a, b = dialect.text_order(a), dialect.text_order(b)
        return func.coalesce(a.operate(_OPERATORS[op], b), false())

    def _call(self, node: Call) -> Any:
        fn = functions()[node.name]
        if len(node.args) == 1 and isinstance(node.args[0], ChildRef):
            return self._aggregate(node, node.args[0])
        own = self.kinds[id(node)]
        wants = [own if (k := fn.param_kind(i)) == "T" else k for i in range(len(node.args))]
        args = [Arg(self.sql(a, w), self.kinds[id(a)], constant(a)) for a, w in zip(node.args, wants, strict=True)]
        return fn.sql(args, self.env)

    def _aggregate(self, node: Call, ref: ChildRef) -> Any:
        return fold_sql(node, self.columns[ref.key])


def fold_sql(call: Call, rows: ChildRows) -> ColumnElement[Any]:
    """An aggregate call (SUM(order_line.amount)) as a scalar subquery over the child rows."""
    agg = functions()[call.name].aggregate
    assert agg is not None
    folded = select(agg.sql(rows.value)).where(rows.where).scalar_subquery()
    return folded if agg.empty is None else func.coalesce(folded, literal(agg.empty))


def _literal(node: Literal) -> Any:
    if node.value is None:
        return null()
    if isinstance(node.value, bool):
        return literal(node.value, Boolean())
    if isinstance(node.value, Decimal):
        return literal(node.value, Numeric())
    return literal(node.value, String())


_OPERATORS: dict[str, Any] = {
    "+": operators.add, "-": operators.sub, "*": operators.mul, "=": operators.eq, "!=": operators.ne,
    "<": operators.lt, "<=": operators.le, ">": operators.gt, ">=": operators.ge,
}  # fmt: skip
