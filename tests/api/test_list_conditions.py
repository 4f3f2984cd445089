"""The records list filter speaks the whole condition language: relative dates on the server's
clock, paths through relations, field and variable operands; and it never lets a caller probe
records or fields they cannot read (ARCHITECTURE.md "one scoping function")."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.core.clock import FrozenClock
from tests.factories import make_app
from tests.people import errors, make_user, new_team

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday
DEALS = "/api/v1/apps/crm/deal"
ACCOUNTS = "/api/v1/apps/crm/account"
ADMIN = "/api/v1/admin"

ACCOUNT: dict[str, Any] = {
    "key": "account",
    "label": {"en": "Account"},
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "industry", "type": "select", "options": [{"key": "manufacturing"}, {"key": "retail"}]},
        {"key": "region", "type": "text"},
    ],
}
DEAL: dict[str, Any] = {
    "key": "deal",
    "label": {"en": "Deal"},
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "amount", "type": "decimal"},
        {"key": "target", "type": "decimal"},
        {"key": "close_date", "type": "date"},
        {"key": "last_activity_at", "type": "datetime"},
        {"key": "account", "type": "relation", "target": "account", "on_delete": "set_null"},
    ],
}
READER_ROLE = {
    "key": "deal_reader",
    "label": {"en": "Deal reader"},
    "grants": [
        {"entity": "crm.deal", "read": "all"},
        {"entity": "crm.account", "read": "own", "create": True, "hidden_fields": ["region"]},
    ],
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def crm(client):
    await make_app(client, "crm", ACCOUNT, DEAL)
    accounts = [
        {"name": "Acme", "industry": "manufacturing", "region": "north"},
        {"name": "Shop", "industry": "retail", "region": "south"},
    ]
    r = await client.post(f"{ACCOUNTS}/bulk", json={"op": "create", "items": accounts})
    acme, shop = (a["id"] for a in r.json()["items"])
    deals = [
        {"name": "Press", "amount": 600000, "target": 500000, "close_date": "2026-11-29",
         "last_activity_at": "2026-11-19T09:00:00Z", "account": acme},
        {"name": "Lathe", "amount": 200000, "target": 300000, "close_date": "2026-12-01",
         "last_activity_at": "2026-11-23T08:00:00Z", "account": acme},
        {"name": "Till", "amount": 50000, "target": None, "close_date": "2026-10-31",
         "last_activity_at": None, "account": shop},
        {"name": "Loose", "amount": None, "target": 1, "close_date": None, "last_activity_at": None, "account": None},
    ]  # fmt: skip
    r = await client.post(f"{DEALS}/bulk", json={"op": "create", "items": deals})
    assert r.status_code == 200, r.text
    return {"acme": acme, "shop": shop}


async def names(client, cond, **kw):
    r = await client.get(DEALS, params={"filter": json.dumps(cond)}, **kw)
    assert r.status_code == 200, r.text
    return [x["name"] for x in r.json()["items"]]


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        # R2: no follow-up for 3 days (the server's clock is 2026-11-23 09:30 UTC)
        ({"field": "last_activity_at", "op": "older_than", "value": {"amount": 3, "unit": "days"}}, ["Press"]),
        ({"field": "last_activity_at", "op": "within_last", "value": {"amount": 2, "unit": "hours"}}, ["Lathe"]),
        ({"field": "last_activity_at", "op": "is_today"}, ["Lathe"]),
        ({"field": "close_date", "op": "this_week"}, ["Press"]),  # Mon 23 - Sun 29 Nov; 1 Dec is next week
        ({"field": "close_date", "op": "next_week"}, ["Lathe"]),
        ({"field": "close_date", "op": "this_month"}, ["Press"]),
        ({"field": "close_date", "op": "last_month"}, ["Till"]),
        ({"field": "close_date", "op": "this_quarter"}, ["Press", "Lathe", "Till"]),
        ({"field": "close_date", "op": "within_next", "value": {"amount": 1, "unit": "weeks"}}, ["Press"]),
        ({"field": "close_date", "op": "lt", "value": {"var": "today"}}, ["Till"]),
        ({"field": "last_activity_at", "op": "lt", "value": {"var": "now"}}, ["Press", "Lathe"]),
        # other fields as operands; empty operands never match, `not` is the exact complement
        ({"field": "amount", "op": "gt", "value": {"field": "target"}}, ["Press"]),
        ({"not": {"field": "amount", "op": "gt", "value": {"field": "target"}}}, ["Lathe", "Till", "Loose"]),
        # paths through the account relation (R1's condition, on the account's industry)
        ({"field": "account.industry", "op": "eq", "value": "manufacturing"}, ["Press", "Lathe"]),
        (
            {
                "all": [
                    {"field": "account.industry", "op": "eq", "value": "manufacturing"},
                    {"field": "amount", "op": "gt", "value": 500000},
                ]
            },
            ["Press"],
        ),
        ({"field": "account.name", "op": "is_empty"}, ["Loose"]),
        ({"field": "account.owner.email", "op": "eq", "value": "admin@example.com"}, ["Press", "Lathe", "Till"]),
    ],
)
async def test_the_filter_speaks_the_whole_language(client, crm, cond, expected):
    assert await names(client, cond) == expected


async def test_user_and_team_variables_are_the_callers(client, ctx, crm, admin):
    rep, rep_headers = await make_user(ctx, "rep@example.com", "manager")
    await new_team(client, "sales")
    await client.put(f"{ADMIN}/users/{admin['id']}/teams", json={"primary": "sales"})
    await client.put(f"{ADMIN}/users/{rep}/teams", json={"primary": "sales"})
    r = await client.post(DEALS, json={"name": "Rep's", "owner": rep})
    assert r.status_code == 201, r.text
    mine = {"field": "owner", "op": "eq", "value": {"var": "user"}}
    assert await names(client, mine) == ["Press", "Lathe", "Till", "Loose"]
    assert await names(client, mine, headers=rep_headers) == ["Rep's"]
    my_team = {"field": "owner.team", "op": "eq", "value": {"var": "user.team"}}
    assert await names(client, my_team, headers=rep_headers) == ["Press", "Lathe", "Till", "Loose", "Rep's"]
    _, loner = await make_user(ctx, "loner@example.com", "manager")  # no team: `user.team` matches nothing
    assert await names(client, my_team, headers=loner) == []


async def test_changes_are_refused_in_list_filters(client, crm):
    r = await client.get(DEALS, params={"filter": json.dumps({"field": "amount", "op": "changed"})})
    assert r.status_code == 422
    assert errors(r) == [("/filter/op", "not_allowed")]
    assert "rule conditions on updates" in r.json()["errors"][0]["message"]


async def test_bad_operands_and_paths_carry_json_paths(client, crm):
    cases = [
        ({"field": "amount", "op": "gt", "value": {"field": "close_date"}}, ("/filter/value", "type_mismatch")),
        ({"field": "close_date", "op": "gt", "value": {"var": "now"}}, ("/filter/value", "type_mismatch")),
        ({"field": "amount", "op": "gt", "value": {"amount": 1}}, ("/filter/value", "type")),
        ({"field": "account.nope", "op": "is_empty"}, ("/filter/field", "unknown_field")),
        (
            {"field": "close_date", "op": "older_than", "value": {"amount": 1, "unit": "hours"}},
            ("/filter/value/unit", "unknown_unit"),
        ),
    ]
    for cond, expected in cases:
        r = await client.get(DEALS, params={"filter": json.dumps(cond)})
        assert r.status_code == 422 and errors(r) == [expected], (cond, r.text)


async def test_paths_never_reveal_what_the_caller_cannot_read(client, ctx, crm):
    """A reader of every deal but only of their own accounts, without the region field."""
    assert (await client.post(f"{ADMIN}/roles", json=READER_ROLE)).status_code == 201
    _, reader = await make_user(ctx, "reader@example.com", "deal_reader")
    r = await client.post(ACCOUNTS, json={"name": "Mine", "industry": "manufacturing"}, headers=reader)
    assert r.status_code == 201, r.text
    await client.post(DEALS, json={"name": "Own account deal", "account": r.json()["id"]})
    industry = {"field": "account.industry", "op": "eq", "value": "manufacturing"}
    # Acme is somebody else's: its deals answer as if they had no account, on the filter and its complement.
    assert await names(client, industry, headers=reader) == ["Own account deal"]
    assert await names(client, {"not": industry}, headers=reader) == ["Press", "Lathe", "Till", "Loose"]
    hidden = await client.get(DEALS, params={"filter": json.dumps({"field": "account.region", "op": "is_empty"})}, headers=reader)
    assert hidden.status_code == 422 and errors(hidden) == [("/filter/field", "unknown_field")]
    assert (
        await client.post(f"{ADMIN}/roles", json={**READER_ROLE, "key": "deals_only", "grants": READER_ROLE["grants"][:1]})
    ).status_code == 201
    _, deals_only = await make_user(ctx, "deals@example.com", "deals_only")
    unreadable = await client.get(DEALS, params={"filter": json.dumps(industry)}, headers=deals_only)
    assert unreadable.status_code == 422 and errors(unreadable) == [("/filter/field", "unknown_field")]


async def test_the_export_uses_the_same_filter(client, crm):
    cond = {"field": "account.industry", "op": "eq", "value": "manufacturing"}
    r = await client.get(f"{DEALS}/export", params={"filter": json.dumps(cond), "fields": "name"})
    assert r.status_code == 200
    assert r.text.lstrip("\ufeff").split() == ["name", "Press", "Lathe"]


async def test_count_agrees_with_the_filtered_page(client, crm):
    cond = {"field": "account.industry", "op": "eq", "value": "manufacturing"}
    page = (await client.get(DEALS, params={"filter": json.dumps(cond), "count": "true"})).json()
    assert page["total"] == len(page["items"]) == 2
