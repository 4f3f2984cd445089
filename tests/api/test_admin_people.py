"""Admin API for the builder's people page: one role added or removed without resending the others,
user search, invitations (single-use, expiring first-password links stored hashed), deactivation, and
refusals that name the field at fault."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.auth.tables import invitations
from tests.factories import make_app
from tests.people import audit_rows, errors, make_user, new_team

ADMIN = "/api/v1/admin"
LEADS = "/api/v1/apps/crm/lead"
PASSWORD = "a long first password"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/users/1/roles/member"), ("DELETE", "/users/1/roles/member"), ("POST", "/invitations"),
     ("POST", "/users/1/invitation")],
)  # fmt: skip
async def test_only_admins_add_roles_or_invite(anon, ctx, method, path):
    _, headers = await make_user(ctx, "rep@example.com", "member")
    r = await anon.request(method, f"{ADMIN}{path}", headers=headers, json={"email": "x@example.com"})
    assert r.status_code == 403


async def test_add_and_remove_one_role_keeps_the_others(client, ctx):
    await make_app(client)
    uid, headers = await make_user(ctx, "rep@example.com", "read_only")
    assert (await client.post(LEADS, json={"name": "L"}, headers=headers)).status_code == 403  # cached now
    r = await client.post(f"{ADMIN}/users/{uid}/roles/member")
    assert r.status_code == 200 and r.json()["roles"] == ["member", "read_only"]
    assert (await client.post(LEADS, json={"name": "L"}, headers=headers)).status_code == 201  # at once
    again = await client.post(f"{ADMIN}/users/{uid}/roles/member")
    assert again.json()["roles"] == ["member", "read_only"]
    r = await client.delete(f"{ADMIN}/users/{uid}/roles/read_only")
    assert r.status_code == 200 and r.json()["roles"] == ["member"]
    assert (await client.delete(f"{ADMIN}/users/{uid}/roles/read_only")).json()["roles"] == ["member"]
    r = await client.post(f"{ADMIN}/users/{uid}/roles/nope")
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    assert (await client.post(f"{ADMIN}/users/999/roles/member")).status_code == 404
    rows = await audit_rows(ctx, "user.roles_changed")
    both = ["member", "read_only"]
    assert [r["changes"]["roles"] for r in rows] == [[["read_only"], both], [both, ["member"]]]


async def test_search_users_by_email_or_name_and_by_team(client, ctx):
    await new_team(client, "sales")
    for email, name in (("li.lei@example.com", "李雷"), ("han@example.com", "Han Meimei"), ("x_y@example.com", "XY")):
        r = await client.post(f"{ADMIN}/users", json={"email": email, "name": name})
        assert r.status_code == 201
    han = (await client.get(f"{ADMIN}/users", params={"q": "MEIMEI"})).json()["items"]
    assert [u["email"] for u in han] == ["han@example.com"]
    assert [u["name"] for u in (await client.get(f"{ADMIN}/users", params={"q": "李"})).json()["items"]] == ["李雷"]
    assert [u["email"] for u in (await client.get(f"{ADMIN}/users", params={"q": "_"})).json()["items"]] == ["x_y@example.com"]
    assert (await client.get(f"{ADMIN}/users", params={"q": "%"})).json()["items"] == []
    await client.put(f"{ADMIN}/users/{han[0]['id']}/teams", json={"primary": "sales"})
    members = (await client.get(f"{ADMIN}/users", params={"team": "sales"})).json()["items"]
    assert [u["email"] for u in members] == ["han@example.com"]
    await client.post(f"{ADMIN}/users/{han[0]['id']}/roles/member")
    holders = (await client.get(f"{ADMIN}/users", params={"role": "member", "q": "han"})).json()["items"]
    assert [u["email"] for u in holders] == ["han@example.com"]
    assert (await client.get(f"{ADMIN}/users", params={"role": "read_only"})).json()["items"] == []
    page = (await client.get(f"{ADMIN}/users", params={"q": "example.com", "limit": 2})).json()
    rest = (await client.get(f"{ADMIN}/users", params={"q": "example.com", "limit": 2, "after": page["next_after"]})).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 2 and rest["next_after"] is None


async def test_an_invitation_sets_the_first_password_once(client, anon, ctx):
    await make_app(client)
    body = {"email": "New.Hire@Example.com", "name": "New hire", "locale": "zh-CN", "roles": ["member"]}
    r = await client.post(f"{ADMIN}/invitations", json=body)
    assert r.status_code == 201, r.text
    user, invitation = r.json()["user"], r.json()["invitation"]
    assert (user["email"], user["roles"], user["locale"]) == ("new.hire@example.com", ["member"], "zh-CN")
    token = invitation["token"]
    assert invitation["path"] == f"/invite/{token}" and len(token) >= 40
    async with ctx.db.read() as conn:
        stored = (await conn.execute(select(invitations.c.token_hash))).scalars().all()
    assert stored and token not in stored  # only its hash is kept
    login = {"email": "new.hire@example.com", "password": PASSWORD}
    assert (await anon.post("/api/v1/auth/login", json=login)).status_code == 401  # no password yet

    assert (await anon.get(f"/api/v1/auth/invitations/{token}")).json()["email"] == "new.hire@example.com"
    short = await anon.post(f"/api/v1/auth/invitations/{token}", json={"password": "short"})
    assert short.status_code == 422 and errors(short) == [("/password", "string_too_short")]
    r = await anon.post(f"/api/v1/auth/invitations/{token}", json={"password": PASSWORD})
    assert r.status_code == 200 and r.json()["user_id"] == user["id"]
    assert (await anon.get(LEADS)).status_code == 200  # signed in by the link, with the member role
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    again = await anon.post(f"/api/v1/auth/invitations/{token}", json={"password": "another password!"}, headers=csrf)
    assert again.status_code == 404 and "not valid" in again.json()["detail"]
    assert (await anon.post("/api/v1/auth/login", json=login)).status_code == 200
    assert [r["subject"] for r in await audit_rows(ctx, "auth.invitation_accepted")] == ["new.hire@example.com"]


async def test_invitations_expire_and_a_new_link_voids_the_old(client, anon, ctx, clock):
    first = (await client.post(f"{ADMIN}/invitations", json={"email": "a@example.com"})).json()
    uid = first["user"]["id"]
    second = (await client.post(f"{ADMIN}/users/{uid}/invitation")).json()["invitation"]
    assert (await anon.get(f"/api/v1/auth/invitations/{first['invitation']['token']}")).status_code == 404
    assert (await anon.get(f"/api/v1/auth/invitations/{second['token']}")).status_code == 200
    later = clock.now() + timedelta(days=8)
    clock.now = lambda: later  # type: ignore[method-assign]
    r = await anon.post(f"/api/v1/auth/invitations/{second['token']}", json={"password": PASSWORD})
    assert r.status_code == 404


async def test_a_deactivated_users_link_does_nothing_and_bad_invitations_are_refused(client, anon):
    await client.post(f"{ADMIN}/users", json={"email": "taken@example.com"})
    r = await client.post(f"{ADMIN}/invitations", json={"email": "TAKEN@example.com"})
    assert r.status_code == 409 and errors(r) == [("/email", "taken")]
    r = await client.post(f"{ADMIN}/invitations", json={"email": "nope", "roles": ["member"]})
    assert r.status_code == 422 and errors(r) == [("/email", "value_error")]
    r = await client.post(f"{ADMIN}/invitations", json={"email": "b@example.com", "roles": ["member", "ghost"]})
    assert r.status_code == 422 and errors(r) == [("/roles/1", "unknown_role")]
    assert (await client.get(f"{ADMIN}/users", params={"q": "b@example.com"})).json()["items"] == []  # nothing written
    made = (await client.post(f"{ADMIN}/invitations", json={"email": "c@example.com"})).json()
    uid, token = made["user"]["id"], made["invitation"]["token"]
    assert (await client.patch(f"{ADMIN}/users/{uid}", json={"active": False})).status_code == 200
    assert (await anon.post(f"/api/v1/auth/invitations/{token}", json={"password": PASSWORD})).status_code == 404
    r = await client.post(f"{ADMIN}/users/{uid}/invitation")
    assert r.status_code == 409 and r.json()["code"] == "inactive"


async def test_a_deactivated_user_cannot_sign_in_and_their_session_ends(client, anon, ctx):
    await make_app(client)
    uid, _ = await make_user(ctx, "rep@example.com", "member", password=PASSWORD)
    login = {"email": "rep@example.com", "password": PASSWORD}
    assert (await anon.post("/api/v1/auth/login", json=login)).status_code == 200
    assert (await anon.get(LEADS)).status_code == 200
    assert (await client.patch(f"{ADMIN}/users/{uid}", json={"active": False})).status_code == 200
    assert (await anon.get(LEADS)).status_code == 401  # the session stops working
    assert (await anon.post("/api/v1/auth/login", json=login)).status_code == 401
    assert (await client.patch(f"{ADMIN}/users/{uid}", json={"active": True})).status_code == 200
    assert (await anon.post("/api/v1/auth/login", json=login)).status_code == 200


async def test_refusals_carry_codes_for_the_ui(client, ctx):
    await new_team(client, "sales")
    await new_team(client, "east", parent="sales")
    r = await client.patch(f"{ADMIN}/teams/sales", json={"parent": "east"})
    assert r.status_code == 409 and errors(r) == [("/parent", "cycle")]
    await client.post(f"{ADMIN}/roles", json={"key": "clerk", "label": {"en": "Clerk"}})
    await make_user(ctx, "rep@example.com", "clerk")
    r = await client.delete(f"{ADMIN}/roles/clerk")
    assert r.status_code == 409 and (r.json()["code"], r.json()["users"]) == ("in_use", 1)
    assert (await client.delete(f"{ADMIN}/roles/member")).json()["code"] == "builtin"


async def test_a_web_pages_viewer_is_read_from_one_user_row_and_a_deactivated_user_has_none(client, ctx):
    """AuthService.viewer_for_user (every web page's viewer): the access and the profile of an active user."""
    uid, _ = await make_user(ctx, "rep@example.com", "member", password=PASSWORD)
    async with ctx.db.read() as conn:
        found = await ctx.auth.viewer_for_user(conn, uid)
    assert found is not None
    access, me = found
    assert (access.user_id, access.source, me.id, me.email) == (uid, "ui", uid, "rep@example.com")
    assert (await client.patch(f"{ADMIN}/users/{uid}", json={"active": False})).status_code == 200
    async with ctx.db.read() as conn:
        assert await ctx.auth.viewer_for_user(conn, uid) is None
