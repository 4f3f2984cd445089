"""SQL back end of conditions: AST -> SQLAlchemy expression. Values are always bound parameters.

Null semantics are the ones users expect from a spreadsheet, and every comparison is two-valued
(true or false, never SQL NULL), so `not` is the exact complement and agrees with the Python
back end:
- a comparison with an empty field (NULL; or an empty path: no related record, a deleted one, or
  one the caller may not read) is false: eq, gt, in, contains, between, has_any, older_than...;
- so is a comparison with an empty operand (another field, or `user` when there is no user);
- ne, not_in, not_contains and is_not_empty are the exact complements of eq, in, contains and
  is_empty, so they include empty fields;
- empty means NULL, and also "" for text and [] for a multi-select.
Text matching (contains, starts_with, ends_with) ignores case; SQLite folds only ASCII letters.

Relative dates bind boundaries computed in Python from the Env (`dates`), so an index on the
column still serves them; only anniversaries read the month and day in SQL. Paths through
relations are correlated scalar subqueries on the target's primary key, over live records the
caller may read. `changed*` depend on an update's before state and never reach SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text, and_, cast, false, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.functions import FunctionElement

from engine.auth.tables import user_teams, users
from engine.expr.condition import Compare, Group, Node, Not
from engine.expr.dates import anniversaries, window
from engine.expr.fields import Ref
from engine.expr.operands import Var
from engine.expr.operators import ANNIVERSARY, CHANGES, LISTS, NEGATIONS, RELATIVE, TEXTUAL
from engine.formula.env import Env


def to_sql(node: Node, table: FromClause, env: Env) -> ColumnElement[bool]:
    """A WHERE clause over `table` (the entity's table, or an alias of it) selecting exactly the
    records `compile_python(node)` accepts."""
    if isinstance(node, Group):
        parts = [to_sql(n, table, env) for n in node.items]
        return and_(true(), *parts) if node.kind == "all" else or_(false(), *parts)
    if isinstance(node, Not):
        return not_(to_sql(node.item, table, env))
    if node.op in CHANGES:
        raise ValueError(f"{node.op} depends on the state before an update; it has no SQL form")
    if node.op in NEGATIONS:
        return not_(to_sql(Compare(node.ref, NEGATIONS[node.op], node.value), table, env))
    col = column(node.ref, table)
    if node.op == "is_empty":
        return _empty(node, col)
    right = _operand(node.value, table, env)
    if isinstance(node.value, Var) and right is None:
        return false()
    positive = _positive(node, col, right, env)
    if node.ref.hops or (isinstance(node.value, Ref) and node.value.hops):
        return positive.is_(True)  # two-valued, and each subquery is evaluated once
    # Two-valued in the form an index serves: a NULL column makes the comparison false, not NULL.
    known = [col.is_not(None)] + ([right.is_not(None)] if isinstance(node.value, Ref) else [])
    return and_(*known, positive)


def column(ref: Ref, table: FromClause) -> Any:
    """The value of a field path: a column, or a correlated scalar subquery along its hops."""
    if not ref.hops:
        return table.c[ref.field.key]
    source, froms, terms, value = table, [], [], None
    for hop in ref.hops:
        via = source.c[hop.via]
        if hop.target is None:  # a user: the path ends at their primary team, email or name
            source, value, more = _user_step(ref.field.key, via)
        else:
            source = hop.target.entity.table.alias()
            scope = hop.target.where(source) if hop.target.where is not None else None
            more = [source.c.id == via, source.c.deleted_at.is_(None)] + ([] if scope is None else [scope])
        froms.append(source)
        terms += more
    value = source.c[ref.field.key] if value is None else value
    query = select(value).select_from(*froms).where(*terms).correlate(table)
    return (query.order_by(value).limit(1) if ref.field.key == "team" else query).scalar_subquery()


def _user_step(key: str, user_id: Any) -> tuple[Any, Any, list[Any]]:
    """(table, value column, join terms) for a user's team, email or name. Should a user ever have
    two primary teams, the lowest id counts (as in `paths.load_paths`)."""
    if key == "team":
        ut = user_teams.alias()
        return ut, ut.c.team_id, [ut.c.user_id == user_id, ut.c.is_primary.is_(True)]
    u = users.alias()
    return u, u.c[key], [u.c.id == user_id]


def _operand(value: Any, table: FromClause, env: Env) -> Any:
    """The right-hand side: a column, or a value the comparison binds with the column's type (a
    literal, or a variable read now). None: a variable with no value, which matches nothing."""
    if isinstance(value, Ref):
        return column(value, table)
    if isinstance(value, Var):
        return value.read(env)
    return value


def _positive(node: Compare, col: Any, v: Any, env: Env) -> ColumnElement[bool]:
    match node.op:
        case "eq":
            return col == v  # type: ignore[no-any-return]
        case "gt":
            return col > v  # type: ignore[no-any-return]
        case "gte":
            return col >= v  # type: ignore[no-any-return]
        case "lt":
            return col < v  # type: ignore[no-any-return]
        case "lte":
            return col <= v  # type: ignore[no-any-return]
        case "between":
            return and_(col >= v[0], col <= v[1])
        case "in":
            return col.in_(v)  # type: ignore[no-any-return]
        case "contains":
            return col.icontains(v, autoescape=True)  # type: ignore[no-any-return]
        case "starts_with":
            return col.istartswith(v, autoescape=True)  # type: ignore[no-any-return]
        case "ends_with":
            return col.iendswith(v, autoescape=True)  # type: ignore[no-any-return]
        case "has_any":
            return or_(*(_holds(col, k) for k in v))
        case "has_all":
            return and_(*(_holds(col, k) for k in v))
        case op if op == ANNIVERSARY:
            return MonthDay(col).in_(sorted(f"{m:02d}-{d:02d}" for m, d in anniversaries(env)))  # type: ignore[no-any-return]
        case op if op in RELATIVE:
            w = window(op, v, node.ref.kind, env)
            terms = ([col >= w.lo] if w.lo is not None else []) + [col <= w.hi if w.closed else col < w.hi]
            return and_(*terms)
    raise AssertionError(f"operator {node.op} has no SQL form")


def _holds(col: Any, key: str) -> ColumnElement[bool]:
    # Option keys are [a-z0-9_]: '"key"' in the stored JSON text matches exactly that array element.
    return cast(col, Text).like(f'%"{key}"%')  # type: ignore[no-any-return]


def _empty(node: Compare, col: Any) -> ColumnElement[bool]:
    """Empty means no value, and also "" for text and [] for a multi-select or attachment."""
    kind = node.ref.kind
    if kind in TEXTUAL:
        return or_(col.is_(None), col == "")
    if kind in LISTS:
        return or_(col.is_(None), cast(col, Text) == "[]")
    return col.is_(None)  # type: ignore[no-any-return]


class MonthDay(FunctionElement[str]):
    """'MM-DD' of a date, for anniversaries: each dialect spells it its own way."""

    type = String()
    inherit_cache = True


@compiles(MonthDay, "sqlite")
def _month_day_sqlite(element: MonthDay, compiler: Any, **kw: Any) -> str:
    return f"strftime('%m-%d', {compiler.process(element.clauses, **kw)})"


@compiles(MonthDay, "postgresql")
def _month_day_pg(element: MonthDay, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'MM-DD')"
