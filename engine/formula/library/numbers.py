"""Number functions: ROUND, FLOOR, CEIL, ABS, VALUE and SUM, COUNT, AVG, MIN, MAX.

The last five take either several values (NULLs skipped, as spreadsheets do) or one child
column, `SUM(order_line.amount)`, which folds the child records of this record.
Rounding is half away from zero on both back ends (PostgreSQL's numeric rounding).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, literal

from engine.formula import dialect
from engine.formula.env import Env
from engine.formula.functions import Aggregate, Arg, ArgError, Function, constant, strict

MAX_DECIMALS = 10
NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)")


def decimals_check(index: int) -> Any:
    """The number of decimals must be written as a whole number 0-10 (the SQL depends on it)."""

    def check(kinds: Sequence[str], args: Sequence[Any]) -> None:
        if len(args) > index:
            value = constant(args[index])
            if not isinstance(value, Decimal) or value != value.to_integral_value() or not 0 <= value <= MAX_DECIMALS:
                raise ArgError(index, f"the number of decimals must be a whole number from 0 to {MAX_DECIMALS}")

    return check


def decimals_of(args: list[Arg], index: int) -> int:
    return int(args[index].const) if len(args) > index else 0


def round_half_up(n: Any, decimals: Any = 0) -> Decimal:
    return Decimal(n).quantize(Decimal(1).scaleb(-int(decimals)), ROUND_HALF_UP)


def _round_sql(args: list[Arg], env: Env) -> Any:
    return dialect.round_to(args[0].sql, decimals_of(args, 1))


def _value_py(text: str) -> Decimal | None:
    text = text.strip(" ")
    return Decimal(text) if NUMBER_TEXT.fullmatch(text) else None


def _present(values: Sequence[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def _sum_py(*values: Any) -> Decimal:
    return sum((Decimal(v) for v in _present(values)), Decimal(0))


def _avg_py(*values: Any) -> Decimal | None:
    present = _present(values)
    return _sum_py(*present) / len(present) if present else None


def _zero(a: Arg) -> Any:
    return func.coalesce(a.sql, literal(0))


def _count_sql(args: list[Arg]) -> Any:
    total: Any = literal(0)
    for a in args:
        total = total + case((a.sql.is_(None), 0), else_=1)
    return total


def _sum_sql(args: list[Arg]) -> Any:
    total: Any = literal(0)
    for a in args:
        total = total + _zero(a)
    return total


def _extreme_sql(name: str) -> Any:
    """MIN/MAX of values, NULLs skipped: PostgreSQL's LEAST/GREATEST do so; SQLite's min/max
    return NULL for any NULL, so each argument falls back to the others."""

    def sql(args: list[Arg], env: Env) -> Any:
        if len(args) == 1:
            return args[0].sql
        values = [a.sql for a in args]
        fallback = [func.coalesce(v, *values[:i], *values[i + 1 :]) for i, v in enumerate(values)]
        pg = func.least(*values) if name == "min" else func.greatest(*values)
        return dialect.by_dialect(args[0].sql.type, getattr(func, name)(*fallback), pg)

    return sql


def _extreme_py(pick: Any) -> Any:
    def py(*values: Any) -> Any:
        present = _present(values)
        return pick(present) if present else None

    return py


ORDERED = ("number", "date", "datetime")

FUNCTIONS = (
    Function("ROUND", ("number", "number"), "number", strict(round_half_up), _round_sql, optional=1,
             check=decimals_check(1), example="ROUND(amount * 1.13, 2)"),
    Function("FLOOR", ("number",), "number", strict(lambda n: Decimal(n).to_integral_value(ROUND_FLOOR)),
             lambda a, e: dialect.floor(a[0].sql), example="FLOOR(hours)"),
    Function("CEIL", ("number",), "number", strict(lambda n: Decimal(n).to_integral_value(ROUND_CEILING)),
             lambda a, e: dialect.ceil(a[0].sql), example="CEIL(quantity / 12)"),
    Function("ABS", ("number",), "number", strict(abs), lambda a, e: func.abs(a[0].sql), example="ABS(balance)"),
    Function("VALUE", ("text",), "number", strict(_value_py), lambda a, e: dialect.parse_number(a[0].sql),
             example="VALUE('12.50')"),
    Function("SUM", ("number",), "number", _sum_py, lambda a, e: _sum_sql(a), repeat=True,
             aggregate=Aggregate(lambda v: _sum_py(*v), func.sum, ("number",), empty=Decimal(0)),
             example="SUM(order_line.amount)"),
    Function("COUNT", ("*",), "number", lambda *v: len(_present(v)), lambda a, e: _count_sql(a), repeat=True,
             aggregate=Aggregate(len, func.count, ("number", "text", "boolean", "date", "datetime", "id"), "number", 0),
             example="COUNT(order_line.id)"),
    Function("AVG", ("number",), "number", _avg_py,
             lambda a, e: dialect.divide(_sum_sql(a), _count_sql(a)), repeat=True,
             aggregate=Aggregate(lambda v: _avg_py(*v), func.avg, ("number",)), example="AVG(order_line.amount)"),
    Function("MIN", ("T:number|date|datetime",), "T", _extreme_py(min), _extreme_sql("min"), repeat=True,
             aggregate=Aggregate(min, func.min, ORDERED), example="MIN(order_line.delivery_date)"),
    Function("MAX", ("T:number|date|datetime",), "T", _extreme_py(max), _extreme_sql("max"), repeat=True,
             aggregate=Aggregate(max, func.max, ORDERED), example="MAX(discount, 5)"),
)  # fmt: skip
