"""Online evolution of entity definitions: every change is a version; data is never lost."""

import copy

from engine.auth.service import grant_role
from tests.factories import ACCOUNT, LEAD, make_app

META = "/api/v1/meta/apps/crm/entities/lead"
LEADS = "/api/v1/apps/crm/lead"


async def _definition(client):
    r = await client.get(META)
    assert r.status_code == 200
    return r.json()


async def _publish(client, doc, status=200):
    r = await client.put(META, json=doc)
    assert r.status_code == status, r.text
    return r.json()


def _field(doc, key):
    return next(f for f in doc["fields"] if f["key"] == key)


async def test_relabel_is_a_new_version_without_touching_data(client):
    await make_app(client)
    lead = (await client.post(LEADS, json={"name": "Acme"})).json()
    doc = await _definition(client)
    _field(doc, "name")["label"] = {"en": "Company", "zh-CN": "公司名称"}
    published = await _publish(client, doc)
    assert published["version"] == 2 and _field(published, "name")["label"]["zh-CN"] == "公司名称"
    assert (await client.get(f"{LEADS}/{lead['id']}")).json()["name"] == "Acme"
    versions = (await client.get(f"{META}/versions")).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["change"] == {"added": [], "restored": [], "removed": [], "changed": []}


async def test_stale_definition_version_is_refused(client):
    await make_app(client)
    doc = await _definition(client)
    await _publish(client, doc)  # version 2 (doc carried version 1)
    r = await client.put(META, json=doc)  # still says version 1
    assert r.status_code == 409 and r.json()["current_version"] == 2


async def test_add_field_with_default_backfills_and_required_needs_one(client):
    await make_app(client)
    await client.post(LEADS, json={"name": "Acme"})
    doc = await _definition(client)
    doc["fields"].append({"key": "priority", "type": "integer", "required": True})
    r = await client.put(META, json=doc)
    assert r.status_code == 409
    assert r.json()["errors"] == [{"path": "/fields/14", "code": "needs_default", "message": r.json()["errors"][0]["message"]}]
    assert "give it a default" in r.json()["errors"][0]["message"]
    assert (await _definition(client))["version"] == 1  # nothing applied
    doc["fields"][-1]["default"] = 3
    await _publish(client, doc)
    assert (await client.get(LEADS)).json()["items"][0]["priority"] == 3
    missing = await client.post(LEADS, json={"name": "New"})
    assert missing.json()["priority"] == 3


async def test_removed_field_keeps_its_data_until_purged(client):
    await make_app(client)
    lead = (await client.post(LEADS, json={"name": "Acme", "budget": 42})).json()
    doc = await _definition(client)
    removed = _field(doc, "budget")
    doc["fields"].remove(removed)
    published = await _publish(client, doc)
    assert "budget" not in (await client.get(f"{LEADS}/{lead['id']}")).json()
    assert [f["key"] for f in published["removed_fields"]] == ["budget"]
    refused = await client.post(LEADS, json={"name": "B", "budget": 1})
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "unknown_field"
    # Re-adding the key restores the kept column with its data.
    doc = await _definition(client)
    doc["fields"].append(removed)
    await _publish(client, doc)
    assert (await client.get(f"{LEADS}/{lead['id']}")).json()["budget"] == 42
    # Remove again, then purge: the column and its data are gone for good.
    doc = await _definition(client)
    doc["fields"] = [f for f in doc["fields"] if f["key"] != "budget"]
    await _publish(client, doc)
    assert (await client.post(f"{META}/purge-removed-fields")).status_code == 400  # needs confirm
    purged = await client.post(f"{META}/purge-removed-fields", params={"confirm": "lead"})
    assert purged.status_code == 200 and purged.json()["removed_fields"] == []
    doc = await _definition(client)
    doc["fields"].append({"key": "budget", "type": "text"})  # the key is free again, any type
    await _publish(client, doc)
    assert (await client.get(f"{LEADS}/{lead['id']}")).json()["budget"] is None


async def test_type_changes_only_where_lossless(client):
    await make_app(client)
    await client.post(LEADS, json={"name": "Acme", "employees": 1200, "notes": "x", "email": "a@example.com"})
    doc = await _definition(client)
    _field(doc, "employees").update(type="date")
    r = await client.put(META, json=doc)
    assert r.status_code == 409 and "integer to date" in r.json()["errors"][0]["message"]
    assert r.json()["errors"][0]["path"] == "/fields/4" and r.json()["errors"][0]["code"] == "lossy_type_change"
    doc = await _definition(client)
    _field(doc, "employees").update(type="decimal", precision=6, scale=2)  # 1200.00 fits 4 integer digits
    _field(doc, "email").update(type="text")
    published = await _publish(client, doc)
    assert _field(published, "employees")["type"] == "decimal"
    lead = (await client.get(LEADS)).json()["items"][0]
    assert lead["employees"] == 1200 and lead["email"] == "a@example.com"
    ok = await client.post(LEADS, json={"name": "B", "employees": 10.25, "email": "free text now"})
    assert ok.status_code == 201, ok.text
    doc = await _definition(client)
    _field(doc, "employees").update(precision=4, scale=2)  # narrowing could lose data
    assert (await client.put(META, json=doc)).status_code == 409


async def test_tightening_constraints_is_checked_against_data(client):
    await make_app(client)
    for name, email in [("A", "dup@example.com"), ("A", None), ("Long name " * 5, None)]:
        assert (await client.post(LEADS, json={"name": name, "email": email})).status_code == 201
    doc = await _definition(client)
    _field(doc, "email")["required"] = True
    _field(doc, "name")["unique"] = True
    _field(doc, "name")["max_length"] = 20
    r = await client.put(META, json=doc)
    assert r.status_code == 409
    problems = " | ".join(e["message"] for e in r.json()["errors"])
    assert {e["path"] for e in r.json()["errors"]} == {"/fields/0", "/fields/1"}
    assert "cannot become required: 2 records" in problems
    assert "cannot become unique: 1 values" in problems
    assert "1 records have a 'name' value" in problems
    assert (await _definition(client))["version"] == 1


async def test_removing_a_multi_select_option_in_use_is_refused(client):
    await make_app(client)
    await client.post(LEADS, json={"name": "A", "tags": ["vip", "event"]})
    doc = await _definition(client)
    _field(doc, "tags")["options"] = [{"key": "event"}]
    r = await client.put(META, json=doc)
    assert r.status_code == 409 and r.json()["errors"][0]["path"] == "/fields/6"
    _field(doc, "tags")["options"] = [{"key": "vip"}, {"key": "event"}, {"key": "vip_plus"}]
    await _publish(client, doc)  # adding an option whose key starts like a used one is fine


async def test_restore_refuses_a_record_that_no_longer_fits(client):
    await make_app(client)
    lead = (await client.post(LEADS, json={"name": "A"})).json()
    await client.delete(f"{LEADS}/{lead['id']}")
    doc = await _definition(client)
    _field(doc, "phone")["required"] = True  # checked against live records only: none
    await _publish(client, doc)
    r = await client.post(f"{LEADS}/trash/{lead['id']}/restore")
    assert r.status_code == 409 and r.json()["errors"] == [
        {"path": "/phone", "code": "required", "message": "'phone' is required"}
    ]


async def test_unique_added_online_is_enforced(client):
    await make_app(client)
    await client.post(LEADS, json={"name": "A", "phone": "+86 1"})
    doc = await _definition(client)
    _field(doc, "phone")["unique"] = True
    await _publish(client, doc)
    dup = await client.post(LEADS, json={"name": "B", "phone": "+86 1"})
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "unique"


async def test_removing_an_option_in_use_is_refused(client):
    await make_app(client)
    await client.post(LEADS, json={"name": "A", "industry": "retail"})
    doc = await _definition(client)
    _field(doc, "industry")["options"] = [o for o in _field(doc, "industry")["options"] if o["key"] != "retail"]
    r = await client.put(META, json=doc)
    assert r.status_code == 409 and "'industry'" in r.json()["errors"][0]["message"]
    _field(doc, "industry")["options"].append({"key": "energy", "label": {"en": "Energy", "zh-CN": "能源"}})
    _field(doc, "industry")["options"].append({"key": "retail"})
    published = await _publish(client, doc)
    assert [o["key"] for o in _field(published, "industry")["options"]] == ["manufacturing", "finance", "energy", "retail"]


async def test_entity_bin_restore_and_purge_need_confirmation(client):
    await make_app(client)
    await client.post(LEADS, json={"name": "Acme"})
    assert (await client.delete(META)).status_code == 400
    assert (await client.delete(META, params={"confirm": "lead"})).status_code == 204
    assert (await client.get(LEADS)).status_code == 404
    binned = (await client.get("/api/v1/meta/apps/crm/entities", params={"binned": "true"})).json()["items"]
    assert [(b["key"], b["label"]["zh-CN"]) for b in binned] == [("lead", "线索")]
    restored = await client.post(f"{META}/restore")
    assert restored.status_code == 200
    assert len((await client.get(LEADS)).json()["items"]) == 1
    await client.delete(META, params={"confirm": "lead"})
    assert (await client.post(f"{META}/purge", params={"confirm": "lead"})).status_code == 204
    again = copy.deepcopy(LEAD)
    assert (await client.post("/api/v1/meta/apps/crm/entities", json=again)).status_code == 201
    assert (await client.get(LEADS)).json()["items"] == []


async def test_relation_target_cannot_be_deleted_while_referenced(client):
    from tests.factories import ACCOUNT

    contact = {"key": "contact", "label": "Contact", "fields": [{"key": "account", "type": "relation", "target": "account"}]}
    await make_app(client, "crm", ACCOUNT, contact)
    r = await client.delete("/api/v1/meta/apps/crm/entities/account", params={"confirm": "account"})
    assert r.status_code == 409 and "crm.contact.account" in r.json()["detail"]


async def test_non_admins_cannot_change_definitions(client, ctx):
    await make_app(client)
    async with ctx.db.write() as conn:
        uid = await ctx.auth.create_user(conn, "rep@example.com", "Rep")
        await grant_role(conn, uid, "member")
        token, _ = await ctx.auth.create_token(conn, uid)
    headers = {"Authorization": f"Bearer {token}"}
    r = await client.put(META, json=await _definition(client), headers=headers)
    assert r.status_code == 403
    assert (await client.post(LEADS, json={"name": "by rep"}, headers=headers)).status_code == 201


async def test_manage_right_lets_a_non_admin_change_one_entity(client, ctx):
    from sqlalchemy import insert

    from engine.auth.roles import RoleDefinition
    from engine.auth.tables import roles

    await make_app(client, "crm", LEAD, ACCOUNT)
    designer = RoleDefinition(
        key="lead_designer", label="Lead designer", grants=[{"entity": "crm.lead", "read": "all", "manage": True}]
    )
    async with ctx.db.write() as conn:
        now = ctx.clock.now()
        await conn.execute(
            insert(roles).values(
                key=designer.key, definition=designer.model_dump(mode="json"), builtin=False, created_at=now, updated_at=now
            )
        )
        uid = await ctx.auth.create_user(conn, "designer@example.com", "Designer")
        await grant_role(conn, uid, "lead_designer")
        token, _ = await ctx.auth.create_token(conn, uid)
    headers = {"Authorization": f"Bearer {token}"}
    doc = await _definition(client)
    doc["fields"].append({"key": "score", "type": "integer"})
    assert (await client.put(META, json=doc, headers=headers)).status_code == 200
    account = (await client.get("/api/v1/meta/apps/crm/entities/account")).json()
    assert (await client.put("/api/v1/meta/apps/crm/entities/account", json=account, headers=headers)).status_code == 403
    assert (await client.post("/api/v1/meta/apps", json={"key": "hr", "label": "HR"}, headers=headers)).status_code == 403
