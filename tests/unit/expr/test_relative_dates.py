"""Relative dates: windows around Env.now read in Env.tz; month ends, leap years, ISO weeks, DST."""

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.expr.dates import Span, add_months, period, window
from engine.expr.to_python import compile_python
from engine.formula.env import Env
from tests.unit.expr.support import parse


def env(at: str, tz: str = "UTC") -> Env:
    return Env(datetime.fromisoformat(at).astimezone(UTC), ZoneInfo(tz))


def accepts(doc: dict[str, Any], e: Env, *values: Any) -> list[bool]:
    predicate = compile_python(parse(doc))
    return [predicate({doc["field"]: v}, e) for v in values]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -13, date(2024, 12, 15)),
    ],
)
def test_adding_months_clamps_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("op", "today", "expected"),
    [
        ("this_week", date(2026, 11, 23), (date(2026, 11, 23), date(2026, 11, 30))),  # Monday starts the week
        ("this_week", date(2026, 11, 29), (date(2026, 11, 23), date(2026, 11, 30))),  # Sunday ends it
        ("last_week", date(2027, 1, 1), (date(2026, 12, 21), date(2026, 12, 28))),
        ("next_week", date(2026, 12, 30), (date(2027, 1, 4), date(2027, 1, 11))),
        ("this_month", date(2024, 2, 29), (date(2024, 2, 1), date(2024, 3, 1))),
        ("last_month", date(2026, 3, 31), (date(2026, 2, 1), date(2026, 3, 1))),
        ("next_month", date(2026, 12, 31), (date(2027, 1, 1), date(2027, 2, 1))),
        ("this_quarter", date(2026, 6, 30), (date(2026, 4, 1), date(2026, 7, 1))),
        ("last_quarter", date(2026, 2, 10), (date(2025, 10, 1), date(2026, 1, 1))),
        ("next_quarter", date(2026, 11, 23), (date(2027, 1, 1), date(2027, 4, 1))),
        ("this_year", date(2026, 11, 23), (date(2026, 1, 1), date(2027, 1, 1))),
        ("last_year", date(2026, 1, 1), (date(2025, 1, 1), date(2026, 1, 1))),
        ("next_year", date(2026, 12, 31), (date(2027, 1, 1), date(2028, 1, 1))),
        ("is_today", date(2026, 11, 23), (date(2026, 11, 23), date(2026, 11, 24))),
    ],
)
def test_periods(op, today, expected):
    assert period(op, today) == expected


def test_periods_are_read_in_the_env_time_zone():
    """At 2026-12-31 20:00 UTC it is already 2027 in Shanghai, still 2026 in New York."""
    doc = {"field": "day", "op": "this_year"}
    assert accepts(doc, env("2026-12-31T20:00:00+00:00", "Asia/Shanghai"), date(2026, 6, 1), date(2027, 1, 1)) == [False, True]
    assert accepts(doc, env("2026-12-31T20:00:00+00:00", "America/New_York"), date(2026, 6, 1), date(2027, 1, 1)) == [True, False]
    # On a datetime field the window is local midnight to midnight, as instants.
    w = window("is_today", None, "datetime", env("2026-11-23T20:00:00+00:00", "Asia/Shanghai"))
    assert (w.lo, w.hi) == (datetime(2026, 11, 23, 16, tzinfo=UTC), datetime(2026, 11, 24, 16, tzinfo=UTC))


def test_today_on_a_datetime_field_excludes_the_next_midnight():
    e = env("2026-11-23T09:30:00+00:00")
    doc = {"field": "at", "op": "is_today"}
    midnight = datetime(2026, 11, 23, tzinfo=UTC)
    stamps = (midnight, midnight + timedelta(days=1) - timedelta(microseconds=1), midnight + timedelta(days=1))
    assert accepts(doc, e, *stamps, None) == [True, True, False, False]


def test_within_last_and_next_include_both_ends():
    e = env("2026-11-23T09:30:00+00:00")
    last = {"field": "at", "op": "within_last", "value": {"amount": 90, "unit": "minutes"}}
    edge = e.now - timedelta(minutes=90)
    assert accepts(last, e, edge, edge - timedelta(microseconds=1), e.now, e.now + timedelta(microseconds=1)) == [
        True, False, True, False,
    ]  # fmt: skip
    nxt = {"field": "day", "op": "within_next", "value": {"amount": 1, "unit": "weeks"}}
    assert accepts(nxt, e, date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 1), date(2026, 11, 22)) == [
        True, True, False, False,
    ]  # fmt: skip


def test_older_than_is_strictly_before_the_boundary():
    """R2/R6: no follow-up for 3 days; a complaint not handled within 24 hours."""
    e = env("2026-11-23T09:30:00+00:00")
    stale = {"field": "at", "op": "older_than", "value": {"amount": 24, "unit": "hours"}}
    day_ago = e.now - timedelta(hours=24)
    assert accepts(stale, e, day_ago, day_ago - timedelta(microseconds=1), None) == [False, True, False]
    old_day = {"field": "day", "op": "older_than", "value": {"amount": 3, "unit": "days"}}
    assert accepts(old_day, e, date(2026, 11, 20), date(2026, 11, 19)) == [False, True]


def test_months_on_datetimes_keep_the_local_wall_clock_across_month_ends():
    e = env("2026-03-31T10:00:00+00:00")
    w = window("within_last", Span(1, "months"), "datetime", e)
    assert w.lo == datetime(2026, 2, 28, 10, tzinfo=UTC) and w.hi == e.now


def test_days_are_calendar_days_across_daylight_saving():
    """New York springs forward on 2026-03-08: "1 day ago" at noon is noon the day before, 23 hours."""
    e = env("2026-03-08T12:00:00-04:00", "America/New_York")
    w = window("within_last", Span(1, "days"), "datetime", e)
    assert e.now - w.lo == timedelta(hours=23)
    hours = window("within_last", Span(24, "hours"), "datetime", e)
    assert e.now - hours.lo == timedelta(hours=24)


def test_anniversaries():
    """R8: birthdays. Feb 29 birthdays are celebrated on Feb 28 in non-leap years."""
    birthday = {"field": "day", "op": "anniversary_today"}
    assert accepts(birthday, env("2026-11-23T09:00:00+00:00"), date(1990, 11, 23), date(1990, 11, 24), None) == [
        True, False, False,
    ]  # fmt: skip
    assert accepts(birthday, env("2025-02-28T09:00:00+00:00"), date(2000, 2, 29), date(2000, 2, 28)) == [True, True]
    assert accepts(birthday, env("2024-02-28T09:00:00+00:00"), date(2000, 2, 29)) == [False]  # leap year: wait a day
    assert accepts(birthday, env("2024-02-29T09:00:00+00:00"), date(2000, 2, 29)) == [True]
    # Read in the Env's time zone: 20:00 UTC on Nov 22 is Nov 23 in Shanghai.
    assert accepts(birthday, env("2026-11-22T20:00:00+00:00", "Asia/Shanghai"), date(1990, 11, 23)) == [True]


def test_zero_amount_is_now_or_today():
    e = env("2026-11-23T09:30:00+00:00")
    assert accepts({"field": "day", "op": "within_last", "value": {"amount": 0, "unit": "days"}}, e, date(2026, 11, 23)) == [True]


def test_boundaries_are_computed_once_per_env():
    """Many records, one Env: the window is computed once (a new Env gets a fresh one)."""
    predicate = compile_python(parse({"field": "day", "op": "this_month"}))
    november, december = env("2026-11-23T09:00:00+00:00"), env("2026-12-01T09:00:00+00:00")
    assert predicate({"day": date(2026, 11, 1)}, november)
    assert not predicate({"day": date(2026, 11, 1)}, december)
    assert predicate({"day": date(2026, 11, 30)}, november)
