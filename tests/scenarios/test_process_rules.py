"""Rules and processes together: the start_process rule action (R-rules reaching the process engine),
and the process engine's own automatic start on create."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.auth.access import load_access
from engine.core.errors import Conflict
from engine.process.tables import instances, tasks
from tests.scenarios.rules_world import RulesWorld

APPROVAL = {
    "key": "big_deal", "entity": "opportunity",
    "start": {"manual": False},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "manager", "type": "approval", "assignees": [{"type": "users", "users": ["boss@example.com"]}]},
        {"id": "ok", "type": "end", "outcome": "approved", "set": {"important": True}},
    ],
    "edges": [{"from": "start", "to": "manager"}, {"from": "manager", "to": "ok"}],
}  # fmt: skip


async def _publish(world: RulesWorld, doc: dict[str, Any]) -> None:
    async with world.ctx.db.write() as conn:
        admin = await load_access(conn, world.users["admin"], True, source="api")
        await world.ctx.process_service.create(conn, "sales", doc)
        await world.ctx.process_service.publish(conn, "sales", doc["key"], admin)


async def _instances(world: RulesWorld, record_id: int) -> list[Any]:
    async with world.ctx.db.read() as conn:
        query = select(instances).where(instances.c.entity == "opportunity", instances.c.record_id == record_id)
        return list((await conn.execute(query)).all())


async def test_a_rule_starts_a_process_on_big_opportunities(world: RulesWorld) -> None:
    await _publish(world, APPROVAL)
    await world.rule({
        "key": "approve_big", "entity": "opportunity", "trigger": {"type": "created"},
        "condition": {"field": "amount", "op": "gt", "value": 100000},
        "actions": [{"type": "start_process", "process": "big_deal"}],
    })  # fmt: skip
    small = await world.create("opportunity", name="Small", amount="500")
    big = await world.create("opportunity", name="Big", amount="250000")
    await world.drain()
    assert await _instances(world, small["id"]) == []
    [instance] = await _instances(world, big["id"])
    assert instance.state == "running"
    async with world.ctx.db.read() as conn:
        [task] = (await conn.execute(select(tasks).where(tasks.c.instance_id == instance.id))).all()
    assert task.assignee_id == world.users["boss"] and task.state == "pending"
    log = await world.log("approve_big")
    assert [r["outcome"] for r in log["items"]] == ["done"]


async def test_a_process_that_starts_on_create_starts_once_per_record(world: RulesWorld) -> None:
    await _publish(world, APPROVAL | {"key": "every_deal", "start": {"manual": False, "on_create": True}})
    opp = await world.create("opportunity", name="Any", amount="10")
    await world.update("opportunity", opp["id"], name="Renamed")  # an update does not start it again
    await world.drain()
    await world.drain()
    [instance] = await _instances(world, opp["id"])
    assert instance.state == "running" and instance.started_by == world.users["admin"]


async def test_a_manual_only_process_cannot_be_started_by_a_rule_free_member(world: RulesWorld) -> None:
    """start.manual false: nobody but an administrator submits it by hand."""
    await _publish(world, APPROVAL)
    opp = await world.create("opportunity", name="Mine", amount="10")
    async with world.ctx.db.write() as conn:
        a1 = await load_access(conn, world.users["a1"], False, source="api")
        entity = await world.ctx.store.get(conn, "sales", "opportunity")
        with pytest.raises(Conflict, match="starts by itself"):
            await world.ctx.processes.start(conn, entity, opp["id"], "big_deal", a1)
    assert await _instances(world, opp["id"]) == []


async def test_deleting_a_record_cancels_its_running_approval(world: RulesWorld) -> None:
    await _publish(world, APPROVAL | {"start": {"manual": True}})
    opp = await world.create("opportunity", name="Doomed", amount="10")
    r = await world.http.post(f"/api/v1/apps/sales/opportunity/{opp['id']}/processes/big_deal")
    assert r.status_code == 201, r.text
    assert (await world.http.delete(f"/api/v1/apps/sales/opportunity/{opp['id']}")).status_code == 204
    [instance] = await _instances(world, opp["id"])
    assert (instance.state, instance.running_key) == ("cancelled", None)
    async with world.ctx.db.read() as conn:
        states = (await conn.execute(select(tasks.c.state).where(tasks.c.instance_id == instance.id))).scalars().all()
    assert states == ["cancelled"]  # boss's inbox no longer holds it


async def test_a_record_locked_by_a_running_approval_cannot_be_deleted(world: RulesWorld) -> None:
    await _publish(world, APPROVAL | {"start": {"manual": True}, "lock": "record"})
    opp = await world.create("opportunity", name="Kept", amount="10")
    r = await world.http.post(f"/api/v1/apps/sales/opportunity/{opp['id']}/processes/big_deal")
    assert r.status_code == 201, r.text
    r = await world.http.delete(f"/api/v1/apps/sales/opportunity/{opp['id']}")
    assert r.status_code == 409 and "withdraw it before deleting" in r.json()["detail"], r.text
    assert (await world.get("opportunity", opp["id"]))["name"] == "Kept"  # the delete rolled back
    [instance] = await _instances(world, opp["id"])
    assert instance.state == "running"
