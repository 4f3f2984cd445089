"""SCENARIOS.md P1-P7, each drawn as a builder would draw it and run on a small real app
(tests/scenarios/process_world.py) on both databases, with a frozen clock: people act through the
process services, records change through the HTTP API, deadlines and timers fire when a test moves
the clock and drains the job queue. Also: return, transfer, add a signer, timers, and versions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import httpx
import pytest

from engine.api.context import Context
from engine.core.clock import FrozenClock
from engine.core.errors import NotFound, ValidationFailed
from tests.scenarios.process_world import START, ProcessWorld, email, process_world


@pytest.fixture
def clock() -> FrozenClock:
    """Processes run on a frozen clock: time moves only when a test says so."""
    return FrozenClock(START)


@pytest.fixture
async def pw(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> AsyncIterator[ProcessWorld]:
    async with process_world(ctx, client, int(admin["id"])) as world:
        yield world


def users(*who: str) -> list[dict[str, Any]]:
    return [{"type": "users", "users": [email(w) for w in who]}]


def gt(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": "gt", "value": value}


def eq(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": "eq", "value": value}


def hours(n: int) -> dict[str, Any]:
    return {"amount": n, "unit": "hours"}


def approval(node_id: str, assignees: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "approval", "assignees": assignees, **extra}


def fill(node_id: str, assignees: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "fill", "assignees": assignees, **extra}


def set_fields(node_id: str, **values: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "service", "actions": [{"type": "set_fields", "values": values}]}


def chain(*ids: str) -> list[dict[str, Any]]:
    """Edges through the nodes in order."""
    return [{"from": a, "to": b} for a, b in pairwise(ids)]


def duration(step: Any) -> timedelta:
    assert step.ended_at is not None, f"step {step.node_id} is still open"
    return step.ended_at - step.started_at


# -- P2 discount approval ------------------------------------------------------------------------
def discount_process(approvers: dict[str, Any] | None = None, key: str = "discount_approval") -> dict[str, Any]:
    """Discount > 10 %: the submitter's manager, then `approvers` (by default the chain "sales director,
    then finance director"); otherwise approved at once. The discount is locked while it runs."""
    second = approvers or approval("chain", users("director", "finance_director"), mode="sequential")
    return {
        "key": key, "entity": "quote", "label": {"en": "Discount approval"}, "lock": "fields", "lock_fields": ["discount"],
        "nodes": [
            {"id": "start", "type": "start"},
            set_fields("submitted", status="pending"),
            {"id": "big", "type": "exclusive"},
            approval("manager", [{"type": "manager"}]),
            {**second, "id": "chain"},
            {"id": "approved", "type": "end", "outcome": "approved", "set": {"status": "approved"}},
            {"id": "rejected", "type": "end", "outcome": "rejected", "set": {"status": "rejected"}},
        ],
        "edges": [
            *chain("start", "submitted", "big"),
            {"from": "big", "to": "manager", "condition": gt("discount", 10)},
            {"from": "big", "to": "approved", "default": True},
            {"from": "manager", "to": "chain"},
            {"from": "manager", "to": "rejected", "outcome": "rejected"},
            {"from": "chain", "to": "approved"},
            {"from": "chain", "to": "rejected", "outcome": "rejected"},
        ],
    }  # fmt: skip


async def submit_quote(pw: ProcessWorld, discount: str, key: str = "discount_approval") -> tuple[int, int]:
    """The rep creates a quote and submits it; (quote id, instance id)."""
    quote = await pw.create("quote", name=f"Q {discount}", amount="20000", discount=discount)
    return quote["id"], await pw.start("quote", quote["id"], key)


async def test_p2_discount_over_10_percent_needs_two_level_countersign(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    quote_id, iid = await submit_quote(pw, "15")
    assert (await pw.get("quote", quote_id))["status"] == "pending"
    assert await pw.assigned(iid) == [("manager", "sales_mgr", "pending", None)]  # the rep's team manager
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    # the chain: the finance director's turn comes after the sales director's
    assert (await pw.assigned(iid))[1:] == [("chain", "director", "pending", None), ("chain", "finance_director", "queued", None)]
    assert await pw.pending("finance_director") == []
    await pw.act(await pw.the_task("director", iid), "approve", "director", comment="fine by me")
    assert (await pw.instance(iid)).state == "running"
    await pw.act(await pw.the_task("finance_director", iid), "approve", "finance_director")
    inst = await pw.instance(iid)
    assert (inst.state, inst.outcome, inst.lock, inst.running_key) == ("completed", "approved", None, None)
    assert (await pw.get("quote", quote_id))["status"] == "approved"
    assert await pw.path(iid) == [
        ("start", "done"), ("submitted", "done"), ("big", "done"), ("manager", "approved"), ("chain", "approved"),
        ("approved", "approved"),
    ]  # fmt: skip
    assert await pw.assigned(iid) == [
        ("manager", "sales_mgr", "done", "approve"), ("chain", "director", "done", "approve"),
        ("chain", "finance_director", "done", "approve"),
    ]  # fmt: skip
    assert [e.comment for e in await pw.events(iid) if e.action == "approve"] == [None, "fine by me", None]
    # the submitter is told the outcome
    assert any("approved" in t for t in await pw.titles("rep"))


async def test_p2_discount_up_to_10_percent_is_approved_without_tasks(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    quote_id, iid = await submit_quote(pw, "10")
    inst = await pw.instance(iid)
    assert (inst.state, inst.outcome) == ("completed", "approved")
    assert await pw.tasks(iid) == []
    assert (await pw.get("quote", quote_id))["status"] == "approved"
    assert await pw.path(iid) == [("start", "done"), ("submitted", "done"), ("big", "done"), ("approved", "approved")]


@pytest.mark.parametrize("rejecter", ["sales_mgr", "director", "finance_director"])
async def test_p2_a_rejection_anywhere_rejects_the_quote(pw: ProcessWorld, rejecter: str) -> None:
    await pw.publish(discount_process())
    quote_id, iid = await submit_quote(pw, "20")
    for who in ("sales_mgr", "director", "finance_director"):
        action = "reject" if who == rejecter else "approve"
        await pw.act(await pw.the_task(who, iid), action, who, comment="too much" if action == "reject" else None)
        if who == rejecter:
            break
    inst = await pw.instance(iid)
    assert (inst.state, inst.outcome, inst.lock) == ("completed", "rejected", None)
    assert (await pw.get("quote", quote_id))["status"] == "rejected"
    assert await pw.path(iid) == [
        *[("start", "done"), ("submitted", "done"), ("big", "done")],
        ("manager", "rejected" if rejecter == "sales_mgr" else "approved"),
        *([] if rejecter == "sales_mgr" else [("chain", "rejected")]),
        ("rejected", "rejected"),
    ]
    # nobody is left with something to do on a rejected quote
    assert [t for t in await pw.tasks(iid) if t.state in ("pending", "queued")] == []
    if rejecter == "director":
        assert (await pw.assigned(iid))[-1] == ("chain", "finance_director", "cancelled", None)


async def test_p2_the_discount_is_locked_while_the_approval_runs(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    quote_id, iid = await submit_quote(pw, "15")
    r = await pw.patch("quote", quote_id, discount="30")
    assert r.status_code == 422, r.text
    assert [(e["path"], e["code"]) for e in r.json()["errors"]] == [("/discount", "locked")]
    assert (await pw.update("quote", quote_id, name="Renamed"))["name"] == "Renamed"  # only the discount is locked
    for who in ("sales_mgr", "director", "finance_director"):
        await pw.act(await pw.the_task(who, iid), "approve", who)
    assert Decimal((await pw.update("quote", quote_id, discount="30"))["discount"]) == 30  # editable once it ended


async def test_p2_the_submitter_withdraws_and_may_edit_again(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    quote_id, iid = await submit_quote(pw, "15")
    with pytest.raises(NotFound):
        await pw.withdraw(iid, "sales_mgr")  # only the submitter (or an administrator) may
    await pw.withdraw(iid, "rep", "customer changed their mind")
    inst = await pw.instance(iid)
    assert (inst.state, inst.outcome, inst.lock, inst.running_key) == ("withdrawn", None, None, None)
    assert await pw.assigned(iid) == [("manager", "sales_mgr", "cancelled", None)]
    assert await pw.pending("sales_mgr") == []
    assert ("manager", "cancelled") in await pw.path(iid)
    assert Decimal((await pw.update("quote", quote_id, discount="9"))["discount"]) == 9
    again = await pw.start("quote", quote_id, "discount_approval")  # a withdrawn request may be submitted again
    assert (await pw.instance(again)).outcome == "approved"


COUNTERSIGNERS = ("director", "finance_director", "legal")


async def test_p2_countersign_all_needs_every_signer(pw: ProcessWorld) -> None:
    await pw.publish(discount_process(approval("chain", users(*COUNTERSIGNERS), mode="all")))
    quote_id, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    assert [(n, w, s) for n, w, s, _ in (await pw.assigned(iid))[1:]] == [("chain", w, "pending") for w in COUNTERSIGNERS]
    for i, who in enumerate(COUNTERSIGNERS):
        assert (await pw.instance(iid)).state == "running", f"decided after {i} of 3 signatures"
        await pw.act(await pw.the_task(who, iid), "approve", who)
    assert (await pw.instance(iid)).outcome == "approved"
    assert (await pw.get("quote", quote_id))["status"] == "approved"


async def test_p2_countersign_all_one_rejection_rejects(pw: ProcessWorld) -> None:
    await pw.publish(discount_process(approval("chain", users(*COUNTERSIGNERS), mode="all")))
    _, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    await pw.act(await pw.the_task("director", iid), "approve", "director")
    await pw.act(await pw.the_task("legal", iid), "reject", "legal")
    assert (await pw.instance(iid)).outcome == "rejected"
    assert (await pw.assigned(iid))[1:] == [
        ("chain", "director", "done", "approve"), ("chain", "finance_director", "cancelled", None),
        ("chain", "legal", "done", "reject"),
    ]  # fmt: skip


async def test_p2_any_one_signer_decides(pw: ProcessWorld) -> None:
    await pw.publish(discount_process(approval("chain", users(*COUNTERSIGNERS), mode="any")))
    _, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    await pw.act(await pw.the_task("finance_director", iid), "approve", "finance_director")
    assert (await pw.instance(iid)).outcome == "approved"
    assert (await pw.assigned(iid))[1:] == [
        ("chain", "director", "cancelled", None), ("chain", "finance_director", "done", "approve"),
        ("chain", "legal", "cancelled", None),
    ]  # fmt: skip
    _, second = await submit_quote(pw, "16")
    await pw.act(await pw.the_task("sales_mgr", second), "approve", "sales_mgr")
    await pw.act(await pw.the_task("legal", second), "reject", "legal")
    assert (await pw.instance(second)).outcome == "rejected"  # in "any" mode the first rejection rejects too


PANEL = ("director", "finance_director", "finance", "legal", "engineer")  # five voters: 60 % is three


async def test_p2_percent_60_approves_on_the_third_of_five(pw: ProcessWorld) -> None:
    await pw.publish(discount_process(approval("chain", users(*PANEL), mode="percent", percent=60)))
    _, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    await pw.act(await pw.the_task("legal", iid), "reject", "legal")  # one no does not sink it
    for i, who in enumerate(PANEL[:3]):
        assert (await pw.instance(iid)).state == "running", f"decided after {i} approvals"
        await pw.act(await pw.the_task(who, iid), "approve", who)
    assert (await pw.instance(iid)).outcome == "approved"
    decisions = {w: (s, d) for n, w, s, d in await pw.assigned(iid) if n == "chain"}
    assert decisions == {
        "director": ("done", "approve"), "finance_director": ("done", "approve"), "finance": ("done", "approve"),
        "legal": ("done", "reject"), "engineer": ("cancelled", None),
    }  # fmt: skip


async def test_p2_percent_60_rejects_once_three_of_five_cannot_be_reached(pw: ProcessWorld) -> None:
    await pw.publish(discount_process(approval("chain", users(*PANEL), mode="percent", percent=60)))
    _, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    await pw.act(await pw.the_task("director", iid), "approve", "director")
    await pw.act(await pw.the_task("legal", iid), "reject", "legal")
    await pw.act(await pw.the_task("finance", iid), "reject", "finance")
    assert (await pw.instance(iid)).state == "running"  # 1 yes + 2 open can still make 3
    await pw.act(await pw.the_task("engineer", iid), "reject", "engineer")
    assert (await pw.instance(iid)).outcome == "rejected"  # 1 yes + 1 open cannot
    assert ("chain", "finance_director", "cancelled", None) in await pw.assigned(iid)


# -- P1 lead-to-cash (the quote-to-order part) --------------------------------------------------
def lead_to_cash() -> dict[str, Any]:
    return {
        "key": "quote_to_order", "entity": "quote", "label": {"en": "Quote to order"},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "amount", "type": "exclusive"},
            approval("director", [{"type": "role", "role": "sales_director"}]),
            {"id": "make_order", "type": "service", "actions": [
                {"type": "set_fields", "values": {"status": "approved"}},
                {"type": "create_record", "entity": "order", "link": "quote",
                 "values": {"number": {"formula": "'SO-' & name"}, "amount": {"formula": "amount"}}},
                {"type": "notify", "to": ["owner", {"team": "warehouse"}], "title": "Order for {{ record.name }}"},
            ]},
            {"id": "done", "type": "end", "outcome": "approved"},
            {"id": "declined", "type": "end", "outcome": "rejected", "set": {"status": "rejected"}},
        ],
        "edges": [
            {"from": "start", "to": "amount"},
            {"from": "amount", "to": "director", "condition": gt("amount", 50000)},
            {"from": "amount", "to": "make_order", "default": True},
            {"from": "director", "to": "make_order"},
            {"from": "director", "to": "declined", "outcome": "rejected"},
            {"from": "make_order", "to": "done"},
        ],
    }  # fmt: skip


async def test_p1_big_quote_goes_to_the_sales_director_then_becomes_an_order(pw: ProcessWorld) -> None:
    await pw.publish(lead_to_cash())
    quote = await pw.create("quote", name="Plant", amount="80000", discount="5")
    iid = await pw.start("quote", quote["id"], "quote_to_order")
    assert await pw.items("order") == []  # nothing is ordered before the director approves
    await pw.act(await pw.the_task("director", iid), "approve", "director")
    orders = await pw.items("order")
    assert [(o["number"], Decimal(o["amount"]), o["quote"], o["owner"]) for o in orders] == [
        ("SO-Plant", 80000, quote["id"], pw.users["rep"])
    ]
    assert (await pw.get("quote", quote["id"]))["status"] == "approved"
    assert "Order for Plant" in await pw.titles("rep")
    assert "Order for Plant" in await pw.titles("warehouse")
    assert await pw.path(iid) == [
        ("start", "done"),
        ("amount", "done"),
        ("director", "approved"),
        ("make_order", "done"),
        ("done", "approved"),
    ]
    service = [e for e in await pw.events(iid) if e.action == "service"]
    assert [d["type"] for d in service[0].data["done"]] == ["set_fields", "create_record", "notify"]


async def test_p1_small_quote_is_approved_and_ordered_without_the_director(pw: ProcessWorld) -> None:
    await pw.publish(lead_to_cash())
    quote = await pw.create("quote", name="Spare parts", amount="50000")
    iid = await pw.start("quote", quote["id"], "quote_to_order")
    assert (await pw.instance(iid)).outcome == "approved"
    assert await pw.tasks(iid) == []
    assert [o["number"] for o in await pw.items("order")] == ["SO-Spare parts"]


async def test_p1_declined_big_quote_makes_no_order(pw: ProcessWorld) -> None:
    await pw.publish(lead_to_cash())
    quote = await pw.create("quote", name="Plant", amount="80000")
    iid = await pw.start("quote", quote["id"], "quote_to_order")
    await pw.act(await pw.the_task("director", iid), "reject", "director", comment="margin too thin")
    assert (await pw.instance(iid)).outcome == "rejected"
    assert (await pw.get("quote", quote["id"]))["status"] == "rejected"
    assert await pw.items("order") == []


# -- P3 order processing -------------------------------------------------------------------------
ORDER_PROCESS: dict[str, Any] = {
    "key": "order_processing", "entity": "order", "label": {"en": "Order processing"},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "route", "type": "exclusive"},
        {"id": "split", "type": "parallel"},
        approval("head", [{"type": "manager"}]),
        approval("finance_review", [{"type": "role", "role": "finance"}]),
        {"id": "join", "type": "parallel"},
        approval("custom_head", [{"type": "manager"}]),
        {"id": "ship", "type": "service", "actions": [
            {"type": "set_fields", "values": {"status": "approved"}},
            {"type": "notify", "to": [{"team": "warehouse"}], "title": "Ship order {{ record.number }}"},
        ]},
        fill("invoice", [{"type": "role", "role": "finance"}], label={"en": "Issue invoice"}),
        {"id": "done", "type": "end", "outcome": "approved"},
    ],
    "edges": [
        {"from": "start", "to": "route"},
        {"from": "route", "to": "split", "condition": gt("amount", 100000), "label": {"en": "big"}},
        {"from": "route", "to": "custom_head", "condition": eq("product_type", "custom"), "label": {"en": "custom"}},
        {"from": "route", "to": "ship", "default": True},
        *chain("split", "head", "join"), *chain("split", "finance_review", "join"),
        *chain("join", "ship"), *chain("custom_head", "ship"), *chain("ship", "invoice", "done"),
    ],
}  # fmt: skip


async def test_p3_big_order_goes_to_head_and_finance_in_parallel_and_records_every_duration(pw: ProcessWorld) -> None:
    await pw.publish(ORDER_PROCESS)
    order = await pw.create("order", number="SO-1", amount="250000", product_type="standard")
    iid = await pw.start("order", order["id"], "order_processing")
    assert await pw.assigned(iid) == [("head", "sales_mgr", "pending", None), ("finance_review", "finance", "pending", None)]
    pw.advance(hours=2)
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    assert await pw.titles("warehouse") == []  # the join waits for finance
    pw.advance(hours=3)
    await pw.act(await pw.the_task("finance", iid), "approve", "finance")
    assert (await pw.get("order", order["id"]))["status"] == "approved"
    assert await pw.titles("warehouse") == ["Ship order SO-1"]
    invoice = await pw.the_task("finance", iid)  # the "issue invoice" to-do
    assert (await pw.tasks(iid))[-1].node_id == "invoice"
    pw.advance(days=1)
    await pw.act(invoice, "complete", "finance", comment="INV-2026-001")
    inst = await pw.instance(iid)
    assert (inst.state, inst.outcome, inst.ended_at - inst.started_at) == ("completed", "approved", timedelta(hours=29))
    # every node's duration, to the second, from the frozen clock
    h = timedelta(hours=1)
    timeline = sorted(((s.node_id, s.started_at - START, duration(s)) for s in await pw.timeline(iid)), key=repr)
    assert timeline == sorted([
        ("start", 0 * h, 0 * h), ("route", 0 * h, 0 * h), ("split", 0 * h, 0 * h),
        ("head", 0 * h, 2 * h), ("finance_review", 0 * h, 5 * h),
        ("join", 2 * h, 3 * h),  # the head's branch waited at the join for finance
        ("join", 5 * h, 0 * h), ("ship", 5 * h, 0 * h), ("invoice", 5 * h, 24 * h), ("done", 29 * h, 0 * h),
    ], key=repr)  # fmt: skip


@pytest.mark.parametrize(
    ("amount", "product_type", "first"),
    [("250000", "custom", [("head", "sales_mgr"), ("finance_review", "finance")]),  # the first matching edge wins
     ("5000", "custom", [("custom_head", "sales_mgr")]),
     ("5000", "standard", [("invoice", "finance")])],
)  # fmt: skip
async def test_p3_orders_are_routed_by_amount_and_product_type(
    pw: ProcessWorld, amount: str, product_type: str, first: list[tuple[str, str]]
) -> None:
    await pw.publish(ORDER_PROCESS)
    order = await pw.create("order", number="SO-2", amount=amount, product_type=product_type)
    iid = await pw.start("order", order["id"], "order_processing")
    assert [(node, who) for node, who, _, _ in await pw.assigned(iid)] == first
    shipped = first[0][0] == "invoice"
    assert (await pw.titles("warehouse") == ["Ship order SO-2"]) is shipped


async def test_p3_finance_rejecting_a_big_order_cancels_the_heads_task(pw: ProcessWorld) -> None:
    await pw.publish(ORDER_PROCESS)
    order = await pw.create("order", number="SO-3", amount="250000")
    iid = await pw.start("order", order["id"], "order_processing")
    await pw.act(await pw.the_task("finance", iid), "reject", "finance", comment="credit limit")
    inst = await pw.instance(iid)
    assert (inst.state, inst.outcome) == ("completed", "rejected")
    assert await pw.assigned(iid) == [("head", "sales_mgr", "cancelled", None), ("finance_review", "finance", "done", "reject")]
    assert await pw.titles("warehouse") == []
    assert (await pw.get("order", order["id"]))["status"] == "new"


# -- P4 service ticket lifecycle -----------------------------------------------------------------
def ticket_process() -> dict[str, Any]:
    mine = [{"type": "field", "field": "engineer"}]
    return {
        "key": "ticket_lifecycle", "entity": "ticket", "label": {"en": "Ticket"}, "start": {"manual": False, "on_create": True},
        "nodes": [
            {"id": "start", "type": "start"},
            fill("accept", users("engineer"), fields={"editable": ["state", "first_response_at"]}),
            fill("diagnose", users("engineer")),
            set_fields("diagnosed", state="diagnosed"),
            fill("dispatch", users("service_lead"), fields={"editable": ["engineer"]}),
            set_fields("dispatched", state="dispatched"),
            fill("handle", mine, deadline={"remind": hours(20), "escalate": hours(24), "escalate_mode": "reassign"}),
            set_fields("handled", state="handled"),
            fill("visit", users("engineer2")),
            set_fields("visited", state="visited"),
            {"id": "closed", "type": "end", "set": {"state": "closed"}},
        ],
        "edges": chain("start", "accept", "diagnose", "diagnosed", "dispatch", "dispatched", "handle", "handled", "visit",
                       "visited", "closed"),
    }  # fmt: skip


async def test_p4_ticket_lifecycle_with_state_and_a_24h_deadline_on_handling(pw: ProcessWorld) -> None:
    await pw.publish(ticket_process())
    ticket = await pw.create("ticket", subject="Pump leaks", urgency="high")
    assert await pw.instances_of("ticket", ticket["id"]) == []  # started by the job queue, not in the save
    await pw.drain()
    [inst] = await pw.instances_of("ticket", ticket["id"])
    iid = inst.id

    async def state() -> str:
        return str((await pw.get("ticket", ticket["id"]))["state"])

    assert await state() == "new"
    answered = pw.advance(hours=1)
    await pw.act(await pw.the_task("engineer", iid), "complete", "engineer",
                 values={"state": "accepted", "first_response_at": answered.isoformat()})  # fmt: skip
    assert await state() == "accepted"
    assert (await pw.get("ticket", ticket["id"]))["first_response_at"].startswith("2026-11-23T08:00")
    await pw.act(await pw.the_task("engineer", iid), "complete", "engineer", comment="seal worn out")
    assert await state() == "diagnosed"
    await pw.act(await pw.the_task("service_lead", iid), "complete", "service_lead", values={"engineer": pw.users["engineer"]})
    assert await state() == "dispatched"
    handle = await pw.the_task("engineer", iid)

    pw.advance(hours=19, minutes=59)
    await pw.drain()
    assert "remind" not in await pw.actions(iid)
    pw.advance(minutes=1)  # 20 hours after the task was given
    await pw.drain()
    assert (await pw.notifications("engineer"))[-1].title.startswith("Reminder:")
    assert await pw.pending("engineer", iid) == [handle]
    pw.advance(hours=4)  # 24 hours: handed to the engineer's team manager
    await pw.drain()
    assert await pw.pending("engineer", iid) == []
    [escalated] = [t for t in await pw.tasks(iid) if t.node_id == "handle" and t.escalated]
    assert (pw.who(escalated.assignee_id), escalated.state, escalated.origin_id) == ("service_lead", "pending", handle)
    assert [(t.state, t.decision) for t in await pw.tasks(iid) if t.id == handle] == [("done", "escalated")]
    assert (await pw.titles("service_lead"))[-1].endswith("to complete")
    [escalation] = [e for e in await pw.events(iid) if e.action == "escalate"]
    assert (escalation.actor_id, escalation.data) == (
        None,
        {"assignee": pw.users["engineer"], "to": pw.users["service_lead"], "mode": "reassign"},
    )
    assert await state() == "dispatched"  # the timeout is visible, the ticket did not move on by itself

    await pw.act(escalated.id, "complete", "service_lead")
    assert await state() == "handled"
    await pw.act(await pw.the_task("engineer2", iid), "complete", "engineer2")
    assert await state() == "closed"
    assert (await pw.instance(iid)).outcome == "done"
    assert [a for a in await pw.actions(iid) if a in ("remind", "escalate")] == ["remind", "escalate"]
    assert await pw.dead_jobs() == []


# -- P5 stage gate -------------------------------------------------------------------------------
STAGE_GATE: dict[str, Any] = {
    "key": "stage_gate", "entity": "opportunity", "label": {"en": "Needs analysis gate"},
    "lock": "fields", "lock_fields": ["stage"],
    "nodes": [
        {"id": "start", "type": "start"},
        set_fields("in_needs", stage="needs"),
        fill("needs_analysis", [{"type": "submitter"}], fields={"editable": ["needs_report"], "required": ["needs_report"]}),
        set_fields("to_proposal", stage="proposal"),
        {"id": "done", "type": "end"},
    ],
    "edges": chain("start", "in_needs", "needs_analysis", "to_proposal", "done"),
}  # fmt: skip
REPORT = "https://files.example.com/needs/acme.pdf"


async def test_p5_the_stage_moves_on_only_when_the_needs_report_is_there(pw: ProcessWorld) -> None:
    await pw.publish(STAGE_GATE)
    opp = await pw.create("opportunity", name="Acme line 2", amount="120000")
    iid = await pw.start("opportunity", opp["id"], "stage_gate")
    assert (await pw.get("opportunity", opp["id"]))["stage"] == "needs"
    r = await pw.patch("opportunity", opp["id"], stage="proposal")  # skipping the gate by hand
    assert r.status_code == 422 and [(e["path"], e["code"]) for e in r.json()["errors"]] == [("/stage", "locked")], r.text
    task = await pw.the_task("rep", iid)
    try:
        await pw.act(task, "complete", "rep")
    except ValidationFailed as exc:
        assert any("needs_report" in e.path for e in exc.errors), exc.errors
    else:
        pytest.fail(
            "ENGINE: completing a fill task whose fields.required value (needs_report) is empty must be refused "
            "(422 listing needs_report); engine/process/acts.py never checks node.cfg.fields.required"
        )
    assert await pw.pending("rep", iid) == [task]
    assert (await pw.get("opportunity", opp["id"]))["stage"] == "needs"
    await pw.act(task, "complete", "rep", values={"needs_report": REPORT})
    after = await pw.get("opportunity", opp["id"])
    assert (after["stage"], after["needs_report"]) == ("proposal", REPORT)
    assert (await pw.instance(iid)).state == "completed"
    assert (await pw.update("opportunity", opp["id"], stage="won"))["stage"] == "won"  # unlocked after the gate


async def test_p5_a_value_the_gate_does_not_let_you_edit_is_refused(pw: ProcessWorld) -> None:
    await pw.publish(STAGE_GATE)
    opp = await pw.create("opportunity", name="Acme line 3")
    iid = await pw.start("opportunity", opp["id"], "stage_gate")
    with pytest.raises(ValidationFailed) as refused:
        await pw.act(await pw.the_task("rep", iid), "complete", "rep", values={"needs_report": REPORT, "stage": "won"})
    assert [(e.path, e.code) for e in refused.value.errors] == [("/values/stage", "not_editable")]
    assert (await pw.get("opportunity", opp["id"]))["needs_report"] is None  # nothing of the refused action was kept


# -- P6 signed contract fans out -----------------------------------------------------------------
CONTRACT_KICKOFF: dict[str, Any] = {
    "key": "contract_kickoff", "entity": "contract", "label": {"en": "Contract kick-off"},
    "start": {"manual": False, "when": eq("status", "signed")},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "fan_out", "type": "parallel"},
        fill("production", users("warehouse"), label={"en": "Schedule production"}),
        fill("invoice", users("finance"), label={"en": "Request invoice"}),
        fill("kickoff", users("sales_mgr"), label={"en": "Project kick-off"}),
        {"id": "all_done", "type": "parallel"},
        {"id": "done", "type": "end", "set": {"status": "done"}},
    ],
    "edges": [
        *chain("start", "fan_out"),
        *chain("fan_out", "production", "all_done"), *chain("fan_out", "invoice", "all_done"),
        *chain("fan_out", "kickoff", "all_done"), *chain("all_done", "done"),
    ],
}  # fmt: skip


@pytest.mark.parametrize("order", [("warehouse", "finance", "sales_mgr"), ("sales_mgr", "warehouse", "finance")])
async def test_p6_signed_contract_fans_out_to_three_people_and_ends_after_all_three(
    pw: ProcessWorld, order: tuple[str, str, str]
) -> None:
    await pw.publish(CONTRACT_KICKOFF)
    contract = await pw.create("contract", name="Acme 2027", amount="900000")
    await pw.drain()
    assert await pw.instances_of("contract", contract["id"]) == []  # a draft starts nothing
    await pw.update("contract", contract["id"], status="signed")
    await pw.drain()
    [inst] = await pw.instances_of("contract", contract["id"])
    assert (inst.started_by, inst.state) == (pw.users["rep"], "running")
    assert sorted((n, w) for n, w, _, _ in await pw.assigned(inst.id)) == [
        ("invoice", "finance"),
        ("kickoff", "sales_mgr"),
        ("production", "warehouse"),
    ]
    for i, who in enumerate(order):
        assert (await pw.instance(inst.id)).state == "running", f"ended after {i} of 3 tasks"
        await pw.act(await pw.the_task(who, inst.id), "complete", who)
    ended = await pw.instance(inst.id)
    assert (ended.state, ended.outcome) == ("completed", "done")
    assert (await pw.get("contract", contract["id"]))["status"] == "done"
    assert [n for n, o in await pw.path(inst.id)].count("all_done") == 3  # each branch arrived once
    await pw.update("contract", contract["id"], name="Acme 2027 (final)")
    await pw.drain()
    assert len(await pw.instances_of("contract", contract["id"])) == 1  # only becoming signed starts it


async def test_p6_a_contract_saved_as_signed_twice_starts_once(pw: ProcessWorld) -> None:
    await pw.publish(CONTRACT_KICKOFF)
    contract = await pw.create("contract", name="Beta", status="signed")
    await pw.update("contract", contract["id"], amount="10")  # still signed: not "became signed" again
    await pw.drain()
    assert len(await pw.instances_of("contract", contract["id"])) == 1
    assert await pw.dead_jobs() == []


# -- P7 every node has an owner and a time limit -------------------------------------------------
def sla_process() -> dict[str, Any]:
    return {
        "key": "order_sla", "entity": "order", "label": {"en": "Order SLA"},
        "nodes": [
            {"id": "start", "type": "start"},
            approval("review", [{"type": "manager"}], deadline={
                "remind": hours(4), "escalate": hours(8), "escalate_mode": "add", "auto": hours(24), "auto_action": "approve"}),
            approval("finance_check", [{"type": "role", "role": "finance"}],
                     deadline={"remind": hours(2), "escalate": hours(4)}),
            {"id": "done", "type": "end", "outcome": "approved", "set": {"status": "approved"}},
        ],
        "edges": chain("start", "review", "finance_check", "done"),
    }  # fmt: skip


async def test_p7_overdue_tasks_are_reminded_escalated_and_finally_decided(pw: ProcessWorld) -> None:
    await pw.publish(sla_process())
    order = await pw.create("order", number="SO-7", amount="1000")
    iid = await pw.start("order", order["id"], "order_sla")
    review = await pw.the_task("sales_mgr", iid)
    assert (await pw.tasks(iid))[0].due_at == START + timedelta(hours=24)  # the hard limit: the automatic decision
    pw.advance(hours=4)
    await pw.drain()
    assert (await pw.titles("sales_mgr"))[-1].startswith("Reminder:")
    pw.advance(hours=4)  # 8 h: the manager of sales_mgr's team (the director) is added beside them
    await pw.drain()
    assert await pw.assigned(iid) == [("review", "sales_mgr", "pending", None), ("review", "director", "pending", None)]
    pw.advance(hours=16)  # 24 h: decided automatically
    await pw.drain()
    assert (await pw.assigned(iid))[:2] == [
        ("review", "sales_mgr", "done", "approve"),
        ("review", "director", "cancelled", None),
    ]
    auto = [e for e in await pw.events(iid) if e.task_id == review and e.action == "approve"]
    assert [(e.actor_id, e.comment) for e in auto] == [(None, "decided automatically: the deadline passed")]
    finance_task = await pw.the_task("finance", iid)
    pw.advance(hours=2)
    await pw.drain()
    pw.advance(hours=2)  # 4 h on finance: reassigned to the finance director
    await pw.drain()
    assert await pw.pending("finance", iid) == []
    await pw.act(await pw.the_task("finance_director", iid), "approve", "finance_director")
    assert (await pw.instance(iid)).outcome == "approved"
    assert (await pw.get("order", order["id"]))["status"] == "approved"
    overdue = [(e.action, pw.who(e.data["assignee"]), e.data.get("to") and pw.who(e.data["to"]))
               for e in await pw.events(iid) if e.action in ("remind", "escalate")]  # fmt: skip
    assert overdue == [
        ("remind", "sales_mgr", None),
        ("escalate", "sales_mgr", "director"),
        ("remind", "director", None),
        ("escalate", "director", None),  # the added director's own limits: nobody above
        ("remind", "finance", None),
        ("escalate", "finance", "finance_director"),
    ]
    assert all(e.actor_id is None for e in await pw.events(iid) if e.action in ("remind", "escalate"))
    assert finance_task in [t.origin_id for t in await pw.tasks(iid)]
    assert await pw.dead_jobs() == []


# -- return, resubmit, transfer, add a signer ----------------------------------------------------
async def test_return_to_an_earlier_node_asks_it_again(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    _, iid = await submit_quote(pw, "15")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    with pytest.raises(ValidationFailed) as refused:
        await pw.act(await pw.the_task("director", iid), "return", "director", to="big")  # a gateway, not a task
    assert [(e.path, e.code) for e in refused.value.errors] == [("/to", "return_target")]
    await pw.act(await pw.the_task("director", iid), "return", "director", to="manager", comment="check the margin")
    assert (await pw.assigned(iid))[1:] == [
        ("chain", "director", "done", "return"), ("chain", "finance_director", "cancelled", None),
        ("manager", "sales_mgr", "pending", None),
    ]  # fmt: skip
    assert ("chain", "returned") in await pw.path(iid)
    for who in ("sales_mgr", "director", "finance_director"):
        await pw.act(await pw.the_task(who, iid), "approve", who)
    assert (await pw.instance(iid)).outcome == "approved"
    assert [n for n, o in await pw.path(iid) if o == "approved"].count("manager") == 2


async def test_return_to_the_submitter_who_changes_the_request_and_resubmits(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    quote_id, iid = await submit_quote(pw, "25")
    await pw.act(await pw.the_task("sales_mgr", iid), "return", "sales_mgr", to="submitter", comment="25 % is too much")
    [resubmit] = await pw.tasks(iid, kind="resubmit")
    assert (pw.who(resubmit.assignee_id), resubmit.state, resubmit.node_id) == ("rep", "pending", "start")
    assert (await pw.titles("rep"))[-1].endswith("returned to you")
    assert (await pw.instance(iid)).state == "running"
    with pytest.raises(ValidationFailed):
        await pw.act(resubmit.id, "approve", "rep")  # a returned request can only be resubmitted (or commented)
    try:
        await pw.act(resubmit.id, "resubmit", "rep", values={"discount": "8"}, comment="8 % then")
    except ValidationFailed as exc:
        pytest.fail(
            "ENGINE: the submitter must be able to change a returned request's locked fields when resubmitting; "
            f"acts._write_values updates the record as the submitter and the lock refuses it: {exc.errors}"
        )
    quote = await pw.get("quote", quote_id)
    assert (Decimal(quote["discount"]), quote["status"]) == (8, "approved")  # 8 % needs no approval: through at once
    assert (await pw.instance(iid)).outcome == "approved"


async def test_resubmit_without_changes_goes_through_the_approvals_again(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    _, iid = await submit_quote(pw, "25")
    await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    await pw.act(await pw.the_task("director", iid), "return", "director", to="submitter")
    await pw.act(await pw.the_task("rep", iid), "resubmit", "rep", comment="the customer insists")
    assert await pw.pending("sales_mgr", iid) != []  # back at the first approval
    assert ("start", "resubmitted") in await pw.path(iid)


async def test_transfer_hands_the_task_to_someone_else(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    _, iid = await submit_quote(pw, "15")
    task = await pw.the_task("sales_mgr", iid)
    with pytest.raises(ValidationFailed) as refused:
        await pw.act(task, "transfer", "sales_mgr", user="nobody@example.com")
    assert [(e.path, e.code) for e in refused.value.errors] == [("/user", "unknown_user")]
    await pw.act(task, "transfer", "sales_mgr", user=email("legal"), comment="I am on holiday")
    assert await pw.pending("sales_mgr", iid) == []
    [moved] = [t for t in await pw.tasks(iid) if t.origin_id == task]
    assert (pw.who(moved.assignee_id), moved.state, moved.node_id) == ("legal", "pending", "manager")
    with pytest.raises(NotFound):
        await pw.act(task, "approve", "legal")  # the old task is not theirs
    await pw.act(moved.id, "approve", "legal")
    assert await pw.pending("director", iid) != []  # the node was decided by the new assignee
    assert (await pw.assigned(iid))[0] == ("manager", "sales_mgr", "done", "transfer")


def review_process() -> dict[str, Any]:
    return {
        "key": "review", "entity": "quote",
        "nodes": [{"id": "start", "type": "start"}, approval("review", users("director")),
                  {"id": "done", "type": "end", "outcome": "approved", "set": {"status": "approved"}}],
        "edges": chain("start", "review", "done"),
    }  # fmt: skip


async def test_add_signer_after_me_must_approve_too(pw: ProcessWorld) -> None:
    await pw.publish(review_process())
    quote = await pw.create("quote", name="Q", amount="10")
    iid = await pw.start("quote", quote["id"], "review")
    mine = await pw.the_task("director", iid)
    await pw.act(mine, "add_signer", "director", user=email("legal"), placement="after", comment="legal should see this")
    assert await pw.pending("director", iid) == [mine]  # still mine to decide
    await pw.act(mine, "approve", "director")
    assert (await pw.instance(iid)).state == "running", "an added signer must always act"
    await pw.act(await pw.the_task("legal", iid), "approve", "legal")
    assert (await pw.instance(iid)).outcome == "approved"
    assert "add_signer" in await pw.actions(iid)


async def test_add_signer_before_me_acts_first_and_the_task_comes_back(pw: ProcessWorld) -> None:
    await pw.publish(review_process())
    quote = await pw.create("quote", name="Q", amount="10")
    iid = await pw.start("quote", quote["id"], "review")
    mine = await pw.the_task("director", iid)
    await pw.act(mine, "add_signer", "director", user=email("legal"), placement="before")
    assert await pw.assigned(iid) == [("review", "director", "queued", None), ("review", "legal", "pending", None)]
    await pw.act(await pw.the_task("legal", iid), "approve", "legal")
    assert (await pw.instance(iid)).state == "running", (
        "ENGINE: after a signer added 'before' approves, the task must come back to the one who added them; "
        "nodes/human.decide counts the added signer's approval as the single-mode decision and cancels it "
        f"(tasks now: {await pw.assigned(iid)})"
    )
    assert await pw.pending("director", iid) == [mine]
    await pw.act(mine, "approve", "director")
    assert (await pw.instance(iid)).outcome == "approved"


# -- timers and versions -------------------------------------------------------------------------
async def test_a_timer_node_waits_two_days_then_the_instance_moves_on(pw: ProcessWorld) -> None:
    await pw.publish({
        "key": "cool_off", "entity": "quote",
        "nodes": [{"id": "start", "type": "start"}, {"id": "wait", "type": "timer", "duration": {"amount": 2, "unit": "days"}},
                  set_fields("release", status="approved"), {"id": "done", "type": "end"}],
        "edges": chain("start", "wait", "release", "done"),
    })  # fmt: skip
    quote = await pw.create("quote", name="Q", amount="10")
    iid = await pw.start("quote", quote["id"], "cool_off")
    pw.advance(days=1, hours=23, minutes=59)
    await pw.drain()
    assert (await pw.instance(iid)).state == "running"
    pw.advance(minutes=1)
    await pw.drain()
    inst = await pw.instance(iid)
    assert (inst.state, inst.ended_at) == ("completed", START + timedelta(days=2))
    assert (await pw.get("quote", quote["id"]))["status"] == "approved"
    [wait] = [s for s in await pw.timeline(iid) if s.node_id == "wait"]
    assert (wait.outcome, duration(wait)) == ("timer", timedelta(days=2))
    await pw.drain()
    assert len(await pw.timeline(iid)) == 4 and await pw.dead_jobs() == []  # the timer fired once


async def test_a_withdrawn_instance_ignores_its_timer(pw: ProcessWorld) -> None:
    await pw.publish({
        "key": "cool_off", "entity": "quote",
        "nodes": [{"id": "start", "type": "start"}, {"id": "wait", "type": "timer", "duration": {"amount": 2, "unit": "days"}},
                  set_fields("release", status="approved"), {"id": "done", "type": "end"}],
        "edges": chain("start", "wait", "release", "done"),
    })  # fmt: skip
    quote = await pw.create("quote", name="Q", amount="10")
    iid = await pw.start("quote", quote["id"], "cool_off")
    await pw.withdraw(iid)
    pw.advance(days=3)
    await pw.drain()
    assert (await pw.instance(iid)).state == "withdrawn"
    assert (await pw.get("quote", quote["id"]))["status"] == "draft"
    assert await pw.dead_jobs() == []


async def test_a_running_instance_finishes_on_the_version_it_started_on(pw: ProcessWorld) -> None:
    v1 = await pw.publish(discount_process())
    _, old = await submit_quote(pw, "15")
    v2 = await pw.publish(discount_process(approval("chain", users("legal"))))  # version 2: legal instead of the chain
    assert (v1["published_version"], v2["published_version"]) == (1, 2)
    _, new = await submit_quote(pw, "16")
    assert (await pw.instance(old)).version_id != (await pw.instance(new)).version_id
    for iid in (old, new):
        await pw.act(await pw.the_task("sales_mgr", iid), "approve", "sales_mgr")
    assert [(w, s) for n, w, s, _ in await pw.assigned(old) if n == "chain"] == [
        ("director", "pending"),
        ("finance_director", "queued"),
    ]
    assert [(w, s) for n, w, s, _ in await pw.assigned(new) if n == "chain"] == [("legal", "pending")]
    for who in ("director", "finance_director"):
        await pw.act(await pw.the_task(who, old), "approve", who)
    await pw.act(await pw.the_task("legal", new), "approve", "legal")
    assert [(await pw.instance(i)).outcome for i in (old, new)] == ["approved", "approved"]


async def test_the_timeline_lists_steps_in_the_order_they_were_visited(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    _, iid = await submit_quote(pw, "15")
    assert await pw.path(iid) == [("start", "done"), ("submitted", "done"), ("big", "done"), ("manager", None)], (
        "ENGINE: steps must be stored in visiting order (the timeline lists them by id); instant visits buffered "
        "in Run.closed_steps must be inserted before the waiting step of the same transition"
    )
