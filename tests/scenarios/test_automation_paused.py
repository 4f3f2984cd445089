"""History loads (demo data, imports without automation) save records with validation and the audit log,
but fire no rules: a deal won two years ago must not act today."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.audit.tables import audit_log
from engine.auth.access import load_access
from engine.records.automation import automation_paused, is_paused
from tests.scenarios.rules_world import RulesWorld
from tests.scenarios.test_rules_api import VIP


async def _create_lead(world: RulesWorld, name: str) -> int:
    async with world.ctx.db.write() as conn:
        entity = await world.ctx.store.get(conn, "sales", "lead")
        access = await load_access(conn, world.users["admin"], True, source="test")
        record = await world.ctx.records.create(conn, entity, {"name": name, "budget": 2_000_000}, access)
    return int(record["id"])


async def test_paused_automation_saves_audited_records_without_rules_then_resumes(world: RulesWorld) -> None:
    await world.rule(VIP)  # tags a lead whose budget is over 1,000,000 "vip" when it is created
    with automation_paused():
        assert is_paused()
        quiet = await _create_lead(world, "history")
        await world.drain()
    assert not is_paused()
    live = await _create_lead(world, "today")
    await world.drain()
    assert (await world.get("lead", quiet))["tags"] in (None, [])
    assert (await world.get("lead", live))["tags"] == ["vip"]
    async with world.ctx.db.read() as conn:
        audited = select(func.count()).where(audit_log.c.action == "record.created", audit_log.c.record_id == quiet)
        assert (await conn.execute(audited)).scalar_one() == 1
