"""Admin API: users, their roles, teams and tokens; the team tree; roles. Administrators only, and
every change is in the audit log."""

import pytest

from tests.factories import make_app
from tests.people import audit_rows, errors, make_user, new_team

ADMIN = "/api/v1/admin"
LEADS = "/api/v1/apps/crm/lead"


async def new_user(client, email="rep@example.com", **extra):
    r = await client.post(f"{ADMIN}/users", json={"email": email, **extra})
    assert r.status_code == 201, r.text
    return r.json()


# -- who may administer ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/users", None), ("POST", "/users", {}), ("GET", "/users/1", None), ("PATCH", "/users/1", {}),
        ("PUT", "/users/1/roles", {"roles": ["admin"]}), ("PUT", "/users/1/teams", {}), ("GET", "/users/1/tokens", None),
        ("DELETE", "/users/1/tokens/1", None), ("GET", "/teams", None), ("POST", "/teams", {}), ("PATCH", "/teams/x", {}),
        ("DELETE", "/teams/x", None), ("GET", "/roles", None), ("POST", "/roles", {}), ("PUT", "/roles/member", {}),
        ("DELETE", "/roles/member", None),
    ],
)  # fmt: skip
async def test_non_admins_get_403_everywhere(client, anon, ctx, method, path, body):
    _, member = await make_user(ctx, "member@example.com", "member")
    r = await client.request(method, ADMIN + path, json=body, headers=member)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert (await anon.request(method, ADMIN + path, json=body)).status_code == 401


async def test_narrowed_admin_tokens_cannot_administer(client):
    read_only = (await client.post("/api/v1/auth/tokens", json={"read_only": True})).json()["token"]
    headers = {"Authorization": f"Bearer {read_only}"}
    assert (await client.get(f"{ADMIN}/users", headers=headers)).status_code == 200
    assert (await client.post(f"{ADMIN}/users", json={"email": "x@example.com"}, headers=headers)).status_code == 403
    one_app = (await client.post("/api/v1/auth/tokens", json={"apps": ["crm"]})).json()["token"]
    assert (await client.get(f"{ADMIN}/users", headers={"Authorization": f"Bearer {one_app}"})).status_code == 403


# -- users ---------------------------------------------------------------------------------------
async def test_create_a_user_who_can_then_sign_in(client, anon, ctx):
    body = {"email": " Rep@Example.com ", "name": "Rep", "locale": "zh-CN", "password": "a long password"}
    user = await new_user(client, **body)
    assert {k: user[k] for k in ("email", "name", "locale", "active", "is_admin", "roles", "teams")} == {
        "email": "rep@example.com", "name": "Rep", "locale": "zh-CN", "active": True, "is_admin": False,
        "roles": [], "teams": [],
    }  # fmt: skip
    assert (
        await anon.post("/api/v1/auth/login", json={"email": "rep@example.com", "password": "a long password"})
    ).status_code == 200
    assert (await client.get(f"{ADMIN}/users/{user['id']}")).json() == user
    listed = (await client.get(f"{ADMIN}/users")).json()
    assert [u["email"] for u in listed["items"]] == ["admin@example.com", "rep@example.com"] and listed["next_after"] is None
    [row] = await audit_rows(ctx, "user.created")
    assert row["subject"] == "rep@example.com" and row["changes"]["locale"] == [None, "zh-CN"]
    assert "password" not in str(row["changes"])


async def test_user_pages(client):
    for n in range(3):
        await new_user(client, f"u{n}@example.com")
    first = (await client.get(f"{ADMIN}/users", params={"limit": 2})).json()
    rest = (await client.get(f"{ADMIN}/users", params={"limit": 2, "after": first["next_after"]})).json()
    emails = [u["email"] for u in first["items"] + rest["items"]]
    assert emails == ["admin@example.com", "u0@example.com", "u1@example.com", "u2@example.com"] and rest["next_after"] is None


async def test_bad_users_are_refused_with_paths(client):
    r = await client.post(f"{ADMIN}/users", json={"email": "nope", "locale": "fr", "password": "short"})
    assert r.status_code == 422
    assert errors(r) == [("/email", "value_error"), ("/locale", "literal_error"), ("/password", "string_too_short")]
    await new_user(client)
    assert (await client.post(f"{ADMIN}/users", json={"email": "REP@example.com"})).status_code == 409
    assert (await client.get(f"{ADMIN}/users/999")).status_code == 404


async def test_update_a_user_and_its_audit(client, anon, ctx):
    user = await new_user(client)
    r = await client.patch(
        f"{ADMIN}/users/{user['id']}", json={"name": "Renamed", "locale": "zh-CN", "password": "new password!"}
    )
    assert r.status_code == 200 and (r.json()["name"], r.json()["locale"]) == ("Renamed", "zh-CN")
    assert (
        await anon.post("/api/v1/auth/login", json={"email": "rep@example.com", "password": "new password!"})
    ).status_code == 200
    assert (await client.patch(f"{ADMIN}/users/{user['id']}", json={"name": None})).status_code == 422
    [row] = await audit_rows(ctx, "user.updated")
    assert row["changes"] == {"name": ["rep", "Renamed"], "locale": ["en", "zh-CN"]} and row["detail"] == {"password_set": True}
    assert row["actor_id"] is not None


async def test_an_admin_cannot_lock_themselves_out(client, ctx, admin):
    me = f"{ADMIN}/users/{admin['id']}"
    assert (await client.patch(me, json={"active": False})).status_code == 409
    assert (await client.patch(me, json={"is_admin": False})).status_code == 409
    other = await new_user(client, is_admin=True)
    assert (await client.patch(f"{ADMIN}/users/{other['id']}", json={"is_admin": False})).json()["is_admin"] is False


async def test_a_deactivated_users_token_stops_working_at_once(client, ctx):
    uid, headers = await make_user(ctx, "rep@example.com", "member")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200  # now cached
    assert (await client.patch(f"{ADMIN}/users/{uid}", json={"active": False})).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_roles_of_a_user_apply_at_once(client, ctx):
    await make_app(client)
    uid, headers = await make_user(ctx, "rep@example.com")
    assert (await client.get(LEADS, headers=headers)).status_code == 403  # no role: no rights (now cached)
    r = await client.put(f"{ADMIN}/users/{uid}/roles", json={"roles": ["member", "nope", "Bad-Key"]})
    assert r.status_code == 422 and errors(r) == [("/roles/1", "unknown_role"), ("/roles/2", "unknown_role")]
    r = await client.put(f"{ADMIN}/users/{uid}/roles", json={"roles": ["read_only", "member", "member"]})
    assert r.status_code == 200 and r.json()["roles"] == ["member", "read_only"]
    assert (await client.get(LEADS, headers=headers)).status_code == 200
    await client.put(f"{ADMIN}/users/{uid}/roles", json={"roles": ["member", "read_only"]})  # no change: no audit
    [row] = await audit_rows(ctx, "user.roles_changed")
    assert row["subject"] == "rep@example.com" and row["changes"] == {"roles": [[], ["member", "read_only"]]}


async def test_team_memberships(client, ctx):
    user = await new_user(client)
    east, accounts = await new_team(client, "sales_east"), await new_team(client, "key_accounts")
    path = f"{ADMIN}/users/{user['id']}/teams"
    r = await client.put(path, json={"primary": "nope", "extra": ["key_accounts", "gone"]})
    assert r.status_code == 422 and errors(r) == [("/extra/1", "unknown_team"), ("/primary", "unknown_team")]
    r = await client.put(path, json={"primary": "sales_east", "extra": ["key_accounts", "sales_east"]})
    assert r.json()["teams"] == [
        {"id": accounts["id"], "key": "key_accounts", "is_primary": False},
        {"id": east["id"], "key": "sales_east", "is_primary": True},
    ]
    counts = {t["key"]: t["members"] for t in (await client.get(f"{ADMIN}/teams")).json()["items"]}
    assert counts == {"sales_east": 1, "key_accounts": 1}
    assert (await client.put(path, json={})).json()["teams"] == []
    rows = await audit_rows(ctx, "user.teams_changed")
    assert len(rows) == 2 and rows[1]["changes"]["teams"][1] == []


async def test_an_admin_revokes_anyones_token(client, ctx):
    uid, headers = await make_user(ctx, "rep@example.com", "member")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    [token] = (await client.get(f"{ADMIN}/users/{uid}/tokens")).json()["items"]
    assert token["revoked_at"] is None and token["read_only"] is False
    assert (await client.delete(f"{ADMIN}/users/{uid + 100}/tokens/{token['id']}")).status_code == 404
    assert (await client.delete(f"{ADMIN}/users/{uid}/tokens/{token['id']}")).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await client.delete(f"{ADMIN}/users/{uid}/tokens/{token['id']}")).status_code == 404
    [row] = await audit_rows(ctx, "token.revoked")
    assert row["subject"] == "rep@example.com" and row["detail"] == {"token_id": token["id"], "user_id": uid}
