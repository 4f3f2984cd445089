"""The task inbox API: the four boxes, a task's page (the record as the node and the viewer's role
let them see it), acting on a task, and hostile input, on each database.

The world is the sales app of the rule scenarios: rep a1 submits an opportunity for a discount
approval; boss (a1's team manager) approves and may tick `important`; w1 is copied; then b1 and
w1 both sign. a2 is a1's team mate and a stranger to the request.
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
from engine.process.tables import events, tasks
from tests.people import errors
from tests.scenarios.process_desk import DEFS, clients_for
from tests.scenarios.process_desk import DISCOUNT as SHARED_DISCOUNT
from tests.scenarios.rules_world import build_world

# The manager may not transfer or add signers here: the inbox offers only what the node allows.
DISCOUNT: dict[str, Any] = copy.deepcopy(SHARED_DISCOUNT)
DISCOUNT["nodes"][2]["actions"] = ["approve", "reject", "return", "comment"]


class Desk:
    """The world with the discount process published, one API client per person."""

    def __init__(self, ctx: Context, users: dict[str, int], clients: dict[str, httpx.AsyncClient]) -> None:
        self.ctx, self.users, self.clients = ctx, users, clients

    def __getitem__(self, who: str) -> httpx.AsyncClient:
        return self.clients[who]

    async def request(self, name: str = "Big deal", amount: str = "5000") -> tuple[int, int]:
        """a1 creates an opportunity and submits it: (record id, instance id)."""
        r = await self["a1"].post("/api/v1/apps/sales/opportunity", json={"name": name, "amount": amount})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        r = await self["a1"].post(f"/api/v1/apps/sales/opportunity/{rid}/processes/discount")
        assert r.status_code == 201, r.text
        return rid, r.json()["id"]

    async def task_of(self, instance_id: int, who: str, kind: str = "approval") -> int:
        async with self.ctx.db.read() as conn:
            t = tasks.c
            query = select(t.id).where(t.instance_id == instance_id, t.assignee_id == self.users[who], t.kind == kind)
            return int((await conn.execute(query.order_by(t.id.desc()))).scalars().first() or 0)

    async def act(self, task_id: int, who: str, **body: Any) -> httpx.Response:
        return await self[who].post(f"/api/v1/tasks/{task_id}/actions", json=body)

    async def box(self, who: str, box: str, **params: Any) -> dict[str, Any]:
        r = await self[who].get("/api/v1/me/tasks", params={"box": box, **params})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def snapshot(self, instance_id: int) -> tuple[list[Any], int]:
        """Every task row of the instance and the number of its events: 'nothing changed' is equality."""
        async with self.ctx.db.read() as conn:
            rows = (await conn.execute(select(tasks).where(tasks.c.instance_id == instance_id).order_by(tasks.c.id))).all()
            n = (await conn.execute(select(func.count()).where(events.c.instance_id == instance_id))).scalar_one()
        return [tuple(r) for r in rows], int(n)


@pytest.fixture
async def desk(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[Desk]:
    world = await build_world(ctx, client, int(admin["id"]))
    r = await client.post(DEFS, json=DISCOUNT)
    assert r.status_code == 201, r.text
    assert (await client.post(f"{DEFS}/discount/publish")).status_code == 200
    async with AsyncExitStack() as stack:
        clients = await clients_for(ctx, world, stack)
        yield Desk(ctx, world.users, clients)


# -- acting --------------------------------------------------------------------------------------
async def test_only_the_assignee_acts_and_only_once(desk: Desk) -> None:
    rid, iid = await desk.request()
    task = await desk.task_of(iid, "boss")
    before = await desk.snapshot(iid)
    for who in ("a2", "a1", "w1"):  # a stranger, the submitter, the person copied: not their task
        r = await desk.act(task, who, action="approve")
        assert r.status_code == 404, (who, r.text)
    assert await desk.snapshot(iid) == before

    r = await desk.act(task, "boss", action="approve", comment="ok", values={"important": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["state"], body["decision"], body["comment"]) == (task, "done", "approve", "ok")
    assert body["acted_by"]["id"] == desk.users["boss"] and body["node_label"] == "Manager"
    record = (await desk["admin"].get(f"/api/v1/apps/sales/opportunity/{rid}")).json()
    assert record["important"] is True  # the editable field was written with the approval

    again = await desk.act(task, "boss", action="approve")
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert (await desk.act(999_999, "boss", action="approve")).status_code == 404


async def test_the_last_signature_completes_the_request(desk: Desk) -> None:
    rid, iid = await desk.request()
    assert (await desk.act(await desk.task_of(iid, "boss"), "boss", action="approve")).status_code == 200
    for who in ("b1", "w1"):
        r = await desk.act(await desk.task_of(iid, who), who, action="approve")
        assert r.status_code == 200, r.text
    instance = (await desk["a1"].get(f"/api/v1/process-instances/{iid}")).json()
    assert (instance["state"], instance["outcome"]) == ("completed", "approved")
    assert (await desk["admin"].get(f"/api/v1/apps/sales/opportunity/{rid}")).json()["status"] == "won"


async def test_editing_a_field_the_node_does_not_open_is_refused(desk: Desk) -> None:
    rid, iid = await desk.request()
    task = await desk.task_of(iid, "boss")
    before = await desk.snapshot(iid)
    r = await desk.act(task, "boss", action="approve", values={"amount": "1", "important": True})
    assert r.status_code == 422 and errors(r) == [("/values/amount", "not_editable")]
    assert await desk.snapshot(iid) == before
    record = (await desk["admin"].get(f"/api/v1/apps/sales/opportunity/{rid}")).json()
    assert (record["amount"], record["important"]) == (5000, False)


# -- a task's page -------------------------------------------------------------------------------
async def test_task_page_shows_what_the_node_and_the_role_allow(desk: Desk) -> None:
    role = {"key": "approver", "label": {"en": "Approver"},
            "grants": [{"entity": "sales.*", "read": "team", "update": "team", "hidden_fields": ["amount"]}]}  # fmt: skip
    assert (await desk["admin"].post("/api/v1/admin/roles", json=role)).status_code == 201
    r = await desk["admin"].put(f"/api/v1/admin/users/{desk.users['boss']}/roles", json={"roles": ["approver"]})
    assert r.status_code == 200, r.text
    rid, iid = await desk.request()
    task = await desk.task_of(iid, "boss")

    r = await desk["boss"].get(f"/api/v1/tasks/{task}")
    assert r.status_code == 200, r.text
    page = r.json()
    record = page["record"]
    assert record["id"] == rid and record["name"] == "Big deal" and record["important"] is False
    assert "status" not in record  # the node does not show it
    assert "amount" not in record  # boss's role hides it
    assert page["editable"] == ["important"] and page["required"] == []
    assert page["actions"] == ["approve", "reject", "return", "comment"] and page["return_to"] == ["submitter"]
    assert page["comment_required"] == []  # this node refuses no action for want of a comment
    assert page["task"]["state"] == "pending" and page["task"]["node_id"] == "manager" and page["task"]["overdue"] is False
    assert page["instance"]["id"] == iid and page["instance"]["process"] == "discount"
    assert [s["node_id"] for s in page["timeline"]] == ["start", "big", "manager"]

    assert (await desk["admin"].get(f"/api/v1/tasks/{task}")).json()["record"]["amount"] == 5000  # nothing hidden from admins
    for who in ("a1", "a2", "b1"):
        assert (await desk[who].get(f"/api/v1/tasks/{task}")).status_code == 404, who
    assert (await desk["boss"].get("/api/v1/tasks/999999")).status_code == 404


async def test_a_handled_task_page_offers_no_action(desk: Desk) -> None:
    _, iid = await desk.request()
    task = await desk.task_of(iid, "boss")
    assert (await desk.act(task, "boss", action="approve")).status_code == 200
    page = (await desk["boss"].get(f"/api/v1/tasks/{task}")).json()
    assert page["task"]["decision"] == "approve" and page["actions"] == [] and page["editable"] == []


# -- the inbox -----------------------------------------------------------------------------------
async def test_each_box_holds_the_right_items(desk: Desk) -> None:
    first_rid, first = await desk.request(name="First")
    _, second = await desk.request(name="Second")

    pending = (await desk.box("boss", "pending"))["items"]
    assert [(i["instance_id"], i["node_id"], i["kind"]) for i in pending] == [
        (second, "manager", "approval"),
        (first, "manager", "approval"),
    ]
    item = pending[1]
    assert (item["process"], item["process_label"], item["node_label"]) == ("discount", {"en": "Discount approval"}, "Manager")
    assert (item["app"], item["entity"], item["record_id"], item["record_display"]) == (
        "sales",
        "opportunity",
        first_rid,
        "First",
    )
    assert item["state"] == "pending" and item["decision"] is None and item["overdue"] is False and item["created_at"]

    started = (await desk.box("a1", "started"))["items"]
    assert [(i["id"], i["record_display"], i["state"]) for i in started] == [
        (second, "Second", "running"),
        (first, "First", "running"),
    ]
    cc = (await desk.box("w1", "cc"))["items"]
    assert [(i["instance_id"], i["kind"]) for i in cc] == [(second, "cc"), (first, "cc")]
    assert (await desk.box("w1", "pending"))["items"] == []  # a copy is no task to do
    assert (await desk.box("boss", "handled"))["items"] == []

    task = pending[1]["id"]
    assert (await desk.act(task, "boss", action="reject", comment="too much")).status_code == 200
    handled = (await desk.box("boss", "handled"))["items"]
    assert [(i["id"], i["decision"], i["state"]) for i in handled] == [(task, "reject", "done")]
    assert [i["instance_id"] for i in (await desk.box("boss", "pending"))["items"]] == [second]
    ended = (await desk.box("a1", "started"))["items"][1]
    assert (ended["state"], ended["outcome"]) == ("completed", "rejected")
    for who, box in (("a2", "pending"), ("a2", "started"), ("a2", "handled"), ("a2", "cc"), ("a1", "pending")):
        assert (await desk.box(who, box))["items"] == [], (who, box)


async def test_the_inbox_pages_with_a_cursor(desk: Desk) -> None:
    ids = [(await desk.request(name=f"Deal {n}"))[1] for n in range(3)]
    seen: list[int] = []
    cursor = None
    for _ in range(3):
        page = await desk.box("boss", "pending", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["instance_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1] and cursor is None
    r = await desk["boss"].get("/api/v1/me/tasks", params={"box": "everything"})
    assert r.status_code == 422 and errors(r)[0][0] == "/query/box"
    r = await desk["boss"].get("/api/v1/me/tasks", params={"limit": 0})
    assert r.status_code == 422


# -- hostile input -------------------------------------------------------------------------------
async def test_hostile_action_bodies_are_refused_and_change_nothing(desk: Desk) -> None:
    rid, iid = await desk.request()
    task = await desk.task_of(iid, "boss")
    url = f"/api/v1/tasks/{task}/actions"
    before = await desk.snapshot(iid)
    boss = desk["boss"]

    r = await boss.post(url, content=b'{"action": "approve",', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    r = await boss.post(url, content=b"action=approve", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = await desk.act(task, "boss", action="approve", bogus=True)
    assert r.status_code == 422 and ("/bogus", "extra_forbidden") in errors(r)
    r = await desk.act(task, "boss", action="approve", comment="x" * 4001)
    assert r.status_code == 422 and [p for p, _ in errors(r)] == ["/comment"]
    r = await desk.act(task, "boss", action="complete")  # a fill task's action, not an approval's
    assert r.status_code == 422 and errors(r) == [("/action", "action")]
    r = await desk.act(task, "boss", action="transfer", user="b1@example.com")  # not among this node's actions
    assert r.status_code == 422 and errors(r) == [("/action", "action")]
    r = await desk.act(task, "boss", action="return", to="nowhere")
    assert r.status_code == 422 and errors(r) == [("/to", "return_target")]
    r = await desk.act(task, "boss", action="launch")
    assert r.status_code == 422 and [p for p, _ in errors(r)] == ["/action"]
    r = await desk.act(task, "boss", action="comment", comment="   ")
    assert r.status_code == 422 and errors(r) == [("/comment", "required")]
    r = await boss.post(url, json=["approve"])
    assert r.status_code == 422
    assert (await boss.post("/api/v1/tasks/0/actions", json={"action": "approve"})).status_code == 422
    assert (await boss.post("/api/v1/tasks/99999999999999999999/actions", json={"action": "approve"})).status_code == 422

    assert await desk.snapshot(iid) == before
    assert (await desk["admin"].get(f"/api/v1/apps/sales/opportunity/{rid}")).json()["version"] == 1
