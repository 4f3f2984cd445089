"""Simulate (试运行): POST /api/v1/meta/apps/{app}/processes/{key}/simulate answers the path an instance
would take, who would be asked and when their deadlines fall, and WRITES NOTHING (every table's row
count is the same before and after), on each database.

The rule scenarios' sales app (tests/scenarios/rules_world.py): rep a1 in team key_accounts_a, whose
manager is boss. SCENARIOS P2 on an opportunity: above 1000 the manager approves, then b1 and w1
countersign; up to 1000 it is approved at once.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, inspect, select, table

from engine.api.context import Context
from engine.core.clock import Clock, FrozenClock
from tests.people import errors
from tests.scenarios.process_desk import DEFS, DISCOUNT, clients_for
from tests.scenarios.rules_world import RulesWorld, build_world

Sales = tuple[RulesWorld, dict[str, httpx.AsyncClient]]
MONDAY_0900 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the business time zone of the tests is UTC


@pytest.fixture
def clock() -> Clock:
    return FrozenClock(MONDAY_0900)


@pytest.fixture
async def sales(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[Sales]:
    world = await build_world(ctx, client, int(admin["id"]))
    async with AsyncExitStack() as stack:
        yield world, await clients_for(ctx, world, stack)


async def _row_counts(ctx: Context) -> dict[str, int]:
    async with ctx.db.read() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        return {n: int((await conn.execute(select(func.count()).select_from(table(n)))).scalar_one()) for n in names}


async def _opportunity(http: httpx.AsyncClient, amount: str) -> int:
    r = await http.post("/api/v1/apps/sales/opportunity", json={"name": "Deal", "amount": amount})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _path(result: dict[str, Any]) -> list[str]:
    return [s["node"] for s in result["steps"]]


async def test_p2_draft_big_deal_goes_to_the_manager_and_nothing_is_written(ctx: Context, sales: Sales) -> None:
    world, http = sales
    assert (await http["admin"].post(DEFS, json=DISCOUNT)).status_code == 201  # a draft, never published
    rid = await _opportunity(http["a1"], "5000")
    before = await _row_counts(ctx)

    r = await http["admin"].post(f"{DEFS}/discount/simulate", json={"record_id": rid, "submitter_id": world.users["a1"]})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["written"] is False and result["state"] == "completed" and result["outcome"] == "approved"
    assert _path(result) == ["start", "big", "manager", "both", "ok"]
    gateway, manager, both, end = result["steps"][1:]
    assert gateway["branch_taken"]["edges"][0]["to"] == "manager"
    assert gateway["branch_taken"]["values"] == {"amount": 5000}
    assert [t["held"] for t in gateway["branch_taken"]["tried"] if "held" in t] == [True]
    assert manager["assignees"] == [{"id": world.users["boss"], "name": "boss"}] and manager["mode"] == "single"
    assert [c["name"] for c in manager["cc"]] == ["w1"]
    assert [a["name"] for a in both["assignees"]] == ["b1", "w1"] and both["mode"] == "all"
    assert end["sets"] == {"status": "won"} and end["outcome"] == "approved"
    assert await _row_counts(ctx) == before

    # The manager rejecting ends it there, as rejected.
    body = {"record_id": rid, "submitter_id": world.users["a1"], "decisions": {"manager": "rejected"}}
    r = await http["admin"].post(f"{DEFS}/discount/simulate", json=body)
    assert _path(r.json()) == ["start", "big", "manager", "no"] and r.json()["outcome"] == "rejected"


async def test_p2_small_amount_is_approved_at_once_from_typed_values(sales: Sales) -> None:
    _, http = sales
    assert (await http["admin"].post(DEFS, json=DISCOUNT)).status_code == 201
    r = await http["admin"].post(f"{DEFS}/discount/simulate", json={"values": {"name": "Small", "amount": "500"}})
    assert r.status_code == 200, r.text
    result = r.json()
    assert _path(result) == ["start", "big", "ok"] and result["outcome"] == "approved"
    taken = result["steps"][1]["branch_taken"]
    assert taken["edges"][0]["default"] is True and taken["values"] == {"amount": 500}


async def test_published_version_and_the_draft_differ(sales: Sales) -> None:
    world, http = sales
    admin = http["admin"]
    assert (await admin.post(DEFS, json=DISCOUNT)).status_code == 201
    assert (await admin.post(f"{DEFS}/discount/publish")).status_code == 200
    changed = copy.deepcopy(DISCOUNT)
    changed["edges"][1]["condition"]["value"] = 10000  # the draft now lets 5000 through
    assert (await admin.put(f"{DEFS}/discount", json=changed)).status_code == 200
    body = {"values": {"name": "Deal", "amount": "5000"}, "submitter_id": world.users["a1"]}
    assert _path((await admin.post(f"{DEFS}/discount/simulate", json=body)).json()) == ["start", "big", "ok"]
    published = (await admin.post(f"{DEFS}/discount/simulate", json=body | {"version": 1})).json()
    assert _path(published)[:3] == ["start", "big", "manager"]
    assert (await admin.post(f"{DEFS}/discount/simulate", json=body | {"version": 7})).status_code == 404


async def test_refusals_land_at_their_field(sales: Sales) -> None:
    _, http = sales
    admin = http["admin"]
    assert (await admin.post(DEFS, json=DISCOUNT)).status_code == 201
    url = f"{DEFS}/discount/simulate"
    r = await admin.post(url, json={"values": {"amount": "lots"}})
    assert r.status_code == 422, r.text
    assert [code for path, code in errors(r) if path == "/values/amount"]  # the exact code is the field type's
    assert ("/values/name", "required") in errors(r)
    r = await admin.post(url, json={"values": {"name": "x"}, "decisions": {"big": "approved", "manager": "maybe"}})
    assert r.status_code == 422
    r = await admin.post(url, json={"values": {"name": "x"}, "decisions": {"big": "approved"}, "submitter_id": 999999})
    assert errors(r) == [("/decisions/big", "unknown_node"), ("/submitter_id", "unknown_user")]
    assert (await admin.post(url, json={"record_id": 1, "values": {"name": "x"}})).status_code == 422
    assert (await admin.post(url, json={"record_id": 999999})).status_code == 404  # no such record: as one not readable
    assert (await http["a1"].post(url, json={"values": {"name": "x"}})).status_code == 403  # not a builder of the app
    assert (await admin.post(f"{DEFS}/nope/simulate", json={"values": {"name": "x"}})).status_code == 404


TIMED: dict[str, Any] = {
    "key": "timed", "entity": "opportunity", "label": {"en": "Cooling-off then approval"},
    "working_hours": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "wait", "type": "timer", "duration": {"amount": 2, "unit": "days"}},
        {"id": "manager", "type": "approval", "assignees": [{"type": "manager"}],
         "deadline": {"remind": {"amount": 4, "unit": "hours"}, "escalate": {"amount": 2, "unit": "days"},
                      "auto": {"amount": 4, "unit": "days"}, "auto_action": "approve", "working_hours": True}},
        {"id": "split", "type": "parallel"},
        {"id": "legal", "type": "approval", "assignees": [{"type": "users", "users": ["b1@example.com"]}]},
        {"id": "stock", "type": "fill", "assignees": [{"type": "users", "users": ["w1@example.com"]}]},
        {"id": "join", "type": "parallel"},
        {"id": "done", "type": "end", "outcome": "approved"},
    ],
    "edges": [
        {"from": "start", "to": "wait"}, {"from": "wait", "to": "manager"}, {"from": "manager", "to": "split"},
        {"from": "split", "to": "legal"}, {"from": "split", "to": "stock"},
        {"from": "legal", "to": "join"}, {"from": "stock", "to": "join"}, {"from": "join", "to": "done"},
    ],
}  # fmt: skip


async def test_timer_and_working_hour_deadlines_on_a_fixed_clock(ctx: Context, sales: Sales) -> None:
    """P7: the timer waits 2 calendar days (Mon 09:00 -> Wed 09:00); the manager's task then
    reminds 4 working hours later (Wed 13:00), escalates after 2 working days (the end of Thursday)
    and is approved automatically after 4 (the end of Monday: the weekend does not count). Parallel branches join once."""
    world, http = sales
    assert (await http["admin"].post(DEFS, json=TIMED)).status_code == 201
    before = await _row_counts(ctx)
    body = {"values": {"name": "Deal", "amount": "5000"}, "submitter_id": world.users["a1"]}
    r = await http["admin"].post(f"{DEFS}/timed/simulate", json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert _path(result) == ["start", "wait", "manager", "split", "legal", "stock", "join", "done"]
    wait, manager = result["steps"][1], result["steps"][2]
    assert wait["waits_until"] == "2026-11-25T09:00:00Z"
    assert manager["at"] == "2026-11-25T09:00:00Z" and manager["assignees"][0]["name"] == "boss"
    assert manager["deadlines"] == [
        {"kind": "remind", "at": "2026-11-25T13:00:00Z"},
        {"kind": "escalate", "at": "2026-11-26T18:00:00Z"},
        {"kind": "auto", "at": "2026-11-30T18:00:00Z"},
    ]
    assert result["outcome"] == "approved" and result["state"] == "completed"
    assert await _row_counts(ctx) == before


async def test_a_delegation_in_force_shows_who_acts_on_behalf(sales: Sales) -> None:
    world, http = sales
    assert (await http["admin"].post(DEFS, json=DISCOUNT)).status_code == 201
    away = {"delegate": world.users["b1"], "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z"}
    assert (await http["boss"].post("/api/v1/me/delegations", json=away)).status_code == 201
    body = {"values": {"name": "Deal", "amount": "5000"}, "submitter_id": world.users["a1"]}
    manager = (await http["admin"].post(f"{DEFS}/discount/simulate", json=body)).json()["steps"][2]
    assert manager["assignees"] == [
        {"id": world.users["b1"], "name": "b1", "on_behalf_of": {"id": world.users["boss"], "name": "boss"}}
    ]
