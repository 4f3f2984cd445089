"""Write benchmarks: bulk creates and single creates, each beside raw SQLAlchemy Core inserts.

The product and the baseline write the same rows (apart from the unique email) to the same table,
alternating step by step, so both see the same table size and the same machine load. Baseline rows
are deleted afterwards, leaving the product's records as the table the list benchmark reads.
"""

from __future__ import annotations

import time

from sqlalchemy import insert

from engine.api.jsonio import dumps
from tests.benchmarks.measure import Section, Step, interleave, rate
from tests.benchmarks.report import progress
from tests.benchmarks.workload import RAW_TAG, Bench, payloads, raw_row

SINGLE_CHUNK = 10  # single creates per interleaved step (small: product and baseline share load swings)
BULK_MAX_RATIO = 2.0
SINGLE_MAX_RATIO = 3.0


# -- steps: step i writes records [i * size, (i + 1) * size) of its series ---------------------------
def service_bulk(b: Bench, tag: str, size: int) -> Step:
    async def step(i: int) -> None:
        items = payloads(i * size, size, tag)
        async with b.ctx.db.write() as conn:
            await b.ctx.records.create_many(conn, b.entity, items, b.actor)

    return step


def raw_bulk(b: Bench, tag: str, size: int) -> Step:
    async def step(i: int) -> None:
        rows = [raw_row(d) for d in payloads(i * size, size, tag)]
        async with b.ctx.db.write() as conn:
            stamps = b.stamps()
            await conn.execute(insert(b.entity.table), [r | stamps for r in rows])

    return step


def service_single(b: Bench, tag: str, size: int) -> Step:
    async def step(i: int) -> None:
        for data in payloads(i * size, size, tag):
            async with b.ctx.db.write() as conn:
                await b.ctx.records.create(conn, b.entity, data, b.actor)

    return step


def raw_single(b: Bench, tag: str, size: int) -> Step:
    async def step(i: int) -> None:
        for data in payloads(i * size, size, tag):
            async with b.ctx.db.write() as conn:
                await conn.execute(insert(b.entity.table).values(**raw_row(data), **b.stamps()))

    return step


def http_single(b: Bench, tag: str, size: int) -> Step:
    async def step(i: int) -> None:
        for data in payloads(i * size, size, tag):
            r = await b.http.post(b.records_path, content=dumps(data))
            if r.status_code != 201:
                raise RuntimeError(f"HTTP create failed: {r.status_code} {r.text[:500]}")

    return step


# -- benchmarks ------------------------------------------------------------------------------------
async def bulk_creates(b: Bench) -> Section:
    size = min(b.sizes.batch, b.sizes.rows)
    steps = b.sizes.rows // size
    progress(f"bulk create: {steps} batches of {size} through create_many, and as many raw executemany batches")
    started = time.perf_counter()
    spent = await interleave({"service": service_bulk(b, "p", size), "raw": raw_bulk(b, RAW_TAG, size)}, steps)
    await b.remove_baseline_rows()
    progress(f"bulk create done in {time.perf_counter() - started:.1f}s")
    total = steps * size
    metric = rate(
        f"bulk create ({size}/batch, {total:,} rows)", "rows/s", total, sum(spent["service"]), sum(spent["raw"]), BULK_MAX_RATIO
    )
    note = (
        "bulk: product = create_many per batch (validate, unique check, INSERT .. RETURNING, one outbox event per record),"
        " baseline = executemany INSERT of the same column values; one transaction per batch each"
    )
    return Section([metric], [note])


async def single_creates(b: Bench) -> Section:
    size = min(SINGLE_CHUNK, b.sizes.creates)
    steps = max(1, b.sizes.creates // size)
    progress(f"single creates: {steps * size} each through the service, over HTTP and raw, one transaction each")
    started = time.perf_counter()
    variants = {
        "service": service_single(b, "s", size),
        "http": http_single(b, "h", size),
        "raw": raw_single(b, RAW_TAG + "s", size),
    }
    spent = await interleave(variants, steps, warmup=5)
    await b.remove_baseline_rows()
    progress(f"single creates done in {time.perf_counter() - started:.1f}s")
    ops, raw = steps * size, sum(spent["raw"])
    metrics = [
        rate("single create (record service)", "/s", ops, sum(spent["service"]), raw, SINGLE_MAX_RATIO),
        rate("single create (HTTP, in-process ASGI)", "/s", ops, sum(spent["http"]), raw),
    ]
    note = (
        "single: product = RecordService.create, or POST over httpx.ASGITransport (auth + entity lookup + create);"
        " baseline = one Core INSERT with the same system columns; one transaction per record each"
    )
    return Section(metrics, [note])
