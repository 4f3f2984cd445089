"""Saved views of an entity's list: personal or shared with a role by those who manage the entity, the
default view, and a view never reaching past what its user may read."""

from __future__ import annotations

import pytest

from tests.factories import make_app
from tests.people import errors, make_user

VIEWS = "/api/v1/apps/crm/lead/views"
LEADS = "/api/v1/apps/crm/lead"
REP = {
    "key": "sales_rep",
    "label": {"en": "Sales rep", "zh-CN": "销售代表"},
    "grants": [{"entity": "crm.lead", "read": "own", "create": True, "update": "own", "hidden_fields": ["budget"]}],
}
MANAGER = {
    "key": "sales_manager",
    "label": "Sales manager",
    "grants": [{"entity": "crm.lead", "read": "all", "create": True, "update": "all", "manage": True}],
}
AUDITOR = {"key": "auditor", "label": "Auditor", "grants": [{"entity": "crm.lead", "read": "all"}]}
HOT = {
    "name": {"en": "Hot leads", "zh-CN": "热门线索"},
    "columns": ["name", "industry", "owner"],
    "filter": {"field": "industry", "op": "eq", "value": "retail"},
    "sort": [{"field": "updated_at", "desc": True}],
}


@pytest.fixture
async def people(client, ctx):
    await make_app(client)
    for role in (REP, MANAGER, AUDITOR):
        assert (await client.post("/api/v1/admin/roles", json=role)).status_code == 201
    out = {}
    for name, role in (("rep", "sales_rep"), ("rep2", "sales_rep"), ("manager", "sales_manager"), ("auditor", "auditor")):
        out[name + "_id"], out[name] = await make_user(ctx, f"{name}@example.com", role)
    return out


async def stored(client, headers):
    """The caller's stored views (the generated default left out), as (name, mine, can_edit)."""
    items = (await client.get(VIEWS, headers=headers)).json()["items"]
    return [(i["name"], i["mine"], i["can_edit"]) for i in items if not i["generated"]]


async def test_a_reps_personal_view_is_invisible_to_another_rep(client, people):
    r = await client.post(VIEWS, json=HOT, headers=people["rep"])
    assert r.status_code == 201, r.text
    view = r.json()
    assert (view["mine"], view["can_edit"], view["shared_with"], view["version"]) == (True, True, None, 1)
    assert r.headers["etag"] == '"1"' and view["owner_id"] == people["rep_id"]
    assert await stored(client, people["rep"]) == [(HOT["name"], True, True)]
    assert await stored(client, people["rep2"]) == []
    assert await stored(client, people["manager"]) == []  # personal means personal, managers included
    url = f"{VIEWS}/{view['id']}"
    assert (await client.get(url, headers=people["rep2"])).status_code == 404
    assert (await client.put(url, json=HOT, headers=people["rep2"])).status_code == 404
    assert (await client.delete(url, headers=people["rep2"])).status_code == 404
    assert (await client.get(url, headers=people["rep"])).json()["name"] == HOT["name"]


async def test_a_manager_shares_a_view_with_the_rep_role_and_reps_see_it_without_editing_it(client, people):
    r = await client.post(VIEWS, json=HOT | {"shared_with": "sales_rep"}, headers=people["manager"])
    assert r.status_code == 201, r.text
    url = f"{VIEWS}/{r.json()['id']}"
    assert await stored(client, people["rep"]) == [(HOT["name"], False, False)]
    assert await stored(client, people["auditor"]) == []  # not their role
    assert await stored(client, people["manager"]) == [(HOT["name"], True, True)]
    refused = await client.put(url, json=HOT | {"name": "Mine now"}, headers=people["rep"])
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert (await client.delete(url, headers=people["rep"])).status_code == 403
    assert (await client.get(url, headers=people["rep"])).json()["name"] == HOT["name"]
    everyone = await client.put(url, json=HOT | {"shared_with": "*"}, headers=people["manager"])
    assert everyone.status_code == 200 and everyone.json()["version"] == 2
    assert await stored(client, people["auditor"]) == [(HOT["name"], False, False)]


async def test_a_rep_cannot_share_a_view_or_make_it_the_default(client, people, ctx):
    for extra in ({"shared_with": "*"}, {"shared_with": "sales_rep"}, {"shared_with": "sales_rep", "is_default": True}):
        r = await client.post(VIEWS, json=HOT | extra, headers=people["rep"])
        assert r.status_code == 403, r.text
        assert "manage" in r.json()["detail"]
    mine = (await client.post(VIEWS, json=HOT, headers=people["rep"])).json()
    r = await client.put(f"{VIEWS}/{mine['id']}", json=HOT | {"shared_with": "*"}, headers=people["rep"])
    assert r.status_code == 403
    assert await stored(client, people["rep2"]) == []


async def test_the_default_view_is_generated_until_a_manager_shares_one(client, people, ctx):
    items = (await client.get(VIEWS, headers=people["manager"])).json()["items"]
    assert len(items) == 1 and items[0]["generated"] and items[0]["default"] and items[0]["id"] is None
    # the display field, 6 more in definition order (no long text, no JSON), then owner and updated_at
    assert items[0]["columns"] == ["name", "email", "phone", "budget", "employees", "industry", "tags", "owner", "updated_at"]
    assert items[0]["sort"] == [{"field": "updated_at", "desc": True}] and items[0]["can_edit"] is False
    rep_default = (await client.get(VIEWS, headers=people["rep"])).json()["items"][0]
    reps = ["name", "email", "phone", "employees", "industry", "tags", "qualified", "owner", "updated_at"]
    assert rep_default["columns"] == reps  # budget is hidden from reps: qualified comes in

    first = await client.post(VIEWS, json=HOT | {"shared_with": "sales_rep", "is_default": True}, headers=people["manager"])
    assert first.status_code == 201 and first.json()["default"] is True
    for who in ("rep", "auditor"):  # the default is everyone's, whoever it is shared with
        top = (await client.get(VIEWS, headers=people[who])).json()["items"][0]
        assert (top["id"], top["default"], top["generated"]) == (first.json()["id"], True, False)
    async with ctx.db.read() as conn:
        e = await ctx.store.get(conn, "crm", "lead")
        rep = await ctx.auth.actor_for_user(conn, people["rep_id"])
        assert (await ctx.views.default_view(conn, rep, e))["id"] == first.json()["id"]

    second = await client.post(
        VIEWS, json=HOT | {"name": "All", "shared_with": "*", "is_default": True}, headers=people["manager"]
    )
    assert second.status_code == 201, second.text
    old = (await client.get(f"{VIEWS}/{first.json()['id']}", headers=people["manager"])).json()
    assert (old["is_default"], old["version"]) == (False, 2)  # the flag moved: one default per entity
    top = (await client.get(VIEWS, headers=people["rep"])).json()["items"][0]
    assert top["id"] == second.json()["id"]
    personal = await client.post(VIEWS, json=HOT | {"is_default": True}, headers=people["manager"])
    assert personal.status_code == 422 and errors(personal) == [("/is_default", "not_shared")]


async def test_fields_hidden_from_the_author_are_refused_at_their_path(client, people):
    hidden_filter = HOT | {"filter": {"all": [{"field": "industry", "op": "eq", "value": "retail"},
                                              {"field": "budget", "op": "gt", "value": 100}]}}  # fmt: skip
    r = await client.post(VIEWS, json=hidden_filter, headers=people["rep"])
    assert r.status_code == 422 and errors(r) == [("/filter/all/1/field", "unknown_field")]
    r = await client.post(VIEWS, json=HOT | {"filter": {"field": "budget", "op": "is_empty"}}, headers=people["rep"])
    assert errors(r) == [("/filter/field", "unknown_field")]
    doc = HOT | {"columns": ["name", "budget", "name"], "sort": [{"field": "budget"}, {"field": "notes"}], "card_fields": ["zzz"]}
    r = await client.post(VIEWS, json=doc, headers=people["rep"])
    assert errors(r) == [("/card_fields/0", "unknown_field"), ("/columns/1", "unknown_field"), ("/columns/2", "duplicate"),
                         ("/sort/0/field", "invalid_sort"), ("/sort/1/field", "invalid_sort")]  # fmt: skip
    assert (await client.post(VIEWS, json=doc | {"columns": ["name", "budget"], "sort": [], "card_fields": []},
                              headers=people["manager"])).status_code == 201  # fmt: skip


async def test_a_view_is_used_inside_the_viewers_own_scope(client, people):
    for name, industry, owner in (("A", "retail", "rep_id"), ("B", "retail", "rep2_id"), ("C", "finance", "rep_id")):
        body = {"name": name, "industry": industry, "budget": 10, "owner": people[owner]}
        assert (await client.post(LEADS, json=body)).status_code == 201
    doc = HOT | {"shared_with": "sales_rep", "columns": ["name", "budget", "owner"], "sort": [{"field": "budget", "desc": True}]}
    view = (await client.post(VIEWS, json=doc, headers=people["manager"])).json()
    assert view["list_params"] == {"filter": '{"field":"industry","op":"eq","value":"retail"}', "sort": "-budget",
                                   "fields": "name,budget,owner", "limit": 50}  # fmt: skip
    seen = (await client.get(f"{VIEWS}/{view['id']}", headers=people["rep"])).json()
    assert (seen["columns"], seen["sort"], seen["usable"]) == (["name", "owner"], [], True)  # budget dropped, no error
    params = {k: v for k, v in seen["list_params"].items() if v is not None}
    listed = (await client.get(LEADS, params=params, headers=people["rep"])).json()["items"]
    assert [(i["name"], "budget" in i) for i in listed] == [("A", False)]  # their own retail lead only
    on_budget = HOT | {"shared_with": "*", "filter": {"field": "budget", "op": "gt", "value": 5}}
    hidden = (await client.post(VIEWS, json=on_budget, headers=people["manager"])).json()
    assert (await client.get(f"{VIEWS}/{hidden['id']}", headers=people["rep"])).json()["usable"] is False


async def test_kanban_views_group_by_a_select_field(client, people):
    board = {"name": "Board", "kind": "kanban", "columns": ["name"], "group_field": "industry", "card_fields": ["email", "owner"]}
    r = await client.post(VIEWS, json=board, headers=people["rep"])
    assert r.status_code == 201, r.text
    assert r.json()["list_params"]["fields"] == "name,industry,email,owner"
    r = await client.post(VIEWS, json=board | {"group_field": "name"}, headers=people["rep"])
    assert errors(r) == [("/group_field", "not_select")]
    r = await client.post(VIEWS, json=board | {"group_field": None}, headers=people["rep"])
    assert errors(r) == [("/group_field", "required")]


async def test_a_stale_version_is_a_conflict(client, people):
    view = (await client.post(VIEWS, json=HOT, headers=people["rep"])).json()
    url, h = f"{VIEWS}/{view['id']}", people["rep"]
    ok = await client.put(url, json=HOT | {"name": "Retail"}, headers=h | {"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    stale = await client.put(url, json=HOT | {"name": "Lost"}, headers=h | {"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert (await client.delete(url, headers=h | {"If-Match": '"1"'})).status_code == 409
    assert (await client.get(url, headers=h)).json()["name"] == "Retail"
    assert (await client.delete(url, headers=h | {"If-Match": '"2"'})).status_code == 204
    assert (await client.get(url, headers=h)).status_code == 404


async def test_the_views_path_is_not_taken_for_a_record_id(client, people):
    lead = (await client.post(LEADS, json={"name": "Acme"})).json()
    assert (await client.get(f"{LEADS}/{lead['id']}")).json()["name"] == "Acme"
    assert (await client.get(VIEWS)).status_code == 200
    assert (await client.get(f"{VIEWS}/{2**63}")).status_code == 422
    assert (await client.get(f"{VIEWS}/abc")).status_code == 422
    assert (await client.get("/api/v1/apps/crm/nope/views")).status_code == 404
