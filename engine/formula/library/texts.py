"""Text functions: CONCAT, LEFT, RIGHT, MID, UPPER, LOWER, TRIM, LEN, CONTAINS, SUBSTITUTE, TEXT.

CONCAT (like `&`) reads NULL as ''. Positions count characters from 1. TRIM removes spaces,
CONTAINS ignores case. On SQLite, UPPER, LOWER and CONTAINS fold only ASCII letters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, case, false, func, literal

from engine.formula import dialect
from engine.formula.env import Env
from engine.formula.functions import Arg, Function, strict
from engine.formula.library.numbers import decimals_check, decimals_of, round_half_up

ISO_DATETIME = "%Y-%m-%dT%H:%M:%SZ"


def concat_sql(parts: list[Any]) -> Any:
    out = func.coalesce(parts[0], literal("", Text))
    for part in parts[1:]:
        out = out.op("||")(func.coalesce(part, literal("", Text)))
    return dialect.as_text(out)


def _count(n: Any) -> int:
    return max(int(n), 0)


def _sql_count(n: Any) -> Any:
    whole = dialect.as_int(n)
    return case((whole < 0, 0), else_=whole)


def _right_sql(s: Any, n: Any) -> Any:
    start = func.length(s) - _sql_count(n) + 1  # past the end when n is 0: ''
    return func.substr(s, case((start < 1, 1), else_=start))


def _mid_py(s: str, start: Any, n: Any) -> str:
    first = max(int(start), 1) - 1
    return s[first : first + _count(n)]


def _mid_sql(s: Any, start: Any, n: Any) -> Any:
    first = dialect.as_int(start)
    return func.substr(s, case((first < 1, 1), else_=first), _sql_count(n))


def _substitute_sql(args: list[Arg], env: Env) -> Any:
    # SQLite returns the text unchanged when `old` is '', even if `new` is NULL.
    return case((args[2].sql.is_(None), None), else_=func.replace(args[0].sql, args[1].sql, args[2].sql))


def _contains_sql(args: list[Arg], env: Env) -> Any:
    found = dialect.position(func.lower(args[0].sql), func.lower(args[1].sql)) > 0
    return func.coalesce(found, false())


def _text_py(value: Any, decimals: Any = 0) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(ISO_DATETIME)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        rounded = round_half_up(value, decimals)
        return format(abs(rounded) if rounded == 0 else rounded, "f")  # never "-0.00"
    return str(value)


def _text_sql(args: list[Arg], env: Env) -> Any:
    a = args[0]
    if a.kind in ("number", "id"):
        return dialect.fixed_text(a.sql, decimals_of(args, 1))
    if a.kind == "boolean":
        return case((a.sql.is_(None), None), (a.sql, "TRUE"), else_="FALSE")
    if a.kind == "date":
        return dialect.by_dialect(dialect.TEXT, a.sql, func.to_char(a.sql, "YYYY-MM-DD"))
    if a.kind == "datetime":
        return dialect.by_dialect(
            dialect.TEXT, func.strftime(ISO_DATETIME, a.sql), func.to_char(dialect.utc(a.sql), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        )
    return a.sql


FUNCTIONS = (
    Function("CONCAT", ("text",), "text", lambda *v: "".join(x or "" for x in v),
             lambda a, e: concat_sql([x.sql for x in a]), repeat=True, example="CONCAT(first_name, ' ', last_name)"),
    Function("LEFT", ("text", "number"), "text", strict(lambda s, n: s[: _count(n)]),
             lambda a, e: func.substr(a[0].sql, 1, _sql_count(a[1].sql)), example="LEFT(name, 3)"),
    Function("RIGHT", ("text", "number"), "text", strict(lambda s, n: s[max(len(s) - _count(n), 0) :] if _count(n) else ""),
             lambda a, e: _right_sql(a[0].sql, a[1].sql), example="RIGHT(phone, 4)"),
    Function("MID", ("text", "number", "number"), "text", strict(_mid_py),
             lambda a, e: _mid_sql(a[0].sql, a[1].sql, a[2].sql), example="MID(code, 6, 4)"),
    Function("UPPER", ("text",), "text", strict(str.upper), lambda a, e: func.upper(a[0].sql), example="UPPER(country)"),
    Function("LOWER", ("text",), "text", strict(str.lower), lambda a, e: func.lower(a[0].sql), example="LOWER(email)"),
    Function("TRIM", ("text",), "text", strict(lambda s: s.strip(" ")), lambda a, e: func.trim(a[0].sql),
             example="TRIM(name)"),
    Function("LEN", ("text",), "number", strict(len), lambda a, e: func.length(a[0].sql), example="LEN(description)"),
    Function("CONTAINS", ("text", "text"), "boolean",
             lambda s, part: s is not None and part is not None and part.lower() in s.lower(), _contains_sql,
             example="CONTAINS(notes, 'urgent')"),
    Function("SUBSTITUTE", ("text", "text", "text"), "text",
             strict(lambda s, old, new: s.replace(old, new) if old else s),
             _substitute_sql, example="SUBSTITUTE(phone, '-', '')"),
    Function("TEXT", ("*", "number"), "text", _text_py, _text_sql, optional=1, check=decimals_check(1),
             example="TEXT(amount, 2) & ' CNY'"),
)  # fmt: skip
