"""Admin API: the team tree (materialised paths, moves, cycles) and role definitions."""

from tests.factories import make_app
from tests.people import audit_rows, errors, make_user, new_team

ADMIN = "/api/v1/admin"
LEADS = "/api/v1/apps/crm/lead"
CUSTOM_ROLE = {
    "key": "lead_reader",
    "label": {"en": "Lead reader", "zh-CN": "线索查看"},
    "grants": [{"entity": "crm.lead", "read": "all", "hidden_fields": ["budget"]}],
}


async def test_moving_a_team_moves_its_subtree_and_its_managers_view(client, ctx):
    await make_app(client)
    sales, west = await new_team(client, "sales"), await new_team(client, "west")
    west_a = await new_team(client, "west_a", parent="west")
    assert (sales["path"], west["path"], west_a["path"]) == (
        f"/{sales['id']}/",
        f"/{west['id']}/",
        f"/{west['id']}/{west_a['id']}/",
    )
    boss, boss_headers = await make_user(ctx, "boss@example.com", "manager")
    rep, rep_headers = await make_user(ctx, "rep@example.com", "member")
    await client.put(f"{ADMIN}/users/{boss}/teams", json={"primary": "sales"})
    await client.put(f"{ADMIN}/users/{rep}/teams", json={"primary": "west_a"})
    await client.patch(f"{ADMIN}/teams/sales", json={"manager_id": boss})
    lead = (await client.post(LEADS, json={"name": "Rep's lead"}, headers=rep_headers)).json()
    assert (await client.get(f"{LEADS}/{lead['id']}", headers=boss_headers)).status_code == 404

    r = await client.patch(f"{ADMIN}/teams/west", json={"parent": "sales"})
    assert r.status_code == 200 and (r.json()["parent"], r.json()["path"]) == ("sales", f"/{sales['id']}/{west['id']}/")
    moved = (await client.get(f"{ADMIN}/teams/west_a")).json()
    assert moved["path"] == f"/{sales['id']}/{west['id']}/{west_a['id']}/" and moved["parent"] == "west"
    assert (await client.get(f"{LEADS}/{lead['id']}", headers=boss_headers)).status_code == 200  # team scope, at once
    [row] = [r for r in await audit_rows(ctx, "team.updated") if "parent" in r["changes"]]
    assert row["subject"] == "west" and row["changes"] == {"parent": [None, "sales"]}

    r = await client.patch(f"{ADMIN}/teams/west", json={"parent": None})
    assert r.json()["path"] == f"/{west['id']}/" and (await client.get(f"{ADMIN}/teams/west_a")).json()["path"] == west_a["path"]


async def test_a_team_cannot_move_under_itself(client):
    await new_team(client, "sales")
    await new_team(client, "east", parent="sales")
    await new_team(client, "east_1", parent="east")
    for parent in ("sales", "east", "east_1"):
        r = await client.patch(f"{ADMIN}/teams/sales", json={"parent": parent})
        assert r.status_code == 409 and "cycle" in r.json()["detail"], parent
    assert (await client.get(f"{ADMIN}/teams/east_1")).json()["parent"] == "east"


async def test_bad_teams_are_refused(client):
    await new_team(client, "sales")
    assert (await client.post(f"{ADMIN}/teams", json={"key": "sales", "label": "Again"})).status_code == 409
    r = await client.post(f"{ADMIN}/teams", json={"key": "east", "label": "East", "parent": "nope", "manager_id": 999})
    assert r.status_code == 422 and errors(r) == [("/manager_id", "unknown_user"), ("/parent", "unknown_team")]
    r = await client.post(f"{ADMIN}/teams", json={"key": "Bad Key", "label": ""})
    assert errors(r) == [("/key", "string_pattern_mismatch"), ("/label", "value_error")]
    assert (await client.patch(f"{ADMIN}/teams/nope", json={"label": "X"})).status_code == 404
    assert (await client.patch(f"{ADMIN}/teams/sales", json={"label": None})).status_code == 422


async def test_deleting_teams(client, ctx):
    await new_team(client, "sales")
    await new_team(client, "east", parent="sales")
    uid, _ = await make_user(ctx, "rep@example.com", "member")
    await client.put(f"{ADMIN}/users/{uid}/teams", json={"primary": "east"})
    r = await client.delete(f"{ADMIN}/teams/sales")
    assert r.status_code == 409 and r.json()["sub_teams"] == 1
    assert (await client.delete(f"{ADMIN}/teams/east")).status_code == 204
    assert (await client.get(f"{ADMIN}/users/{uid}")).json()["teams"] == []
    assert (await client.delete(f"{ADMIN}/teams/sales")).status_code == 204
    assert (await client.get(f"{ADMIN}/teams")).json()["items"] == []
    assert [(r["subject"], r["detail"]) for r in await audit_rows(ctx, "team.deleted")] == [
        ("east", {"members": 1}),
        ("sales", {"members": 0}),
    ]


async def test_roles_list_and_bad_definitions(client):
    listed = {r["key"]: r for r in (await client.get(f"{ADMIN}/roles")).json()["items"]}
    assert set(listed) == {"admin", "builder", "manager", "member", "read_only"} and all(r["builtin"] for r in listed.values())
    assert listed["member"]["label"] == {"en": "Member", "zh-CN": "成员"} and listed["member"]["definition"]["grants"]
    bad = {"key": "Sales Rep", "label": "", "grants": [{"entity": "crm", "read": "mine", "colour": 1}]}
    r = await client.post(f"{ADMIN}/roles", json=bad)
    assert r.status_code == 422
    assert errors(r) == [
        ("/grants/0/colour", "extra_forbidden"),
        ("/grants/0/entity", "string_pattern_mismatch"),
        ("/grants/0/read", "literal_error"),
        ("/key", "string_pattern_mismatch"),
        ("/label", "value_error"),
    ]


async def test_role_lifecycle(client, ctx):
    await make_app(client)
    r = await client.post(f"{ADMIN}/roles", json=CUSTOM_ROLE)
    assert r.status_code == 201 and r.json()["builtin"] is False and r.json()["users"] == 0
    assert (await client.post(f"{ADMIN}/roles", json=CUSTOM_ROLE)).status_code == 409
    await client.post(LEADS, json={"name": "A", "budget": 10})
    uid, headers = await make_user(ctx, "reader@example.com", "lead_reader")
    assert "budget" not in (await client.get(LEADS, headers=headers)).json()["items"][0]

    shown = {**CUSTOM_ROLE, "grants": [{"entity": "crm.lead", "read": "all"}]}
    assert (await client.put(f"{ADMIN}/roles/lead_reader", json=shown)).status_code == 200
    assert (await client.get(LEADS, headers=headers)).json()["items"][0]["budget"] == 10  # new rights at once
    r = await client.put(f"{ADMIN}/roles/lead_reader", json={**shown, "key": "other"})
    assert r.status_code == 422 and errors(r) == [("/key", "immutable")]
    assert (await client.put(f"{ADMIN}/roles/nope", json={**shown, "key": "nope"})).status_code == 404

    r = await client.delete(f"{ADMIN}/roles/lead_reader")
    assert r.status_code == 409 and r.json()["users"] == 1 and "1 users" in r.json()["detail"]
    await client.put(f"{ADMIN}/users/{uid}/roles", json={"roles": []})
    assert (await client.delete(f"{ADMIN}/roles/lead_reader")).status_code == 204
    assert (await client.get(f"{ADMIN}/roles/lead_reader")).status_code == 404
    rows = await audit_rows(ctx, "role.")
    assert [(r["action"], r["subject"]) for r in rows] == [
        ("role.created", "lead_reader"), ("role.updated", "lead_reader"), ("role.deleted", "lead_reader"),
    ]  # fmt: skip
    [(old, new)] = [(old[0], new[0]) for old, new in rows[1]["changes"].values()]
    assert list(rows[1]["changes"]) == ["grants"] and (old["hidden_fields"], new["hidden_fields"]) == (["budget"], [])


async def test_built_in_roles_can_be_edited_but_not_deleted(client, ctx):
    for key in ("admin", "builder", "manager", "member", "read_only"):
        r = await client.delete(f"{ADMIN}/roles/{key}")
        assert r.status_code == 409 and "built-in" in r.json()["detail"]
    member = (await client.get(f"{ADMIN}/roles/member")).json()["definition"]
    edited = {**member, "label": {"en": "Team member", "zh-CN": "成员"}}
    r = await client.put(f"{ADMIN}/roles/member", json=edited)
    assert r.status_code == 200 and r.json()["label"]["en"] == "Team member" and r.json()["builtin"] is True
    [row] = await audit_rows(ctx, "role.updated")
    assert row["changes"] == {"label": [member["label"], edited["label"]]}
