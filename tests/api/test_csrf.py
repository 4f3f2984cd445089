"""Cookie-authenticated writes need the session's CSRF token and a same-site origin; bearer tokens do not."""

from __future__ import annotations

from tests.factories import make_app

ADMIN = {"email": "admin@example.com", "password": "correct horse battery staple"}


async def _signed_in(anon) -> str:
    r = await anon.post("/api/v1/auth/login", json=ADMIN)
    assert r.status_code == 200
    return r.json()["csrf_token"]


async def test_a_session_write_without_the_token_is_refused_and_changes_nothing(client, anon):
    await make_app(client)
    await _signed_in(anon)
    r = await anon.post("/api/v1/apps/crm/lead", json={"name": "Forged"})
    assert r.status_code == 403 and "CSRF token" in r.json()["detail"]
    r = await anon.post("/api/v1/apps/crm/lead", json={"name": "Forged"}, headers={"X-CSRF-Token": "guess"})
    assert r.status_code == 403
    assert (await client.get("/api/v1/apps/crm/lead?count=true")).json()["total"] == 0


async def test_a_session_write_with_the_token_goes_through(client, anon):
    await make_app(client)
    token = await _signed_in(anon)
    r = await anon.post("/api/v1/apps/crm/lead", json={"name": "Real"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text


async def test_cross_origin_text_plain_posts_to_restore_and_import_are_refused(client, anon):
    """The classic CSRF: a form on another site posts text/plain with only the cookie."""
    await make_app(client)
    rid = (await client.post("/api/v1/apps/crm/lead", json={"name": "Deleted"})).json()["id"]
    assert (await client.delete(f"/api/v1/apps/crm/lead/{rid}")).status_code == 204
    token = await _signed_in(anon)
    evil = {"Origin": "https://evil.example", "Content-Type": "text/plain", "X-CSRF-Token": token}
    r = await anon.post(f"/api/v1/apps/crm/lead/trash/{rid}/restore", content=b"x", headers=evil)
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    r = await anon.post("/api/v1/apps/crm/lead/imports", content=b"name\nX\n", headers=evil)
    assert r.status_code == 403
    r = await anon.post(f"/api/v1/apps/crm/lead/trash/{rid}/restore", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/apps/crm/lead/{rid}")).status_code == 404  # still in the bin


async def test_sign_in_from_another_origin_is_refused(anon):
    r = await anon.post("/api/v1/auth/login", json=ADMIN, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_same_origin_and_bearer_requests_pass(client, anon):
    await make_app(client)
    token = await _signed_in(anon)
    same = {"Origin": "http://test", "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": token}
    assert (await anon.post("/api/v1/apps/crm/lead", json={"name": "Same"}, headers=same)).status_code == 201
    # A bearer request carries no ambient credential: no token, any origin.
    r = await client.post("/api/v1/apps/crm/lead", json={"name": "Api"}, headers={"Origin": "https://erp.example"})
    assert r.status_code == 201
