"""Report SQL that differs between SQLite and PostgreSQL: time buckets, numeric bins, median, timeouts.

Time buckets read a UTC instant in the viewer's time zone. PostgreSQL knows every zone's rules
(`AT TIME ZONE`); SQLite knows none, so the zone's UTC offsets come from Python's zoneinfo: one fixed
shift, or for zones with daylight saving a CASE over the zone's transition instants in the years that
matter ([this year - 30, this year + 5]) and the zone's standard offset outside them.

Every constant in these expressions (zone names, offsets, formats, bin widths and edges) is written
into the SQL text, never bound: the compiler repeats a bucket in SELECT and GROUP BY, and PostgreSQL
only accepts that when both are the same text ($1 and $2 are different expressions to it). So each
constant is made only from a validated value: a zone ZoneInfo has loaded, a finite float, our own
format strings, and checked against a conservative character set before it is written.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import TIMESTAMP, BigInteger, Float, Integer, String, case, cast, func, literal_column, null, select, type_coerce
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from engine.formula.dialect import NUMBER

DIALECTS = ("sqlite", "postgresql")
UNITS = ("hour", "day", "week", "month", "quarter", "year")
KINDS = ("date", "datetime")
YEARS_BEFORE, YEARS_AFTER = 30, 5  # the window with exact daylight-saving transitions on SQLite
BIN_DECIMALS = 9  # SQLite bins in binary floats: 0.3 / 0.1 is 2.9999999999999996; rounding puts 0.3 in bin 0.3
MAX_TIMEOUT = 3600.0
PROGRESS_STEPS = 5000  # SQLite VM instructions between deadline checks (well under a millisecond)
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout

_SAFE_TEXT = re.compile(r'[A-Za-z0-9_+\-/:. %"]*')  # no quote, no backslash: safe inside '...'
_PG_TRUNC_FORMAT = {"hour": 'YYYY-MM-DD"T"HH24:"00"'} | dict.fromkeys(UNITS[1:], "YYYY-MM-DD")
_SQLITE_FORMAT = {"hour": "%Y-%m-%dT%H:00", "day": "%Y-%m-%d", "month": "%Y-%m-01", "year": "%Y-01-01"}


class ReportTimeout(Exception):
    """A report query ran past its time limit (the caller answers with a clear 4xx/5xx problem)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the report took longer than {seconds:g} s")
        self.seconds = seconds


# -- constants written into the SQL ----------------------------------------------------------------------


def _text(value: str) -> ColumnElement[str]:
    if not _SAFE_TEXT.fullmatch(value):
        raise ValueError(f"unsafe SQL text constant {value!r}")
    return literal_column(f"'{value}'", String())


def _number(value: float) -> ColumnElement[Any]:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return literal_column(f"({number!r})", NUMBER)  # parenthesized: "x - -1.0" must never become a "--" comment


def _int(value: int) -> ColumnElement[int]:
    return literal_column(str(int(value)), Integer())


def _floor(x: ColumnElement[Any]) -> ColumnElement[Any]:
    """floor(x) on both databases (SQLite's floor() is an optional build feature). Correct whether the
    cast to an integer truncates (SQLite) or rounds (PostgreSQL)."""
    whole = cast(x, BigInteger)
    return case((x < whole, whole - _int(1)), else_=whole)


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone(tz: str) -> ZoneInfo:
    """Only IANA zone names (not the database's other files), also safe to write into SQL."""
    if not (re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", tz) and tz in _known_zones()):
        raise ValueError(f"unknown time zone {tz!r}")
    return ZoneInfo(tz)


# -- time zone offsets for SQLite ------------------------------------------------------------------------


def _offset(zone: ZoneInfo, instant: datetime) -> int:
    return int(instant.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]


def _standard(zone: ZoneInfo, instant: datetime) -> int:
    local = instant.astimezone(zone)
    return int((local.utcoffset() - local.dst()).total_seconds())  # type: ignore[operator]


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first second at which the offset differs from the one at `before` (bisection)."""
    first = _offset(zone, before)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if _offset(zone, middle) == first:
            before = middle
        else:
            after = middle
    return after


@dataclass(frozen=True)
class OffsetTable:
    """A zone's UTC offsets (seconds) over a window of years: `standard_before` until `start`, then
    `at_start`, changing at each transition (UTC text, the offset from then) until `end`, then
    `standard_after`. Instants are UTC text comparable with SQLite's stored datetimes."""

    start: str
    end: str
    standard_before: int
    at_start: int
    transitions: tuple[tuple[str, int], ...]
    standard_after: int


@lru_cache(maxsize=64)
def offset_table(tz: str, first_year: int, last_year: int) -> OffsetTable:
    """Walks the window in 12-hour steps: zones change offsets a few times a year, never twice in 12 hours."""
    zone = ZoneInfo(tz)
    start, end = datetime(first_year, 1, 1, tzinfo=UTC), datetime(last_year + 1, 1, 1, tzinfo=UTC)
    transitions: list[tuple[str, int]] = []
    step, here = timedelta(hours=12), start
    while here < end:
        there = min(here + step, end)
        if _offset(zone, here) != _offset(zone, there):
            changed = _transition(zone, here, there)
            transitions.append((_utc_text(changed), _offset(zone, changed)))
        here = there
    return OffsetTable(
        _utc_text(start), _utc_text(end), _standard(zone, start), _offset(zone, start), tuple(transitions), _standard(zone, end)
    )


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")  # compares as text with SQLite's stored UTC


def _shift(seconds: int) -> ColumnElement[str]:
    return _text(f"{seconds:+d} seconds")


def _sqlite_shift(col: ColumnElement[Any], tz: str) -> ColumnElement[str] | None:
    """A SQLite date modifier moving a stored UTC text to local time in tz; None for UTC itself."""
    this_year = datetime.now(UTC).year
    table = offset_table(tz, this_year - YEARS_BEFORE, this_year + YEARS_AFTER)
    if not table.transitions:
        return _shift(table.at_start) if table.at_start else None
    whens: list[tuple[Any, Any]] = [(col < _text(table.start), _shift(table.standard_before))]
    offset = table.at_start
    for instant, next_offset in table.transitions:
        whens.append((col < _text(instant), _shift(offset)))
        offset = next_offset
    whens.append((col < _text(table.end), _shift(offset)))
    return case(*whens, else_=_shift(table.standard_after))


# -- buckets ---------------------------------------------------------------------------------------------


def bucket(
    col: ColumnElement[Any], unit: str, tz: str, dialect: str, kind: str = "datetime", *, formatted: bool = True
) -> ColumnElement[Any]:
    """The start of the bucket holding col, as text: "YYYY-MM-DD" (week: the ISO week's Monday; month,
    quarter, year: their first day), "YYYY-MM-DDTHH:00" for hour. kind "date": a date column, read as is;
    "datetime": a UTC instant, read in time zone tz. With formatted False, PostgreSQL gives the bucket's
    start as a timestamp (grouping on it lets the planner estimate the groups; format the few results
    with `bucket_text`); SQLite always gives text."""
    if unit not in UNITS or kind not in KINDS or dialect not in DIALECTS:
        raise ValueError(f"no bucket {unit!r} for a {kind!r} column on {dialect!r}")
    _zone(tz)
    if dialect == "postgresql":
        return _pg_bucket(col, unit, tz, kind, formatted)
    return _sqlite_bucket(col, unit, tz, kind)


def bucket_text(value: Any, unit: str) -> Any:
    """A bucket start read back from the database, as the text `bucket` formats in SQL."""
    if not isinstance(value, datetime):
        return value
    return value.strftime("%Y-%m-%dT%H:00") if unit == "hour" else value.date().isoformat()


def _pg_bucket(col: ColumnElement[Any], unit: str, tz: str, kind: str, formatted: bool = True) -> ColumnElement[Any]:
    # A date is cast to a plain timestamp: date_trunc would otherwise read it in the session's time zone.
    local = cast(col, TIMESTAMP()) if kind == "date" else func.timezone(_text(tz), col)
    start = func.date_trunc(_text(unit), local)  # week: ISO, Monday
    if not formatted:
        return start
    return type_coerce(func.to_char(start, _text(_PG_TRUNC_FORMAT[unit])), String())


def _sqlite_bucket(col: ColumnElement[Any], unit: str, tz: str, kind: str) -> ColumnElement[str]:
    if kind == "date":
        moved: list[Any] = [col]  # strftime(format, value, modifiers...)
    else:
        # Whole seconds: SQLite reads time in milliseconds, so "00:59:59.9999" would round into the next hour.
        seconds = func.substr(col, _int(1), _int(19))
        shift = _sqlite_shift(col, tz)
        moved = [seconds] if shift is None else [seconds, shift]
    if unit == "week":
        # 'weekday 0' moves forward to Sunday (staying on a Sunday); six days back is that ISO week's Monday.
        return type_coerce(func.date(*moved, _text("weekday 0"), _text("-6 days")), String())
    if unit == "quarter":
        month = cast(func.strftime(_text("%m"), *moved), Integer)
        first_month = (month - _int(1)) // _int(3) * _int(3) + _int(1)
        return type_coerce(func.printf(_text("%s-%02d-01"), func.strftime(_text("%Y"), *moved), first_month), String())
    return type_coerce(func.strftime(_text(_SQLITE_FORMAT[unit]), *moved), String())


# -- bins ------------------------------------------------------------------------------------------------


def bins(col: ColumnElement[Any], width: float | None, start: float, edges: list[float] | None) -> ColumnElement[Any]:
    """The lower bound of the value's bin (a number; NULL for NULL).

    width: bins [start + k*width, start + (k+1)*width) for every integer k, below start too.
    edges [e0, e1, ..., en] (ascending): [e0, e1) -> e0, ..., [en, infinity) -> en. Values below e0 are in
    no bin and give NULL, grouped with empty values (as pandas.cut does; the chart shows them as "no value").
    """
    if (width is None) == (edges is None):
        raise ValueError("bins take exactly one of width or edges")
    if edges is not None:
        return _edge_bins(col, edges)
    assert width is not None
    if not width > 0:
        raise ValueError("a bin width is positive")
    w, s = _number(width), _number(start)
    # Rounded to BIN_DECIMALS: SQLite computes in binary floats (a no-op on PostgreSQL's exact numeric).
    quotient = func.round((col - s) / w, _int(BIN_DECIMALS))
    return type_coerce(func.round(_floor(quotient) * w + s, _int(BIN_DECIMALS)), NUMBER)


def _edge_bins(col: ColumnElement[Any], edges: list[float]) -> ColumnElement[Any]:
    if not edges or any(b <= a for a, b in pairwise(edges)):
        raise ValueError("bin edges are strictly ascending")
    whens: list[tuple[Any, Any]] = [(col.is_(None), null()), (col < _number(edges[0]), null())]
    whens += [(col < _number(upper), _number(lower)) for lower, upper in pairwise(edges)]
    return type_coerce(case(*whens, else_=_number(edges[-1])), NUMBER)


# -- median ----------------------------------------------------------------------------------------------


def median(col: ColumnElement[Any], dialect: str) -> ColumnElement[float]:
    """The median (the mean of the middle two for an even count). PostgreSQL only: SQLite has no
    ordered-set aggregates."""
    if dialect != "postgresql":
        raise ValueError("median needs PostgreSQL: this server's database is SQLite")
    return type_coerce(func.percentile_cont(literal_column("0.5")).within_group(col), Float())


# -- statement timeout -----------------------------------------------------------------------------------


@asynccontextmanager
async def timeout(conn: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    """Run the block's statements under a time limit; a statement past it raises ReportTimeout.

    The block runs in a savepoint: a cancelled statement rolls back only the block, so the caller's
    transaction (and connection) stay usable, e.g. for the dashboard's next chart. The limit ends with
    the block."""
    limit = float(seconds)
    if not (math.isfinite(limit) and 0 < limit <= MAX_TIMEOUT):
        raise ValueError(f"a report timeout is between 0 and {MAX_TIMEOUT:g} seconds")
    limiter = _pg_limit if conn.dialect.name == "postgresql" else _sqlite_limit
    try:
        async with conn.begin_nested(), limiter(conn, limit):
            yield
    except DBAPIError as exc:
        if _is_timeout(exc):
            raise ReportTimeout(limit) from exc
        raise


@asynccontextmanager
async def _pg_limit(conn: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    # set_config(..., true) is SET LOCAL with a bound value; a savepoint rollback undoes it, a release does not.
    previous = (await conn.execute(select(func.current_setting("statement_timeout")))).scalar_one()
    await conn.execute(select(func.set_config("statement_timeout", str(max(1, round(seconds * 1000))), True)))
    yield
    await conn.execute(select(func.set_config("statement_timeout", previous, True)))


@asynccontextmanager
async def _sqlite_limit(conn: AsyncConnection, seconds: float) -> AsyncIterator[None]:
    # SQLite calls the progress handler from aiosqlite's worker thread; a true result aborts the running
    # statement with OperationalError("interrupted"). aiosqlite installs it on that thread for us.
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    deadline = time.monotonic() + seconds
    await driver.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)  # type: ignore[union-attr]
    try:
        yield
    finally:
        await driver.set_progress_handler(None, 0)  # type: ignore[union-attr]


def _is_timeout(exc: BaseException) -> bool:
    """PostgreSQL: SQLSTATE 57014 (asyncpg's QueryCanceledError). SQLite: OperationalError "interrupted"."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) == QUERY_CANCELED or getattr(seen, "pgcode", None) == QUERY_CANCELED:
            return True
        if isinstance(seen, sqlite3.OperationalError) and str(seen) == "interrupted":
            return True
        seen = getattr(seen, "orig", None) if isinstance(seen, DBAPIError) else seen.__cause__
    return False
