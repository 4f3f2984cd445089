"""`tangram demo crm` at scale: the CRM installed from the catalog, then BENCH_DEMO_ACCOUNTS (default
20,000: about 100,000 opportunities and 420,000 records in all) generated through the record service
(validation, auto numbers, formulas, audit log; automation paused), beside a raw executemany of the very
same rows, read back from the generated tables, into same-shaped copies of them in the same run. Then the
CEO cockpit on that data in Chromium beside its tiles' SQL (tests/benchmarks/cockpit.py).

The generator is one transaction; the figure is records per second and the ratio is product time over
baseline time.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from sqlalchemy import MetaData, insert, select

from engine.api.context import Context
from engine.apps.demo import generate
from engine.apps.service import load
from engine.auth.policy import Access
from engine.core.db import Database
from engine.core.settings import Settings
from engine.setup import prepare_database
from tests.benchmarks import cockpit
from tests.benchmarks.backends import Backend, plan
from tests.benchmarks.measure import Metric, Section
from tests.benchmarks.report import progress, section, table


async def measure(backend: Backend, accounts: int) -> Section:
    settings = Settings(database_url=backend.url, var_dir=str(backend.work_dir), tangram_secret_key="bench")
    ctx = Context(settings=settings, db=Database(backend.url))
    report = Section()
    try:
        await ctx.packages.install(load(ctx.packages.catalog_package("crm")), Access.system(source="bench"))
        progress(f"generating the demo CRM for {accounts:,} accounts")
        started = time.perf_counter()
        summary = await generate(ctx, "crm", accounts=accounts, seed=1)
        product = time.perf_counter() - started
        total = sum(summary.counts.values())
        baseline = await raw_copy(ctx, list(summary.counts))
        report.metrics.append(
            Metric(f"demo crm, {accounts:,} accounts: {total:,} records", product, baseline, "s", product / baseline)
        )
        report.notes.append(
            f"{total / product:,.0f} records/s; "
            + ", ".join(f"{k} {n:,}" for k, n in summary.counts.items())
            + f"; baseline {total / baseline:,.0f} rows/s"
        )
    finally:
        await ctx.db.dispose()
    return report


async def raw_copy(ctx: Context, keys: list[str]) -> float:
    """The generated rows, already typed, inserted by one executemany per table into a copy of it."""
    copies: list[tuple[Any, list[dict[str, Any]]]] = []
    async with ctx.db.write() as conn:
        for key in keys:
            source = (await ctx.store.get(conn, "crm", key)).table
            rows = [dict(r._mapping) for r in await conn.execute(select(source))]
            copy = source.to_metadata(MetaData(), name=f"bench_copy_{key}")  # same columns, indexes, uniques
            for item in (*copy.indexes, *copy.constraints):
                item.name = f"bench_{item.name}" if isinstance(item.name, str) else item.name
            await conn.run_sync(copy.metadata.create_all)
            copies.append((copy, rows))
    progress(f"raw executemany of the same {sum(len(r) for _, r in copies):,} rows")
    started = time.perf_counter()
    async with ctx.db.write() as conn:
        for copy, rows in copies:
            await conn.execute(insert(copy), rows)
    return time.perf_counter() - started


def main() -> None:
    accounts = int(os.environ.get("BENCH_DEMO_ACCOUNTS", "20000"))
    runs, skipped = plan()
    for name, opener in runs:
        section(f"demo data on {name}: the CRM for {accounts:,} accounts, beside raw executemany of the same rows")
        with opener() as backend:
            prepare_database(backend.url)
            report = asyncio.run(measure(backend, accounts))
            progress("the CEO cockpit on the generated data, in Chromium")
            report.metrics += cockpit.measure(backend, int(os.environ.get("BENCH_COCKPIT_REPS", "10")))
        print(f"\n{table(report.metrics)}\n")
        print("ratio = generation time / raw executemany time of the generated rows (no validation, audit or formulas)")
        print(cockpit.LEGEND)
        print("\n".join(["", *report.notes]), flush=True)
    for s in skipped:
        print(f"skipped {s}")


if __name__ == "__main__":
    main()
