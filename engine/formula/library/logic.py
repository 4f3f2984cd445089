"""Logic functions: IF, CASE, IFS, AND, OR, COALESCE, IFNULL, ISBLANK.

A condition that is NULL counts as FALSE (two-valued logic, as in the condition language), so
IF(NULL, a, b) is b and AND/OR always give TRUE or FALSE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, and_, case, cast, false, func, or_

from engine.formula.env import Env
from engine.formula.functions import Arg, ArgError, Function, unify


def _sql_bool(a: Arg) -> Any:
    return func.coalesce(a.sql, false())


def _pairs(items: Sequence[Any]) -> tuple[list[tuple[Any, Any]], Any]:
    """(test, result) pairs and the default (the odd one out at the end, if any)."""
    default = items[-1] if len(items) % 2 else None
    body = items[:-1] if len(items) % 2 else items
    return list(zip(body[::2], body[1::2], strict=True)), default


def _case_kind(kinds: Sequence[str]) -> str:
    if len(kinds) < 3:
        raise ArgError(None, "CASE takes a value, then pairs of match and result, then an optional default")
    pairs, default = _pairs(kinds[1:])
    if unify([kinds[0], *(m for m, _ in pairs)]) is None:
        raise ArgError(1, "the values CASE matches must be of the kind of its first argument")
    results = [r for _, r in pairs] + ([default] if default is not None else [])
    kind = unify(results)
    if kind is None:
        raise ArgError(2, f"the results of CASE must be of one kind, not {' and '.join(sorted(set(results)))}")
    return kind


def _case_py(x: Any, *rest: Any) -> Any:
    pairs, default = _pairs(rest)
    if x is not None:
        for match, result in pairs:
            if match is not None and x == match:
                return result
    return default


def _case_sql(args: list[Arg], env: Env) -> Any:
    pairs, default = _pairs(args[1:])
    return case(*[(args[0].sql == m.sql, r.sql) for m, r in pairs], else_=default.sql if default else None)


def _ifs_kind(kinds: Sequence[str]) -> str:
    if len(kinds) < 2:
        raise ArgError(None, "IFS takes pairs of condition and result, then an optional default")
    pairs, default = _pairs(kinds)
    for i, (cond, _) in enumerate(pairs):
        if cond not in ("boolean", "null"):
            raise ArgError(2 * i, f"argument {2 * i + 1} of IFS must be a condition (boolean), not {cond}")
    results = [r for _, r in pairs] + ([default] if default is not None else [])
    kind = unify(results)
    if kind is None:
        raise ArgError(1, f"the results of IFS must be of one kind, not {' and '.join(sorted(set(results)))}")
    return kind


def _ifs_py(*items: Any) -> Any:
    pairs, default = _pairs(items)
    return next((result for cond, result in pairs if cond), default)


def _ifs_sql(args: list[Arg], env: Env) -> Any:
    pairs, default = _pairs(args)
    return case(*[(_sql_bool(c), r.sql) for c, r in pairs], else_=default.sql if default else None)


def _blank_py(value: Any) -> bool:
    return value is None or value == "" or value == []


def _blank_sql(args: list[Arg], env: Env) -> Any:
    a = args[0]
    if a.kind == "text":
        return or_(a.sql.is_(None), a.sql == "")
    if a.kind == "list":
        return or_(a.sql.is_(None), cast(a.sql, Text) == "[]")
    return a.sql.is_(None)


FUNCTIONS = (
    Function("IF", ("boolean", "T", "T"), "T", lambda c, a, b: a if c else b,
             lambda a, e: case((_sql_bool(a[0]), a[1].sql), else_=a[2].sql),
             example="IF(amount > 1000, 'large', 'small')"),
    Function("CASE", ("*",), "T", _case_py, _case_sql, repeat=True, signature=_case_kind,
             example="CASE(stage, 'won', 1, 'lost', 0, 0.5)"),
    Function("IFS", ("*",), "T", _ifs_py, _ifs_sql, repeat=True, signature=_ifs_kind,
             example="IFS(score >= 80, 'A', score >= 50, 'B', 'C')"),
    Function("AND", ("boolean",), "boolean", lambda *v: all(bool(x) for x in v),
             lambda a, e: and_(*[_sql_bool(x) for x in a]), repeat=True, example="AND(qualified, budget > 0)"),
    Function("OR", ("boolean",), "boolean", lambda *v: any(bool(x) for x in v),
             lambda a, e: or_(*[_sql_bool(x) for x in a]), repeat=True, example="OR(vip, budget > 100000)"),
    Function("COALESCE", ("T",), "T", lambda *v: next((x for x in v if x is not None), None),
             lambda a, e: func.coalesce(*[x.sql for x in a]), repeat=True, example="COALESCE(discount, 0)"),
    Function("IFNULL", ("T", "T"), "T", lambda v, d: d if v is None else v,
             lambda a, e: func.coalesce(a[0].sql, a[1].sql), example="IFNULL(region, 'unknown')"),
    Function("ISBLANK", ("number|text|boolean|date|datetime|id|list",), "boolean", _blank_py, _blank_sql,
             example="ISBLANK(email)"),
)  # fmt: skip
