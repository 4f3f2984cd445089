"""SQL that differs between SQLite and PostgreSQL, chosen when the statement is compiled.

Formulas compile to one SQLAlchemy expression without knowing the database; where the two
dialects need different SQL for the same meaning (integer division, date arithmetic, number
formatting), `by_dialect` carries both and the compiler picks one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, Numeric, String, Text, case, cast, func, literal, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeEngine

from engine.core.sql import JsonType, UTCDateTime

NUMBER = Numeric(asdecimal=True)
TEXT = Text()
BOOLEAN = Boolean()
DATE = Date()
DATETIME = UTCDateTime()
SQL_TYPES: dict[str, TypeEngine[Any]] = {
    "number": NUMBER, "text": TEXT, "boolean": BOOLEAN, "date": DATE, "datetime": DATETIME, "id": BigInteger(),
    "list": JsonType, "null": TEXT,
}  # fmt: skip


class ByDialect(ColumnElement[Any]):
    """One expression per dialect; compiles to the one for the database in use."""

    inherit_cache = False  # the variants are not part of a cache key; statements holding one skip the cache

    def __init__(self, type_: TypeEngine[Any], **variants: ColumnElement[Any]) -> None:
        self.type = type_
        self.variants = variants


@compiles(ByDialect)
def _compile(element: ByDialect, compiler: Any, **kw: Any) -> str:
    variant = element.variants.get(compiler.dialect.name, element.variants["postgresql"])
    # Always grouped: the variant's own operators must not mix with those around it.
    return f"({compiler.process(variant, **kw)})"


def by_dialect(type_: TypeEngine[Any], sqlite: ColumnElement[Any], postgresql: ColumnElement[Any]) -> ColumnElement[Any]:
    return ByDialect(type_, sqlite=sqlite, postgresql=postgresql)


def typed(expr: Any, kind: str) -> ColumnElement[Any]:
    return type_coerce(expr, SQL_TYPES[kind])


def as_int(x: Any) -> ColumnElement[Any]:
    """Truncate toward zero to an integer (PostgreSQL's cast would round)."""
    return by_dialect(Integer(), cast(x, Integer), cast(func.trunc(cast(x, Numeric)), Integer))


def divide(a: Any, b: Any) -> ColumnElement[Any]:
    """a / b, never integer division, NULL when b is 0."""
    zero_safe = func.nullif(b, 0)
    return by_dialect(NUMBER, cast(a, Float) / zero_safe, cast(a, Numeric) / cast(zero_safe, Numeric))


def text_order(x: Any) -> ColumnElement[Any]:
    """Text ordered by code point on both databases (PostgreSQL's default collation is the locale's)."""
    return by_dialect(TEXT, x, x.collate("C"))


def utc(x: Any) -> Any:
    """A PostgreSQL timestamptz as UTC wall time, whatever the session time zone."""
    return func.timezone("UTC", x)


def sqlite_datetime(*args: Any) -> ColumnElement[Any]:
    """SQLite date arithmetic to the stored datetime text format (YYYY-MM-DD HH:MM:SS.ffffff);
    SQLite's clock has milliseconds, so the last three digits are zeros."""
    return func.strftime("%Y-%m-%d %H:%M:%f", *args).concat("000")


def fixed_text(n: Any, decimals: int) -> ColumnElement[Any]:
    """A number as text with exactly `decimals` places, rounded half away from zero."""
    # printf reads NULL as 0; + 0.0 turns a rounded -0.0 into 0.0.
    sqlite = case((n.is_(None), None), else_=func.printf(f"%.{decimals}f", func.round(n, decimals) + literal(0.0)))
    return by_dialect(TEXT, sqlite, cast(func.round(cast(n, Numeric), decimals), Text))


def number_text_valid(t: Any) -> ColumnElement[Any]:
    """True when trimmed text reads as a plain decimal number: [+-]digits[.digits] or .digits."""
    unsigned = case((func.substr(t, 1, 1).in_(["+", "-"]), func.substr(t, 2)), else_=t)
    sqlite = (unsigned != "") & (unsigned != ".") & ~unsigned.op("GLOB")("*[^0-9.]*") & ~unsigned.op("GLOB")("*.*.*")
    pg = t.op("~")(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
    return by_dialect(Boolean(), sqlite, pg)


def parse_number(t: Any) -> ColumnElement[Any]:
    text = func.trim(t)
    number = by_dialect(NUMBER, cast(text, Float), cast(text, Numeric))
    return case((number_text_valid(text), number), else_=None)


def round_to(x: Any, decimals: int) -> ColumnElement[Any]:
    """Round half away from zero (SQLite's round does so on REAL, PostgreSQL's on numeric)."""
    return by_dialect(NUMBER, func.round(x, decimals), func.round(cast(x, Numeric), decimals))


def floor(x: Any) -> ColumnElement[Any]:
    whole = cast(x, Integer)
    return by_dialect(NUMBER, case((x < whole, whole - 1), else_=whole), func.floor(x))


def ceil(x: Any) -> ColumnElement[Any]:
    whole = cast(x, Integer)
    return by_dialect(NUMBER, case((x > whole, whole + 1), else_=whole), func.ceil(x))


def position(haystack: Any, needle: Any) -> ColumnElement[Any]:
    return by_dialect(Integer(), func.instr(haystack, needle), func.strpos(haystack, needle))


def as_text(x: Any) -> ColumnElement[Any]:
    return type_coerce(x, String())
