"""`python -m tests.benchmarks`: run every benchmark on each available backend and print the report.

Environment: BENCH_ROWS (records in the table, default 100000), BENCH_CREATES (single creates per
variant, default 2000), BENCH_LIST_REPS (timed list queries per case, default 300), BENCH_BACKENDS
(sqlite,postgresql), BENCH_DATABASE_URL / TEST_DATABASE_URL (the PostgreSQL server to use), BENCH_ONLY
(a comma-separated subset of conditions,scheduled,records,processes,reports,imports,related360,demo,pages,tenmin
to run). The process benchmark reads
BENCH_PROCESS_INSTANCES (default 2000) and BENCH_PROCESS_MEMORY (default 10000); the report benchmark
BENCH_REPORT_ROWS (default 1000000) and BENCH_REPORT_REPS (default 5, the median reported); the web app's pages
BENCH_PAGE_ROWS (default 100000) and BENCH_PAGE_REPS (default 200).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
import warnings

from sqlalchemy.exc import SAWarning

from engine.setup import prepare_database
from tests.benchmarks import (
    backends,
    conditions,
    demo,
    imports,
    lists,
    pages,
    processes,
    records,
    related360,
    reports,
    scheduled,
    scoping,
    ten_minute_app,
)
from tests.benchmarks.backends import Backend, Opener
from tests.benchmarks.measure import Section
from tests.benchmarks.report import progress, section, table
from tests.benchmarks.workload import Sizes, open_bench

# In order: the bulk load builds the table that single creates and list queries then run against;
# the scoped lists come last, as they hand the rows out to several owners.
BENCHMARKS = (records.bulk_creates, records.single_creates, lists.list_latency, scoping.scoped_list_latency)
# What BENCH_ONLY may name.
GROUPS = ("conditions", "scheduled", "records", "processes", "reports", "imports", "related360", "demo", "pages", "tenmin")


async def run_backend(backend: Backend, sizes: Sizes) -> Section:
    report = Section()
    async with open_bench(backend.url, backend.work_dir, sizes) as bench:
        version = ".".join(map(str, bench.ctx.db.writer_engine.dialect.server_version_info or ()))
        report.notes.append(f"{backend.name} {version}")
        for benchmark in BENCHMARKS:
            report.extend(await benchmark(bench))
    return report


def run(name: str, backend: Backend, sizes: Sizes) -> None:
    section(f"{name}: {sizes.rows:,} records ({backend.url.split('://')[0]})")
    started = time.perf_counter()
    prepare_database(backend.url)  # alembic runs its own event loop: before ours
    report = asyncio.run(run_backend(backend, sizes))
    print(f"\n{table(report.metrics)}\n")
    print("ratio = product cost / baseline cost (time per op, or latency); baseline = raw SQLAlchemy Core, same table")
    print("\n".join(["", *report.notes]))
    print(f"\n{name} finished in {time.perf_counter() - started:.0f}s", flush=True)


def run_conditions(sizes: Sizes) -> None:
    """Once, not per backend: compiled conditions run on native records, without a database."""
    section(f"conditions: {sizes.rows:,} native records (no database)")
    report = conditions.measure(conditions.records(sizes.rows))
    print(f"\n{table(report.metrics)}\n")
    print("ratio = product cost / baseline cost per evaluation; baselines: a hand-written lambda, the rule-engine package")
    print("\n".join(["", *report.notes]))


def run_scheduled() -> None:
    """Once, on SQLite: a scheduled rule's tick over BENCH_SCHEDULED_ROWS rows."""
    section("scheduled rule on SQLite")
    report = scheduled.scheduled_rule()
    print(f"\n{table(report.metrics)}\n")
    print("ratio = product time / hand-written INSERT .. SELECT .. RETURNING time, same table and database")
    print("\n".join(["", *report.notes]))


def run_processes(runs: list[tuple[str, Opener]]) -> None:
    """P2 on each backend (a fresh database each), beside SpiffWorkflow in the same run; Spiff's memory
    footprint is measured once and printed beside each backend's."""
    sizes = processes.ProcessSizes.from_env()
    spiff = processes.SpiffP2()
    progress(f"SpiffWorkflow memory: {sizes.memory:,} workflows started, left waiting at the manager")
    spiff_memory = processes.spiff_footprint(spiff, sizes.memory)
    for name, open_backend in runs:
        section(f"process engine, P2 discount approval: {sizes.instances:,} instances on {name}, beside SpiffWorkflow")
        with open_backend() as backend:
            report = processes.run_backend(backend, sizes, spiff, spiff_memory)
        print(f"\n{table(report.metrics)}\n")
        print("ratio = Tangram / SpiffWorkflow, per instance: time (<= 0.1x is >= 10x the throughput), memory, bytes stored")
        print("\n".join(["", *report.notes]), flush=True)


def run_reports(runs: list[tuple[str, Opener]]) -> None:
    """The report engine's charts on a large opportunity table, on each backend (a fresh database each)."""
    sizes = reports.ReportSizes.from_env()
    for name, open_backend in runs:
        section(f"reports: {sizes.rows:,} opportunities on {name}, compiled charts beside hand-written SQL")
        started = time.perf_counter()
        with open_backend() as backend:
            report = reports.run_backend(backend, sizes)
        print(f"\n{table(report.metrics)}\n")
        print(f"medians of {sizes.reps} runs; ratio = product / baseline. compiled rows: Reports.result vs hand-written SQL;"
              " statement rows: the compiled statement alone; scoped rows: a team member's Reports.result vs an admin's;"
              " compile rows: baseline = the hand-written query's time")  # fmt: skip
        print("\n".join(["", *report.notes]))
        print(f"\nreports on {name} finished in {time.perf_counter() - started:.0f}s", flush=True)


def run_imports() -> None:
    """Once, on SQLite (the issue's target): a 100,000-row lead CSV through the whole import path."""
    section("imports: a lead CSV on SQLite, beside raw executemany")
    report = imports.imports_benchmark()
    print(f"\n{table(report.metrics)}\n")
    print("ratio = import time / raw executemany time of the same rows, same database")
    print("\n".join(["", *report.notes]), flush=True)


def wanted_groups() -> set[str]:
    only = os.environ.get("BENCH_ONLY", "")
    chosen = {g.strip().lower() for g in only.split(",") if g.strip()} or set(GROUPS)
    unknown = chosen - set(GROUPS)
    if unknown:
        raise SystemExit(f"BENCH_ONLY: unknown {', '.join(sorted(unknown))} (choose from {', '.join(GROUPS)})")
    return chosen


def main() -> int:
    warnings.filterwarnings("ignore", message=r"Dialect sqlite\+aiosqlite does \*not\* support Decimal", category=SAWarning)
    groups = wanted_groups()
    sizes = Sizes.from_env()
    runs, skipped = backends.plan()
    print(f"Tangram benchmarks: python {platform.python_version()}, {platform.machine()}, {sys.platform}")
    print(f"sizes: {sizes.rows:,} rows, {sizes.creates:,} single creates per variant, {sizes.list_reps} list queries per case")
    print(f"backends: {', '.join(name for name, _ in runs) or 'none'}" + "".join(f"\nskipped {s}" for s in skipped))
    if "conditions" in groups:
        run_conditions(sizes)
    if "scheduled" in groups:
        run_scheduled()
    if "records" in groups:
        for name, open_backend in runs:
            with open_backend() as backend:
                run(name, backend, sizes)
    if "processes" in groups:
        run_processes(runs)
    if "reports" in groups:
        run_reports(runs)
    if "imports" in groups:
        run_imports()
    if "related360" in groups:
        related360.main()
    if "demo" in groups:
        demo.main()
    if "pages" in groups:
        pages.main()
    if "tenmin" in groups:
        ten_minute_app.main()
    print(f"\nbackends run: {', '.join(name for name, _ in runs)}" + (f"; skipped: {'; '.join(skipped)}" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
