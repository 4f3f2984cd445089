"""Sharing one record with a user or a team (SCENARIOS X2): who then sees it, who may share it."""

from engine.auth.shares import may_share
from tests.factories import make_app
from tests.people import audit_rows, make_user

LEADS = "/api/v1/apps/crm/lead"
ADMIN = "/api/v1/admin"


async def admins_lead(client, name="Big deal"):
    await make_app(client)
    r = await client.post(LEADS, json={"name": name})
    assert r.status_code == 201
    return f"{LEADS}/{r.json()['id']}"


async def test_a_member_sees_a_record_only_once_it_is_shared_with_them(client, ctx):
    lead = await admins_lead(client)
    uid, rep = await make_user(ctx, "rep@example.com", "member")
    assert (await client.get(lead, headers=rep)).status_code == 404
    assert (await client.get(LEADS, headers=rep)).json()["items"] == []
    r = await client.post(f"{lead}/shares", json={"user_id": uid})
    assert r.status_code == 201 and (r.json()["user_email"], r.json()["can_edit"]) == ("rep@example.com", False)
    assert (await client.get(lead, headers=rep)).json()["name"] == "Big deal"
    assert len((await client.get(LEADS, headers=rep)).json()["items"]) == 1
    assert (await client.patch(lead, json={"name": "Mine now"}, headers=rep)).status_code == 403

    again = await client.post(f"{lead}/shares", json={"user_id": uid, "can_edit": True})
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"] and again.json()["can_edit"] is True
    assert (await client.patch(lead, json={"name": "Edited by rep"}, headers=rep)).status_code == 200
    assert (await client.delete(f"{lead}/shares/{r.json()['id']}")).status_code == 204
    assert (await client.get(lead, headers=rep)).status_code == 404


async def test_a_record_shared_with_a_team_is_seen_by_its_members_only(client, ctx):
    lead = await admins_lead(client)
    team = (await client.post(f"{ADMIN}/teams", json={"key": "key_accounts", "label": "Key accounts"})).json()
    inside, inside_headers = await make_user(ctx, "in@example.com", "member")
    _, outside_headers = await make_user(ctx, "out@example.com", "member")
    await client.put(f"{ADMIN}/users/{inside}/teams", json={"extra": ["key_accounts"]})
    r = await client.post(f"{lead}/shares", json={"team_id": team["id"]})
    assert r.status_code == 201 and r.json()["team_key"] == "key_accounts"
    assert (await client.get(lead, headers=inside_headers)).status_code == 200
    assert (await client.get(lead, headers=outside_headers)).status_code == 404
    await client.delete(f"{ADMIN}/teams/key_accounts")  # the share goes with the team
    assert (await client.get(f"{lead}/shares")).json()["items"] == []


async def test_sharing_needs_the_right_to_update_the_record(client, ctx):
    lead = await admins_lead(client)
    viewer, viewer_headers = await make_user(ctx, "viewer@example.com", "member")
    stranger, stranger_headers = await make_user(ctx, "stranger@example.com", "member")
    await client.post(f"{lead}/shares", json={"user_id": viewer})
    assert (await client.post(f"{lead}/shares", json={"user_id": stranger}, headers=stranger_headers)).status_code == 404
    assert (await client.get(f"{lead}/shares", headers=stranger_headers)).status_code == 404
    r = await client.post(f"{lead}/shares", json={"user_id": stranger}, headers=viewer_headers)
    assert r.status_code == 403  # may see it, may not update it: may not share it
    assert [s["user_id"] for s in (await client.get(f"{lead}/shares", headers=viewer_headers)).json()["items"]] == [viewer]
    await client.post(f"{lead}/shares", json={"user_id": viewer, "can_edit": True})
    assert (await client.post(f"{lead}/shares", json={"user_id": stranger}, headers=viewer_headers)).status_code == 201
    assert (await client.get(lead, headers=stranger_headers)).status_code == 200


async def test_a_member_shares_their_own_record(client, ctx):
    await make_app(client)
    _, owner = await make_user(ctx, "owner@example.com", "member")
    colleague, colleague_headers = await make_user(ctx, "colleague@example.com", "member")
    mine = (await client.post(LEADS, json={"name": "Mine"}, headers=owner)).json()
    assert (await client.post(f"{LEADS}/{mine['id']}/shares", json={"user_id": colleague}, headers=owner)).status_code == 201
    assert (await client.get(f"{LEADS}/{mine['id']}", headers=colleague_headers)).status_code == 200


async def test_bad_shares_are_refused(client, ctx):
    lead = await admins_lead(client)
    uid, _ = await make_user(ctx, "rep@example.com", "member")

    def paths(r):
        return [(e["path"], e["code"]) for e in r.json()["errors"]]

    r = await client.post(f"{lead}/shares", json={"user_id": uid, "team_id": 1})
    assert r.status_code == 422 and paths(r) == [("/user_id", "required")]
    assert paths(await client.post(f"{lead}/shares", json={})) == [("/user_id", "required")]
    assert paths(await client.post(f"{lead}/shares", json={"user_id": 999})) == [("/user_id", "unknown_user")]
    assert paths(await client.post(f"{lead}/shares", json={"team_id": 999})) == [("/team_id", "unknown_team")]
    assert (await client.post(f"{lead}/shares", json={"user_id": 0, "can_edit": "maybe"})).status_code == 422
    assert (await client.post(f"{LEADS}/999/shares", json={"user_id": uid})).status_code == 404
    assert (await client.post("/api/v1/apps/crm/nope/1/shares", json={"user_id": uid})).status_code == 404
    assert (await client.delete(f"{lead}/shares/999")).status_code == 404


async def test_shares_are_audited_under_the_record(client, ctx, admin):
    lead = await admins_lead(client)
    rid = int(lead.rsplit("/", 1)[1])
    uid, _ = await make_user(ctx, "rep@example.com", "member")
    share = (await client.post(f"{lead}/shares", json={"user_id": uid})).json()
    await client.post(f"{lead}/shares", json={"user_id": uid, "can_edit": True})
    await client.delete(f"{lead}/shares/{share['id']}")
    rows = await audit_rows(ctx, "share.")
    assert [(r["action"], r["app"], r["entity"], r["record_id"], r["actor_id"]) for r in rows] == [
        ("share.created", "crm", "lead", rid, admin["id"]),
        ("share.updated", "crm", "lead", rid, admin["id"]),
        ("share.deleted", "crm", "lead", rid, admin["id"]),
    ]
    assert [r["changes"] for r in rows] == [
        {"user_id": [None, uid], "can_edit": [None, False]},
        {"can_edit": [False, True]},
        {"user_id": [uid, None], "can_edit": [True, None]},
    ]


async def test_may_share_answers_what_the_api_does(client, ctx):
    """The web page offers Share through `may_share`, the same function the API's refusal comes from."""
    lead = await admins_lead(client)
    rid = int(lead.rsplit("/", 1)[1])
    reader, reader_headers = await make_user(ctx, "reader@example.com", "member")
    editor, editor_headers = await make_user(ctx, "editor@example.com", "member")
    stranger, stranger_headers = await make_user(ctx, "stranger@example.com", "member")
    await client.post(f"{lead}/shares", json={"user_id": reader})
    await client.post(f"{lead}/shares", json={"user_id": editor, "can_edit": True})
    async with ctx.db.read() as conn:
        entity = await ctx.store.get(conn, "crm", "lead")
        answers = {}
        for uid in (reader, editor, stranger):
            access = await ctx.auth.actor_for_user(conn, uid)
            answers[uid] = await may_share(conn, access, entity, rid)
    assert answers == {reader: False, editor: True, stranger: False}
    for uid, headers in ((reader, reader_headers), (editor, editor_headers), (stranger, stranger_headers)):
        r = await client.post(f"{lead}/shares", json={"user_id": uid}, headers=headers)
        assert (r.status_code in (200, 201)) == answers[uid]
