"""Issue 14's engine additions on the P2 discount approval and the P7 deadlines, on both databases
with a frozen clock: delegation (委托) during a date range, urging (催办) at most once an hour,
escalation climbing over absent managers, and the old approval mode `any` read as `single`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from engine.api.context import Context
from engine.auth.tables import users as users_table
from engine.core.clock import FrozenClock
from engine.process.tables import process_versions, processes
from tests.scenarios.process_world import START, ProcessWorld, process_world
from tests.scenarios.process_world import email as email_of
from tests.scenarios.test_notification_names import sent_mail, text_of
from tests.scenarios.test_process_scenarios import approval, discount_process, hours, submit_quote

DELEGATIONS = "/api/v1/me/delegations"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def pw(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[ProcessWorld]:
    async with process_world(ctx, client, int(admin["id"])) as world:
        yield world


async def delegate(pw: ProcessWorld, who: str, to: str, days: int = 2, **scope: Any) -> dict[str, Any]:
    """`who` delegates to `to` from now for `days` days (scope: app, process)."""
    now = pw.clock.now()
    body = {"delegate": pw.users[to], "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=days)).isoformat(), **scope}
    r = await pw.clients[who].post(DELEGATIONS, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def timeline(pw: ProcessWorld, iid: int, who: str = "rep") -> list[dict[str, Any]]:
    r = await pw.clients[who].get(f"/api/v1/process-instances/{iid}")
    assert r.status_code == 200, r.text
    return r.json()["timeline"]  # type: ignore[no-any-return]


# -- delegation ----------------------------------------------------------------------------------
async def test_p2_a_delegated_manager_task_goes_to_the_delegate_on_behalf_of_the_manager(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    await delegate(pw, "sales_mgr", "finance", app="crm", process="discount_approval")
    _, iid = await submit_quote(pw, "15")
    assert await pw.assigned(iid) == [("manager", "finance", "pending", None)]
    assert await pw.pending("sales_mgr") == []
    [step] = [s for s in await timeline(pw, iid) if s["node_id"] == "manager"]
    [task] = step["tasks"]
    assert (task["assignee"]["name"], task["on_behalf_of"]) == ("finance", {"id": pw.users["sales_mgr"], "name": "sales_mgr"})
    assert [e["action"] for e in step["events"]] == ["delegated"]
    page = (await pw.clients["finance"].get(f"/api/v1/tasks/{task['task_id']}")).json()
    assert page["task"]["on_behalf_of"]["name"] == "sales_mgr"
    [item] = (await pw.clients["finance"].get("/api/v1/me/tasks", params={"box": "pending"})).json()["items"]
    assert (item["id"], item["on_behalf_of"]) == (task["task_id"], {"id": pw.users["sales_mgr"], "name": "sales_mgr"})
    await pw.act(task["task_id"], "approve", "finance")
    assert (await pw.assigned(iid))[1][1:3] == ("director", "pending")


async def test_p2_delegation_holds_only_inside_its_range_and_scope(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    await pw.publish(discount_process(key="other_approval"))
    await delegate(pw, "sales_mgr", "finance", days=1, app="crm", process="other_approval")
    _, iid = await submit_quote(pw, "15")  # another process: not delegated
    assert await pw.assigned(iid) == [("manager", "sales_mgr", "pending", None)]
    _, other = await submit_quote(pw, "15", key="other_approval")
    assert await pw.assigned(other) == [("manager", "finance", "pending", None)]
    pw.advance(days=1)  # the range ends (its end is exclusive)
    _, later = await submit_quote(pw, "15", key="other_approval")
    assert await pw.assigned(later) == [("manager", "sales_mgr", "pending", None)]


async def test_p2_delegation_chains_follow_and_a_deactivated_delegate_does_not_count(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    await delegate(pw, "sales_mgr", "finance")
    await delegate(pw, "finance", "legal")
    _, iid = await submit_quote(pw, "15")
    assert await pw.assigned(iid) == [("manager", "legal", "pending", None)]
    [task] = await pw.tasks(iid)
    assert task.on_behalf_of == pw.users["sales_mgr"]
    async with pw.ctx.db.write() as conn:
        await conn.execute(update(users_table).where(users_table.c.id == pw.users["legal"]).values(active=False))
    _, second = await submit_quote(pw, "15")
    assert await pw.assigned(second) == [("manager", "finance", "pending", None)]


# -- urge ----------------------------------------------------------------------------------------
async def test_p2_the_submitter_urges_at_most_once_an_hour(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    _, iid = await submit_quote(pw, "15")
    url = f"/api/v1/process-instances/{iid}/urge"
    for stranger in ("sales_mgr", "finance"):  # the assignee, and someone who cannot see the request
        assert (await pw.clients[stranger].post(url)).status_code == 404
    r = await pw.clients["rep"].post(url, json={"comment": "the customer waits"})
    assert r.status_code == 200, r.text
    assert r.json()["urged"] == [
        {"task_id": await pw.the_task("sales_mgr", iid), "assignee": {"id": pw.users["sales_mgr"], "name": "sales_mgr"}}
    ]
    assert (await pw.titles("sales_mgr"))[-1].endswith("the submitter is waiting for your decision")
    [urge] = [e for s in await timeline(pw, iid) for e in s["events"] if e["action"] == "urge"]
    assert (urge["actor"]["name"], urge["comment"]) == ("rep", "the customer waits")
    await pw.drain()  # the email goes out after the commit, through the delivery job
    [mail] = [m for m in sent_mail(pw.ctx) if "waiting for your decision" in m["Subject"]]
    assert mail["To"] == email_of("sales_mgr")
    assert "the customer waits" in text_of(mail) and ": Q 15" in text_of(mail)  # the comment, the quote by its name

    pw.advance(minutes=20)
    again = await pw.clients["rep"].post(url)
    assert again.status_code == 429 and again.headers["retry-after"] == "2400"
    assert again.headers["content-type"] == "application/problem+json"
    assert len([t for t in await pw.titles("sales_mgr") if "waiting for your decision" in t]) == 1
    pw.advance(minutes=40)
    assert (await pw.clients["rep"].post(url)).status_code == 200
    await pw.drain()
    assert len([m for m in sent_mail(pw.ctx) if "waiting for your decision" in m["Subject"]]) == 2


async def test_p2_urging_an_ended_request_is_a_conflict(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    _, iid = await submit_quote(pw, "15")
    await pw.withdraw(iid)
    r = await pw.clients["rep"].post(f"/api/v1/process-instances/{iid}/urge")
    assert r.status_code == 409, r.text


# -- escalation over absent managers ---------------------------------------------------------------
def deadline_process(assignees: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The rep's manager (or `assignees`) approves; after 24 hours the task goes up the chain."""
    doc = discount_process()
    doc["nodes"][3] = approval("manager", assignees or [{"type": "manager"}], deadline={"escalate": hours(24)})
    return doc


async def test_p7_escalation_climbs_two_levels_when_the_first_manager_is_away(pw: ProcessWorld) -> None:
    await pw.publish(deadline_process([{"type": "submitter"}]))  # the rep's own task: level 1 is sales_mgr
    _, iid = await submit_quote(pw, "15")
    await delegate(pw, "sales_mgr", "legal", days=5)
    async with pw.ctx.db.write() as conn:
        await conn.execute(update(users_table).where(users_table.c.id == pw.users["legal"]).values(active=False))
    pw.advance(hours=24)
    await pw.drain()
    assert await pw.assigned(iid) == [("manager", "rep", "done", "escalated"), ("manager", "director", "pending", None)]
    [escalation] = [e for e in await pw.events(iid) if e.action == "escalate"]
    assert escalation.data["absent"] == [pw.users["sales_mgr"]]


async def test_p7_escalation_climbs_over_a_manager_away_without_a_delegate(pw: ProcessWorld) -> None:
    await pw.publish(deadline_process())
    _, iid = await submit_quote(pw, "15")
    [mine] = await pw.pending("sales_mgr", iid)
    # The sales manager's own manager (the director) is away; their delegate has left the company.
    await delegate(pw, "director", "legal", days=5)
    async with pw.ctx.db.write() as conn:
        await conn.execute(update(users_table).where(users_table.c.id == pw.users["legal"]).values(active=False))
    pw.advance(hours=24)
    await pw.drain()
    [escalation] = [e for e in await pw.events(iid) if e.action == "escalate"]
    # Nobody is above the director: the escalation is noted and the task stays.
    assert escalation.data == {
        "assignee": pw.users["sales_mgr"],
        "to": None,
        "mode": "reassign",
        "absent": [pw.users["director"]],
    }
    assert await pw.pending("sales_mgr", iid) == [mine]


async def test_p7_escalation_to_a_manager_away_with_a_delegate_reaches_the_delegate(pw: ProcessWorld) -> None:
    await pw.publish(deadline_process())
    _, iid = await submit_quote(pw, "15")
    await delegate(pw, "director", "finance_director", days=5)
    pw.advance(hours=24)
    await pw.drain()
    assert await pw.assigned(iid) == [
        ("manager", "sales_mgr", "done", "escalated"), ("manager", "finance_director", "pending", None),
    ]  # fmt: skip
    escalated = (await pw.tasks(iid))[-1]
    assert (escalated.escalated, escalated.on_behalf_of) == (True, pw.users["director"])


# -- the old mode `any` ----------------------------------------------------------------------------
async def test_p2_mode_any_is_read_and_saved_as_single(pw: ProcessWorld) -> None:
    doc = discount_process(
        approval("chain", [{"type": "users", "users": ["director@example.com", "finance_director@example.com"]}], mode="any")
    )
    await pw.publish(doc)
    async with pw.ctx.db.read() as conn:  # save and reload: the stored draft and version say `single`
        draft = (await conn.execute(select(processes.c.definition).where(processes.c.key == "discount_approval"))).scalar_one()
        version = (await conn.execute(select(process_versions.c.definition))).scalar_one()
    assert [n.get("mode") for n in draft["nodes"] if n["id"] == "chain"] == ["single"]
    assert [n.get("mode") for n in version["nodes"] if n["id"] == "chain"] == ["single"]
    # a version stored before the change still runs: `any` decides at the first decision
    async with pw.ctx.db.write() as conn:
        old = {**version, "nodes": [{**n, "mode": "any"} if n["id"] == "chain" else n for n in version["nodes"]]}
        await conn.execute(update(process_versions).values(definition=old))
    pw.ctx.processes.forget("crm", "quote")
    _, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    await pw.act(await pw.the_task("finance_director", iid), "reject", "finance_director")
    assert ((await pw.instance(iid)).outcome, await pw.pending("director", iid)) == ("rejected", [])
