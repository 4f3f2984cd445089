"""Form rules are enforced by the server on every create and update a person makes through the API:
hidden fields are not written, required_when and read_only_when refuse with 422 at the field's path,
on the record as it will be saved; rules, processes, imports and history loads are not judged."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from engine.api.context import Context
from engine.auth.policy import Access
from engine.records.automation import automation_paused
from tests.api.form_world import DEALS, FORMS, LAYOUT, make_sales
from tests.api.test_hostile_input import assert_problem
from tests.people import errors


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(DEALS, json=body)


async def _count(client: httpx.AsyncClient) -> int:
    return int((await client.get(DEALS, params={"count": "true", "limit": 1})).json()["total"])


async def test_required_when_refuses_an_empty_field_at_its_path(client: httpx.AsyncClient) -> None:
    await make_sales(client)
    r = await _create(client, {"name": "Expo lead", "source": "event"})
    assert_problem(r, 422, "/amount", "required")
    r = await _create(client, {"name": "Expo lead", "source": "event", "amount": ""})
    assert r.status_code == 422  # "" is not an amount at all
    assert await _count(client) == 0
    assert (await _create(client, {"name": "Web lead", "source": "web"})).status_code == 201
    r = await _create(client, {"name": "Expo lead", "source": "event", "amount": 1200})
    assert r.status_code == 201 and r.json()["amount"] == 1200


async def test_hidden_fields_are_not_written_and_not_required(client: httpx.AsyncClient) -> None:
    await make_sales(client)
    r = await _create(client, {"name": "Open deal", "won_on": "2026-11-01", "lost_reason": "price"})
    assert r.status_code == 201, r.text
    assert r.json()["won_on"] is None and r.json()["lost_reason"] is None  # the outcome section is hidden while open
    r = await _create(client, {"name": "Won deal", "status": "won"})
    assert errors(r) == [("/won_on", "required")]  # visible (won) and required (won); lost_reason is hidden
    r = await _create(client, {"name": "Won deal", "status": "won", "won_on": "2026-11-02", "lost_reason": "n/a"})
    assert r.status_code == 201 and r.json()["won_on"] == "2026-11-02" and r.json()["lost_reason"] is None


async def test_updates_are_judged_on_the_stored_record_merged_with_the_change(client: httpx.AsyncClient) -> None:
    await make_sales(client)
    r = await _create(client, {"name": "D", "status": "won", "won_on": "2026-11-02", "amount": 500})
    assert errors(r) == [("/amount", "read_only")]  # the form, on a won deal, shows the amount locked
    deal = (await _create(client, {"name": "D", "amount": 500})).json()
    url = f"{DEALS}/{deal['id']}"
    assert (await client.patch(url, json={"status": "won", "won_on": "2026-11-02"})).status_code == 200
    r = await client.patch(url, json={"amount": 900})
    assert_problem(r, 422, "/amount", "read_only")  # read-only while won
    assert (await client.patch(url, json={"amount": 500, "name": "D2"})).status_code == 200  # unchanged: allowed
    r = await client.patch(url, json={"status": "lost"})
    assert errors(r) == [("/lost_reason", "required")]
    r = await client.patch(url, json={"status": "lost", "lost_reason": "budget cut", "won_on": "2020-01-01", "amount": 700})
    assert r.status_code == 200, r.text
    body = r.json()  # won_on is hidden once lost: the stored date is kept; amount is no longer read-only
    assert (body["status"], body["lost_reason"], body["won_on"], body["amount"]) == ("lost", "budget cut", "2026-11-02", 700)


async def test_bulk_items_are_judged_each_at_their_own_path(client: httpx.AsyncClient) -> None:
    await make_sales(client)
    items = [{"name": "A", "source": "web"}, {"name": "B", "source": "event"}, {"name": "C", "status": "lost"}]
    r = await client.post(f"{DEALS}/bulk", json={"op": "create", "items": items})
    assert errors(r) == [("/items/1/amount", "required"), ("/items/2/lost_reason", "required")]
    assert await _count(client) == 0


async def test_rules_on_the_user_and_the_form_chosen_for_the_record_page(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    mine = {"field": "reviewer", "op": "eq", "value": {"var": "user"}}
    other = {"key": "a_other", "entity": "deal", "sections": [{"fields": [{"field": "amount", "required_when": mine}]}]}
    assert (await client.post(FORMS, json=other)).status_code == 201
    me = (await client.get("/api/v1/auth/me")).json()["user_id"]
    assert_problem(await _create(client, {"name": "X", "reviewer": me}), 422, "/amount", "required")
    assert (await _create(client, {"name": "X"})).status_code == 201
    layout = copy.deepcopy(LAYOUT)  # the form keyed like the entity wins over the first by key
    assert (await client.post(FORMS, json=layout)).status_code == 201
    assert (await _create(client, {"name": "Y", "reviewer": me})).status_code == 201


async def test_engine_writes_and_history_loads_are_not_judged(ctx: Context, client: httpx.AsyncClient, admin: Any) -> None:
    await make_sales(client)
    async with ctx.db.write() as conn:
        deal = await ctx.store.get(conn, "sales", "deal")
        done = await ctx.records.create(conn, deal, {"name": "By a rule", "status": "won"}, Access.system(source="rule"))
        people = Access(user_id=int(admin["id"]), is_admin=True, source="api", unrestricted=True)
        with automation_paused():
            old = await ctx.records.create(conn, deal, {"name": "History", "source": "event"}, people)
    assert done["won_on"] is None and old["amount"] is None
    r = await client.patch(f"{DEALS}/{done['id']}", json={"name": "Now a person edits it"})
    assert errors(r) == [("/won_on", "required")]  # a person's save must leave the record as the form requires


async def test_an_entity_without_a_form_has_no_form_rules(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    assert (await _create(client, {"name": "Free", "source": "event", "status": "won", "lost_reason": "x"})).status_code == 201
