"""Deadlines of process timers and task reminders/escalations: a start instant plus an Offset, in
plain calendar time or in working time on the process's working-hours calendar.

Plain time follows engine.expr.dates (and reuses it): minutes and hours are elapsed time; days, weeks
and months are calendar units in the business time zone (a day across a daylight-saving change is 23
or 25 hours; months clamp to the month's end). Working time counts only the minutes inside
[start, end) of working days: weekdays in `days` plus the extra `workdays` (调休), minus `holidays`.
A working "day" is the working-day length in working minutes (so Friday 17:00 + 1 day is Monday
17:00) and a week is `len(days)` working days; months stay calendar months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.expr.dates import Span, shift
from engine.formula.env import Env
from engine.process.definition import Offset, WorkingHours

MAX_DAYS = 100_000  # how far the working-time walk looks ahead before giving up (about 274 years)
WEEKDAYS = range(1, 8)  # ISO: 1 = Monday ... 7 = Sunday


@dataclass(frozen=True)
class WorkCalendar:
    """A WorkingHours parsed once: the dates and clock times the walk compares against."""

    days: frozenset[int]
    opens: time
    closes: time
    holidays: frozenset[date]
    workdays: frozenset[date]

    @classmethod
    def of(cls, hours: WorkingHours) -> WorkCalendar:
        """Raises ValueError, with a message for the builder, when the calendar has no working time."""
        opens, closes = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
        if closes <= opens:
            raise ValueError(f"working hours end ({hours.end}) must be after their start ({hours.start}) on the same day")
        bad = sorted(set(hours.days) - set(WEEKDAYS))
        if bad:
            raise ValueError(f"working days are ISO weekdays, 1 (Monday) to 7 (Sunday): {bad} is not")
        return cls(frozenset(hours.days), opens, closes, _dates(hours.holidays, "holiday"), _dates(hours.workdays, "workday"))

    @property
    def day_minutes(self) -> int:
        """The length of a working day on the wall clock, in minutes."""
        return (self.closes.hour - self.opens.hour) * 60 + self.closes.minute - self.opens.minute

    def is_working(self, d: date) -> bool:
        if d in self.holidays:
            return False
        return d.isoweekday() in self.days or d in self.workdays


def _dates(values: list[str], what: str) -> frozenset[date]:
    parsed = set()
    for value in values:
        try:
            parsed.add(date.fromisoformat(value))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(parsed)


def validate(hours: WorkingHours) -> None:
    """Raises ValueError when the calendar cannot count working time (for the compile step to report)."""
    WorkCalendar.of(hours)


def deadline(start: datetime, offset: Offset, tz: ZoneInfo, hours: WorkingHours | None) -> datetime:
    """`start` moved forwards by `offset`, as an aware UTC datetime. With `hours`, minutes, hours, days
    and weeks count working time from the first working moment at or after `start`."""
    if start.tzinfo is None:
        raise ValueError("a deadline starts from a timezone-aware instant")
    # In UTC: Python adds a timedelta to an aware datetime on its wall clock, not in elapsed time.
    start = start.astimezone(UTC)
    if hours is None or offset.unit == "months":
        return _plain(start, offset, tz)
    cal = WorkCalendar.of(hours)
    unit_minutes = {"minutes": 1, "hours": 60, "days": cal.day_minutes, "weeks": cal.day_minutes * len(cal.days)}
    return _add_working(start, timedelta(minutes=offset.amount * unit_minutes[offset.unit]), tz, cal)


def _plain(start: datetime, offset: Offset, tz: ZoneInfo) -> datetime:
    try:
        return shift(Env(now=start, tz=tz), Span(offset.amount, offset.unit), 1, "datetime").astimezone(UTC)
    except (OverflowError, ValueError):  # past year 9999
        raise ValueError(f"{offset.amount} {offset.unit} from {start.isoformat()} is beyond the calendar") from None


def _add_working(start: datetime, remaining: timedelta, tz: ZoneInfo, cal: WorkCalendar) -> datetime:
    """Walk day by day from start's local date, spending `remaining` inside each working window."""
    day = start.astimezone(tz).date()
    for _ in range(MAX_DAYS):
        if cal.is_working(day):
            opens = datetime.combine(day, cal.opens, tzinfo=tz).astimezone(UTC)
            closes = datetime.combine(day, cal.closes, tzinfo=tz).astimezone(UTC)
            begin = max(opens, start)
            if begin < closes:
                # Ending exactly at closing time stays on this day (its end), not the next opening.
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        try:
            day += timedelta(days=1)
        except OverflowError:
            break
    raise ValueError(f"the working-hours calendar has no room for this deadline within {MAX_DAYS} days of {start.isoformat()}")
