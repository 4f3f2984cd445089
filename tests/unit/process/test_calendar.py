"""Deadlines on the working-hours calendar and in plain calendar time (engine.process.calendar)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.process.calendar import deadline, validate
from engine.process.definition import Offset, WorkingHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = WorkingHours()  # Monday to Friday, 09:00-18:00
# October 2024 in China: National Day holidays Oct 1-7, Saturday Oct 12 worked in exchange (调休).
NATIONAL_DAY = WorkingHours(
    holidays=[f"2024-10-0{d}" for d in range(1, 8)],
    workdays=["2024-09-29", "2024-10-12"],
)


def at(tz: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=tz)  # type: ignore[misc]


def due(start: datetime, amount: int, unit: str, hours: WorkingHours | None = OFFICE, tz: ZoneInfo = SHANGHAI) -> datetime:
    return deadline(start, Offset(amount=amount, unit=unit), tz, hours)  # type: ignore[arg-type]


def test_working_hours_carry_over_the_weekend() -> None:
    friday_5pm = at(SHANGHAI, 2024, 6, 14, 17, 0)
    assert due(friday_5pm, 2, "hours") == at(SHANGHAI, 2024, 6, 17, 10, 0)


def test_the_result_is_utc() -> None:
    result = due(at(SHANGHAI, 2024, 6, 14, 17, 0), 2, "hours")
    assert result.tzinfo is UTC
    assert result == datetime(2024, 6, 17, 2, 0, tzinfo=UTC)


def test_holidays_are_skipped() -> None:
    monday_before_national_day = at(SHANGHAI, 2024, 9, 30, 17, 0)
    assert due(monday_before_national_day, 2, "hours", NATIONAL_DAY) == at(SHANGHAI, 2024, 10, 8, 10, 0)


def test_an_exchanged_saturday_is_worked() -> None:
    friday_5pm = at(SHANGHAI, 2024, 10, 11, 17, 0)
    assert due(friday_5pm, 2, "hours", NATIONAL_DAY) == at(SHANGHAI, 2024, 10, 12, 10, 0)
    assert due(friday_5pm, 2, "hours") == at(SHANGHAI, 2024, 10, 14, 10, 0)  # without the exchange


def test_a_holiday_wins_over_its_weekday() -> None:
    tuesday = at(SHANGHAI, 2024, 10, 1, 10, 0)
    assert due(tuesday, 30, "minutes", NATIONAL_DAY) == at(SHANGHAI, 2024, 10, 8, 9, 30)


def test_a_start_before_opening_counts_from_opening() -> None:
    assert due(at(SHANGHAI, 2024, 6, 17, 7, 45), 30, "minutes") == at(SHANGHAI, 2024, 6, 17, 9, 30)


def test_a_start_after_closing_counts_from_the_next_working_morning() -> None:
    assert due(at(SHANGHAI, 2024, 6, 17, 19, 0), 1, "hours") == at(SHANGHAI, 2024, 6, 18, 10, 0)


def test_a_working_day_from_saturday_ends_on_monday_evening() -> None:
    saturday = at(SHANGHAI, 2024, 6, 15, 11, 0)
    assert due(saturday, 1, "days") == at(SHANGHAI, 2024, 6, 17, 18, 0)


def test_working_days_are_full_working_day_lengths() -> None:
    friday_5pm = at(SHANGHAI, 2024, 6, 14, 17, 0)
    assert due(friday_5pm, 1, "days") == at(SHANGHAI, 2024, 6, 17, 17, 0)
    assert due(friday_5pm, 3, "days") == at(SHANGHAI, 2024, 6, 19, 17, 0)


def test_a_working_week_is_as_many_days_as_the_calendar_works() -> None:
    monday = at(SHANGHAI, 2024, 6, 17, 10, 0)
    assert due(monday, 1, "weeks") == at(SHANGHAI, 2024, 6, 24, 10, 0)
    six_day_week = WorkingHours(days=[1, 2, 3, 4, 5, 6])
    assert due(monday, 1, "weeks", six_day_week) == at(SHANGHAI, 2024, 6, 24, 10, 0)
    assert due(monday, 5, "days", six_day_week) == at(SHANGHAI, 2024, 6, 22, 10, 0)


def test_months_ignore_working_time_and_clamp_to_the_month_end() -> None:
    january_31 = at(SHANGHAI, 2024, 1, 31, 20, 0)
    assert due(january_31, 1, "months") == at(SHANGHAI, 2024, 2, 29, 20, 0)
    assert due(january_31, 1, "months", None) == at(SHANGHAI, 2024, 2, 29, 20, 0)
    assert due(january_31, 13, "months", None) == at(SHANGHAI, 2025, 2, 28, 20, 0)


def test_plain_hours_are_elapsed_time_across_daylight_saving() -> None:
    before_spring_forward = at(BERLIN, 2024, 3, 30, 12, 0)
    assert due(before_spring_forward, 24, "hours", None, BERLIN) == at(BERLIN, 2024, 3, 31, 13, 0)


def test_plain_days_keep_the_clock_time_across_daylight_saving() -> None:
    before_spring_forward = at(BERLIN, 2024, 3, 30, 12, 0)
    next_day = due(before_spring_forward, 1, "days", None, BERLIN)
    assert next_day == at(BERLIN, 2024, 3, 31, 12, 0)
    assert next_day - before_spring_forward == timedelta(hours=23)
    assert due(before_spring_forward, 2, "weeks", None, BERLIN) == at(BERLIN, 2024, 4, 13, 12, 0)


def test_working_hours_are_local_on_both_sides_of_daylight_saving() -> None:
    friday_before_spring_forward = at(BERLIN, 2024, 3, 29, 17, 0)
    assert due(friday_before_spring_forward, 2, "hours", OFFICE, BERLIN) == at(BERLIN, 2024, 4, 1, 10, 0)


def test_plain_minutes() -> None:
    assert due(at(SHANGHAI, 2024, 6, 15, 23, 50), 20, "minutes", None) == at(SHANGHAI, 2024, 6, 16, 0, 10)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (WorkingHours(start="18:00", end="09:00"), "must be after their start"),
        (WorkingHours(start="09:00", end="09:00"), "must be after their start"),
        (WorkingHours(days=[0, 8]), "ISO weekdays"),
        (WorkingHours(holidays=["2024-02-30"]), "holiday '2024-02-30' is not a date"),
        (WorkingHours(workdays=["next saturday"]), "workday 'next saturday' is not a date"),
    ],
)
def test_a_calendar_without_working_time_is_refused(hours: WorkingHours, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate(hours)
    with pytest.raises(ValueError, match=message):
        due(at(SHANGHAI, 2024, 6, 17, 10, 0), 1, "hours", hours)


def test_a_deadline_beyond_the_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="beyond the calendar"):
        due(at(SHANGHAI, 9999, 6, 17, 10, 0), 12, "months", None)
    with pytest.raises(ValueError, match="no room for this deadline"):
        due(at(SHANGHAI, 2024, 6, 17, 10, 0), 100_000, "weeks")


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline(datetime(2024, 6, 17, 10, 0), Offset(amount=1, unit="hours"), SHANGHAI, None)
