"""R13 duplicate rules through the API: definitions validated at their paths, warn and block on
create and update, a record's duplicates, and the scan."""

from __future__ import annotations

from typing import Any

import httpx

from engine.api.context import Context
from tests.factories import make_app
from tests.people import errors, make_user
from tests.unit.records_dedup.dedup_world import ACCOUNT, ACCOUNTS, build_crm, create, key_count, new_id


def _with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    return {**ACCOUNT, "key": "firm", "options": {"duplicates": list(rules)}}


async def test_r13_rules_are_validated_at_their_paths(client: httpx.AsyncClient) -> None:
    await make_app(client, "crm", ACCOUNT)
    bad = _with_rules(
        {"key": "a", "match": [{"field": "nope"}]},
        {"key": "a", "match": [{"field": "email", "normalize": "phone"}]},
        {"key": "c", "match": [{"field": "name", "normalize": "soundex"}], "action": "shout"},
        {"key": "d", "match": []},
    )
    r = await client.post("/api/v1/meta/apps/crm/entities", json=bad)
    assert r.status_code == 422
    # pydantic refuses the shape first; the field checks need a well-formed rule list
    assert errors(r) == [
        ("/options/duplicates/2/action", "literal_error"),
        ("/options/duplicates/2/match/0/normalize", "literal_error"),
        ("/options/duplicates/3/match", "too_short"),
    ]
    bad = _with_rules(
        {"key": "a", "match": [{"field": "nope"}]},
        {"key": "a", "match": [{"field": "email", "normalize": "phone"}]},
        {"key": "c", "match": [{"field": "name", "normalize": "company"}, {"field": "phone", "normalize": "email"}]},
    )
    r = await client.post("/api/v1/meta/apps/crm/entities", json=bad)
    assert r.status_code == 422
    assert errors(r) == [
        ("/options/duplicates/0/match/0/field", "unknown_field"),
        ("/options/duplicates/1/key", "duplicate"),
        ("/options/duplicates/1/match/0/normalize", "unsuitable"),
        ("/options/duplicates/2/match/1/normalize", "unsuitable"),
    ]
    assert (await client.get("/api/v1/meta/apps/crm/entities/firm")).status_code == 404
    r = await client.get("/api/v1/meta/apps/crm/entities/account")
    assert r.json()["options"]["duplicates"][0] == ACCOUNT["options"]["duplicates"][0]


async def test_r13_warn_saves_and_names_the_duplicates_in_a_header(client: httpx.AsyncClient) -> None:
    await build_crm(client)
    first = await new_id(client, ACCOUNTS, {"name": "华为技术有限公司", "city": "深圳", "phone": "+86 138-0013-8000"})
    r = await create(client, ACCOUNTS, {"name": "Other", "phone": "13800138000"})
    assert r.headers["Tangram-Duplicates"] == f"crm.account/{first}"
    second = r.json()["id"]
    assert r.json()["phone"] == "13800138000"  # the record is saved as sent
    r = await create(client, ACCOUNTS, {"name": "华为技术", "city": "深圳", "phone": "0086 138 0013 8000"})
    assert r.headers["Tangram-Duplicates"] == f"crm.account/{first}, crm.account/{second}"
    third = r.json()["id"]
    r = await create(client, ACCOUNTS, {"name": "华为技术", "city": "北京"})  # same company, other city: no match
    assert "Tangram-Duplicates" not in r.headers
    # an update that changes a matched field is checked too; one that does not is not
    r = await client.patch(f"{ACCOUNTS}/{r.json()['id']}", json={"city": "深圳"})
    assert r.status_code == 200
    assert r.headers["Tangram-Duplicates"] == f"crm.account/{first}, crm.account/{third}"
    r = await client.patch(f"{ACCOUNTS}/{first}", json={"industry": "telecom"})
    assert "Tangram-Duplicates" not in r.headers


async def test_r13_block_refuses_with_the_matching_ids_and_writes_nothing(client: httpx.AsyncClient, ctx: Context) -> None:
    await build_crm(client)
    first = await new_id(client, ACCOUNTS, {"name": "Acme", "email": "sales@acme.com"})
    keys = await key_count(ctx)
    r = await create(client, ACCOUNTS, {"name": "Acme 2", "email": " Sales@ACME.com"}, status=422)
    assert errors(r) == [("/email", "duplicate")]
    assert r.json()["errors"][0]["message"] == f"duplicate rule 'same_email' blocks this: it matches account {first}"
    r = await client.get(ACCOUNTS, params={"count": "true"})
    assert r.json()["total"] == 1
    assert await key_count(ctx) == keys
    # bulk: the row a block rule matches is refused (with its path), and the batch with it
    r = await client.post(
        f"{ACCOUNTS}/bulk",
        json={"op": "create", "items": [{"name": "B", "email": "b@b.cn"}, {"name": "C", "email": "SALES@acme.com"},
                                         {"name": "D", "email": "b@b.cn"}]},
    )  # fmt: skip
    assert r.status_code == 422
    assert errors(r) == [("/items/1/email", "duplicate"), ("/items/2/email", "duplicate")]
    assert "it matches item /items/0 of this batch" in r.json()["errors"][1]["message"]
    assert (await client.get(ACCOUNTS, params={"count": "true"})).json()["total"] == 1
    # an update onto a blocked value is refused too
    other = await new_id(client, ACCOUNTS, {"name": "Beta", "email": "beta@beta.cn"})
    r = await client.patch(f"{ACCOUNTS}/{other}", json={"email": "sales@acme.com"})
    assert r.status_code == 422
    assert errors(r) == [("/email", "duplicate")]


async def test_r13_block_does_not_name_records_the_caller_cannot_read(
    client: httpx.AsyncClient, ctx: Context, admin: dict[str, Any]
) -> None:
    await build_crm(client)
    await new_id(client, ACCOUNTS, {"name": "Acme", "email": "sales@acme.com"})
    _, member = await make_user(ctx, "rep@example.com", "member")  # reads only their own records
    r = await client.post(ACCOUNTS, json={"name": "Mine", "email": "SALES@acme.com"}, headers=member)
    assert r.status_code == 422
    assert (
        r.json()["errors"][0]["message"]
        == "duplicate rule 'same_email' blocks this: it matches 1 account record you may not read"
    )
    # warn rules only name what the caller may read
    r = await client.post(ACCOUNTS, json={"name": "Mine", "phone": "13800138000"}, headers=member)
    assert r.status_code == 201
    await create(client, ACCOUNTS, {"name": "Admin's", "phone": "13800138000"})
    r = await client.post(ACCOUNTS, json={"name": "Mine 2", "phone": "138 0013 8000"}, headers=member)
    assert r.headers["Tangram-Duplicates"] == f"crm.account/{r.json()['id'] - 2}"


async def test_r13_duplicates_of_a_record_and_keys_follow_delete_and_restore(client: httpx.AsyncClient, ctx: Context) -> None:
    await build_crm(client)
    a = await new_id(client, ACCOUNTS, {"name": "Acme Co., Ltd.", "city": "Shanghai", "phone": "13800138000"})
    b = await new_id(client, ACCOUNTS, {"name": "ACME", "city": "Shanghai", "phone": "+86 13800138000"})
    c = await new_id(client, ACCOUNTS, {"name": "Acme Inc", "city": "Beijing", "phone": "13900139000"})
    r = await client.get(f"{ACCOUNTS}/{a}/duplicates")
    assert r.json() == {"items": [{"id": b, "rules": ["same_company", "same_phone"]}]}
    assert (await client.get(f"{ACCOUNTS}/{c}/duplicates")).json() == {"items": []}
    assert (await client.delete(f"{ACCOUNTS}/{b}")).status_code == 204
    assert (await client.get(f"{ACCOUNTS}/{a}/duplicates")).json() == {"items": []}
    assert (await client.post(f"{ACCOUNTS}/trash/{b}/restore")).status_code == 200
    assert (await client.get(f"{ACCOUNTS}/{a}/duplicates")).json()["items"] == [
        {"id": b, "rules": ["same_company", "same_phone"]}
    ]
    await client.patch(f"{ACCOUNTS}/{b}", json={"phone": "13900139000", "city": "Beijing"})
    assert (await client.get(f"{ACCOUNTS}/{c}/duplicates")).json()["items"] == [
        {"id": b, "rules": ["same_company", "same_phone"]}
    ]
    assert (await client.get(f"{ACCOUNTS}/999/duplicates")).status_code == 404


async def test_r13_scan_groups_within_the_read_scope(client: httpx.AsyncClient, ctx: Context) -> None:
    await build_crm(client)
    ids = [
        await new_id(client, ACCOUNTS, body)
        for body in (
            {"name": "Acme Co., Ltd.", "city": "SH", "phone": "13800138000"},
            {"name": "ACME", "city": "SH"},
            {"name": "Beta", "phone": "+86 138 0013 8000"},
            {"name": "Gamma", "phone": "010-1234 5678"},
            {"name": "Delta", "phone": "01012345678"},
            {"name": "Lonely", "phone": "999"},
        )
    ]
    r = await client.post(f"{ACCOUNTS}/duplicates/scan")
    assert r.status_code == 200
    assert r.json()["groups"] == [
        {"rule": "same_phone", "action": "warn", "ids": [ids[0], ids[2]]},
        {"rule": "same_phone", "action": "warn", "ids": [ids[3], ids[4]]},
        {"rule": "same_company", "action": "warn", "ids": [ids[0], ids[1]]},
    ]
    assert (await client.post(f"{ACCOUNTS}/duplicates/scan", params={"limit": 1})).json()["groups"] == [
        {"rule": "same_phone", "action": "warn", "ids": [ids[0], ids[2]]}
    ]
    _, member = await make_user(ctx, "rep@example.com", "member")
    r = await client.post(f"{ACCOUNTS}/duplicates/scan", headers=member)
    assert r.json() == {"groups": []}  # they own none of these records


async def test_r13_rule_added_later_builds_keys_for_existing_records(client: httpx.AsyncClient) -> None:
    plain = {**ACCOUNT, "options": {}}
    await make_app(client, "crm", plain)
    a = await new_id(client, ACCOUNTS, {"name": "Acme", "email": "x@acme.com"})
    b = await new_id(client, ACCOUNTS, {"name": "Acme Ltd", "email": "X@acme.com"})
    r = await client.put("/api/v1/meta/apps/crm/entities/account", json=ACCOUNT)
    assert r.status_code == 200, r.text
    # same_company also needs the city, which they lack: a missing value matches nothing
    assert (await client.get(f"{ACCOUNTS}/{a}/duplicates")).json()["items"] == [{"id": b, "rules": ["same_email"]}]
    r = await create(client, ACCOUNTS, {"name": "New", "email": "x@ACME.com"}, status=422)
    assert "it matches account " + f"{a}, {b}" in r.json()["errors"][0]["message"]
