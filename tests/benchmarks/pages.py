"""`python -m tests.benchmarks.pages`: the web app's server-rendered pages beside the JSON API calls that fetch
the same data, in one process and one signed-in session: a list page of 50 rows over BENCH_PAGE_ROWS (default
100,000) deals with a dozen field types (relation included), and a company's record page with its related
lists; then the gzipped CSS and JS those pages load against the 150 KB budget. BENCH_PAGE_REPS (default 200)
timed requests per variant. Part of `make bench` (BENCH_ONLY=pages)."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from starlette.responses import JSONResponse

from builder_ui.app import install
from engine.api.app import create_app
from engine.api.context import Context
from engine.core.db import Database
from engine.core.settings import Settings
from tests.benchmarks.backends import Backend, on_each_backend
from tests.benchmarks.measure import Metric, Section, interleave, percentile
from tests.benchmarks.page_weight import BUDGET_KB, weigh
from tests.benchmarks.report import progress

MAX_RATIO = 1.3
MAX_HTTP_RATIO = 1.5  # issue 17: Tangram's HTTP stack vs bare FastAPI serving the same read
COMPANIES = 1000
EMAIL, PASSWORD = "bench@example.com", "benchmark password 1"
STAGES = ("new", "qualified", "proposal", "won", "lost")
TAGS = ("vip", "renewal", "upsell", "partner", "public")
COMPANY = {"key": "company", "label": {"en": "Company", "zh-CN": "公司"}, "display_field": "name",
           "fields": [{"key": "name", "type": "text", "required": True}, {"key": "city", "type": "text"}]}  # fmt: skip
DEAL = {
    "key": "deal", "label": {"en": "Deal", "zh-CN": "商机"}, "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "company", "type": "relation", "target": "company"},
        {"key": "stage", "type": "select", "options": [{"key": k, "color": "#1677ff"} for k in STAGES]},
        {"key": "amount", "type": "currency", "currency": "CNY"},
        {"key": "probability", "type": "percent"},
        {"key": "quantity", "type": "integer"},
        {"key": "unit_price", "type": "decimal", "scale": 2},
        {"key": "closes_on", "type": "date"},
        {"key": "contacted_at", "type": "datetime"},
        {"key": "won", "type": "boolean"},
        {"key": "tags", "type": "multi_select", "options": [{"key": k} for k in TAGS]},
        {"key": "email", "type": "email"},
        {"key": "phone", "type": "phone"},
        {"key": "manager", "type": "user"},
    ],
}  # fmt: skip
COLUMNS = [f["key"] for f in DEAL["fields"]] + ["owner", "updated_at"]


def deal(i: int, uid: int, companies: list[int]) -> dict[str, Any]:
    mix = (i * 2654435761) & 0xFFFFFFFF  # Knuth's multiplicative hash: spread without randomness
    return {
        "name": f"商机 Deal {i}", "company": companies[i % len(companies)], "stage": STAGES[mix % 5],
        "amount": f"{mix % 10_000_000 / 100:.2f}", "probability": mix % 100, "quantity": mix % 500,
        "unit_price": f"{mix % 100_000 / 100:.2f}", "closes_on": (date(2026, 1, 1) + timedelta(days=mix % 700)).isoformat(),
        "contacted_at": (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=mix % 500_000)).isoformat(),
        "won": mix % 3 == 0, "tags": [TAGS[mix % 5], TAGS[(mix >> 4) % 5]] if mix % 2 else [],
        "email": f"deal{i}@example.com", "phone": f"+86 138 {mix % 10_000:04d} {i % 10_000:04d}", "manager": uid,
    }  # fmt: skip


async def _bulk(c: httpx.AsyncClient, entity: str, items: list[dict[str, Any]]) -> list[int]:
    r = await c.post(f"/api/v1/apps/bench/{entity}/bulk", json={"op": "create", "items": items})
    if r.status_code != 200:
        raise RuntimeError(f"bulk {entity}: {r.status_code} {r.text[:500]}")
    return [item["id"] for item in r.json()["items"]]


async def load(c: httpx.AsyncClient, rows: int, uid: int) -> int:
    """The app, its two entities, a default view showing every deal field, the companies and the deals;
    returns the first company's id."""
    await c.post("/api/v1/meta/apps", json={"key": "bench", "label": "Bench"})
    for definition in (COMPANY, DEAL):
        r = await c.post("/api/v1/meta/apps/bench/entities", json=definition)
        assert r.status_code == 201, r.text
    view = {"name": "All fields", "shared_with": "*", "is_default": True, "columns": COLUMNS, "page_size": 50}
    assert (await c.post("/api/v1/apps/bench/deal/views", json=view)).status_code == 201
    companies = await _bulk(c, "company", [{"name": f"公司 Company {n}", "city": "上海"} for n in range(COMPANIES)])
    started = time.perf_counter()
    for start in range(0, rows, 1000):
        await _bulk(c, "deal", [deal(i, uid, companies) for i in range(start, min(rows, start + 1000))])
        if start and start % 20_000 == 0:
            progress(f"{start:,} deals in {time.perf_counter() - started:.0f}s")
    return companies[0]


async def sign_in(c: httpx.AsyncClient) -> None:
    """The session cookie a browser gets: pages and API calls below both run in it."""
    r = await c.post("/login", data={"email": EMAIL, "password": PASSWORD, "next": "/"}, headers={"Origin": str(c.base_url)})
    if r.status_code != 303 or not c.cookies:
        raise RuntimeError(f"sign-in failed: {r.status_code} {r.text[:300]}")


def get(c: httpx.AsyncClient, *urls: str) -> Callable[[int], Awaitable[str]]:
    async def step(_: int) -> str:
        body = ""
        for url in urls:
            r = await c.get(url)
            if r.status_code != 200:
                raise RuntimeError(f"GET {url}: {r.status_code} {r.text[:300]}")
            body = r.text
        return body

    return step


def ratio_rows(title: str, samples: dict[str, list[float]], most: float = MAX_RATIO) -> list[Metric]:
    rows = []
    for p in (50, 95):
        page, api = (percentile(samples[k], p) * 1000 for k in ("page", "api"))
        ratio = page / api
        rows.append(Metric(f"{title} p{p}", page, api, "ms", ratio, f"<= {most:g}x", ratio <= most))
    return rows


def bare_app(db: Database) -> FastAPI:
    """The floor of issue 17: FastAPI with one route that reads the same company row in one read transaction
    of the same engine and answers it as JSON; no middleware, session, authentication, scoping or definition."""
    app = FastAPI()
    sql = text("SELECT * FROM bench__company WHERE id = :id AND deleted_at IS NULL")

    @app.get("/company/{rid}")
    async def read(rid: int) -> JSONResponse:
        async with db.read() as conn:
            row = (await conn.execute(sql, {"id": rid})).one()
        return JSONResponse({k: v.isoformat() if isinstance(v, datetime) else v for k, v in row._mapping.items()})

    return app


async def measure(backend: Backend, rows: int, reps: int) -> Section:
    settings = Settings(database_url=backend.url, var_dir=str(backend.work_dir), tangram_secret_key="bench")
    ctx = Context(settings=settings, db=Database(backend.url))
    app = create_app(settings, ctx)
    install(app)
    try:
        async with ctx.db.write() as conn:
            uid, _ = await ctx.auth.ensure_admin(conn, EMAIL, PASSWORD)
            token, _ = await ctx.auth.create_token(conn, uid, "bench")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://b", headers={"Authorization": f"Bearer {token}"}) as c:
            progress(f"loading {COMPANIES:,} companies and {rows:,} deals through the bulk API")
            company = await load(c, rows, uid)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as c:
            await sign_in(c)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_app(ctx.db)), base_url="http://bare") as bare:
                return await _timed(c, reps, company, bare)
    finally:
        await ctx.db.dispose()


async def _timed(c: httpx.AsyncClient, reps: int, company: int, bare: httpx.AsyncClient) -> Section:
    """`company`: one with rows // COMPANIES deals in its related list; `bare`: a client of `bare_app`."""
    lists = {"page": get(c, "/apps/bench/deal"), "api": get(c, "/api/v1/apps/bench/deal?limit=50&count=true&expand=company")}
    record = {
        "page": get(c, f"/apps/bench/company/{company}"),
        "api": get(c, f"/api/v1/apps/bench/company/{company}", f"/api/v1/apps/bench/company/{company}/360?limit=5&timeline=0",
                   f"/api/v1/apps/bench/company/{company}/history"),
    }  # fmt: skip
    report = Section()
    progress(f"list page vs list API, {reps} requests each")
    report.metrics += ratio_rows("list page, 50 of the deals", await interleave(lists, reps, warmup=10))
    progress(f"record page vs record + 360 + history API, {reps} requests each")
    report.metrics += ratio_rows("company record page + related", await interleave(record, reps, warmup=10))
    progress(f"record JSON through Tangram's stack vs bare FastAPI, {reps} requests each")
    http = {"page": get(c, f"/api/v1/apps/bench/company/{company}"), "api": get(bare, f"/company/{company}")}
    floor = await interleave(http, reps, warmup=10)
    report.metrics += ratio_rows("GET one record: Tangram vs bare FastAPI", floor, MAX_HTTP_RATIO)
    for name, step in (("list page", lists["page"]), ("record page", record["page"])):
        kb, lines = weigh(await step(0))
        budget = f"<= {BUDGET_KB:g} KB"
        report.metrics.append(Metric(f"{name} CSS + JS, gzipped", kb, BUDGET_KB, "KB", kb / BUDGET_KB, budget, kb <= BUDGET_KB))
        report.notes += [f"{name} loads:", *lines]
    return report


def main() -> None:
    rows = int(os.environ.get("BENCH_PAGE_ROWS", "100000"))
    reps = int(os.environ.get("BENCH_PAGE_REPS", "200"))
    legend = (
        "page = the HTML page over HTTP (ASGI, signed-in session); baseline = the JSON API calls for the same data in"
        " the same session: GET list?limit=50&count=true&expand=company; GET record + /360?limit=5&timeline=0 +"
        " /history. Bare FastAPI row: product = GET /api/v1/apps/bench/company/{id} in that session, baseline = a"
        " one-route FastAPI app reading the same row in one read transaction (no middleware, auth, scoping)."
        " Weight rows: baseline = the budget"
    )
    title = f"web app pages on {{backend}}: {rows:,} deals, {reps} requests per variant"
    on_each_backend(title, lambda backend: measure(backend, rows, reps), legend)


if __name__ == "__main__":
    main()
