"""The process REST API: definitions (CRUD, validate, publish, versions, BPMN) and instances
(submit, read with the timeline, list per record, withdraw), on each database.

The sales app of the rule scenarios (tests/scenarios/rules_world.py): rep a1 (team key_accounts_a,
manager boss) submits an opportunity for a discount approval (SCENARIOS P2); boss approves, then
b1 and w1 countersign; w1 is copied on the manager's step. a2 is a1's team mate with the member
role (own records only): a stranger to a1's requests.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engine.api.context import Context
from engine.process.tables import instances, process_versions, processes, tasks
from tests.people import errors
from tests.scenarios.process_desk import DEFS, DISCOUNT, clients_for
from tests.scenarios.rules_world import RulesWorld, build_world


class Sales:
    """The world plus one API client per person."""

    def __init__(self, world: RulesWorld, clients: dict[str, httpx.AsyncClient]) -> None:
        self.world, self.clients = world, clients

    def __getitem__(self, who: str) -> httpx.AsyncClient:
        return self.clients[who]

    def uid(self, who: str) -> int:
        return self.world.users[who]

    async def opportunity(self, who: str = "a1", amount: str = "5000", name: str = "Big deal") -> dict[str, Any]:
        r = await self[who].post("/api/v1/apps/sales/opportunity", json={"name": name, "amount": amount})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def submit(self, rid: int, who: str = "a1", **body: Any) -> httpx.Response:
        return await self[who].post(f"/api/v1/apps/sales/opportunity/{rid}/processes/discount", json=body or None)

    async def pending(self, instance_id: int, who: str) -> list[int]:
        async with self.world.ctx.db.read() as conn:
            t = tasks.c
            query = select(t.id).where(t.instance_id == instance_id, t.assignee_id == self.uid(who), t.state == "pending")
            return list((await conn.execute(query.order_by(t.id))).scalars())


@pytest.fixture
async def sales(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[Sales]:
    world = await build_world(ctx, client, int(admin["id"]))
    async with AsyncExitStack() as stack:
        yield Sales(world, await clients_for(ctx, world, stack))


async def _published(sales: Sales, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await sales["admin"].post(DEFS, json=doc or DISCOUNT)
    assert r.status_code == 201, r.text
    r = await sales["admin"].post(f"{DEFS}/{(doc or DISCOUNT)['key']}/publish")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def _count(ctx: Context, table: Any) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


# -- definitions ---------------------------------------------------------------------------------
async def test_definition_crud_with_etags(sales: Sales) -> None:
    http = sales["admin"]
    r = await http.post(DEFS, json=DISCOUNT)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"' and r.json()["version"] == 1 and r.json()["published_version"] is None
    listed = (await http.get(DEFS, params={"entity": "opportunity"})).json()["items"]
    assert [p["key"] for p in listed] == ["discount"]

    r = await http.get(f"{DEFS}/discount")
    assert r.status_code == 200 and r.headers["etag"] == '"1"' and r.json()["nodes"][2]["id"] == "manager"

    renamed = DISCOUNT | {"label": {"en": "Discount sign-off"}}
    r = await http.put(f"{DEFS}/discount", json=renamed, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["label"] == {"en": "Discount sign-off"}
    stale = await http.put(f"{DEFS}/discount", json=DISCOUNT, headers={"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.headers["content-type"] == "application/problem+json"
    assert (await http.get(f"{DEFS}/discount")).json()["label"] == {"en": "Discount sign-off"}  # the stale write lost

    assert (await http.post(DEFS, json=DISCOUNT)).status_code == 409  # the key is taken
    assert (await http.delete(f"{DEFS}/discount")).status_code == 204
    assert (await http.get(f"{DEFS}/discount")).status_code == 404


async def test_a_non_manager_cannot_read_or_write_definitions(sales: Sales) -> None:
    await _published(sales)
    rep = sales["a1"]
    assert (await rep.get(DEFS)).json()["items"] == []
    assert (await rep.get(f"{DEFS}/discount")).status_code == 403
    assert (await rep.post(DEFS, json=DISCOUNT | {"key": "mine"})).status_code == 403
    assert (await rep.post(f"{DEFS}/discount/publish")).status_code == 403
    assert (await rep.get(f"{DEFS}/discount/bpmn")).status_code == 403
    assert await _count(sales.world.ctx, processes) == 1


async def test_invalid_definitions_list_every_error_with_its_path(sales: Sales) -> None:
    http = sales["admin"]
    broken = copy.deepcopy(DISCOUNT)
    broken["edges"][1]["condition"] = {"field": "discount_pct", "op": "gt", "value": 10}  # no such field
    broken["edges"][2].pop("default")  # the gateway has no default edge any more
    broken["nodes"][2]["fields"]["editable"] = ["nope"]

    for url in (DEFS, f"{DEFS}/validate"):
        r = await http.post(url, json=broken)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        paths = [p for p, _ in errors(r)]
        assert any(p.startswith("/edges/1/condition") for p in paths), paths
        assert ("/nodes/1", "no_default") in errors(r)  # the gateway, by its index
        assert ("/nodes/2/fields/editable/0", "unknown_field") in errors(r)
    assert await _count(sales.world.ctx, processes) == 0  # nothing stored

    r = await http.post(f"{DEFS}/validate", json=DISCOUNT)
    assert r.status_code == 200 and r.json() == {"valid": True}
    assert await _count(sales.world.ctx, processes) == 0  # validating stores nothing
    r = await http.post(f"{DEFS}/validate", json=DISCOUNT | {"bogus": 1})
    assert r.status_code == 422 and ("/bogus", "extra_forbidden") in errors(r)


async def test_running_instances_stay_on_their_version(sales: Sales) -> None:
    http = sales["admin"]
    published = await _published(sales)
    assert published["published_version"] == 1
    first = await sales.opportunity(name="First")
    r = await sales.submit(first["id"])
    assert r.status_code == 201, r.text
    old = r.json()

    relabelled = copy.deepcopy(DISCOUNT)
    relabelled["nodes"][2]["label"] = "Team manager"
    r = await http.put(f"{DEFS}/discount", json=relabelled, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    r = await http.post(f"{DEFS}/discount/publish")
    assert r.status_code == 200 and r.json()["published_version"] == 2
    versions = (await http.get(f"{DEFS}/discount/versions")).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["definition"]["nodes"][2]["label"] == "Manager"

    second = await sales.opportunity(name="Second")
    new = (await sales.submit(second["id"])).json()
    assert new["version"] == 2 and new["current_nodes"] == [{"id": "manager", "label": "Team manager"}]
    running = (await http.get(f"/api/v1/process-instances/{old['id']}")).json()
    assert running["version"] == 1 and running["state"] == "running"
    assert running["current_nodes"] == [{"id": "manager", "label": "Manager"}]  # its own version's labels
    assert await _count(sales.world.ctx, process_versions) == 2


async def test_deleting_a_process_with_a_running_instance_is_refused(sales: Sales) -> None:
    await _published(sales)
    opp = await sales.opportunity()
    assert (await sales.submit(opp["id"])).status_code == 201
    r = await sales["admin"].delete(f"{DEFS}/discount")
    assert r.status_code == 409
    assert await _count(sales.world.ctx, instances) == 1


# -- instances -----------------------------------------------------------------------------------
async def test_submit_starts_one_instance_per_record(sales: Sales) -> None:
    await _published(sales)
    opp = await sales.opportunity()
    r = await sales.submit(opp["id"], comment="Needs 15% to close this quarter")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["process"] == "discount" and body["version"] == 1 and body["state"] == "running" and body["outcome"] is None
    assert body["record_id"] == opp["id"] and body["started_by"]["id"] == sales.uid("a1") and body["ended_at"] is None
    assert body["current_nodes"] == [{"id": "manager", "label": "Manager"}]
    assert [(t["node_id"], t["assignee"]["id"], t["state"]) for t in body["open_tasks"]] == [
        ("manager", sales.uid("boss"), "pending")
    ]

    again = await sales.submit(opp["id"])
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert await _count(sales.world.ctx, instances) == 1

    detail = (await sales["a1"].get(f"/api/v1/process-instances/{body['id']}")).json()
    assert detail["events"][0]["action"] == "started" and detail["events"][0]["comment"] == "Needs 15% to close this quarter"


async def test_submit_refuses_unknown_things_and_strangers(sales: Sales) -> None:
    await _published(sales)
    opp = await sales.opportunity()
    r = await sales["a1"].post(f"/api/v1/apps/sales/opportunity/{opp['id']}/processes/nope")
    assert r.status_code == 404
    r = await sales["a1"].post(f"/api/v1/apps/sales/opportunity/{opp['id'] + 99}/processes/discount")
    assert r.status_code == 404
    r = await sales.submit(opp["id"], who="a2")  # may not even read a1's record
    assert r.status_code == 404
    r = await sales.submit(opp["id"], bogus=1)
    assert r.status_code == 422 and ("/bogus", "extra_forbidden") in errors(r)
    assert await _count(sales.world.ctx, instances) == 0


async def test_instances_are_shown_only_to_those_involved(sales: Sales) -> None:
    await _published(sales)
    opp = await sales.opportunity()
    iid = (await sales.submit(opp["id"])).json()["id"]
    url = f"/api/v1/process-instances/{iid}"
    for who in ("a1", "boss", "w1", "admin"):  # submitter, assignee, copied, administrator
        r = await sales[who].get(url)
        assert r.status_code == 200, (who, r.text)
    for who in ("a2", "b1"):  # strangers: it does not exist for them
        r = await sales[who].get(url)
        assert r.status_code == 404, who
        assert (await sales[who].get(f"/api/v1/apps/sales/opportunity/{opp['id']}/process-instances")).json()["items"] == []
    listed = (await sales["a1"].get(f"/api/v1/apps/sales/opportunity/{opp['id']}/process-instances")).json()["items"]
    assert [i["id"] for i in listed] == [iid]
    assert (await sales["a1"].get("/api/v1/process-instances/999999")).status_code == 404


async def test_the_timeline_shows_each_step_with_its_people(sales: Sales) -> None:
    await _published(sales)
    opp = await sales.opportunity()
    iid = (await sales.submit(opp["id"])).json()["id"]
    [task] = await sales.pending(iid, "boss")
    r = await sales["boss"].post(f"/api/v1/tasks/{task}/actions", json={"action": "approve", "comment": "fine"})
    assert r.status_code == 200, r.text

    detail = (await sales["a1"].get(f"/api/v1/process-instances/{iid}")).json()
    steps = detail["timeline"]
    assert [(s["node_id"], s["node_type"], s["outcome"]) for s in steps] == [
        ("start", "start", "done"), ("big", "exclusive", "done"), ("manager", "approval", "approved"), ("both", "approval", None)
    ]  # fmt: skip
    manager = steps[2]
    assert manager["node_label"] == "Manager" and steps[1]["node_label"] == "Big deal?"
    assert manager["duration_seconds"] is not None and manager["duration_seconds"] >= 0 and steps[3]["duration_seconds"] is None
    approval = next(t for t in manager["tasks"] if t["kind"] == "approval")
    assert approval["assignee"] == {"id": sales.uid("boss"), "name": "boss"}
    assert (approval["state"], approval["decision"], approval["comment"]) == ("done", "approve", "fine")
    assert approval["acted_at"] is not None
    assert [(e["action"], e["actor"]["id"], e["comment"]) for e in manager["events"]] == [("approve", sales.uid("boss"), "fine")]
    assert sorted(t["assignee"]["id"] for t in steps[3]["tasks"]) == sorted([sales.uid("b1"), sales.uid("w1")])
    assert sorted(n["id"] for n in detail["current_nodes"]) == ["both"]


async def test_withdraw_by_the_submitter_releases_the_record(sales: Sales) -> None:
    await _published(sales)
    opp = await sales.opportunity()
    iid = (await sales.submit(opp["id"])).json()["id"]
    record = f"/api/v1/apps/sales/opportunity/{opp['id']}"
    locked = await sales["a1"].patch(record, json={"amount": "4000"})
    assert locked.status_code == 422 and ("/amount", "locked") in errors(locked)

    for who in ("a2", "boss"):  # a stranger, and an approver who is not the submitter
        r = await sales[who].post(f"/api/v1/process-instances/{iid}/withdraw", json={"comment": "no"})
        assert r.status_code == 404, (who, r.text)
    assert (await sales["a1"].get(f"/api/v1/process-instances/{iid}")).json()["state"] == "running"

    r = await sales["a1"].post(f"/api/v1/process-instances/{iid}/withdraw", json={"comment": "price changed"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "withdrawn" and r.json()["open_tasks"] == [] and r.json()["ended_at"] is not None
    async with sales.world.ctx.db.read() as conn:
        states = set(
            (await conn.execute(select(tasks.c.state).where(tasks.c.instance_id == iid, tasks.c.kind != "cc"))).scalars()
        )
    assert states == {"cancelled"}
    r = await sales["a1"].patch(record, json={"amount": "4000"})
    assert r.status_code == 200 and r.json()["amount"] == 4000
    again = await sales["a1"].post(f"/api/v1/process-instances/{iid}/withdraw")
    assert again.status_code == 409  # it already ended
    events = (await sales["a1"].get(f"/api/v1/process-instances/{iid}")).json()["events"]
    assert events[-1]["action"] == "withdrawn" and events[-1]["comment"] == "price changed"


# -- BPMN ----------------------------------------------------------------------------------------
async def test_bpmn_export_and_import(sales: Sales) -> None:
    http = sales["admin"]
    await _published(sales)
    r = await http.get(f"{DEFS}/discount/bpmn")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    xml = r.text
    assert xml.startswith("<?xml") and "bpmn:definitions" in xml
    for node_id in ("start", "big", "manager", "both", "ok", "no"):
        assert f'id="{node_id}"' in xml, node_id
    assert (await http.get(f"{DEFS}/discount/bpmn", params={"version": 1})).text == xml
    assert (await http.get(f"{DEFS}/discount/bpmn", params={"version": 7})).status_code == 404

    assert (await http.delete(f"{DEFS}/discount")).status_code == 204
    r = await http.post(f"{DEFS}/import-bpmn", content=xml.encode(), headers={"Content-Type": "application/xml"})
    assert r.status_code == 201, r.text
    assert [n["id"] for n in r.json()["nodes"]] == [n["id"] for n in DISCOUNT["nodes"]]
    assert r.json()["nodes"][2]["fields"] == DISCOUNT["nodes"][2]["fields"]

    r = await http.post(f"{DEFS}/import-bpmn", content=b"<bpmn:definitions", headers={"Content-Type": "application/xml"})
    assert r.status_code == 422 and r.json()["errors"]
    r = await http.post(f"{DEFS}/import-bpmn", json=DISCOUNT)
    assert r.status_code == 415
    assert await _count(sales.world.ctx, processes) == 1
