"""A scheduled rule over many rows (SQLite): the product's compiled tick query, run in its batches
until the occurrence is done, beside one hand-written INSERT .. SELECT .. RETURNING that marks the
same records and returns their ids (what a tick needs to act on). Neither loads the table into
Python. The actions the rule then runs per record are not part of this measure.

Environment: BENCH_SCHEDULED_ROWS (default 1,000,000), BENCH_SCHEDULED_REPS (default 3).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, text

from engine.api.context import Context
from engine.auth.policy import Access
from engine.core.clock import FrozenClock
from engine.core.db import Database
from engine.core.settings import Settings
from engine.rules.engine import TICK_BATCH, due_statement
from engine.rules.tables import rule_fires
from engine.setup import prepare_database
from tests.benchmarks.measure import Metric, Section
from tests.benchmarks.report import progress

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ACCOUNT = {
    "key": "account", "label": {"en": "Account"}, "fields": [
        {"key": "name", "type": "text"},
        {"key": "status", "type": "select", "options": [{"key": k} for k in ("open", "closed", "dormant")]},
        {"key": "tier", "type": "select", "options": [{"key": k} for k in ("gold", "silver", "bronze")]},
        {"key": "last_contact", "type": "datetime"},
    ],
}  # fmt: skip
RULE = {
    "key": "reactivate", "entity": "account", "trigger": {"type": "schedule", "cron": "0 8 * * *"},
    "condition": {"all": [
        {"field": "status", "op": "eq", "value": "open"},
        {"field": "tier", "op": "in", "value": ["gold", "silver"]},
        {"field": "last_contact", "op": "older_than", "value": {"amount": 180, "unit": "days"}},
    ]},
    "actions": [{"type": "set_fields", "values": {"status": "dormant"}}],
}  # fmt: skip
# The same selection, written by hand.
HAND_WRITTEN = """
INSERT INTO tg_rule_fires (rule_id, record_id, occurrence, at)
SELECT :rule_id, a.id, :occurrence, :now FROM bench__account AS a
WHERE a.deleted_at IS NULL AND a.status = 'open' AND a.tier IN ('gold', 'silver')
  AND a.last_contact IS NOT NULL AND a.last_contact < :bound
  AND NOT EXISTS (SELECT 1 FROM tg_rule_fires AS f
                  WHERE f.rule_id = :rule_id AND f.record_id = a.id AND f.occurrence = :occurrence)
RETURNING record_id
"""


def scheduled_rule(rows: int | None = None, reps: int | None = None) -> Section:
    """Run in a fresh SQLite file (alembic runs its own event loop, so this one is not async)."""
    rows = rows or int(os.environ.get("BENCH_SCHEDULED_ROWS", "1000000"))
    reps = reps or int(os.environ.get("BENCH_SCHEDULED_REPS", "3"))
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite+aiosqlite:///{Path(work) / 'scheduled.db'}"
        prepare_database(url)
        return asyncio.run(_run(url, work, rows, reps))


async def _run(url: str, work: str, rows: int, reps: int) -> Section:
    report = Section()
    ctx = Context(Settings(database_url=url, var_dir=work, tangram_secret_key="bench"), Database(url), FrozenClock(NOW))
    try:
        rule_id, compiled, entity = await _setup(ctx, rows)
        product, baseline, matched = await _measure(ctx, rule_id, compiled, entity, reps)
    finally:
        await ctx.db.dispose()
    ratio = statistics.median(product) / statistics.median(baseline)
    report.metrics.append(
        Metric(f"scheduled rule tick over {rows:,} rows ({matched:,} due)", statistics.median(product) * 1000,
               statistics.median(baseline) * 1000, "ms", ratio, target="<= 1.5x", meets=ratio <= 1.5)
    )  # fmt: skip
    stmt = due_statement(compiled, entity, ctx.rules.env(None), "2026-11-23T08:00:00+00:00", NOW)
    sql = str(stmt.compile(dialect=_sqlite_dialect(), compile_kwargs={"literal_binds": True}))
    report.notes.append(
        "the tick's compiled query (one statement marks up to 100,000 due records; more continue after the last id):\n" + sql
    )
    return report


async def _setup(ctx: Context, rows: int) -> tuple[int, object, object]:
    system = Access.system()
    async with ctx.db.write() as conn:
        await ctx.schema.create_app(conn, "bench", {"en": "Bench"}, None)
        await ctx.schema.create_entity(conn, "bench", ACCOUNT, system)
    progress(f"loading {rows:,} accounts")
    async with ctx.db.write() as conn:
        await conn.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
                "INSERT INTO bench__account (name, status, tier, last_contact, version, created_at, updated_at) "
                "SELECT 'account ' || i, CASE i % 3 WHEN 0 THEN 'open' WHEN 1 THEN 'closed' ELSE 'dormant' END, "
                "CASE i % 4 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' ELSE 'bronze' END, "
                "datetime(:now, '-' || (i % 400) || ' days') || '.000000', 1, :now, :now FROM n"
            ),
            {"rows": rows, "now": NOW.strftime("%Y-%m-%d %H:%M:%S.000000")},
        )
    async with ctx.db.write() as conn:
        rule = await ctx.rule_service.create(conn, "bench", RULE)
        found = await ctx.rules.compiled(conn, rule["id"])
    assert found is not None
    return rule["id"], found[0], found[1]


async def _measure(
    ctx: Context, rule_id: int, compiled: object, entity: object, reps: int
) -> tuple[list[float], list[float], int]:
    product, baseline, matched = [], [], 0
    bound = NOW - timedelta(days=180)
    for rep in range(reps):
        start = time.perf_counter()
        async with ctx.db.write() as conn:
            after, done = 0, 0
            while True:
                fired = await ctx.rules.fire_due(conn, compiled, entity, f"p{rep}", after)  # type: ignore[arg-type]
                done += len(fired)
                if len(fired) < TICK_BATCH:
                    break
                after = fired[-1][0]
        product.append(time.perf_counter() - start)
        start = time.perf_counter()
        async with ctx.db.write() as conn:
            params = {"rule_id": rule_id, "occurrence": f"b{rep}", "now": NOW.isoformat(), "bound": _stored(bound)}
            hand = len((await conn.execute(text(HAND_WRITTEN), params)).all())  # the ids to act on, as the tick needs
        baseline.append(time.perf_counter() - start)
        assert hand == done, f"the product marked {done} records, the hand-written query {hand}"
        matched = done
        async with ctx.db.write() as conn:
            await conn.execute(delete(rule_fires))
    return product, baseline, matched


def _stored(moment: datetime) -> str:
    """A datetime as our UTCDateTime column stores it on SQLite (for the hand-written query)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_dialect() -> object:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()
