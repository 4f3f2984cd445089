"""A refused single-record update says why in words for the person who tried (the `detail` a toast shows):
a process lock, a rule's rejection in the caller's language, a version conflict. `errors[]` stays as is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.api.context import Context
from engine.auth.access import load_access
from tests.scenarios.rules_world import RulesWorld, build_world

OPPS = "/api/v1/apps/sales/opportunity"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
GATE = {
    "key": "gate", "entity": "opportunity", "start": {"manual": True}, "lock": "fields", "lock_fields": ["status"],
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "manager", "type": "approval", "assignees": [{"type": "users", "users": ["boss@example.com"]}]},
        {"id": "ok", "type": "end", "outcome": "approved"},
    ],
    "edges": [{"from": "start", "to": "manager"}, {"from": "manager", "to": "ok"}],
}  # fmt: skip


@pytest.fixture
async def world(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> RulesWorld:
    return await build_world(ctx, client, int(admin["id"]))


async def test_a_process_lock_is_the_detail_naming_the_field_in_the_callers_language(world: RulesWorld) -> None:
    async with world.ctx.db.write() as conn:
        await world.ctx.process_service.create(conn, "sales", GATE)
        admin = await load_access(conn, world.users["admin"], True, source="api")
        await world.ctx.process_service.publish(conn, "sales", "gate", admin)
    opp = await world.create("opportunity", name="Locked", amount="10")
    assert (await world.http.post(f"{OPPS}/{opp['id']}/processes/gate")).status_code == 201
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"status": "won"})
    assert r.status_code == 422, r.text
    locked = "status is locked while a process runs on this record; finish or withdraw the process to change it"
    assert r.json()["detail"] == locked
    assert [(e["path"], e["code"]) for e in r.json()["errors"]] == [("/status", "locked")]
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"status": "won"}, headers=ZH)
    assert r.json()["detail"] == "流程进行中，“status”已锁定；完成或撤回流程后才能修改"  # noqa: RUF001
    assert (await world.get("opportunity", opp["id"]))["status"] == "open"


async def test_a_rules_rejection_is_the_detail_in_the_callers_language(world: RulesWorld) -> None:
    message = {"en": "Won deals need an amount", "zh-CN": "赢单必须填写金额"}
    await world.rule({
        "key": "won_needs_amount", "entity": "opportunity", "when": "before_save", "trigger": {"type": "saved"},
        "condition": {"all": [{"field": "status", "op": "eq", "value": "won"}, {"field": "amount", "op": "is_empty"}]},
        "actions": [{"type": "reject", "field": "amount", "message": message}],
    })  # fmt: skip
    opp = await world.create("opportunity", name="No amount")
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"status": "won"}, headers=ZH)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == "赢单必须填写金额"
    assert r.json()["errors"] == [{"path": "/amount", "code": "rule", "message": "赢单必须填写金额"}]
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"status": "won"})  # no language asked: English
    assert r.json()["detail"] == "Won deals need an amount"
    assert (await world.get("opportunity", opp["id"]))["status"] == "open"


async def test_several_errors_keep_the_summary_detail(world: RulesWorld) -> None:
    opp = await world.create("opportunity", name="Two errors")
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"status": "maybe", "amount": "lots"})
    assert r.status_code == 422 and r.json()["detail"] == "The record has errors"
    assert sorted(e["path"] for e in r.json()["errors"]) == ["/amount", "/status"]


async def test_a_version_conflict_says_reload_without_internal_keys(world: RulesWorld) -> None:
    opp = await world.create("opportunity", name="Shared")
    theirs = await world.http.patch(f"{OPPS}/{opp['id']}", json={"name": "Theirs"}, headers={"If-Match": '"1"'})
    assert theirs.status_code == 200
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"name": "Mine"}, headers={"If-Match": '"1"'})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["detail"] == "This record was changed by someone else; reload it to see their changes, then try again"
    assert "opportunity" not in body["detail"] and "version" not in body["detail"]
    assert (body["current_version"], body["id"]) == (2, opp["id"])
    r = await world.http.patch(f"{OPPS}/{opp['id']}", json={"name": "Mine"}, headers={"If-Match": '"1"'} | ZH)
    assert r.json()["detail"] == "该记录已被他人修改，请刷新查看最新内容后重试"  # noqa: RUF001
    assert (await world.get("opportunity", opp["id"]))["name"] == "Theirs"
