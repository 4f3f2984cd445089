"""Records API: create/read/update/delete, concurrency, idempotency, recycle bin, relations, events."""

import asyncio
import json

from sqlalchemy import select

from engine.records.tables import events
from tests.factories import ACCOUNT, make_app

LEADS = "/api/v1/apps/crm/lead"


async def _lead(client, **values):
    r = await client.post(LEADS, json={"name": "Acme"} | values)
    assert r.status_code == 201, r.text
    return r.json()


async def test_record_round_trips_every_field_type(client):
    await make_app(client)
    sent = {
        "name": "华东制造有限公司", "email": "Buyer@Example.COM", "phone": "+86 21 5555-0100", "budget": 1234567.89,
        "employees": 250, "industry": "manufacturing", "tags": ["event", "vip", "vip"], "qualified": True,
        "first_contact": "2026-11-01", "last_activity_at": "2026-11-23T09:30:00+08:00", "website": "https://example.com/a?b=1",
        "notes": "line 1\nline 2", "extra": {"source": {"campaign": 7}, "list": [1, "two"]},
    }  # fmt: skip
    record = await _lead(client, **sent)
    assert record["email"] == "buyer@example.com"  # normalised
    assert record["tags"] == ["vip", "event"]  # option order, no repeats
    assert record["last_activity_at"] == "2026-11-23T01:30:00Z"  # stored in UTC
    assert record["budget"] == 1234567.89 and record["extra"] == sent["extra"]
    assert record["code"] == "LEAD-000001" and record["owner"] == record["created_by"]
    fetched = (await client.get(f"{LEADS}/{record['id']}")).json()
    assert fetched == record


async def test_patch_changes_only_given_fields_and_bumps_version(client):
    await make_app(client)
    lead = await _lead(client, budget=100)
    r = await client.patch(f"{LEADS}/{lead['id']}", json={"budget": 200.5, "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["budget"] == 200.5 and r.json()["name"] == "Acme" and r.json()["version"] == 2
    assert r.headers["etag"] == '"2"'
    # A no-op update keeps the version: nothing changed, nothing to conflict with.
    same = await client.patch(f"{LEADS}/{lead['id']}", json={"budget": 200.5})
    assert same.json()["version"] == 2


async def test_stale_version_is_refused_with_current_version(client):
    await make_app(client)
    lead = await _lead(client)
    assert (await client.patch(f"{LEADS}/{lead['id']}", json={"name": "A2"}, headers={"If-Match": '"1"'})).status_code == 200
    stale = await client.patch(f"{LEADS}/{lead['id']}", json={"name": "A3"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current_version"] == 2
    assert (await client.get(f"{LEADS}/{lead['id']}")).json()["name"] == "A2"


async def test_two_concurrent_writers_one_loses_with_409(client):
    """X3: two people edit the same version; exactly one wins, the other is told, nothing is lost."""
    await make_app(client)
    lead = await _lead(client, employees=1)
    results = await asyncio.gather(
        *[client.patch(f"{LEADS}/{lead['id']}", json={"employees": n, "version": 1}) for n in (10, 20)]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409]
    winner = next(r.json() for r in results if r.status_code == 200)
    final = (await client.get(f"{LEADS}/{lead['id']}")).json()
    assert final["employees"] == winner["employees"] and final["version"] == 2


async def test_concurrent_increments_without_version_lose_nothing(client, ctx):
    """Many writers each read-modify-write with the version they read; retries on 409 until done."""
    await make_app(client)
    lead = await _lead(client, employees=0)

    async def bump():
        while True:
            current = (await client.get(f"{LEADS}/{lead['id']}")).json()
            r = await client.patch(
                f"{LEADS}/{lead['id']}",
                json={"employees": current["employees"] + 1},
                headers={"If-Match": str(current["version"])},
            )
            if r.status_code == 200:
                return
            assert r.status_code == 409

    await asyncio.gather(*[bump() for _ in range(8)])
    assert (await client.get(f"{LEADS}/{lead['id']}")).json()["employees"] == 8


async def test_idempotency_key_creates_once_and_replays(client):
    await make_app(client)
    headers = {"Idempotency-Key": "order-7f3a"}
    first = await client.post(LEADS, json={"name": "Once"}, headers=headers)
    again = await client.post(LEADS, json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    page = (await client.get(LEADS, params={"count": "true"})).json()
    assert page["total"] == 1
    other = await client.post(LEADS, json={"name": "Different"}, headers=headers)
    assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"
    assert (await client.get(LEADS, params={"count": "true"})).json()["total"] == 1


async def test_concurrent_retries_with_one_key_create_one_record(client):
    await make_app(client)
    headers = {"Idempotency-Key": "same-key"}
    results = await asyncio.gather(*[client.post(LEADS, json={"name": "Race"}, headers=headers) for _ in range(5)])
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert (await client.get(LEADS, params={"count": "true"})).json()["total"] == 1


async def test_auto_numbers_never_repeat_under_concurrency(client):
    await make_app(client)
    results = await asyncio.gather(*[client.post(LEADS, json={"name": f"L{i}"}) for i in range(20)])
    codes = [r.json()["code"] for r in results]
    assert len(set(codes)) == 20
    assert sorted(codes) == [f"LEAD-{n:06d}" for n in range(1, 21)]


async def test_delete_moves_to_bin_then_restore_and_purge(client):
    await make_app(client)
    lead = await _lead(client, email="a@example.com")
    assert (await client.delete(f"{LEADS}/{lead['id']}")).status_code == 204
    assert (await client.get(f"{LEADS}/{lead['id']}")).status_code == 404
    assert (await client.get(LEADS)).json()["items"] == []
    binned = (await client.get(f"{LEADS}/trash")).json()["items"]
    assert [b["id"] for b in binned] == [lead["id"]] and binned[0]["deleted_at"] is not None
    # A binned record does not hold its unique value hostage...
    twin = await _lead(client, email="a@example.com")
    # ...but restoring it while a live record holds the value is refused.
    assert (await client.post(f"{LEADS}/trash/{lead['id']}/restore")).status_code == 409
    assert (await client.delete(f"{LEADS}/{twin['id']}")).status_code == 204
    restored = await client.post(f"{LEADS}/trash/{lead['id']}/restore")
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert (await client.get(f"{LEADS}/{lead['id']}")).status_code == 200
    assert (await client.delete(f"{LEADS}/trash/{twin['id']}")).status_code == 204
    assert (await client.get(f"{LEADS}/trash")).json()["items"] == []
    assert (await client.delete(f"{LEADS}/trash/{twin['id']}")).status_code == 404


async def test_every_change_writes_one_outbox_event_in_its_transaction(client, ctx):
    await make_app(client)
    lead = await _lead(client, budget=5)
    await client.patch(f"{LEADS}/{lead['id']}", json={"budget": 6})
    await client.delete(f"{LEADS}/{lead['id']}")
    bad = await client.post(LEADS, json={"name": None})  # refused: must write no event
    assert bad.status_code == 422
    async with ctx.db.read() as conn:
        rows = (await conn.execute(select(events).order_by(events.c.id))).all()
    assert [(r.kind, r.record_id) for r in rows] == [("created", lead["id"]), ("updated", lead["id"]), ("deleted", lead["id"])]
    assert rows[1].before["budget"] == 5 and rows[1].after["budget"] == 6 and rows[1].actor_id == lead["created_by"]
    assert rows[0].before is None and rows[2].after is None and rows[0].source == "api"


async def test_relation_expand_and_on_delete_rules(client):
    contact = {
        "key": "contact",
        "label": "Contact",
        "fields": [
            {"key": "name", "type": "text", "required": True},
            {"key": "account", "type": "relation", "target": "account", "on_delete": "restrict"},
            {"key": "referrer", "type": "relation", "target": "account", "on_delete": "set_null"},
        ],
    }
    await make_app(client, "crm", ACCOUNT, contact)
    acc = (await client.post("/api/v1/apps/crm/account", json={"name": "Acme", "region": "上海"})).json()
    other = (await client.post("/api/v1/apps/crm/account", json={"name": "Beta"})).json()
    c = (
        await client.post("/api/v1/apps/crm/contact", json={"name": "Li Lei", "account": acc["id"], "referrer": other["id"]})
    ).json()
    missing = await client.post("/api/v1/apps/crm/contact", json={"name": "X", "account": 999999})
    assert missing.status_code == 422 and missing.json()["errors"][0]["path"] == "/account"
    got = (await client.get(f"/api/v1/apps/crm/contact/{c['id']}", params={"expand": "account"})).json()
    assert got["account"]["name"] == "Acme" and got["referrer"] == other["id"]
    # restrict: an account with contacts cannot be deleted
    assert (await client.delete(f"/api/v1/apps/crm/account/{acc['id']}")).status_code == 409
    # set_null: deleting the referrer clears the link (as a versioned update with its own event)
    assert (await client.delete(f"/api/v1/apps/crm/account/{other['id']}")).status_code == 204
    after = (await client.get(f"/api/v1/apps/crm/contact/{c['id']}")).json()
    assert after["referrer"] is None and after["version"] == 2


async def test_cascade_delete_bins_children(client):
    line = {
        "key": "line",
        "label": "Line",
        "fields": [{"key": "account", "type": "relation", "target": "account", "on_delete": "cascade"}],
    }
    await make_app(client, "crm", ACCOUNT, line)
    acc = (await client.post("/api/v1/apps/crm/account", json={"name": "Acme"})).json()
    lines = [(await client.post("/api/v1/apps/crm/line", json={"account": acc["id"]})).json() for _ in range(3)]
    assert (await client.delete(f"/api/v1/apps/crm/account/{acc['id']}")).status_code == 204
    assert (await client.get("/api/v1/apps/crm/line")).json()["items"] == []
    assert len((await client.get("/api/v1/apps/crm/line/trash")).json()["items"]) == len(lines)


async def test_bulk_upsert_by_unique_field_is_all_or_nothing(client):
    await make_app(client)
    await _lead(client, email="old@example.com", budget=1)
    ok = await client.post(
        f"{LEADS}/bulk",
        json={"op": "upsert", "match_on": "email", "items": [
            {"email": "old@example.com", "name": "Old", "budget": 2}, {"email": "new@example.com", "name": "New"}]},
    )  # fmt: skip
    assert ok.status_code == 200, ok.text
    items = ok.json()["items"]
    assert items[0]["budget"] == 2 and items[0]["version"] == 2 and items[1]["version"] == 1
    bad = await client.post(
        f"{LEADS}/bulk",
        json={"op": "upsert", "match_on": "email", "items": [
            {"email": "old@example.com", "name": "Changed"}, {"email": "x@example.com", "budget": -1}]},
    )  # fmt: skip
    assert bad.status_code == 422
    paths = {e["path"] for e in bad.json()["errors"]}
    assert paths == {"/items/1/budget", "/items/1/name"}
    assert (await client.get(LEADS, params={"filter": json.dumps({"field": "name", "op": "eq", "value": "Changed"})})).json()[
        "items"
    ] == []


async def test_bulk_update_reports_stale_and_missing_items(client):
    await make_app(client)
    a, b = await _lead(client), await _lead(client)
    r = await client.post(
        f"{LEADS}/bulk", json={"op": "update", "items": [{"id": a["id"], "budget": 1}, {"id": 999999, "budget": 2}]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/items/1/id"
    r = await client.post(
        f"{LEADS}/bulk", json={"op": "update", "items": [{"id": a["id"], "budget": 1}, {"id": b["id"], "budget": 3}]}
    )
    assert r.status_code == 200 and [i["budget"] for i in r.json()["items"]] == [1, 3]
    assert (await client.get(f"{LEADS}/{a['id']}")).json()["budget"] == 1


async def test_unauthenticated_and_revoked_tokens_are_refused(client, anon):
    assert (await anon.get("/api/v1/meta/apps")).status_code == 401
    created = await client.post("/api/v1/auth/tokens", json={"name": "script"})
    assert created.status_code == 201 and created.json()["token"].startswith("tgm_")
    token = created.json()["token"]
    listed = (await client.get("/api/v1/auth/tokens")).json()["items"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await anon.get("/api/v1/meta/apps", headers=headers)).status_code == 200
    assert (await client.delete(f"/api/v1/auth/tokens/{created.json()['id']}")).status_code == 204
    refused = await anon.get("/api/v1/meta/apps", headers=headers)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


async def test_session_login_and_logout(anon, admin):
    bad = await anon.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": "wrong"})
    assert bad.status_code == 401
    ok = await anon.post("/api/v1/auth/login", json={"email": "ADMIN@example.com", "password": "correct horse battery staple"})
    assert ok.status_code == 200 and "httponly" in ok.headers["set-cookie"].lower()
    assert (await anon.get("/api/v1/auth/me")).json()["is_admin"] is True
    await anon.post("/api/v1/auth/logout", headers={"X-CSRF-Token": ok.json()["csrf_token"]})
    assert (await anon.get("/api/v1/auth/me")).status_code == 401


async def test_ids_beyond_64_bits_are_refused_everywhere(client):
    await make_app(client)
    huge = 2**64
    assert (await client.get(f"{LEADS}/{huge}")).status_code == 422
    assert (await client.delete(f"/api/v1/auth/tokens/{huge}")).status_code == 422


async def test_bin_sorts_empty_values_last_even_for_fields_made_required_later(client):
    await make_app(client)
    for phone in ("+86 3", None, "+86 1"):
        lead = (await client.post(LEADS, json={"name": "x", "phone": phone})).json()
        await client.delete(f"{LEADS}/{lead['id']}")
    definition = (await client.get("/api/v1/meta/apps/crm/entities/lead")).json()
    next(f for f in definition["fields"] if f["key"] == "phone")["required"] = True
    assert (await client.put("/api/v1/meta/apps/crm/entities/lead", json=definition)).status_code == 200
    seen, cursor = [], None
    while True:
        page = (
            await client.get(f"{LEADS}/trash", params={"sort": "phone", "limit": 1} | ({"cursor": cursor} if cursor else {}))
        ).json()
        seen += [r["phone"] for r in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ["+86 1", "+86 3", None]
