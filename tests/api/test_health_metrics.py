"""What an operator watches (issue 18): health says the database is reachable, whether the worker runs and
how long the oldest due job has waited; /metrics gives the same and the requests served, Prometheus style,
to administrators only unless TANGRAM_METRICS_PUBLIC is on."""

from __future__ import annotations

from datetime import timedelta

import httpx

from engine.api.app import create_app
from engine.api.context import Context
from engine.jobs.queue import enqueue
from tests.people import make_user


async def _overdue_job(ctx, minutes: int) -> None:
    now = ctx.clock.now()
    async with ctx.db.write() as conn:
        await enqueue(conn, now, "jobs.touch", {"key": "late"}, run_at=now - timedelta(minutes=minutes))


async def test_health_reports_the_database_and_the_oldest_due_job(anon, ctx):
    body = (await anon.get("/api/v1/health")).json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True and body["database"]["dialect"] == ctx.db.dialect
    assert body["jobs"] == {"due": 0, "oldest_due_seconds": None}
    assert body["worker"]["in_process"] is False  # the test app runs no lifespan, so no in-process worker

    await _overdue_job(ctx, 10)
    body = (await anon.get("/api/v1/health")).json()
    assert body["jobs"]["due"] == 1 and body["jobs"]["oldest_due_seconds"] >= 600
    assert body["status"] == "degraded"  # a job waiting ten minutes: the workers are not keeping up


async def test_metrics_are_for_administrators(client, anon, ctx):
    await _overdue_job(ctx, 1)
    assert (await anon.get("/api/v1/metrics")).status_code == 401
    _, rep = await make_user(ctx, "rep@example.com", "member")
    assert (await anon.get("/api/v1/metrics", headers=rep)).status_code == 403

    await client.get("/api/v1/health")
    r = await client.get("/api/v1/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = dict(line.rsplit(" ", 1) for line in r.text.splitlines() if not line.startswith("#"))
    assert samples["tangram_jobs_due"] == "1" and float(samples["tangram_jobs_oldest_due_seconds"]) >= 60
    assert samples['tangram_jobs{state="pending"}'] == "1"
    assert int(samples['tangram_http_requests_total{method="GET",status="2xx"}']) >= 1
    assert int(samples['tangram_http_requests_total{method="GET",status="4xx"}']) >= 2  # the refusals above count too
    histogram = "tangram_http_request_duration_seconds"
    assert samples[f'{histogram}_bucket{{le="+Inf"}}'] == samples[f"{histogram}_count"]


async def test_metrics_can_be_public_for_a_scraper(ctx):
    settings = ctx.settings.model_copy(update={"tangram_metrics_public": True})
    app = create_app(settings, Context(settings=settings, db=ctx.db, clock=ctx.clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        r = await http.get("/api/v1/metrics")
    assert r.status_code == 200 and "tangram_jobs_due 0" in r.text
