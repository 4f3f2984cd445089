"""The Host header (issue 18): redirects build their Location from it, so the server answers only to
the host names it is configured for (TANGRAM_ALLOWED_HOSTS), localhost and the address a connection
arrives at; a forged Host gets a 400 with no redirect. And no URL carries a NUL character."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from builder_ui.app import install as install_ui
from engine.api.app import create_app
from engine.api.context import Context
from engine.api.hosts import HostGuard, host_name

FORGED = {"Host": "evil.example"}


def client_for(app, base_url: str = "http://10.0.0.7:8000") -> httpx.AsyncClient:
    """The connection arrives at `base_url`'s address (ASGI scope["server"]), as uvicorn reports it."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def api(ctx: Context, admin) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(ctx.settings, ctx)) as http:
        http.headers["Authorization"] = f"Bearer {admin['token']}"
        yield http


def assert_refused(r: httpx.Response) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "location" not in r.headers
    assert "TANGRAM_ALLOWED_HOSTS" in r.json()["detail"]


async def test_a_forged_host_gets_a_400_not_a_redirect_to_it(api):
    assert_refused(await api.get("/api/v1/meta/apps/", headers=FORGED))  # the trailing-slash redirect
    assert_refused(await api.get("/api/v1/meta/apps", headers=FORGED))
    assert_refused(await api.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"}, headers=FORGED))
    assert_refused(await api.get("/api/v1/meta/apps", headers={"Host": "10.0.0.7.evil.example"}))


async def test_the_arrival_address_and_localhost_are_answered_and_redirect_to_themselves(api):
    r = await api.get("/api/v1/meta/apps/")
    assert r.status_code == 307 and r.headers["location"] == "http://10.0.0.7:8000/api/v1/meta/apps"
    for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."):
        r = await api.get("/api/v1/meta/apps", headers={"Host": host})
        assert r.status_code == 200, (host, r.text)


@pytest.mark.parametrize(
    ("allowed", "host", "answered"),
    [
        (["crm.example.com"], "crm.example.com", True),
        (["crm.example.com"], "CRM.example.com:443", True),
        (["crm.example.com"], "www.crm.example.com", False),
        (["*.example.com"], "crm.example.com", True),
        (["*.example.com"], "example.com.evil.example", False),
        (["*"], "anything.example", True),
        ([], "crm.example.com", False),
    ],
)
async def test_configured_host_names(ctx: Context, allowed, host, answered):
    ctx.settings.tangram_allowed_hosts = allowed
    async with client_for(create_app(ctx.settings, ctx)) as http:
        r = await http.get("/api/v1/health", headers={"Host": host})
        if answered:
            assert r.status_code == 200, r.text
        else:
            assert_refused(r)


async def test_the_setting_reads_a_comma_separated_list(monkeypatch):
    from engine.core.settings import Settings

    monkeypatch.setenv("TANGRAM_ALLOWED_HOSTS", "crm.example.com, *.corp.example")
    assert Settings().tangram_allowed_hosts == ["crm.example.com", "*.corp.example"]


async def test_pages_refuse_a_forged_host_too(ctx: Context):
    app = create_app(ctx.settings, ctx)
    install_ui(app)
    async with client_for(app) as http:
        assert_refused(await http.get("/login/", headers=FORGED))
        r = await http.get("/login/")
        assert r.status_code == 307 and r.headers["location"].startswith("http://10.0.0.7:8000/")


@pytest.mark.parametrize("url", ["/api/v1/apps/crm/lead?q=%00", "/api/v1/apps/crm/lead?filter=%7B%7D%00", "/api/v1/a?x=%00"])
async def test_a_nul_character_in_the_query_is_400(api, url):
    r = await api.get(url)
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["detail"]


async def test_a_nul_character_in_the_path_is_404(api):
    for url in ("/api/v1/meta/apps/cr%00m", "/api/v1/apps/crm/le%00ad", "/api/v1/public/forms/%00"):
        r = await api.get(url)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == "application/problem+json"


def test_host_names_are_read_without_port_case_or_trailing_dot():
    assert host_name("Example.COM:8000") == "example.com"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("::1") == "::1"
    assert host_name("example.com.") == "example.com"
    guard = HostGuard(lambda *a: None, ("*.example.com",))  # type: ignore[arg-type,return-value]
    assert guard.allows("a.b.example.com", {}) and not guard.allows("example.com", {})
