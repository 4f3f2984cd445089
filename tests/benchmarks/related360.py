"""`python -m tests.benchmarks.related360`: the customer 360 call (F2) on an account with hundreds of
related records per list, beside hand-written SQLAlchemy Core doing the same reads (a count and the
newest rows per related table, no scoping) in the same run. BENCH_360_PER_LIST (default 300) records
per list on the account, as many again on another account; BENCH_360_REPS (default 50) timed calls.
Part of `make bench` (BENCH_ONLY=related360)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.api.context import Context
from engine.core.db import Database
from engine.core.settings import Settings
from engine.records.related import record_360
from tests.benchmarks.backends import Backend, on_each_backend
from tests.benchmarks.measure import Section, interleave, latency, percentile

TIMED = {"activity": "occurred_at", "order": "ordered_on", "payment": "paid_on", "ticket": "opened_at"}
LISTS = ("contact", "opportunity", "activity", "order", "payment", "ticket")


def definition(key: str) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [{"key": "name", "type": "text"}, {"key": "note", "type": "long_text"}]
    if key != "account":
        fields.append({"key": "account", "type": "relation", "target": "account"})
    if key in TIMED:
        fields.append({"key": TIMED[key], "type": "datetime" if TIMED[key].endswith("_at") else "date"})
    doc = {"key": key, "label": {"en": key}, "display_field": "name", "fields": fields}
    return doc | ({"options": {"timeline_field": TIMED[key]}} if key in TIMED else {})


def row(key: str, account: int, i: int) -> dict[str, Any]:
    item: dict[str, Any] = {"name": f"{key} {i}", "account": account, "note": "备注 " * 20}
    day = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i * 7)
    if key in TIMED:
        item[TIMED[key]] = day.isoformat() if TIMED[key].endswith("_at") else day.date().isoformat()
    return item


async def load(ctx: Context, per_list: int) -> int:
    async with ctx.db.write() as conn:
        uid, _ = await ctx.auth.ensure_admin(conn, "admin@example.com", "correct horse battery staple")
        token, _ = await ctx.auth.create_token(conn, uid, "bench")
    transport = httpx.ASGITransport(app=create_app(ctx.settings, ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://b", headers={"Authorization": f"Bearer {token}"}) as c:
        await c.post("/api/v1/meta/apps", json={"key": "crm", "label": "CRM"})
        for key in ("account", *LISTS):
            assert (await c.post("/api/v1/meta/apps/crm/entities", json=definition(key))).status_code == 201
        r = await c.post("/api/v1/apps/crm/account/bulk", json={"op": "create", "items": [{"name": "Acme"}, {"name": "Other"}]})
        acme, other = (a["id"] for a in r.json()["items"])
        for key in LISTS:
            for account in (acme, other):
                for start in range(0, per_list, 1000):
                    items = [row(key, account, i) for i in range(start, min(per_list, start + 1000))]
                    r = await c.post(f"/api/v1/apps/crm/{key}/bulk", json={"op": "create", "items": items})
                    assert r.status_code == 200, r.text
    return acme


async def measure(backend: Backend, per_list: int, reps: int) -> Section:
    settings = Settings(database_url=backend.url, var_dir=str(backend.work_dir), tangram_secret_key="bench")
    ctx = Context(settings=settings, db=Database(backend.url))
    try:
        acme = await load(ctx, per_list)
        async with ctx.db.read() as conn:
            admin = await ctx.auth.actor_for_user(conn, 1)
            account = await ctx.store.get(conn, "crm", "account")
            tables = [(await ctx.store.get(conn, "crm", k)).table for k in LISTS]

        async def product(_: int) -> object:
            async with ctx.db.read() as conn:
                return await record_360(conn, ctx.reader, admin, account, acme)

        async def baseline(_: int) -> object:
            async with ctx.db.read() as conn:
                out = [(await conn.execute(select(account.table).where(account.table.c.id == acme))).first()]
                for key, t in zip(LISTS, tables, strict=True):
                    where = (t.c.account == acme, t.c.deleted_at.is_(None))
                    out.append((await conn.execute(select(func.count()).select_from(t).where(*where))).scalar_one())
                    newest = (t.c[TIMED.get(key, "created_at")].desc(), t.c.id.desc())
                    out.append((await conn.execute(select(t).where(*where).order_by(*newest).limit(50))).all())
                return out

        samples = await interleave({"product": product, "baseline": baseline}, reps, warmup=3)
        body = await product(0)
        assert [x["total"] for x in body["related"]] == [per_list] * len(LISTS)  # type: ignore[index]
        report = Section()
        for p in (50, 95):
            ms = {k: percentile(v, p) * 1000 for k, v in samples.items()}
            report.metrics.append(
                latency(f"360 of an account, {len(LISTS)} lists x {per_list} records, p{p}", ms["product"], ms["baseline"])
            )
        return report
    finally:
        await ctx.db.dispose()


def main() -> None:
    per_list = int(os.environ.get("BENCH_360_PER_LIST", "300"))
    reps = int(os.environ.get("BENCH_360_REPS", "50"))
    on_each_backend(
        f"customer 360 on {{backend}}: {per_list} records per list, {reps} calls",
        lambda backend: measure(backend, per_list, reps),
        "baseline = hand-written Core: the record, then per list a COUNT and the newest 50 rows (no scope, no JSON)",
    )


if __name__ == "__main__":
    main()
