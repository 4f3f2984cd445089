"""Signing in (audited, throttled), changing a password, and narrowed API tokens."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from engine.api.app import create_app
from engine.core.clock import FrozenClock
from tests.factories import ACCOUNT, make_app
from tests.people import audit_rows, make_user

LOGIN = "/api/v1/auth/login"
ADMIN_LOGIN = {"email": "admin@example.com", "password": "correct horse battery staple"}
WRONG = {**ADMIN_LOGIN, "password": "not the password"}
LEADS = "/api/v1/apps/crm/lead"


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


async def test_sign_ins_are_audited(anon, admin, ctx):
    r = await anon.post(LOGIN, json={**ADMIN_LOGIN, "email": " Admin@Example.COM"})
    assert r.status_code == 200 and r.json()["user_id"] == admin["id"]
    assert (await anon.get("/api/v1/auth/me")).json()["user_id"] == admin["id"]  # the session cookie works
    assert (await anon.post(LOGIN, json=WRONG)).status_code == 401
    assert (await anon.post(LOGIN, json={"email": "nobody@example.com", "password": "x"})).status_code == 401
    rows = await audit_rows(ctx, "auth.")
    assert [(r["action"], r["subject"], r["ip"], r["actor_id"]) for r in rows] == [
        ("auth.login", "admin@example.com", "127.0.0.1", admin["id"]),
        ("auth.login_failed", "admin@example.com", "127.0.0.1", None),
        ("auth.login_failed", "nobody@example.com", "127.0.0.1", None),
    ]


async def test_the_sixth_failure_in_15_minutes_is_refused_until_the_window_passes(anon, admin, ctx, clock):
    for _ in range(5):
        assert (await anon.post(LOGIN, json=WRONG)).status_code == 401
        clock.advance(timedelta(minutes=1))
    r = await anon.post(LOGIN, json=ADMIN_LOGIN)  # the right password, not even checked
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["Retry-After"] == "600" and r.json()["retry_after"] == 600  # the first failure leaves in 10 min
    clock.advance(timedelta(minutes=10))
    assert (await anon.post(LOGIN, json=ADMIN_LOGIN)).status_code == 200
    [row] = await audit_rows(ctx, "auth.login_throttled")
    assert (row["subject"], row["ip"], row["at"]) == ("admin@example.com", "127.0.0.1", clock.now() - timedelta(minutes=10))


async def test_the_lock_ends_15_minutes_after_the_fifth_failure(anon, admin, clock):
    for _ in range(5):
        await anon.post(LOGIN, json=WRONG)
    for _ in range(3):  # retrying while locked out does not extend the lock
        clock.advance(timedelta(minutes=4))
        assert (await anon.post(LOGIN, json=ADMIN_LOGIN)).status_code == 429
    clock.advance(timedelta(minutes=2, seconds=59))
    r = await anon.post(LOGIN, json=ADMIN_LOGIN)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert (await anon.post(LOGIN, json=ADMIN_LOGIN)).status_code == 200


async def test_old_failures_do_not_count(anon, admin, clock):
    for _ in range(4):
        await anon.post(LOGIN, json=WRONG)
    clock.advance(timedelta(minutes=16))
    for _ in range(4):
        await anon.post(LOGIN, json=WRONG)
    assert (await anon.post(LOGIN, json=ADMIN_LOGIN)).status_code == 200


async def test_twenty_failures_from_one_address_lock_it_for_every_email(anon, admin):
    for n in range(20):
        assert (await anon.post(LOGIN, json={"email": f"guess{n}@example.com", "password": "x"})).status_code == 401
    r = await anon.post(LOGIN, json=ADMIN_LOGIN)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 900


async def test_change_password(client, anon, admin, ctx):
    path = "/api/v1/auth/password"
    r = await client.post(path, json={"current_password": ADMIN_LOGIN["password"], "new_password": "short"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/new_password"
    r = await client.post(path, json={"current_password": "wrong", "new_password": "a brand new password"})
    assert r.status_code == 403
    r = await client.post(path, json={"current_password": ADMIN_LOGIN["password"], "new_password": "a brand new password"})
    assert r.status_code == 204
    assert (await anon.post(LOGIN, json=ADMIN_LOGIN)).status_code == 401
    assert (await anon.post(LOGIN, json={**ADMIN_LOGIN, "password": "a brand new password"})).status_code == 200
    [row] = await audit_rows(ctx, "auth.password_changed")
    assert row["actor_id"] == admin["id"] and row["subject"] == "admin@example.com"
    failed = [r["detail"] for r in await audit_rows(ctx, "auth.login_failed")]
    assert {"reason": "password_change"} in failed  # a wrong current password counts towards the throttle


async def test_the_session_cookie(ctx, anon, admin):
    r = await anon.post(LOGIN, json=ADMIN_LOGIN)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    secure = create_app(ctx.settings.model_copy(update={"https_only": True}), ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=secure), base_url="https://test") as https:
        assert "secure" in (await https.post(LOGIN, json=ADMIN_LOGIN)).headers["set-cookie"].lower()


# -- narrowed tokens ---------------------------------------------------------------------------------
async def token(client, headers, **body):
    r = await client.post("/api/v1/auth/tokens", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json(), {"Authorization": f"Bearer {r.json()['token']}"}


async def test_a_read_only_token_reads_but_cannot_write(client, ctx):
    await make_app(client)
    uid, member = await make_user(ctx, "rep@example.com", "member")
    lead = (await client.post(LEADS, json={"name": "Mine"}, headers=member)).json()
    info, read_only = await token(client, member, name="dashboard", read_only=True)
    assert (info["read_only"], info["apps"]) == (True, None)
    assert [i["id"] for i in (await client.get(LEADS, headers=read_only)).json()["items"]] == [lead["id"]]
    assert (await client.post(LEADS, json={"name": "New"}, headers=read_only)).status_code == 403
    assert (await client.patch(f"{LEADS}/{lead['id']}", json={"name": "X"}, headers=read_only)).status_code == 403
    assert (await client.delete(f"{LEADS}/{lead['id']}", headers=read_only)).status_code == 403
    listed = {t["name"]: t for t in (await client.get("/api/v1/auth/tokens", headers=member)).json()["items"]}
    assert listed["dashboard"]["read_only"] is True
    [row] = await audit_rows(ctx, "token.created")
    assert row["actor_id"] == uid and row["detail"] == {
        "token_id": info["id"],
        "name": "dashboard",
        "read_only": True,
        "apps": None,
    }


async def test_a_token_limited_to_one_app_gets_403_on_another(client, ctx):
    await make_app(client, "crm")
    await make_app(client, "hr", ACCOUNT)
    _, member = await make_user(ctx, "rep@example.com", "member")
    info, crm_only = await token(client, member, apps=["crm"])
    assert info["apps"] == ["crm"] and info["read_only"] is False
    assert (await client.post(LEADS, json={"name": "ok"}, headers=crm_only)).status_code == 201
    assert (await client.get("/api/v1/apps/hr/account", headers=crm_only)).status_code == 403
    assert (await client.post("/api/v1/apps/hr/account", json={"name": "no"}, headers=crm_only)).status_code == 403
    assert (await client.get("/api/v1/apps/hr/account", headers=member)).status_code == 200


async def test_a_narrowed_token_cannot_mint_a_wider_one(client, ctx):
    _, member = await make_user(ctx, "rep@example.com", "member")
    _, read_only = await token(client, member, read_only=True)
    assert (await client.post("/api/v1/auth/tokens", json={}, headers=read_only)).status_code == 403
    _, crm_only = await token(client, member, apps=["crm"])
    assert (await client.post("/api/v1/auth/tokens", json={}, headers=crm_only)).status_code == 403
    assert (await client.post("/api/v1/auth/tokens", json={"apps": ["crm", "hr"]}, headers=crm_only)).status_code == 403
    await token(client, crm_only, apps=["crm"], read_only=True)
    r = await client.post("/api/v1/auth/tokens", json={"apps": [], "read_only": "yes please"}, headers=member)
    assert r.status_code == 422 and {e["path"] for e in r.json()["errors"]} == {"/apps", "/read_only"}


async def test_revoking_ones_own_token_is_audited(client, ctx):
    uid, member = await make_user(ctx, "rep@example.com", "member")
    info, other = await token(client, member, name="ci")
    assert (await client.delete(f"/api/v1/auth/tokens/{info['id']}", headers=member)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=other)).status_code == 401
    [row] = await audit_rows(ctx, "token.revoked")
    assert row["actor_id"] == uid and row["detail"] == {"token_id": info["id"], "user_id": uid}
