"""Relative dates: the boundaries of "within the last 3 days", "this quarter" or "today", computed
once from an Env. Both back ends compare a field with these same values (SQL binds them as
parameters, which keeps an index usable), so they agree by construction.

Days, weeks, months and periods are calendar units read in `Env.tz` (a day across a daylight-saving
change is 23 or 25 hours); minutes and hours are plain elapsed time. Adding months keeps the day
of month and clamps it to the month's end (Jan 31 + 1 month = Feb 28 or 29).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.formula.env import Env


@dataclass(frozen=True)
class Span:
    """The value of older_than / within_last / within_next: {"amount": 3, "unit": "days"}."""

    amount: int
    unit: str


@dataclass(frozen=True)
class Window:
    """Values x with lo <= x and x < hi (x <= hi when `closed`); a missing bound does not limit."""

    lo: Any = None
    hi: Any = None
    closed: bool = False

    def holds(self, x: Any) -> bool:
        if self.lo is not None and x < self.lo:
            return False
        if self.hi is None:
            return True
        return x <= self.hi if self.closed else x < self.hi


def add_months(d: date, months: int) -> date:
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    return d.replace(year=year, month=month0 + 1, day=min(d.day, calendar.monthrange(year, month0 + 1)[1]))


def _shift_day(d: date, unit: str, n: int) -> date:
    if unit == "months":
        return add_months(d, n)
    return d + timedelta(days=n * (7 if unit == "weeks" else 1))


def shift(env: Env, span: Span, sign: int, kind: str) -> date | datetime:
    """`Env.now` (or today, for a date field) moved by the span, forwards or backwards."""
    n = sign * span.amount
    if kind == "date":
        return _shift_day(env.today, span.unit, n)
    if span.unit in ("minutes", "hours"):
        return env.now + timedelta(**{span.unit: n})
    local = env.now.astimezone(env.tz)
    moved = datetime.combine(_shift_day(local.date(), span.unit, n), local.timetz())
    return moved.astimezone(UTC)


def midnight(d: date, env: Env) -> datetime:
    """The instant day `d` starts in the Env's time zone, in UTC."""
    return datetime.combine(d, time(0), tzinfo=env.tz).astimezone(UTC)


def period(op: str, today: date) -> tuple[date, date]:
    """[first day, first day after) of this/last/next week, month, quarter or year around today."""
    if op == "is_today":
        return today, today + timedelta(days=1)
    when, _, unit = op.partition("_")
    step = {"last": -1, "this": 0, "next": 1}[when]
    if unit == "week":  # ISO weeks start on Monday
        start = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
        return start, start + timedelta(weeks=1)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    first = today.replace(month=(today.month - 1) // months * months + 1, day=1)
    start = add_months(first, step * months)
    return start, add_months(start, months)


def window(op: str, span: Span | None, kind: str, env: Env) -> Window:
    """The values of a `kind` field ("date" or "datetime") that relative operator `op` matches."""
    base: date | datetime = env.today if kind == "date" else env.now
    if op == "older_than":
        assert span is not None
        return Window(hi=shift(env, span, -1, kind))
    if op == "within_last":
        assert span is not None
        return Window(shift(env, span, -1, kind), base, closed=True)
    if op == "within_next":
        assert span is not None
        return Window(base, shift(env, span, 1, kind), closed=True)
    start, end = period(op, env.today)
    if kind == "date":
        return Window(start, end)
    return Window(midnight(start, env), midnight(end, env))


def anniversaries(env: Env) -> frozenset[tuple[int, int]]:
    """(month, day) pairs whose anniversary is today; Feb 29 falls on Feb 28 in non-leap years."""
    today = env.today
    days = {(today.month, today.day)}
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.add((2, 29))
    return frozenset(days)
