"""Rules API: definitions checked whole (422 with JSON paths), CRUD with versions, dry run,
execution log, cascades bounded, durable after-save actions, rights."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engine.api.context import Context
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.core.clock import FrozenClock
from engine.jobs.tables import jobs
from tests.scenarios.crm_world import insert_role
from tests.scenarios.rules_world import RULES, START, RulesWorld


@pytest.fixture
def clock() -> FrozenClock:
    """Rules run on a frozen clock: time moves only when a test says so (the `world` fixture)."""
    return FrozenClock(START)


VIP = {
    "key": "tag_vips", "entity": "lead", "trigger": {"type": "created"},
    "condition": {"field": "budget", "op": "gt", "value": 1000000},
    "actions": [{"type": "add_tag", "field": "tags", "tag": "vip"}],
}  # fmt: skip


def paths(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 422, r.text
    return {e["path"]: e["code"] for e in r.json()["errors"]}


async def test_bad_definitions_are_refused_with_every_problem_at_its_path(world: RulesWorld) -> None:
    doc: dict[str, Any] = {
        "key": "bad", "entity": "lead", "trigger": {"type": "field_changed", "fields": ["nope"]},
        "condition": {"all": [{"field": "missing", "op": "eq", "value": 1},
                              {"field": "name", "op": "eq", "value": {"field": "budget"}},
                              {"field": "budget", "op": "gt", "value": "a lot"}]},
        "actions": [{"type": "launch_rocket"}, {"type": "add_tag", "field": "name", "tag": "x"},
                    {"type": "set_fields", "values": {"score": {"formula": "name * 2"}, "ghost": 1}},
                    {"type": "reject", "message": {"en": "no"}}],
    }  # fmt: skip
    found = paths(await world.http.post(RULES, json=doc))
    assert found["/trigger/fields/0"] == "unknown_field"
    assert found["/condition/all/0/field"] == "unknown_field"
    assert "/condition/all/1/value" in found  # text compared with a number: refused when defined
    assert "/condition/all/2/value" in found
    assert found["/actions/0/type"] == "unknown_action"
    assert found["/actions/1/field"] == "type"
    assert "/actions/2/values/score/formula" in found and found["/actions/2/values/ghost"] == "unknown_field"
    assert found["/actions/3/type"] == "phase"  # reject runs only before the save
    r = await world.http.get(RULES)
    assert r.json()["items"] == []  # nothing saved


async def test_shape_errors_unknown_entity_cron_and_phase(world: RulesWorld) -> None:
    assert "/trigger" in paths(await world.http.post(RULES, json={**VIP, "trigger": {"type": "sometimes"}}))
    assert paths(await world.http.post(RULES, json={**VIP, "entity": "ghost"})) == {"/entity": "unknown_entity"}
    cron = {**VIP, "trigger": {"type": "schedule", "cron": "every day"}}
    assert paths(await world.http.post(RULES, json=cron)) == {"/trigger/cron": "cron"}
    timed_before = {**VIP, "when": "before_save", "trigger": {"type": "schedule", "cron": "0 8 * * *"}}
    assert "/when" in paths(await world.http.post(RULES, json=timed_before))
    assert "/surprise" in paths(await world.http.post(RULES, json={**VIP, "surprise": 1}))
    r = await world.http.post(RULES, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400


async def test_cycle_prone_setup_is_refused_when_defined(world: RulesWorld) -> None:
    loop = {"key": "loop", "entity": "lead", "trigger": {"type": "updated"},
            "actions": [{"type": "add_points", "field": "score", "points": 1}]}  # fmt: skip
    assert paths(await world.http.post(RULES, json=loop)) == {"/actions/0": "cycle"}
    watched = {**loop, "trigger": {"type": "field_changed", "fields": ["score"]}}
    assert paths(await world.http.post(RULES, json=watched)) == {"/actions/0": "cycle"}
    safe = {**loop, "trigger": {"type": "field_changed", "fields": ["email_opens"]}}
    assert (await world.http.post(RULES, json=safe)).status_code == 201


async def test_crud_with_versions(world: RulesWorld) -> None:
    created = await world.rule(VIP)
    assert (created["version"], created["enabled"]) == (1, True)
    assert (await world.http.post(RULES, json=VIP)).status_code == 409
    r = await world.http.put(f"{RULES}/tag_vips", json={**VIP, "enabled": False}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["enabled"] is False
    stale = await world.http.put(f"{RULES}/tag_vips", json=VIP, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert [x["key"] for x in (await world.http.get(RULES, params={"entity": "lead"})).json()["items"]] == ["tag_vips"]
    lead = await world.create("lead", name="Rich", budget=2000000)
    await world.drain()
    assert not (await world.get("lead", lead["id"]))["tags"]  # disabled
    assert (await world.http.delete(f"{RULES}/tag_vips")).status_code == 204
    assert (await world.http.get(f"{RULES}/tag_vips")).status_code == 404


async def test_after_save_action_is_a_durable_job_committed_with_the_change(world: RulesWorld, ctx: Context) -> None:
    await world.rule(VIP)
    rich = await world.create("lead", name="Rich", budget=2000000)
    poor = await world.create("lead", name="Poor", budget=10)
    async with ctx.db.read() as conn:
        queued = (await conn.execute(select(func.count()).select_from(jobs).where(jobs.c.kind == "rules.run"))).scalar()
    assert queued == 1  # only the matching record, and only once
    r = await world.http.post("/api/v1/apps/sales/lead", json={"name": 5, "budget": 9999999})
    assert r.status_code == 422  # a refused change enqueues nothing
    await world.drain()
    assert (await world.get("lead", rich["id"]))["tags"] == ["vip"]
    assert not (await world.get("lead", poor["id"]))["tags"]
    log = await world.log("tag_vips")
    assert log["totals"] == {"runs": 1, "actions_done": 1, "errors": 0, "stopped": 0}
    assert log["items"][0]["record_id"] == rich["id"] and log["items"][0]["actions"][0]["type"] == "add_tag"


async def test_validation_rule_rejects_with_the_builders_message(world: RulesWorld) -> None:
    await world.rule({
        "key": "budget_needs_industry", "entity": "lead", "when": "before_save", "trigger": {"type": "saved"},
        "condition": {"all": [{"field": "budget", "op": "gt", "value": 100000}, {"field": "industry", "op": "is_empty"}]},
        "actions": [{"type": "reject", "field": "industry", "message": {"en": "Big budgets need an industry"}}],
    })  # fmt: skip
    r = await world.http.post("/api/v1/apps/sales/lead", json={"name": "X", "budget": 200000})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"path": "/industry", "code": "rule", "message": "Big budgets need an industry"}]
    assert await world.items("lead") == []
    ok = await world.create("lead", name="X", budget=200000, industry="retail")
    r = await world.http.patch(f"/api/v1/apps/sales/lead/{ok['id']}", json={"industry": None})
    assert r.status_code == 422 and (await world.get("lead", ok["id"]))["industry"] == "retail"


async def test_cascade_cycle_between_rules_is_stopped_and_logged(world: RulesWorld) -> None:
    """Two rules that trigger each other through task and lead: the cycle stops at its second turn."""
    await world.rule({"key": "lead_makes_task", "entity": "lead", "trigger": {"type": "field_changed", "fields": ["score"]},
                      "actions": [{"type": "create_record", "entity": "task", "link": "lead",
                                   "values": {"title": {"formula": "'Score ' & TEXT(score)"}}}]})  # fmt: skip
    await world.rule({"key": "task_bumps_lead", "entity": "task", "trigger": {"type": "created"},
                      "condition": {"field": "lead", "op": "is_not_empty"},
                      "actions": [{"type": "set_fields", "values": {"title": {"formula": "title & '!'"}}},
                                  {"type": "create_record", "entity": "lead",
                                   "values": {"name": "echo", "score": 1}}]})  # fmt: skip
    await world.rule({"key": "echo_scores", "entity": "lead", "trigger": {"type": "created"},
                      "condition": {"field": "name", "op": "eq", "value": "echo"},
                      "actions": [{"type": "add_points", "field": "score", "points": 1}]})  # fmt: skip
    lead = await world.create("lead", name="Start")
    await world.update("lead", lead["id"], score=5)
    await world.drain()
    logs = {k: (await world.log(k))["totals"] for k in ("lead_makes_task", "task_bumps_lead", "echo_scores")}
    assert logs["lead_makes_task"]["stopped"] == 1  # lead_makes_task -> task_bumps_lead -> echo_scores -> lead_makes_task
    assert len(await world.items("task")) == 1


async def test_dry_run_explains_each_condition_node_and_writes_nothing(world: RulesWorld) -> None:
    await world.rule({**VIP, "condition": {"all": [{"field": "budget", "op": "gt", "value": 1000000},
                                                   {"field": "industry", "op": "eq", "value": "finance"}]}})  # fmt: skip
    rich = await world.create("lead", name="Rich", budget=2000000, industry="finance")
    other = await world.create("lead", name="Other", budget=2000000, industry="retail")
    await world.drain()
    await world.update("lead", rich["id"], tags=[])
    r = await world.http.post(f"{RULES}/tag_vips/dry-run", json={"last": 10})
    assert r.status_code == 200, r.text
    items = {i["record_id"]: i for i in r.json()["items"]}
    assert items[rich["id"]]["matched"] is True
    assert items[rich["id"]]["actions"] == [{"type": "add_tag", "tags": ["vip"]}]
    assert items[other["id"]]["matched"] is False
    nodes = items[other["id"]]["condition"]["all"]
    assert [n["matched"] for n in nodes] == [True, False]
    assert (await world.get("lead", rich["id"]))["tags"] == []  # rolled back
    assert (await world.http.post(f"{RULES}/tag_vips/dry-run", json={})).status_code == 422
    assert (await world.http.post(f"{RULES}/tag_vips/dry-run", json={"last": 1000})).status_code == 422


async def test_dry_run_of_an_unsaved_draft_is_checked_as_a_save_and_writes_nothing(world: RulesWorld) -> None:
    """The designer tests edits before saving: the draft in the body, checked like a save, nothing stored."""
    rich = await world.create("lead", name="Rich", budget=2000000, industry="finance")
    r = await world.http.post(f"{RULES}/dry-run", json={"rule": VIP, "record_id": rich["id"]})
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["matched"] is True and item["condition"]["actual"] == 2000000 and item["label"] == "Rich"
    assert item["actions"] == [{"type": "add_tag", "tags": ["vip"]}]
    assert (await world.http.get(RULES)).json()["items"] == []  # no rule stored
    assert (await world.get("lead", rich["id"]))["tags"] in ([], None)  # rolled back
    bad = {**VIP, "actions": [{"type": "add_tag", "field": "name", "tag": "x"}]}
    assert paths(await world.http.post(f"{RULES}/dry-run", json={"rule": bad, "last": 5})) == {"/actions/0/field": "type"}
    assert (await world.http.post(f"{RULES}/dry-run", json={"rule": VIP})).status_code == 422  # no record chosen
    # A draft of a stored rule: judged as edited, the stored one untouched.
    await world.rule(VIP)
    edited = {**VIP, "condition": {"field": "budget", "op": "gt", "value": 5000000}}
    r = await world.http.post(f"{RULES}/dry-run", json={"rule": edited, "last": 1})
    assert r.json()["items"][0]["matched"] is False
    assert (await world.http.get(f"{RULES}/tag_vips")).json()["condition"] == VIP["condition"]


async def test_the_log_pages_back_from_the_newest_run(world: RulesWorld) -> None:
    await world.rule(VIP)
    for i in range(3):
        await world.create("lead", name=f"Rich {i}", budget=2000000)
    await world.drain()
    first = (await world.http.get(f"{RULES}/tag_vips/log", params={"limit": 2})).json()
    assert first["totals"]["runs"] == 3 and len(first["items"]) == 2 and first["more"] is True
    rest = (await world.http.get(f"{RULES}/tag_vips/log", params={"limit": 2, "before": first["items"][-1]["id"]})).json()
    assert len(rest["items"]) == 1 and rest["more"] is False
    assert rest["items"][0]["id"] < first["items"][-1]["id"]


async def test_only_builders_of_the_entity_see_or_change_rules(world: RulesWorld) -> None:
    await world.rule(VIP)
    async with world.ctx.db.write() as conn:
        token, _ = await world.ctx.auth.create_token(conn, world.users["a1"], "t")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await world.http.get(f"{RULES}/tag_vips", headers=headers)).status_code == 403
    assert (await world.http.post(RULES, json={**VIP, "key": "mine"}, headers=headers)).status_code == 403
    assert (await world.http.get(RULES, headers=headers)).json()["items"] == []


async def test_x1_new_lead_is_pushed_to_a_signed_webhook_exactly_once(
    world: RulesWorld, ctx: Context, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    secret = "a shared secret of finance"
    await world.rule({"key": "push_to_finance", "entity": "lead", "trigger": {"type": "created"},
                      "actions": [{"type": "webhook", "url": url, "secret": secret}]})  # fmt: skip
    assert (await world.http.get(f"{RULES}/push_to_finance")).json()["actions"][0]["secret"] == "********"
    lead = await world.create("lead", name="Acme")
    await world.drain()
    assert received == []  # loopback is refused unless allowed: a permanent failure, the job is dead
    dead = (await world.http.get("/api/v1/admin/jobs", params={"state": "dead"})).json()["items"]
    assert [(j["kind"], "TANGRAM_WEBHOOK_ALLOW_HOSTS" in j["last_error"]) for j in dead] == [("rules.webhook", True)]
    ctx.settings.tangram_webhook_allow_hosts = ["127.0.0.1"]  # the operator allows it and re-runs the job
    assert (await world.http.post(f"/api/v1/admin/jobs/{dead[0]['id']}/retry")).status_code == 200
    await world.drain()
    await world.drain()
    assert len(received) == 1
    got = received[0]
    assert json.loads(got["body"])["record"]["id"] == lead["id"]
    h = got["headers"]
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + got["body"]
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == f"v1,{expected}"


async def test_a_rule_may_only_write_to_entities_its_author_manages(world: RulesWorld) -> None:
    """Rules act with the engine's rights: managing the lead entity does not let a builder create
    tasks through a rule when they may not manage tasks."""
    lead_builder = RoleDefinition(
        key="lead_builder", label={"en": "Lead builder"},
        grants=[Grant(entity="sales.lead", read="all", create=True, update="all", manage=True)],
    )  # fmt: skip
    async with world.ctx.db.write() as conn:
        await insert_role(conn, lead_builder, world.ctx.clock.now())
        await grant_role(conn, world.users["b1"], "lead_builder")
        token, _ = await world.ctx.auth.create_token(conn, world.users["b1"], "t")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await world.http.post(RULES, json=VIP, headers=headers)).status_code == 201
    escalate = {"key": "make_tasks", "entity": "lead", "trigger": {"type": "created"},
                "actions": [{"type": "create_record", "entity": "task", "values": {"title": "x"}}]}  # fmt: skip
    r = await world.http.post(RULES, json=escalate, headers=headers)
    assert r.status_code == 403 and "task" in r.json()["detail"]
    assert (await world.http.post(RULES, json=escalate)).status_code == 201  # the administrator may


async def test_a_rule_broken_by_an_entity_change_is_skipped_not_blocking_saves(world: RulesWorld) -> None:
    """Removing a field a rule reads must not make every save of the entity fail: the rule is
    skipped, and its dry run says why."""
    await world.rule({**VIP, "condition": {"field": "region", "op": "eq", "value": "north"}})
    r = await world.http.get("/api/v1/meta/apps/sales/entities/lead")
    doc = {k: v for k, v in r.json().items() if k in ("key", "label", "display_field", "fields")}
    doc["fields"] = [f for f in doc["fields"] if f["key"] != "region"]
    assert (await world.http.put("/api/v1/meta/apps/sales/entities/lead", json=doc)).status_code == 200
    lead = await world.create("lead", name="Still saves", budget=5)
    await world.drain()
    assert not (await world.get("lead", lead["id"]))["tags"]
    r = await world.http.post(f"{RULES}/tag_vips/dry-run", json={"last": 1})
    assert r.status_code == 409 and r.json()["errors"][0]["path"] == "/condition/field"


async def test_conditions_through_relations_before_and_after_the_save_in_a_bulk_write(world: RulesWorld) -> None:
    """R9-style dispatch: tickets of a VIP contact get high priority before the save, and a task after
    it; a bulk create judges each item on its own related record."""
    await world.rule({"key": "vip_priority", "entity": "ticket", "when": "before_save", "trigger": {"type": "created"},
                      "condition": {"field": "contact.name", "op": "starts_with", "value": "VIP"},
                      "actions": [{"type": "set_fields", "values": {"priority": "high"}}]})  # fmt: skip
    await world.rule({"key": "vip_task", "entity": "ticket", "trigger": {"type": "created"},
                      "condition": {"field": "contact.name", "op": "starts_with", "value": "VIP"},
                      "actions": [{"type": "create_record", "entity": "task",
                                   "values": {"title": {"formula": "'Call about ' & subject"}}}]})  # fmt: skip
    vip = await world.create("contact", name="VIP Wang")
    plain = await world.create("contact", name="Li")
    items = [{"subject": "A", "contact": vip["id"]}, {"subject": "B", "contact": plain["id"]}, {"subject": "C"}]
    r = await world.http.post("/api/v1/apps/sales/ticket/bulk", json={"op": "create", "items": items})
    assert r.status_code == 200, r.text
    assert [t["priority"] for t in r.json()["items"]] == ["high", "normal", "normal"]
    await world.drain()
    assert [t["title"] for t in await world.items("task")] == ["Call about A"]
