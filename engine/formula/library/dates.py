"""Date functions: TODAY, NOW, DATE, YEAR, MONTH, DAY, DATE_ADD, DAYS_BETWEEN, HOURS_BETWEEN.

Datetimes are stored in UTC and read in UTC here; TODAY() is today in the app's time zone.
Adding months keeps the day of the month where it exists and otherwise takes the month's last
day (31 January + 1 month = 28 or 29 February). DATE(2026, 2, 30) rolls over to 2 March, as in
spreadsheets. A result outside years 1-9999 is NULL.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Integer, case, cast, func, literal

from engine.formula import dialect
from engine.formula.env import Env
from engine.formula.functions import Arg, ArgError, Function, constant, strict

UNITS = ("days", "weeks", "months", "years", "hours", "minutes")
TIME_UNITS = ("hours", "minutes")


def _day(value: date) -> date:
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _add_months(value: date, months: int) -> date:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _date_add_py(value: date, n: Any, unit: str) -> date | None:
    n = int(n)
    try:
        if unit in ("months", "years"):
            return _add_months(value, n * 12 if unit == "years" else n)
        return value + timedelta(**{unit: n})
    except (ValueError, OverflowError):
        return None


def _date_py(year: Any, month: Any, day: Any) -> date | None:
    y, m = divmod(int(year) * 12 + int(month) - 1, 12)
    try:
        return date(y, m + 1, 1) + timedelta(days=int(day) - 1)
    except (ValueError, OverflowError):
        return None


def _date_add_check(kinds: Sequence[str], args: Sequence[Any]) -> None:
    unit = constant(args[2])
    if unit not in UNITS:
        raise ArgError(2, f"the unit of DATE_ADD must be written as one of {', '.join(repr(u) for u in UNITS)}")
    if unit in TIME_UNITS and kinds[0] == "date":
        raise ArgError(0, f"adding {unit} needs a datetime, not a date")


def _date_add_sql(args: list[Arg], env: Env) -> Any:
    value, n, unit = args[0].sql, dialect.as_int(args[1].sql), args[2].const
    if args[0].kind == "datetime":
        return _datetime_add_sql(value, n, unit)
    if unit in ("months", "years"):
        months = n * 12 if unit == "years" else n
        return dialect.by_dialect(dialect.DATE, _sqlite_add_months(value, months), cast(value + _interval(months=months), Date))
    days = n * 7 if unit == "weeks" else n
    return dialect.by_dialect(dialect.DATE, func.date(value, _modifier(days, "days")), value + days)


def _datetime_add_sql(value: Any, n: Any, unit: str) -> Any:
    if unit in ("months", "years"):
        months = n * 12 if unit == "years" else n
        sqlite = dialect.sqlite_datetime(_sqlite_add_months(value, months).concat(" ").concat(func.strftime("%H:%M:%f", value)))
        pg_n = {"months": months}
    else:
        amount, sqlite_unit = (n * 7, "days") if unit == "weeks" else (n, unit)
        sqlite = dialect.sqlite_datetime(value, _modifier(amount, sqlite_unit))
        pg_n = {"days" if unit == "weeks" else {"hours": "hours", "minutes": "mins"}.get(unit, unit): amount}
    pg = func.timezone("UTC", dialect.utc(value) + _interval(**pg_n))
    return dialect.by_dialect(dialect.DATETIME, sqlite, pg)


INTERVAL_ARGS = ("years", "months", "weeks", "days", "hours", "mins")


def _interval(**parts: Any) -> Any:
    """PostgreSQL make_interval with one part set (positional: each argument stays a bound value)."""
    ((name, amount),) = parts.items()
    index = INTERVAL_ARGS.index(name)
    return func.make_interval(*([literal(0)] * index), amount)


def _modifier(amount: Any, unit: str) -> Any:
    return func.printf(f"%+d {unit}", amount)


def _sqlite_add_months(value: Any, months: Any) -> Any:
    """SQLite's '+N months' overflows (31 Jan + 1 month = 3 March): clamp to the month's last day."""
    start = func.date(value, "start of month", _modifier(months, "months"))
    day = cast(func.strftime("%d", value), Integer)
    return func.min(func.date(start, _modifier(day - 1, "days")), func.date(start, "+1 months", "-1 days"))


def _part(fmt: str, field: str) -> Any:
    def sql(args: list[Arg], env: Env) -> Any:
        a = args[0]
        pg_value = dialect.utc(a.sql) if a.kind == "datetime" else a.sql
        return dialect.by_dialect(
            Integer(), cast(func.strftime(fmt, a.sql), Integer), cast(func.extract(field, pg_value), Integer)
        )

    return sql


def _days_between_sql(args: list[Arg], env: Env) -> Any:
    def pg_day(a: Arg) -> Any:
        return cast(dialect.utc(a.sql), Date) if a.kind == "datetime" else a.sql

    sqlite = cast(func.julianday(func.date(args[1].sql)) - func.julianday(func.date(args[0].sql)), Integer)
    return dialect.by_dialect(Integer(), sqlite, pg_day(args[1]) - pg_day(args[0]))


def _hours_between_sql(args: list[Arg], env: Env) -> Any:
    a, b = args[0].sql, args[1].sql
    sqlite = (func.julianday(b) - func.julianday(a)) * 24
    return dialect.by_dialect(dialect.NUMBER, sqlite, func.extract("epoch", b - a) / 3600)


def _hours_between_py(a: datetime, b: datetime) -> Decimal:
    """Elapsed hours, to the second (6 decimal places), as the SQL back ends compute them."""
    return (Decimal((b - a).total_seconds()) / 3600).quantize(Decimal("0.000001"))


def _date_sql(args: list[Arg], env: Env) -> Any:
    y, m, d = (dialect.as_int(a.sql) for a in args)
    sqlite = func.date(func.printf("%04d-01-01", y), _modifier(m - 1, "months"), _modifier(d - 1, "days"))
    pg = cast(func.make_date(y, 1, 1) + func.make_interval(literal(0), m - 1, literal(0), d - 1), Date)
    in_range = (y >= 1) & (y <= 9999)
    return case((in_range, dialect.by_dialect(dialect.DATE, sqlite, pg)), else_=None)


FUNCTIONS = (
    Function("TODAY", (), "date", lambda env: env.today, lambda a, e: literal(e.today, Date()), uses_env=True,
             example="DAYS_BETWEEN(TODAY(), due_date)"),
    Function("NOW", (), "datetime", lambda env: env.now, lambda a, e: literal(e.now, dialect.DATETIME), uses_env=True,
             example="DATE_ADD(NOW(), 2, 'hours')"),
    Function("DATE", ("number", "number", "number"), "date", strict(_date_py), _date_sql, example="DATE(2026, 12, 31)"),
    Function("YEAR", ("date|datetime",), "number", strict(lambda d: _day(d).year), _part("%Y", "year"),
             example="YEAR(signed_on)"),
    Function("MONTH", ("date|datetime",), "number", strict(lambda d: _day(d).month), _part("%m", "month"),
             example="MONTH(signed_on)"),
    Function("DAY", ("date|datetime",), "number", strict(lambda d: _day(d).day), _part("%d", "day"),
             example="DAY(birthday)"),
    Function("DATE_ADD", ("T:date|datetime", "number", "text"), "T", strict(_date_add_py), _date_add_sql,
             check=_date_add_check, example="DATE_ADD(signed_on, 1, 'years')"),
    Function("DAYS_BETWEEN", ("date|datetime", "date|datetime"), "number",
             strict(lambda a, b: (_day(b) - _day(a)).days), _days_between_sql, example="DAYS_BETWEEN(created_at, TODAY())"),
    Function("HOURS_BETWEEN", ("datetime", "datetime"), "number", strict(_hours_between_py), _hours_between_sql,
             example="HOURS_BETWEEN(created_at, first_response_at)"),
)  # fmt: skip
