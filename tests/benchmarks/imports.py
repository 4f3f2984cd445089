"""X4 import on SQLite: a realistic lead CSV (12 columns: a select by its Chinese label, a date in Chinese
format, money with separators and a currency sign, a relation looked up by account name) imported through
the whole path (parse, coerce, look up, validate, write, audit), automation off and on, beside a raw
executemany of the same, already typed rows into a same-shaped table in the same run.

With automation on, a before-save scoring rule and an after-save notice (about a fifth of the rows) run
as they would in the CRM. Environment: BENCH_IMPORT_ROWS (default 100,000). The issue's target: under
30 s for 100,000 rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import random
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, Numeric, Table, Text, insert

from engine.api.context import Context
from engine.auth.policy import Access
from engine.core.db import Database
from engine.core.settings import Settings
from engine.imports.options import ImportOptions
from engine.setup import prepare_database
from tests.benchmarks.measure import Metric, Section
from tests.benchmarks.report import progress

ACCOUNTS = 2000
SOURCES = [("web", "官网"), ("expo", "展会"), ("referral", "转介绍"), ("ads", "广告")]
PROVINCES = ["北京", "上海", "广东", "江苏", "浙江", "四川", "湖北", "山东"]
ACCOUNT = {"key": "account", "label": {"en": "Account", "zh-CN": "客户"}, "display_field": "name",
           "fields": [{"key": "name", "type": "text", "unique": True, "label": {"zh-CN": "客户名称"}}]}  # fmt: skip


def lead(key: str) -> dict[str, Any]:
    return {
        "key": key, "label": {"en": "Lead", "zh-CN": "线索"}, "display_field": "name",
        "fields": [
            {"key": "name", "type": "text", "required": True, "label": {"zh-CN": "线索名称"}},
            {"key": "email", "type": "email", "unique": True, "label": {"zh-CN": "邮箱"}},
            {"key": "phone", "type": "phone", "label": {"zh-CN": "电话"}},
            {"key": "contact", "type": "text", "label": {"zh-CN": "联系人"}},
            {"key": "source", "type": "select", "label": {"zh-CN": "来源"},
             "options": [{"key": k, "label": {"zh-CN": z}} for k, z in SOURCES]},
            {"key": "first_contact", "type": "date", "label": {"zh-CN": "首次联系"}},
            {"key": "budget", "type": "currency", "min": 0, "label": {"zh-CN": "预算"}},
            {"key": "employees", "type": "integer", "min": 0, "label": {"zh-CN": "员工数"}},
            {"key": "province", "type": "text", "label": {"zh-CN": "省份"}},
            {"key": "qualified", "type": "boolean", "label": {"zh-CN": "已确认"}},
            {"key": "account", "type": "relation", "target": "account", "label": {"zh-CN": "客户"}},
            {"key": "notes", "type": "long_text", "label": {"zh-CN": "备注"}},
            {"key": "score", "type": "integer", "default": 0},
        ],
    }  # fmt: skip


# With automation on, what the CRM runs on a new lead: R5 scoring before the save, R1's notice of a key
# lead after it (a durable job per matching record).
RULES = [
    {"key": "score_size", "entity": "lead_auto", "when": "before_save", "trigger": {"type": "created"},
     "condition": {"field": "employees", "op": "gte", "value": 500},
     "actions": [{"type": "add_points", "field": "score", "points": 30}]},
    {"key": "notify_key_lead", "entity": "lead_auto", "trigger": {"type": "created"},
     "condition": {"field": "budget", "op": "gt", "value": 4000000},
     "actions": [{"type": "notify", "to": ["owner"], "title": "Key lead: {{ record.name }}"}]},
]  # fmt: skip


HEADER = ["线索名称", "邮箱", "电话", "联系人", "来源", "首次联系", "预算", "员工数", "省份", "已确认", "客户", "备注"]


def rows(n: int) -> list[list[Any]]:
    """(typed values for the baseline, CSV cells as a user's sheet has them), seeded."""
    rnd = random.Random(7)
    out = []
    for i in range(n):
        day = date(2024, 1, 1) + timedelta(days=rnd.randrange(900))
        budget = Decimal(rnd.randrange(1_000_00, 5_000_000_00)) / 100
        out.append([f"线索 {i}", f"lead{i}@example.com", f"138{i:08d}", f"联系人{i % 97}", rnd.choice(SOURCES), day,
                    budget, rnd.randrange(1, 5000), rnd.choice(PROVINCES), rnd.random() < 0.3,
                    rnd.randrange(ACCOUNTS), f"来自{rnd.choice(PROVINCES)}的询价"])  # fmt: skip
    return out


def to_csv(typed: list[list[Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    for r in typed:
        w.writerow([r[0], r[1], r[2], r[3], r[4][1], f"{r[5].year}年{r[5].month}月{r[5].day}日", f"¥{r[6]:,.2f}", f"{r[7]:,}",
                    r[8], "是" if r[9] else "否", f"客户{r[10]:04d}", r[11]])  # fmt: skip
    return out.getvalue().encode("utf-8-sig")


def imports_benchmark() -> Section:
    n = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite+aiosqlite:///{Path(work) / 'imports.db'}"
        prepare_database(url)
        return asyncio.run(_run(url, work, n))


async def _run(url: str, work: str, n: int) -> Section:
    ctx = Context(Settings(database_url=url, var_dir=work, tangram_secret_key="bench"), Database(url))
    report = Section()
    try:
        admin = await _setup(ctx)
        typed = rows(n)
        data = to_csv(typed)
        baseline = await _raw(ctx, typed)
        for key, automation in (("lead", False), ("lead_auto", True)):
            seconds, counts = await _import(ctx, admin, key, data, automation)
            assert counts.created == n and counts.failed == 0, counts
            label = f"import {n:,} leads from CSV, automation {'on' if automation else 'off'}"
            report.metrics.append(Metric(label, seconds, baseline, "s", seconds / baseline, "< 30 s", seconds < 30))
        report.notes.append(f"CSV: {len(data) / 1e6:.1f} MB, {len(HEADER)} columns; {ACCOUNTS:,} accounts looked up by name")
        report.notes.append("baseline: one executemany of the same rows, already typed, into a same-shaped table (no audit)")
    finally:
        await ctx.db.dispose()
    return report


async def _setup(ctx: Context) -> Access:
    system = Access.system()
    async with ctx.db.write() as conn:
        uid, _ = await ctx.auth.ensure_admin(conn, "bench@example.com", "bench password 1234")
        await ctx.schema.create_app(conn, "bench", {"en": "Bench"}, None)
        for definition in (ACCOUNT, lead("lead"), lead("lead_auto")):
            await ctx.schema.create_entity(conn, "bench", definition, system)
        for rule in RULES:
            await ctx.rule_service.create(conn, "bench", rule)
        account = await ctx.store.get(conn, "bench", "account")
        items = [{"name": f"客户{i:04d}"} for i in range(ACCOUNTS)]
        await ctx.records.create_many(conn, account, items, system)
        access = await ctx.auth.actor_for_user(conn, uid)
    assert access is not None
    return access


async def _raw(ctx: Context, typed: list[list[Any]]) -> float:
    columns = [Column("id", Integer, primary_key=True), Column("name", Text), Column("email", Text, unique=True),
               Column("phone", Text), Column("contact", Text), Column("source", Text), Column("first_contact", Date),
               Column("budget", Numeric(15, 2)), Column("employees", Integer), Column("province", Text),
               Column("qualified", Boolean), Column("account", Integer), Column("notes", Text)]  # fmt: skip
    table = Table("bench_raw_lead", MetaData(), *columns)
    names = [c.name for c in columns[1:]]
    values = [dict(zip(names, [*r[:4], r[4][0], *r[5:10], r[10] + 1, r[11]], strict=True)) for r in typed]
    async with ctx.db.write() as conn:
        await conn.run_sync(table.metadata.create_all)
    progress(f"raw executemany of {len(values):,} rows")
    started = time.perf_counter()
    async with ctx.db.write() as conn:
        await conn.execute(insert(table), values)
    return time.perf_counter() - started


async def _import(ctx: Context, admin: Access, key: str, data: bytes, automation: bool) -> tuple[float, Any]:
    progress(f"importing into {key} (automation {'on' if automation else 'off'})")
    started = time.perf_counter()
    async with ctx.db.write() as conn:
        entity = await ctx.store.get(conn, "bench", key)
        status = await ctx.imports.start(conn, admin, entity, "leads.csv", data, ImportOptions(run_automation=automation),
                                         enqueue_job=False)  # fmt: skip
    counts = await ctx.imports.execute(status["id"])
    return time.perf_counter() - started, counts
