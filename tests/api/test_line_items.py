"""Line items over HTTP: a quote saved with its lines in one request, all or nothing (SCENARIOS F4):
errors at their rows, adds/changes/removals, totals recomputed once, foreign lines, versions, rights."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from engine.records.tables import events
from tests.api.test_hostile_input import assert_problem
from tests.factories import make_app
from tests.people import errors, make_user

QUOTES = "/api/v1/apps/shop/quote"
LINES = "/api/v1/apps/shop/quote_line"
QUOTE = {
    "key": "quote",
    "label": "Quote",
    "fields": [
        {"key": "customer", "type": "text", "required": True},
        {"key": "discount", "type": "decimal", "scale": 2, "min": 0, "max": 100},
    ],
}
LINE = {
    "key": "quote_line",
    "label": "Quote line",
    "fields": [
        {"key": "quote", "type": "relation", "target": "quote", "required": True, "on_delete": "cascade"},
        {"key": "product", "type": "text", "required": True},
        {"key": "quantity", "type": "integer", "min": 1, "default": 1},
        {"key": "unit_price", "type": "decimal", "scale": 2, "min": 0},
        {"key": "cost", "type": "decimal", "scale": 2},
        {"key": "amount", "type": "formula", "expression": "COALESCE(quantity, 0) * COALESCE(unit_price, 0)", "scale": 2},
    ],
}
TOTALS = [
    {"key": "subtotal", "type": "formula", "expression": "SUM(quote_line.amount)", "scale": 2},
    {"key": "count", "type": "formula", "expression": "COUNT(quote_line.id)", "scale": 0},
]
FORM = {
    "key": "quote",
    "entity": "quote",
    "sections": [
        {"fields": ["customer", "discount", "subtotal"]},
        {"kind": "lines", "key": "lines", "label": "Lines", "entity": "quote_line", "link": "quote",
         "fields": ["product", "quantity", "unit_price", "amount"]},
    ],
}  # fmt: skip
THREE = [
    {"product": "pen", "quantity": 2, "unit_price": 1.5},
    {"product": "ink", "quantity": 1, "unit_price": 10},
    {"product": "pad", "quantity": 4, "unit_price": 2.25},
]


async def shop(client: httpx.AsyncClient) -> None:
    """The quote app with its record form (a lines section over quote_line)."""
    await make_app(client, "shop", QUOTE, LINE)
    r = await client.put("/api/v1/meta/apps/shop/entities/quote", json=QUOTE | {"fields": QUOTE["fields"] + TOTALS})
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/meta/apps/shop/forms", json=FORM)
    assert r.status_code == 201, r.text


async def new_quote(client: httpx.AsyncClient, lines: list[dict[str, Any]] = THREE, **fields: Any) -> dict[str, Any]:
    r = await client.post(QUOTES, json={"customer": "acme", **fields, "lines": lines})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def stored(client: httpx.AsyncClient, qid: int) -> dict[str, Any]:
    r = await client.get(f"{QUOTES}/{qid}", params={"lines": "true"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def counts(client: httpx.AsyncClient) -> tuple[int, int]:
    """(live quotes, live lines)."""
    q = (await client.get(QUOTES, params={"count": "true", "limit": 1})).json()["total"]
    n = (await client.get(LINES, params={"count": "true", "limit": 1})).json()["total"]
    return q, n


async def quote_events(ctx: Any, qid: int) -> list[str]:
    async with ctx.db.read() as conn:
        query = select(events.c.kind).where(events.c.entity == "quote", events.c.record_id == qid).order_by(events.c.id)
        return list((await conn.execute(query)).scalars())


async def test_a_quote_is_saved_with_three_lines_in_one_request(client, ctx):
    await shop(client)
    quote = await new_quote(client)
    assert [(line["product"], line["amount"], line["quote"]) for line in quote["lines"]] == [
        ("pen", 3, quote["id"]), ("ink", 10, quote["id"]), ("pad", 9, quote["id"]),
    ]  # fmt: skip
    assert (quote["subtotal"], quote["count"]) == (22, 3)
    assert await stored(client, quote["id"]) == quote
    assert await quote_events(ctx, quote["id"]) == ["created", "updated"]  # totals recomputed once, at the end
    plain = (await client.get(f"{QUOTES}/{quote['id']}")).json()
    assert "lines" not in plain and plain["subtotal"] == 22


async def test_a_bad_line_is_reported_at_its_row_with_the_parent_errors_and_nothing_is_saved(client):
    await shop(client)
    bad = [THREE[0], {"product": "ink", "quantity": 0}, {"quantity": "two"}]
    r = await client.post(QUOTES, json={"discount": 5, "lines": bad})
    assert_problem(r, 422)
    assert errors(r) == [
        ("/customer", "required"), ("/lines/1/quantity", "min"), ("/lines/2/product", "required"),
        ("/lines/2/quantity", "type"),
    ]  # fmt: skip
    r = await client.post(QUOTES, json={"customer": "acme", "lines": bad})
    assert errors(r) == [("/lines/1/quantity", "min"), ("/lines/2/product", "required"), ("/lines/2/quantity", "type")]
    assert await counts(client) == (0, 0)


async def test_an_update_adds_changes_and_removes_lines_and_recomputes_the_totals(client, ctx):
    await shop(client)
    quote = await new_quote(client)
    pen, ink, pad = quote["lines"]
    body = {
        "version": quote["version"],
        "discount": 10,
        "lines": [{"id": pen["id"], "quantity": 10}, {"id": pad["id"]}, {"product": "clip", "unit_price": 0.5}],
    }
    r = await client.patch(f"{QUOTES}/{quote['id']}", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert [(line["product"], line["quantity"], line["amount"]) for line in got["lines"]] == [
        ("pen", 10, 15), ("pad", 4, 9), ("clip", 1, 0.5),
    ]  # fmt: skip
    assert (got["subtotal"], got["count"], got["discount"], got["version"]) == (24.5, 3, 10, quote["version"] + 1)
    assert got["lines"][1]["version"] == pad["version"]  # sent unchanged: not rewritten
    assert await stored(client, quote["id"]) == got
    trash = (await client.get(f"{LINES}/trash")).json()["items"]
    assert [line["id"] for line in trash] == [ink["id"]]  # removed lines go to the recycle bin
    assert (await quote_events(ctx, quote["id"]))[2:] == ["updated"]  # one change of the quote for the whole save


async def test_absent_lines_are_untouched_and_a_lines_only_change_bumps_the_quote(client):
    await shop(client)
    quote = await new_quote(client)
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"customer": "beta"})
    assert r.status_code == 200 and "lines" not in r.json()
    assert [line["id"] for line in (await stored(client, quote["id"]))["lines"]] == [x["id"] for x in quote["lines"]]
    renamed = [{"id": line["id"]} for line in quote["lines"][:2]] + [{"id": quote["lines"][2]["id"], "product": "block"}]
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"lines": renamed})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == quote["version"] + 2  # the total did not change, the quote's lines did
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"lines": []})
    assert (r.json()["lines"], r.json()["subtotal"], r.json()["count"]) == ([], 0, 0)


async def test_a_line_of_another_quote_is_refused_at_its_row(client):
    await shop(client)
    mine, other = await new_quote(client), await new_quote(client, customer="other")
    foreign = other["lines"][0]["id"]
    body = {"lines": [{"id": mine["lines"][0]["id"]}, {"id": foreign, "quantity": 99}]}
    r = await client.patch(f"{QUOTES}/{mine['id']}", json=body)
    assert_problem(r, 422, "/lines/1/id", "not_found")
    assert len((await stored(client, mine["id"]))["lines"]) == 3
    assert (await stored(client, other["id"]))["lines"][0]["quantity"] == 2


async def test_versions_of_the_quote_and_of_a_line_are_checked(client):
    await shop(client)
    quote = await new_quote(client)
    qid, pen = quote["id"], quote["lines"][0]
    r = await client.patch(f"{QUOTES}/{qid}", json={"lines": []}, headers={"If-Match": f'"{quote["version"] - 1}"'})
    assert assert_problem(r, 409)["current_version"] == quote["version"]
    r = await client.patch(f"{QUOTES}/{qid}", json={"version": quote["version"] + 5, "lines": []})
    assert_problem(r, 409)
    stale = [{"id": pen["id"], "version": pen["version"] + 1, "quantity": 3}]
    r = await client.patch(f"{QUOTES}/{qid}", json={"version": quote["version"], "lines": stale})
    assert assert_problem(r, 409)["id"] == pen["id"]
    assert await stored(client, qid) == quote


async def test_rights_on_lines_are_those_of_the_line_entity(client, ctx):
    await shop(client)
    role = {"key": "clerk", "label": {"en": "Clerk"}, "grants": [
        {"entity": "shop.quote", "read": "all", "create": True, "update": "all", "delete": "none"},
        {"entity": "shop.quote_line", "read": "all", "create": True, "update": "all", "delete": "none",
         "hidden_fields": ["cost"]},
    ]}  # fmt: skip
    assert (await client.post("/api/v1/admin/roles", json=role)).status_code == 201
    _, clerk = await make_user(ctx, "clerk@example.com", "clerk")
    quote = (await client.post(QUOTES, json={"customer": "acme", "lines": THREE}, headers=clerk)).json()
    assert "cost" not in quote["lines"][0]
    keep = [{"id": line["id"]} for line in quote["lines"][:2]]
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"lines": keep}, headers=clerk)
    assert_problem(r, 403)  # removing a line is deleting it
    added = [*keep, {"id": quote["lines"][2]["id"]}, {"product": "clip", "cost": 1}]
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"lines": added}, headers=clerk)
    assert_problem(r, 422, "/lines/3/cost", "unknown_field")  # a hidden field cannot be written
    assert [line["id"] for line in (await stored(client, quote["id"]))["lines"]] == [x["id"] for x in quote["lines"]]


async def test_hostile_lines_get_a_precise_4xx_and_change_nothing(client):
    await shop(client)
    quote = await new_quote(client)
    url = f"{QUOTES}/{quote['id']}"
    cases = [
        ({"lines": "pen"}, "/lines", "type"),
        ({"lines": {"0": {}}}, "/lines", "type"),
        ({"lines": [{"product": "x"}] * 1001}, "/lines", "too_many"),
        ({"lines": [5]}, "/lines/0", "type"),
        ({"lines": [{"id": "1"}]}, "/lines/0/id", "type"),
        ({"lines": [{"id": True}]}, "/lines/0/id", "type"),
        ({"lines": [{"id": 2**70}]}, "/lines/0/id", "type"),
        ({"lines": [{"product": "x", "version": 1}]}, "/lines/0/version", "read_only"),
        ({"lines": [{"product": "x", "quote": quote["id"]}]}, "/lines/0/quote", "read_only"),
        ({"lines": [{"product": "x", "<script>alert(1)</script>": 1}]}, "/lines/0/<script>alert(1)<~1script>", "unknown_field"),
        ({"lines": [{"product": "x", "owner": "'; DROP TABLE x; --"}]}, "/lines/0/owner", "type"),
        ({"lines": [{"product": "x" * 100_000}]}, "/lines/0/product", None),
        ({"lines": [{"id": quote["lines"][0]["id"]}, {"id": quote["lines"][0]["id"]}]}, "/lines/1/id", "duplicate"),
    ]
    for body, path, code in cases:
        assert_problem(await client.patch(url, json=body), 422, path, code)
        assert_problem(await client.post(QUOTES, json={"customer": "x", **body}), 422, path, code)
    r = await client.patch(url, content=b'{"lines": [', headers={"content-type": "application/json"})
    assert_problem(r, 400)
    assert await stored(client, quote["id"]) == quote
    assert await counts(client) == (1, 3)


async def test_the_outbox_has_one_event_per_line_change(client, ctx):
    await shop(client)
    quote = await new_quote(client)
    await client.patch(f"{QUOTES}/{quote['id']}", json={"lines": [{"id": quote["lines"][0]["id"], "quantity": 7}]})
    async with ctx.db.read() as conn:
        query = select(events.c.kind, func.count()).where(events.c.entity == "quote_line").group_by(events.c.kind)
        assert dict((await conn.execute(query)).all()) == {"created": 3, "updated": 1, "deleted": 2}


async def test_the_app_openapi_document_describes_the_lines(client):
    await shop(client)
    doc = (await client.get("/api/v1/apps/shop/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    ref = {"type": "array", "maxItems": 1000, "items": {"$ref": "#/components/schemas/QuoteLineLine"}}
    assert schemas["QuoteCreate"]["properties"]["lines"] == ref == schemas["QuoteUpdate"]["properties"]["lines"]
    line = schemas["QuoteLineLine"]
    assert line["additionalProperties"] is False and "quote" not in line["properties"] and "amount" not in line["properties"]
    assert {"id", "version", "product", "quantity"} <= set(line["properties"])
    assert [p["name"] for p in doc["paths"]["/api/v1/apps/shop/quote/{id}"]["get"]["parameters"]] == ["lines"]
    assert "lines" not in schemas["QuoteLineCreate"]["properties"]


async def test_an_update_refused_after_its_lines_were_written_rolls_them_back(client, ctx):
    await shop(client)
    quote = await new_quote(client)
    pen = quote["lines"][0]
    body = {"discount": 500, "bogus": 1, "lines": [{"id": pen["id"], "quantity": 9}, {"product": "new"}]}
    r = await client.patch(f"{QUOTES}/{quote['id']}", json=body)
    assert errors(r) == [("/bogus", "unknown_field"), ("/discount", "max")]
    assert await stored(client, quote["id"]) == quote
    assert (await client.get(f"{LINES}/trash")).json()["items"] == []
    assert await quote_events(ctx, quote["id"]) == ["created", "updated"]


async def test_a_lines_section_named_like_a_field_leaves_the_field_alone(client):
    await shop(client)
    clash = FORM | {"sections": [*FORM["sections"], FORM["sections"][1] | {"key": "discount"}]}
    r = await client.put("/api/v1/meta/apps/shop/forms/quote", json=clash)
    assert r.status_code == 200, r.text  # the form check allows it; saving and reading ignore the section
    quote = await new_quote(client, discount=5)
    assert (quote["discount"], len(quote["lines"])) == (5, 3)
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"discount": 7, "lines": quote["lines"][:1]})
    assert r.status_code == 422  # a line read back whole carries read-only keys: send only what changes
    r = await client.patch(f"{QUOTES}/{quote['id']}", json={"discount": 7, "lines": [{"id": quote["lines"][0]["id"]}]})
    assert (r.json()["discount"], len(r.json()["lines"])) == (7, 1)
    assert (await stored(client, quote["id"]))["discount"] == 7
