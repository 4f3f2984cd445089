"""Read benchmark: filtered list pages on the loaded table, through parse_list_query + RecordReader.list
(and over HTTP), beside a raw Core select of the same page; with the query plans of both."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.sql import Select

from engine.records.query import build_select, parse_list_query
from tests.benchmarks.measure import Section, Step, interleave, latency, percentile
from tests.benchmarks.report import progress
from tests.benchmarks.workload import Bench

PAGE = 50
WARMUP = 20
MAX_P99_MS = 20.0
FILTER = {"field": "stage", "op": "eq", "value": "won"}  # `stage` is indexed: true; ~1/5 of the rows match


@dataclass(frozen=True)
class ListCase:
    title: str
    sort: str | None  # the API's sort parameter; None is the default order (id)
    max_p99_ms: float | None  # the target applies to the indexed filter in index order
    over_http: bool = False

    def query_args(self) -> dict[str, Any]:
        return {"filter": json.dumps(FILTER), "sort": self.sort, "limit": PAGE}


CASES = (
    ListCase("stage=won, default sort (id)", None, MAX_P99_MS, over_http=True),
    ListCase("stage=won, sort -amount (no index)", "-amount", None),
    ListCase("stage=won, sort -email (unique index)", "-email", None),
)


def product_select(b: Bench, case: ListCase) -> Select[Any]:
    return build_select(b.entity, _parse(b, case))


def baseline_select(b: Bench, case: ListCase) -> Select[Any]:
    """The page as one would write it by hand; PAGE + 1 rows like the product (it looks one ahead)."""
    t = b.entity.table
    order = []
    if case.sort:
        col = t.c[case.sort.removeprefix("-")]
        order.append(col.desc() if case.sort.startswith("-") else col)
    return select(t).where(t.c.stage == FILTER["value"], t.c.deleted_at.is_(None)).order_by(*order, t.c.id).limit(PAGE + 1)


def _parse(b: Bench, case: ListCase) -> Any:
    return parse_list_query(b.entity, cursor=None, fields=None, expand=None, count=False, **case.query_args())


# -- steps -------------------------------------------------------------------------------------------
def product_page(b: Bench, case: ListCase) -> Step:
    async def step(_: int) -> list[int]:
        async with b.ctx.db.read() as conn:
            page = await b.ctx.reader.list(conn, b.actor, b.entity, _parse(b, case))
        return [r["id"] for r in page["items"]]

    return step


def baseline_page(b: Bench, case: ListCase) -> Step:
    async def step(_: int) -> list[int]:
        async with b.ctx.db.read() as conn:
            rows = (await conn.execute(baseline_select(b, case))).all()
        return [r.id for r in rows[:PAGE]]

    return step


def http_page(b: Bench, case: ListCase) -> Step:
    params = {k: v for k, v in case.query_args().items() if v is not None}

    async def step(_: int) -> None:
        r = await b.http.get(b.records_path, params=params)
        if r.status_code != 200:
            raise RuntimeError(f"HTTP list failed: {r.status_code} {r.text[:500]}")

    return step


# -- plans -------------------------------------------------------------------------------------------
async def explain(b: Bench, stmt: Select[Any]) -> list[str]:
    """EXPLAIN QUERY PLAN on SQLite; EXPLAIN ANALYZE (actual times) on PostgreSQL."""
    async with b.ctx.db.read() as conn:
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if b.ctx.db.is_sqlite:
            return [row[-1] for row in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
        return [row[0] for row in await conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + sql)]


def _one_line(b: Bench, stmt: Select[Any]) -> str:
    """The statement's SQL on one line, its full column list shortened to *."""
    sql = str(stmt.compile(dialect=b.ctx.db.writer_engine.dialect, compile_kwargs={"literal_binds": True}))
    return " ".join(sql.split()).replace(", ".join(f"{b.entity.table_name}.{c.name}" for c in b.entity.table.c), "*")


async def plan_notes(b: Bench, case: ListCase) -> list[str]:
    notes = [f"list {case.title}:"]
    for who, stmt in (("product", product_select(b, case)), ("baseline", baseline_select(b, case))):
        notes.append(f"  {who} SQL: {_one_line(b, stmt)}")
        notes += [f"    {line}" for line in await explain(b, stmt)]
    return notes


# -- benchmark ---------------------------------------------------------------------------------------
async def measure_case(b: Bench, case: ListCase) -> Section:
    product, baseline = product_page(b, case), baseline_page(b, case)
    same = await product(0) == await baseline(0)
    variants = {"product": product, "baseline": baseline} | ({"http": http_page(b, case)} if case.over_http else {})
    ms = {name: [s * 1000 for s in samples] for name, samples in (await interleave(variants, b.sizes.list_reps, WARMUP)).items()}
    metrics = [
        latency(f"list {case.title} p50", percentile(ms["product"], 50), percentile(ms["baseline"], 50)),
        latency(f"list {case.title} p99", percentile(ms["product"], 99), percentile(ms["baseline"], 99), case.max_p99_ms),
    ]
    if case.over_http:
        metrics += [
            latency(f"list {case.title} HTTP p50", percentile(ms["http"], 50), percentile(ms["baseline"], 50)),
            latency(f"list {case.title} HTTP p99", percentile(ms["http"], 99), percentile(ms["baseline"], 99)),
        ]
    notes = [] if same else [f"WARNING: list {case.title}: the product's first page differs from the baseline's"]
    return Section(metrics, notes + await plan_notes(b, case))


async def list_latency(b: Bench) -> Section:
    await b.settle()
    async with b.ctx.db.read() as conn:
        total = (await conn.execute(select(func.count()).select_from(b.entity.table))).scalar_one()
    progress(f"list latency on {total:,} records: {len(CASES)} queries x {b.sizes.list_reps} repetitions, limit {PAGE}")
    started = time.perf_counter()
    section = Section(
        notes=[
            f"list: filter {json.dumps(FILTER)}, limit {PAGE}, on {total:,} live records; product = "
            "parse_list_query + RecordReader.list in a read transaction, baseline = hand-written Core select"
        ]
    )
    for case in CASES:
        section.extend(await measure_case(b, case))
    progress(f"list latency done in {time.perf_counter() - started:.1f}s")
    return section
