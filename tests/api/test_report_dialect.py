"""Report SQL building blocks on both databases: time buckets read in a time zone (checked row by row
against zoneinfo), numeric bins, median, and the statement timeout."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import BigInteger, Column, Date, Integer, MetaData, Numeric, Table, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.db import Database
from engine.core.sql import UTCDateTime
from engine.reports.dialect import UNITS, ReportTimeout, bins, bucket, median, offset_table, timeout

probe = Table(
    "report_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("day", Date()),
    Column("amount", Numeric(12, 2)),
    Column("n", BigInteger()),
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


INSTANTS = [
    # Europe/Berlin springs forward at 2026-03-29 01:00 UTC (02:00 CET -> 03:00 CEST) ...
    utc(2026, 3, 29, 0, 59, 59), utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30),
    # ... and falls back at 2026-10-25 01:00 UTC (03:00 CEST -> 02:00 CET).
    utc(2026, 10, 25, 0, 59, 59, 999999), utc(2026, 10, 25, 1, 0, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30),
    # Asia/Shanghai (UTC+8): 2026-11-30 16:00 UTC is 2026-12-01 00:00 local.
    utc(2026, 11, 30, 15, 59, 59), utc(2026, 11, 30, 16, 0, 0),
    # Year and ISO week boundaries: 2026-12-31 is a Thursday, 2027-01-04 a Monday, 2025-12-29 a Monday.
    utc(2026, 12, 31, 22, 30), utc(2026, 12, 31, 23, 30), utc(2027, 1, 3, 22, 59), utc(2027, 1, 3, 23, 30),
    utc(2025, 12, 28, 23, 30), utc(2025, 12, 29, 0, 30),
    # Quarter boundaries in local time.
    utc(2026, 3, 31, 21, 59, 59), utc(2026, 3, 31, 22, 0), utc(2026, 6, 30, 21, 59, 59), utc(2026, 9, 30, 16, 0),
    # Australia/Sydney's southern summer time and America/New_York's March change; a year inside the window.
    utc(2026, 4, 4, 15, 59, 59), utc(2026, 4, 4, 16, 0), utc(2026, 3, 8, 6, 59, 59), utc(2026, 3, 8, 7, 0),
    utc(2030, 7, 15, 12, 0), utc(2001, 1, 1, 0, 0),
]  # fmt: skip
DAYS = [date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 3), date(2027, 1, 4), date(2025, 12, 29), date(2026, 3, 29),
        date(2026, 3, 31), date(2026, 4, 1), date(2026, 10, 1), date(2026, 12, 1)]  # fmt: skip
ZONES = ["Europe/Berlin", "Asia/Shanghai", "Australia/Sydney", "America/New_York", "Asia/Kolkata", "UTC"]


def expected_bucket(local: datetime | date, unit: str) -> str:
    day = local.date() if isinstance(local, datetime) else local
    starts = {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "quarter": date(day.year, (day.month - 1) // 3 * 3 + 1, 1),
        "year": date(day.year, 1, 1),
    }
    if unit == "hour":
        return f"{day.isoformat()}T{local.hour if isinstance(local, datetime) else 0:02d}:00"
    return starts[unit].isoformat()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.write() as conn:
        await conn.run_sync(probe.metadata.create_all)
    yield database
    await database.dispose()


async def fill(db: Database, rows: list[dict[str, object]]) -> None:
    async with db.write() as conn:
        await conn.execute(probe.insert(), [{"at": None, "day": None, "amount": None, "n": None} | row for row in rows])


async def by_id(conn: AsyncConnection, expr: object) -> list[object]:
    return list((await conn.execute(select(expr).order_by(probe.c.id))).scalars())


@pytest.mark.parametrize("tz", ZONES)
async def test_datetime_buckets_match_zoneinfo_for_every_row(db: Database, tz: str) -> None:
    await fill(db, [{"at": at} for at in INSTANTS])
    async with db.read() as conn:
        for unit in UNITS:
            got = await by_id(conn, bucket(probe.c.at, unit, tz, db.dialect))
            assert got == [expected_bucket(at.astimezone(ZoneInfo(tz)), unit) for at in INSTANTS], unit


async def test_buckets_across_daylight_saving_and_local_midnight(db: Database) -> None:
    await fill(db, [{"at": at} for at in INSTANTS[:10]])
    async with db.read() as conn:
        berlin = await by_id(conn, bucket(probe.c.at, "hour", "Europe/Berlin", db.dialect))
        shanghai = await by_id(conn, bucket(probe.c.at, "month", "Asia/Shanghai", db.dialect))
    assert berlin == ["2026-03-29T01:00", "2026-03-29T03:00", "2026-03-29T01:00", "2026-03-29T03:00",
                      "2026-10-25T02:00", "2026-10-25T02:00", "2026-10-25T02:00", "2026-10-25T02:00",
                      "2026-11-30T16:00", "2026-11-30T17:00"]  # fmt: skip
    assert shanghai[-2:] == ["2026-11-01", "2026-12-01"]


async def test_iso_weeks_and_quarters_across_the_year_boundary(db: Database) -> None:
    await fill(db, [{"at": at} for at in INSTANTS[10:20]])
    async with db.read() as conn:
        weeks = await by_id(conn, bucket(probe.c.at, "week", "Europe/Berlin", db.dialect))
        quarters = await by_id(conn, bucket(probe.c.at, "quarter", "Europe/Berlin", db.dialect))
        years = await by_id(conn, bucket(probe.c.at, "year", "Asia/Shanghai", db.dialect))
    assert weeks == ["2026-12-28", "2026-12-28", "2026-12-28", "2027-01-04", "2025-12-29", "2025-12-29",
                     "2026-03-30", "2026-03-30", "2026-06-29", "2026-09-28"]  # fmt: skip
    assert quarters == ["2026-10-01", "2027-01-01", "2027-01-01", "2027-01-01", "2025-10-01", "2025-10-01",
                        "2026-01-01", "2026-04-01", "2026-04-01", "2026-07-01"]  # fmt: skip
    assert years == ["2027-01-01"] * 4 + ["2025-01-01"] * 2 + ["2026-01-01"] * 4


async def test_date_columns_are_bucketed_without_a_time_zone_shift(db: Database) -> None:
    await fill(db, [{"day": day} for day in DAYS])
    async with db.read() as conn:
        for unit in UNITS:
            got = await by_id(conn, bucket(probe.c.day, unit, "Asia/Shanghai", db.dialect, kind="date"))
            assert got == [expected_bucket(day, unit) for day in DAYS], unit
        weeks = await by_id(conn, bucket(probe.c.day, "week", "Pacific/Auckland", db.dialect, kind="date"))
    assert weeks[:4] == ["2026-12-28", "2026-12-28", "2026-12-28", "2027-01-04"]


async def test_buckets_group_by_the_same_expression(db: Database) -> None:
    # The compiler builds the bucket once for SELECT and once for GROUP BY; PostgreSQL accepts that only
    # when both render the same SQL text (no bound parameters).
    await fill(db, [{"at": at} for at in INSTANTS[:10]])
    async with db.read() as conn:
        month = bucket(probe.c.at, "month", "Asia/Shanghai", db.dialect).label("month")
        query = select(month, func.count()).group_by(bucket(probe.c.at, "month", "Asia/Shanghai", db.dialect)).order_by(month)
        rows = [tuple(row) for row in await conn.execute(query)]
        width = bins(probe.c.amount, 10, 0, None)
        await conn.execute(select(width, func.count()).group_by(bins(probe.c.amount, 10, 0, None)))
    assert rows == [("2026-03-01", 4), ("2026-10-01", 4), ("2026-11-01", 1), ("2026-12-01", 1)]


async def test_unknown_or_hostile_time_zones_are_refused() -> None:
    for tz in ("Mars/Olympus", "Europe/Berlin'; DROP TABLE x; --", "../etc/passwd", "", "Europe", "zone.tab"):
        with pytest.raises(ValueError, match="unknown time zone"):
            bucket(probe.c.at, "day", tz, "postgresql")
    with pytest.raises(ValueError, match="no bucket 'minute'"):
        bucket(probe.c.at, "minute", "UTC", "sqlite")


def test_sqlite_offsets_follow_the_zones_transitions() -> None:
    berlin = offset_table("Europe/Berlin", 2026, 2026)
    assert berlin.transitions == (("2026-03-29 01:00:00", 7200), ("2026-10-25 01:00:00", 3600))
    assert (berlin.standard_before, berlin.at_start, berlin.standard_after) == (3600, 3600, 3600)
    sydney = offset_table("Australia/Sydney", 2026, 2026)  # summer time at New Year, standard time outside the window
    assert sydney.transitions == (("2026-04-04 16:00:00", 36000), ("2026-10-03 16:00:00", 39600))
    assert (sydney.standard_before, sydney.at_start, sydney.standard_after) == (36000, 39600, 36000)
    assert offset_table("Asia/Shanghai", 1996, 2031).transitions == ()


AMOUNTS = [Decimal(v) for v in ("0.29", "0.30", "0.31", "-0.05", "10.00", "99.99", "100.00", "349.99", "350.00")]


async def test_bins_by_width_put_boundary_values_in_the_upper_bin(db: Database) -> None:
    await fill(db, [{"amount": a} for a in AMOUNTS] + [{"amount": None}])
    async with db.read() as conn:
        tenths = await by_id(conn, bins(probe.c.amount, 0.1, 0, None))
        shifted = await by_id(conn, bins(probe.c.amount, 250, 100, None))
    assert tenths == [Decimal(v) for v in ("0.2", "0.3", "0.3", "-0.1", "10", "99.9", "100", "349.9", "350")] + [None]
    assert shifted == [Decimal(v) for v in ("-150", "-150", "-150", "-150", "-150", "-150", "100", "100", "350")] + [None]


async def test_bins_by_edges_are_half_open_with_an_open_top(db: Database) -> None:
    values = [-1, 0, 999, 1000, 9999, 10000, 1_000_000]
    await fill(db, [{"n": v, "amount": Decimal(v) - Decimal("0.01")} for v in values] + [{"n": None}])
    async with db.read() as conn:
        whole = await by_id(conn, bins(probe.c.n, None, 0, [0, 1000, 10000]))
        cents = await by_id(conn, bins(probe.c.amount, None, 0, [0, 1000, 10000]))
    assert whole == [None, 0, 0, 1000, 1000, 10000, 10000, None]
    assert cents == [None, None, 0, 0, 1000, 1000, 10000, None]


async def test_median_on_postgresql_and_a_clear_refusal_on_sqlite(db: Database) -> None:
    odd = [Decimal(v) for v in ("3", "1", "4.5", "1", "5", "9", "2.25")]
    await fill(db, [{"amount": a, "n": i % 2} for i, a in enumerate([*odd, Decimal("6")])])
    if db.dialect == "sqlite":
        with pytest.raises(ValueError, match="median needs PostgreSQL"):
            median(probe.c.amount, db.dialect)
        return
    async with db.read() as conn:
        even = (await conn.execute(select(median(probe.c.amount, db.dialect)))).scalar_one()
        odd_only = select(median(probe.c.amount, db.dialect)).where(probe.c.id <= len(odd))
        middle = (await conn.execute(odd_only)).scalar_one()
        groups = dict((await conn.execute(select(probe.c.n, median(probe.c.amount, db.dialect)).group_by(probe.c.n))).all())
    assert even == statistics.median([float(a) for a in [*odd, Decimal("6")]]) == 3.75
    assert middle == statistics.median([float(a) for a in odd]) == 3.0
    assert (
        groups == {0: statistics.median([3.0, 4.5, 5.0, 2.25]), 1: statistics.median([1.0, 1.0, 9.0, 6.0])} == {0: 3.75, 1: 3.5}
    )


def slow_query(dialect: str) -> object:
    if dialect == "postgresql":
        return select(func.pg_sleep(2))
    return select(
        literal_column(
            "(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) SELECT count(*) FROM c)"
        )
    )


async def test_a_slow_query_times_out_and_the_connection_stays_usable(db: Database) -> None:
    async with db.read() as conn:
        began = time.monotonic()
        with pytest.raises(ReportTimeout, match=r"the report took longer than 0\.2 s"):
            async with timeout(conn, 0.2):
                await conn.execute(slow_query(db.dialect))
        assert time.monotonic() - began < 1.5
        assert (await conn.execute(select(literal_column("1")))).scalar_one() == 1
        if db.dialect == "postgresql":
            assert (await conn.execute(select(func.current_setting("statement_timeout")))).scalar_one() == "0"
        else:  # the progress handler is gone: a query of a few hundred ms is no longer cut off
            counted = select(
                literal_column(
                    "(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300000) SELECT count(*) FROM c)"
                )
            )
            assert (await conn.execute(counted)).scalar_one() == 300000


async def test_a_fast_query_returns_and_the_limit_ends_with_the_block(db: Database) -> None:
    await fill(db, [{"n": 7}])
    async with db.read() as conn:
        async with timeout(conn, 5):
            got = (await conn.execute(select(probe.c.n))).scalar_one()
        if db.dialect == "postgresql":
            assert (await conn.execute(select(func.current_setting("statement_timeout")))).scalar_one() == "0"
    assert got == 7


async def test_other_database_errors_pass_through_and_bad_limits_are_refused(db: Database) -> None:
    async with db.read() as conn:
        with pytest.raises(Exception, match=r"no such table|does not exist") as caught:
            async with timeout(conn, 1):
                await conn.execute(select(literal_column("x")).select_from(Table("missing_table", MetaData())))
        assert not isinstance(caught.value, ReportTimeout)
        for bad in (0, -1, float("nan"), float("inf"), 3601):
            with pytest.raises(ValueError, match="between 0 and 3600"):
                async with timeout(conn, bad):
                    pass
