"""Listing: filters of the condition language, sorting with NULLs last, keyset cursors, selection."""

import json

import pytest

from tests.factories import make_app

LEADS = "/api/v1/apps/crm/lead"
ROWS = [
    ("Acme", "manufacturing", 600000, 50),
    ("Beta", "manufacturing", 400000, None),
    ("Gamma", "retail", 900000, 10),
    ("delta", "finance", None, 10),
    ("Epsilon 50%_off", None, 500000, 70),
]


@pytest.fixture
async def leads(client):
    await make_app(client)
    items = [{"name": n, "industry": i, "budget": b, "employees": e} for n, i, b, e in ROWS]
    r = await client.post(f"{LEADS}/bulk", json={"op": "create", "items": items})
    assert r.status_code == 200, r.text
    return {x["name"]: x["id"] for x in r.json()["items"]}


async def _names(client, **params):
    if "filter" in params:
        params["filter"] = json.dumps(params["filter"])
    r = await client.get(LEADS, params=params)
    assert r.status_code == 200, r.text
    return [x["name"] for x in r.json()["items"]]


async def test_r1_condition_all(client, leads):
    """R1's condition: manufacturing leads with a budget over 500,000."""
    cond = {
        "all": [{"field": "industry", "op": "eq", "value": "manufacturing"}, {"field": "budget", "op": "gt", "value": 500000}]
    }
    assert await _names(client, filter=cond) == ["Acme"]


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"field": "industry", "op": "ne", "value": "manufacturing"}, ["Gamma", "delta", "Epsilon 50%_off"]),
        ({"field": "industry", "op": "in", "value": ["retail", "finance"]}, ["Gamma", "delta"]),
        ({"field": "industry", "op": "not_in", "value": ["retail", "finance"]}, ["Acme", "Beta", "Epsilon 50%_off"]),
        ({"field": "budget", "op": "between", "value": [400000, 600000]}, ["Acme", "Beta", "Epsilon 50%_off"]),
        ({"field": "budget", "op": "is_empty"}, ["delta"]),
        ({"field": "industry", "op": "is_not_empty"}, ["Acme", "Beta", "Gamma", "delta"]),
        ({"field": "name", "op": "contains", "value": "DELTA"}, ["delta"]),
        ({"field": "name", "op": "contains", "value": "50%_"}, ["Epsilon 50%_off"]),
        ({"field": "name", "op": "contains", "value": "%"}, ["Epsilon 50%_off"]),
        ({"field": "name", "op": "not_contains", "value": "a"}, ["Epsilon 50%_off"]),
        ({"field": "name", "op": "starts_with", "value": "ga"}, ["Gamma"]),
        ({"field": "name", "op": "ends_with", "value": "TA"}, ["Beta", "delta"]),
        (
            {"any": [{"field": "employees", "op": "gte", "value": 70}, {"field": "budget", "op": "lt", "value": 450000}]},
            ["Beta", "Epsilon 50%_off"],
        ),
        # `not` is the exact complement: records with no employees count are included.
        ({"not": {"field": "employees", "op": "eq", "value": 10}}, ["Acme", "Beta", "Epsilon 50%_off"]),
        ({"field": "email", "op": "contains", "value": "example"}, []),
        ({"field": "tags", "op": "is_empty"}, ["Acme", "Beta", "Gamma", "delta", "Epsilon 50%_off"]),
        ({"field": "id", "op": "lte", "value": 2}, ["Acme", "Beta"]),
    ],
)
async def test_filter_operators(client, leads, cond, expected):
    assert await _names(client, filter=cond) == expected


async def test_sort_puts_nulls_last_in_both_directions(client, leads):
    assert await _names(client, sort="budget") == ["Beta", "Epsilon 50%_off", "Acme", "Gamma", "delta"]
    assert await _names(client, sort="-budget") == ["Gamma", "Acme", "Epsilon 50%_off", "Beta", "delta"]
    assert await _names(client, sort="-employees,name") == ["Epsilon 50%_off", "Acme", "Gamma", "delta", "Beta"]


@pytest.mark.parametrize("sort", ["", "budget", "-budget", "-employees,name", "industry,-budget", "-created_at", "-code"])
async def test_cursor_pages_visit_every_record_once(client, leads, sort):
    expected = await _names(client, sort=sort, limit=100)
    seen, cursor = [], None
    while True:
        params = {"sort": sort, "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(LEADS, params=params)).json()
        seen += [x["name"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


async def test_cursor_is_tied_to_its_sort_and_tamper_proof(client, leads):
    page = (await client.get(LEADS, params={"sort": "budget", "limit": 2})).json()
    other = await client.get(LEADS, params={"sort": "name", "cursor": page["next_cursor"]})
    assert other.status_code == 400
    junk = await client.get(LEADS, params={"cursor": "not-a-cursor"})
    assert junk.status_code == 400 and junk.json()["type"] == "/problems/bad-request"


async def test_count_fields_and_limit(client, leads):
    page = (await client.get(LEADS, params={"count": "true", "limit": 2, "fields": "name,budget"})).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert set(page["items"][0]) == {"id", "name", "budget"}
    assert (await client.get(LEADS, params={"limit": 1001})).status_code == 422
    assert (await client.get(LEADS, params={"fields": "nope"})).status_code == 422


async def test_filter_errors_carry_paths(client, leads):
    cases = [
        ({"field": "nope", "op": "eq", "value": 1}, "/filter/field", "unknown_field"),
        ({"field": "budget", "op": "contains", "value": 1}, "/filter/op", "unknown_op"),
        ({"field": "first_contact", "op": "gt", "value": "yesterday"}, "/filter/value", "format"),
        ({"field": "industry", "op": "eq", "value": "mining"}, "/filter/value", "unknown_option"),
        ({"all": [{"field": "budget", "op": "eq", "value": None}]}, "/filter/all/0/value", "null"),
    ]
    for cond, path, code in cases:
        r = await client.get(LEADS, params={"filter": json.dumps(cond)})
        assert r.status_code == 422, cond
        assert (r.json()["errors"][0]["path"], r.json()["errors"][0]["code"]) == (path, code)
