"""API rate limits per token and per user (issue 18): 429 with Retry-After past the limit, a bucket per
token and one per user, refilled over time, counted in the process (no database round trip)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event

from engine.api.app import create_app
from engine.api.context import Context
from engine.api.ratelimit import ApiRateLimit
from engine.auth.policy import Access
from engine.core.errors import TooManyRequests
from engine.core.settings import Settings

ME = "/api/v1/auth/me"
APPS = "/api/v1/meta/apps"


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_past_the_token_limit_the_api_answers_429_with_retry_after(ctx: Context, admin) -> None:
    ctx.settings.tangram_rate_limit_token = 5
    clock = Ticking()
    ctx.api_rate.clock = clock
    app = create_app(ctx.settings, ctx)
    headers = {"Authorization": f"Bearer {admin['token']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as http:
        assert [(await http.get(ME)).status_code for _ in range(5)] == [200] * 5
        r = await http.get(ME)
        assert r.status_code == 429, r.text
        assert r.headers["retry-after"] == "12"  # one request refills in 60 / 5 s
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "/problems/too-many-requests" and "this API token" in r.json()["detail"]
        clock.now += 12
        assert (await http.get(ME)).status_code == 200
        assert (await http.get(ME)).status_code == 429
        async with ctx.db.write() as conn:  # another token of the same user has its own bucket
            other, _ = await ctx.auth.create_token(conn, int(admin["id"]), "second")
        assert (await http.get(ME, headers={"Authorization": f"Bearer {other}"})).status_code == 200
        assert (await http.get("/api/v1/health")).status_code == 200  # unauthenticated routes are not counted


async def test_a_user_limit_spans_the_users_tokens(ctx: Context, admin) -> None:
    ctx.settings.tangram_rate_limit_user = 3
    ctx.api_rate.clock = Ticking()
    async with ctx.db.write() as conn:
        second, _ = await ctx.auth.create_token(conn, int(admin["id"]), "second")
    app = create_app(ctx.settings, ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        tokens = [admin["token"], second, admin["token"]]
        assert [(await http.get(ME, headers={"Authorization": f"Bearer {t}"})).status_code for t in tokens] == [200] * 3
        r = await http.get(ME, headers={"Authorization": f"Bearer {second}"})
        assert r.status_code == 429 and "this user" in r.json()["detail"]


async def test_the_limits_cost_no_database_round_trip(ctx: Context, admin) -> None:
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    app = create_app(ctx.settings, ctx)
    headers = {"Authorization": f"Bearer {admin['token']}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as http:
        await http.get(APPS)  # warm caches
        engines = {ctx.db._writer.sync_engine, ctx.db._reader.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", seen)
        try:
            await http.get(APPS)
            without = len(statements)
            ctx.settings.tangram_rate_limit_token = ctx.settings.tangram_rate_limit_user = 1000
            await http.get(APPS)
            with_limits = len(statements) - without
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", seen)
    assert with_limits == without > 0


def test_buckets_refill_and_a_refused_request_is_not_counted() -> None:
    clock = Ticking()
    limiter = ApiRateLimit(Settings(tangram_rate_limit_token=60, tangram_rate_limit_user=120), clock)
    actor = Access(user_id=7, token_id=3)
    for _ in range(60):
        limiter.hit(actor)
    with pytest.raises(TooManyRequests) as exc:
        limiter.hit(actor)
    assert exc.value.extra["retry_after"] == 1
    assert limiter.buckets["u7"].tokens == 60  # the user's bucket paid only for what went through
    clock.now += 30
    for _ in range(30):
        limiter.hit(actor)
    with pytest.raises(TooManyRequests):
        limiter.hit(actor)
    off = ApiRateLimit(Settings(), clock)
    for _ in range(10_000):
        off.hit(actor)
    assert off.buckets == {}
