"""R13: duplicate accounts merged into one. The contacts, opportunities and tickets of the merged
accounts (and a case in another app) move to the survivor, the others go to the recycle bin, one
audit entry tells it all, and undo puts everything back while the others are still in the bin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from engine.api.context import Context
from engine.auth.policy import Access
from engine.records.dedup.tables import merges
from tests.people import audit_rows, errors, make_user
from tests.unit.records_dedup.dedup_world import ACCOUNTS, build_crm, new_id

CONTACTS = "/api/v1/apps/crm/contact"
OPPS = "/api/v1/apps/crm/opportunity"
TICKETS = "/api/v1/apps/crm/ticket"
CASES = "/api/v1/apps/service/case"


async def _world(client: httpx.AsyncClient) -> dict[str, Any]:
    """Three records of one customer: Acme (survivor), ACME Co., Ltd. and Acme Inc, each with related records."""
    await build_crm(client)
    w: dict[str, Any] = {
        "acme": await new_id(client, ACCOUNTS, {"name": "Acme", "city": "SH", "phone": "13800138000"}),
        "acme_ltd": await new_id(client, ACCOUNTS, {"name": "ACME Co., Ltd.", "city": "SH", "email": "it@acme.com"}),
        "acme_inc": await new_id(client, ACCOUNTS, {"name": "Acme Inc", "city": "SH", "industry": "chemicals"}),
        "beta": await new_id(client, ACCOUNTS, {"name": "Beta"}),
    }
    w["c_keep"] = await new_id(client, CONTACTS, {"name": "Li Lei", "account": w["acme"]})
    w["c_ltd"] = await new_id(client, CONTACTS, {"name": "Han Meimei", "account": w["acme_ltd"]})
    w["o_ltd"] = await new_id(client, OPPS, {"name": "Big deal", "amount": "1000.50", "account": w["acme_ltd"]})
    w["o_inc"] = await new_id(client, OPPS, {"name": "Small deal", "amount": "20", "account": w["acme_inc"]})
    w["t_inc"] = await new_id(client, TICKETS, {"subject": "Broken", "customer": w["acme_inc"]})
    w["t_beta"] = await new_id(client, TICKETS, {"subject": "Other", "customer": w["beta"]})
    w["case_ltd"] = await new_id(client, CASES, {"title": "Cross-app", "account": w["acme_ltd"]})
    return w


async def _field(client: httpx.AsyncClient, path: str, rid: int, key: str) -> Any:
    r = await client.get(f"{path}/{rid}")
    assert r.status_code == 200, r.text
    return r.json()[key]


async def _merge(client: httpx.AsyncClient, w: dict[str, Any], **extra: Any) -> httpx.Response:
    body = {
        "survivor": w["acme"],
        "others": [w["acme_ltd"], w["acme_inc"]],
        "values": {"email": {"from": w["acme_ltd"]}, "industry": {"from": w["acme_inc"]}, "city": {"value": "Shanghai"}},
    } | extra
    return await client.post(f"{ACCOUNTS}/merge", json=body)


async def _snapshot(client: httpx.AsyncClient, w: dict[str, Any]) -> dict[str, Any]:
    return {
        "accounts": (await client.get(ACCOUNTS)).json()["items"],
        "trash": (await client.get(f"{ACCOUNTS}/trash")).json()["items"],
        "contacts": (await client.get(CONTACTS)).json()["items"],
        "opps": (await client.get(OPPS)).json()["items"],
        "tickets": (await client.get(TICKETS)).json()["items"],
        "cases": (await client.get(CASES)).json()["items"],
    }


async def test_r13_merge_repoints_everything_and_bins_the_others(client: httpx.AsyncClient, ctx: Context) -> None:
    w = await _world(client)
    r = await _merge(client, w)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["survivor"] == w["acme"]
    assert body["others"] == [w["acme_ltd"], w["acme_inc"]]
    assert body["values"] == {"email": "it@acme.com", "industry": "chemicals", "city": "Shanghai"}
    assert sorted((x["app"], x["entity"], x["field"], x["id"], x["from"]) for x in body["references"]) == sorted([
        ("crm", "contact", "account", w["c_ltd"], w["acme_ltd"]),
        ("crm", "opportunity", "account", w["o_ltd"], w["acme_ltd"]),
        ("crm", "opportunity", "account", w["o_inc"], w["acme_inc"]),
        ("crm", "ticket", "customer", w["t_inc"], w["acme_inc"]),
        ("service", "case", "account", w["case_ltd"], w["acme_ltd"]),
    ])  # fmt: skip
    survivor = (await client.get(f"{ACCOUNTS}/{w['acme']}")).json()
    assert (survivor["name"], survivor["city"], survivor["phone"], survivor["email"], survivor["industry"]) == (
        "Acme", "Shanghai", "13800138000", "it@acme.com", "chemicals",
    )  # fmt: skip
    assert await _field(client, CONTACTS, w["c_ltd"], "account") == w["acme"]
    assert await _field(client, CONTACTS, w["c_keep"], "account") == w["acme"]
    assert await _field(client, OPPS, w["o_ltd"], "account") == w["acme"]
    assert await _field(client, OPPS, w["o_inc"], "account") == w["acme"]
    assert await _field(client, OPPS, w["o_ltd"], "amount") == 1000.5  # re-pointed, nothing else touched
    assert await _field(client, TICKETS, w["t_inc"], "customer") == w["acme"]
    assert await _field(client, TICKETS, w["t_beta"], "customer") == w["beta"]
    assert await _field(client, CASES, w["case_ltd"], "account") == w["acme"]
    trash = (await client.get(f"{ACCOUNTS}/trash")).json()["items"]
    assert sorted(x["id"] for x in trash) == [w["acme_ltd"], w["acme_inc"]]
    # one merge entry, on the survivor, with everything an undo needs
    (entry,) = await audit_rows(ctx, "record.merged")
    assert (entry["app"], entry["entity"], entry["record_id"]) == ("crm", "account", w["acme"])
    assert entry["changes"] == {"email": [None, "it@acme.com"], "industry": [None, "chemicals"], "city": ["SH", "Shanghai"]}
    assert entry["detail"]["merge_id"] == body["merge_id"]
    assert entry["detail"]["others"] == [w["acme_ltd"], w["acme_inc"]]
    assert len(entry["detail"]["references"]) == 5
    # the merged records' history stays readable in the bin: created, then deleted by the merge
    history = (await client.get(f"{ACCOUNTS}/{w['acme_ltd']}/history")).json()["items"]
    assert [h["action"] for h in history] == ["record.created", "record.deleted"]
    # the re-pointed contact's own history shows the move
    history = (await client.get(f"{CONTACTS}/{w['c_ltd']}/history")).json()["items"]
    assert history[-1]["changes"] == {"account": [w["acme_ltd"], w["acme"]]}
    # the others no longer count as duplicates; the survivor now holds the email
    assert (await client.get(f"{ACCOUNTS}/{w['acme']}/duplicates")).json()["items"] == []
    r = await client.post(ACCOUNTS, json={"name": "X", "email": "IT@acme.com"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == f"duplicate rule 'same_email' blocks this: it matches account {w['acme']}"


async def test_r13_undo_puts_everything_back(client: httpx.AsyncClient, ctx: Context) -> None:
    w = await _world(client)
    before = await _snapshot(client, w)
    merge_id = (await _merge(client, w)).json()["merge_id"]
    r = await client.post(f"{ACCOUNTS}/merges/{merge_id}/undo")
    assert r.status_code == 200, r.text
    assert r.json()["restored"] == [w["acme_ltd"], w["acme_inc"]]
    after = await _snapshot(client, w)
    strip = {"version", "updated_at", "updated_by"}

    def same(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in strip} for row in rows]

    for part in ("accounts", "trash", "contacts", "opps", "tickets", "cases"):
        assert same(after[part]) == same(before[part]), part
    (entry,) = await audit_rows(ctx, "record.merge_undone")
    assert entry["record_id"] == w["acme"]
    assert entry["changes"] == {"email": ["it@acme.com", None], "industry": ["chemicals", None], "city": ["Shanghai", "SH"]}
    r = await client.post(f"{ACCOUNTS}/merges/{merge_id}/undo")
    assert r.status_code == 409
    assert r.json()["detail"] == f"merge {merge_id} was already undone"
    # the duplicates are duplicates again
    items = (await client.get(f"{ACCOUNTS}/{w['acme']}/duplicates")).json()["items"]
    assert items == [{"id": w["acme_ltd"], "rules": ["same_company"]}, {"id": w["acme_inc"], "rules": ["same_company"]}]


@pytest.mark.parametrize("change", ["survivor_edited", "other_purged", "reference_moved"])
async def test_r13_undo_refused_when_things_changed(client: httpx.AsyncClient, ctx: Context, change: str) -> None:
    w = await _world(client)
    merge_id = (await _merge(client, w)).json()["merge_id"]
    if change == "survivor_edited":
        assert (await client.patch(f"{ACCOUNTS}/{w['acme']}", json={"city": "Hangzhou"})).status_code == 200
        expected = [("/survivor", "changed")]
    elif change == "other_purged":
        assert (await client.delete(f"{ACCOUNTS}/trash/{w['acme_inc']}")).status_code == 204
        expected = [("/others/1", "gone")]
    else:
        assert (await client.patch(f"{OPPS}/{w['o_ltd']}", json={"account": w["beta"]})).status_code == 200
        expected = [(f"/references/crm/opportunity/account/{w['o_ltd']}", "changed")]
    before = await _snapshot(client, w)
    r = await client.post(f"{ACCOUNTS}/merges/{merge_id}/undo")
    assert r.status_code == 409
    assert r.json()["detail"] == "the merge cannot be undone: things changed since"
    assert errors(r) == expected
    assert await _snapshot(client, w) == before
    async with ctx.db.read() as conn:
        assert (await conn.execute(select(merges.c.undone_at).where(merges.c.id == merge_id))).scalar_one() is None


async def test_r13_merge_bad_input_is_refused_and_changes_nothing(client: httpx.AsyncClient, ctx: Context) -> None:
    w = await _world(client)
    contact = w["c_keep"]
    before = await _snapshot(client, w)
    cases = [
        ({"others": [w["acme_ltd"], 999], "values": {}}, 422, [("/others/1", "not_found")]),
        ({"others": [w["acme"]], "values": {}}, 422, [("/others/0", "survivor")]),
        ({"others": [w["acme_ltd"], w["acme_ltd"]], "values": {}}, 422, [("/others/1", "duplicate")]),
        ({"others": [], "values": {}}, 422, [("/others", "too_short")]),
        ({"values": {"nope": {"value": 1}, "email": {"from": w["beta"]}}}, 422,
         [("/values/email/from", "not_merged"), ("/values/nope", "unknown_field")]),
        ({"values": {"email": {"from": w["acme"], "value": "x"}}}, 422, [("/values/email", "value_error")]),
        ({"values": {"email": {"value": "not an email"}}}, 422, [("/email", "format")]),
        ({"survivor": "1", "values": {}}, 422, [("/survivor", "int_type")]),
    ]  # fmt: skip
    for extra, status, expected in cases:
        r = await _merge(client, w, **extra)
        assert (r.status_code, errors(r)) == (status, expected), (extra, r.text)
    # another entity's record: account 3 is no contact (there are two contacts)
    r = await client.post("/api/v1/apps/crm/contact/merge", json={"survivor": contact, "others": [w["acme_inc"]]})
    assert (r.status_code, errors(r)) == (422, [("/others/0", "not_found")])
    assert (await client.post(f"{ACCOUNTS}/merges/999/undo")).status_code == 404
    assert await _snapshot(client, w) == before
    assert await audit_rows(ctx, "record.merge") == []


async def test_r13_merge_rights(client: httpx.AsyncClient, ctx: Context) -> None:
    w = await _world(client)
    role = {"key": "editor", "label": "Editor",
            "grants": [{"entity": "crm.*", "read": "all", "create": True, "update": "all", "delete": "none"}]}  # fmt: skip
    assert (await client.post("/api/v1/admin/roles", json=role)).status_code == 201
    _, editor = await make_user(ctx, "editor@example.com", "editor")
    _, member = await make_user(ctx, "member@example.com", "member")
    before = await _snapshot(client, w)
    body = {"survivor": w["acme"], "others": [w["acme_ltd"]]}
    r = await client.post(f"{ACCOUNTS}/merge", json=body, headers=editor)
    assert r.status_code == 403
    assert r.json()["detail"] == f"you may not delete account record(s) {w['acme_ltd']}"
    r = await client.post(f"{ACCOUNTS}/merge", json=body, headers=member)  # cannot even read them
    assert (r.status_code, errors(r)) == (422, [("/others/0", "not_found"), ("/survivor", "not_found")])
    assert await _snapshot(client, w) == before
    merge_id = (await client.post(f"{ACCOUNTS}/merge", json=body)).json()["merge_id"]
    r = await client.post(f"{ACCOUNTS}/merges/{merge_id}/undo", headers=editor)  # restoring needs delete
    assert r.status_code == 403
    assert (await client.post(f"{ACCOUNTS}/merges/{merge_id}/undo", headers=member)).status_code == 404


async def test_r13_merge_keeps_totals_right(client: httpx.AsyncClient) -> None:
    """Re-pointing goes through the record service: amounts stay exact and the survivor gets every opportunity."""
    w = await _world(client)
    await _merge(client, w)
    items = (await client.get(OPPS)).json()["items"]
    assert [(x["account"], Decimal(str(x["amount"]))) for x in items] == [
        (w["acme"], Decimal("1000.5")),
        (w["acme"], Decimal("20")),
    ]


async def test_r13_a_batch_bigger_than_postgresqls_parameter_limit_is_checked(client: httpx.AsyncClient, ctx: Context) -> None:
    """One save of 12,000 accounts under three rules asks for 36,000 keys, more than the 32,767 parameters
    PostgreSQL takes in one statement: the lookups are chunked, and a duplicate inside the batch is found."""
    await build_crm(client)
    items = [
        {"name": f"客户{i}", "city": "杭州", "phone": f"1380000{i:04d}", "email": f"c{i}@example.com"} for i in range(12_000)
    ]
    items[-1]["phone"] = items[0]["phone"]  # a warn rule: saved, and noted
    async with ctx.db.write() as conn:
        entity = await ctx.store.get(conn, "crm", "account")
        saved = await ctx.records.create_many(conn, entity, items, Access.system())
    assert len(saved) == 12_000
    r = await client.get(f"{ACCOUNTS}/{saved[-1]['id']}/duplicates")
    assert r.json()["items"] == [{"id": saved[0]["id"], "rules": ["same_phone"]}]
