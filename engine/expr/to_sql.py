"""SQL back end of conditions: AST -> SQLAlchemy expression. Values are always bound parameters.

Null semantics are the ones users expect from a spreadsheet, and every comparison is two-valued
(true or false, never SQL NULL), so `not` is the exact complement and agrees with the Python back
end: "ne", "not_in" and "not_contains" include records where the field is empty; the others never
match an empty field.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, cast, false, not_, or_, true
from sqlalchemy.sql import ColumnElement, Selectable

from engine.expr.condition import Compare, Group, Node, Not


def to_sql(node: Node, table: Selectable) -> ColumnElement[bool]:
    if isinstance(node, Group):
        parts = [to_sql(n, table) for n in node.items]
        if node.kind == "all":
            return and_(true(), *parts)
        return or_(false(), *parts)
    if isinstance(node, Not):
        return not_(to_sql(node.item, table))
    col = table.c[node.field.key]
    expr = _compare(node, col)
    if node.op in NULL_AWARE:
        return expr
    return and_(col.is_not(None), expr)


NULL_AWARE = {"ne", "not_in", "not_contains", "is_empty", "is_not_empty"}


def _compare(node: Compare, col: Any) -> ColumnElement[bool]:
    op, v = node.op, node.value
    empty = _empty(node, col)
    match op:
        case "eq":
            return col == v
        case "ne":
            return or_(col != v, col.is_(None))
        case "gt":
            return col > v
        case "gte":
            return col >= v
        case "lt":
            return col < v
        case "lte":
            return col <= v
        case "between":
            return and_(col >= v[0], col <= v[1])
        case "in":
            return col.in_(v)
        case "not_in":
            return or_(col.not_in(v), col.is_(None))
        case "contains":
            return col.icontains(v, autoescape=True)
        case "not_contains":
            return or_(col.is_(None), not_(col.icontains(v, autoescape=True)))
        case "starts_with":
            return col.istartswith(v, autoescape=True)
        case "ends_with":
            return col.iendswith(v, autoescape=True)
        case "is_empty":
            return empty
        case "is_not_empty":
            return not_(empty)
    raise AssertionError(f"operator {op} has no SQL form")


def _empty(node: Compare, col: Any) -> ColumnElement[bool]:
    """Empty means no value, and also "" for text and [] for a multi-select."""
    kind = node.field.cfg.type
    if kind in ("text", "long_text", "email", "phone", "url"):
        return or_(col.is_(None), col == "")
    if kind == "multi_select":
        return or_(col.is_(None), cast(col, Text) == "[]")
    return col.is_(None)
