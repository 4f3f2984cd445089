"""SCENARIOS.md R1, R2, R3, R5, R6, R7, R8 and R13 (detection), each as a builder would set it up
through the rules API on a small real app, on both databases, with a frozen clock."""

from __future__ import annotations

import email
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from engine.api.app import create_app
from engine.api.context import Context
from engine.core.clock import FrozenClock
from tests.scenarios.rules_world import START, RulesWorld


@pytest.fixture
def clock() -> FrozenClock:
    """Rules run on a frozen clock: time moves only when a test says so (the `world` fixture)."""
    return FrozenClock(START)


def sent_mail(ctx: Context) -> list[email.message.Message]:
    folder = Path(ctx.settings.var_dir) / "mail"
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


async def inbox(world: RulesWorld, who: str) -> list[dict]:
    token = await _token(world, who)
    r = await world.http.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _token(world: RulesWorld, who: str) -> str:
    async with world.ctx.db.write() as conn:
        token, _ = await world.ctx.auth.create_token(conn, world.users[who], "test")
    return token


# -- R1 auto-assign ------------------------------------------------------------------------------
async def test_r1_big_manufacturing_leads_go_round_robin_to_key_account_team_a(world: RulesWorld) -> None:
    await world.rule({
        "key": "route_big_manufacturing", "entity": "lead", "when": "before_save", "trigger": {"type": "created"},
        "condition": {"all": [{"field": "industry", "op": "eq", "value": "manufacturing"},
                              {"field": "budget", "op": "gt", "value": 500000}]},
        "actions": [{"type": "assign_owner", "strategy": "round_robin", "team": "key_accounts_a"}],
    })  # fmt: skip
    owners = [
        (await world.create("lead", name=f"Big {i}", industry="manufacturing", budget=600000 + i))["owner"] for i in range(3)
    ]
    small = await world.create("lead", name="Small", industry="manufacturing", budget=500000)
    retail = await world.create("lead", name="Shop", industry="retail", budget=900000)
    a1, a2 = world.users["a1"], world.users["a2"]
    assert owners == [a1, a2, a1]  # the owner is set in the same save: no second version
    assert small["owner"] == world.users["admin"] and retail["owner"] == world.users["admin"]
    log = await world.log("route_big_manufacturing")
    assert log["totals"]["runs"] == 3 and log["totals"]["actions_done"] == 3


async def test_r1_assignment_table_by_region_and_industry(world: RulesWorld) -> None:
    await world.rule({
        "key": "route_by_table", "entity": "lead", "when": "before_save", "trigger": {"type": "created"},
        "actions": [{"type": "assign_owner", "strategy": "table", "table": [
            {"condition": {"field": "region", "op": "eq", "value": "north"}, "user": world.users["b1"]},
            {"condition": {"field": "industry", "op": "eq", "value": "finance"}, "team": "key_accounts_a"},
        ], "default": {"user": world.users["boss"]}}],
    })  # fmt: skip
    north = await world.create("lead", name="N", region="north", industry="finance")
    finance = await world.create("lead", name="F", region="south", industry="finance")
    other = await world.create("lead", name="O", region="south")
    assert north["owner"] == world.users["b1"]  # first matching row wins
    assert finance["owner"] == world.users["a1"]
    assert other["owner"] == world.users["boss"]


# -- R2 reminder ---------------------------------------------------------------------------------
R2 = {
    "key": "stale_important_opportunity", "entity": "opportunity",
    "trigger": {"type": "date", "field": "last_activity_at", "offset": {"amount": 3, "unit": "days"},
                "check_every": {"amount": 1, "unit": "hours"}},
    "condition": {"all": [{"field": "important", "op": "eq", "value": True}, {"field": "status", "op": "eq", "value": "open"}]},
    "actions": [
        {"type": "create_record", "entity": "task", "link": "opportunity",
         "values": {"title": {"formula": "'Follow up ' & name"}, "due": {"formula": "DATE_ADD(TODAY(), 1, 'days')"}}},
        {"type": "notify", "to": ["owner", "manager"], "title": "No follow-up for 3 days: {{ record.name }}"},
    ],
}  # fmt: skip


async def test_r2_important_opportunity_without_follow_up_for_3_days(world: RulesWorld, clock: FrozenClock) -> None:
    a1 = await _client_for(world, "a1")
    r = await a1.post(
        "/api/v1/apps/sales/opportunity", json={"name": "Plant", "important": True, "last_activity_at": START.isoformat()}
    )
    assert r.status_code == 201, r.text
    plant = r.json()
    await world.create("opportunity", name="Minor", important=False, last_activity_at=START.isoformat())
    await world.create("opportunity", name="Won", important=True, status="won", last_activity_at=START.isoformat())
    await world.rule(R2)
    clock.advance(timedelta(days=2, hours=23))
    await world.drain()
    assert await world.items("task") == []  # not yet three days
    clock.advance(timedelta(hours=2))
    await world.drain()
    tasks = await world.items("task")
    assert [(t["title"], t["opportunity"], t["owner"]) for t in tasks] == [("Follow up Plant", plant["id"], world.users["a1"])]
    assert tasks[0]["due"] == (clock.now() + timedelta(days=1)).date().isoformat()
    assert [n["title"] for n in await inbox(world, "boss")] == ["No follow-up for 3 days: Plant"]  # cc the manager
    clock.advance(timedelta(hours=5))
    await world.drain()
    assert len(await world.items("task")) == 1  # once per occurrence
    await world.update("opportunity", plant["id"], last_activity_at=clock.now().isoformat())  # a new activity re-arms it
    clock.advance(timedelta(days=3, hours=2))
    await world.drain()
    assert len(await world.items("task")) == 2


async def _client_for(world: RulesWorld, who: str) -> httpx.AsyncClient:
    token = await _token(world, who)
    transport = httpx.ASGITransport(app=create_app(world.ctx.settings, world.ctx))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"})


# -- R3 loyalty ----------------------------------------------------------------------------------
async def test_r3_resolved_and_satisfied_ticket_joins_loyalty_campaign_and_gets_mail_a_week_later(
    world: RulesWorld, ctx: Context, clock: FrozenClock
) -> None:
    await world.rule({
        "key": "loyal_customer_care", "entity": "ticket", "trigger": {"type": "field_changed", "fields": ["status"]},
        "condition": {"all": [{"field": "status", "op": "changed_to", "value": "resolved"},
                              {"field": "satisfied", "op": "eq", "value": True}]},
        "actions": [
            {"type": "create_record", "entity": "campaign_member",
             "values": {"campaign": "loyal_customer_care", "contact": {"formula": "contact"}}},
            {"type": "wait", "amount": 7, "unit": "days"},
            {"type": "send_email", "to": ["contact.email"], "subject": "How did we do, {{ record.subject }}?",
             "body": "Thank you for your trust."},
        ],
    })  # fmt: skip
    ann = await world.create("contact", name="Ann", email="ann@example.com")
    ticket = await world.create("ticket", subject="Broken pump", contact=ann["id"], satisfied=True)
    unhappy = await world.create("ticket", subject="Late", contact=ann["id"], satisfied=False)
    await world.update("ticket", ticket["id"], status="resolved")
    await world.update("ticket", unhappy["id"], status="resolved")
    await world.drain()
    assert [(m["campaign"], m["contact"]) for m in await world.items("campaign_member")] == [("loyal_customer_care", ann["id"])]
    assert sent_mail(ctx) == []
    clock.advance(timedelta(days=7))
    await world.drain()
    await world.drain()  # a replay finds nothing more to send
    mails = sent_mail(ctx)
    assert [(m["To"], m["Subject"]) for m in mails] == [("ann@example.com", "How did we do, Broken pump?")]


# -- R5 lead scoring -----------------------------------------------------------------------------
async def test_r5_identity_and_behaviour_points_make_an_mql_with_a_task_for_sales(world: RulesWorld) -> None:
    before = {"when": "before_save", "entity": "lead"}
    await world.rule(before | {"key": "points_for_directors", "order": 1, "trigger": {"type": "created"},
                               "condition": {"field": "title", "op": "contains", "value": "director"},
                               "actions": [{"type": "add_points", "field": "score", "points": 40}]})  # fmt: skip
    await world.rule(before | {"key": "points_for_size", "order": 2, "trigger": {"type": "created"},
                               "condition": {"field": "employees", "op": "gte", "value": 500},
                               "actions": [{"type": "add_points", "field": "score", "points": 30}]})  # fmt: skip
    await world.rule(before | {"key": "points_for_opens", "order": 3,
                               "trigger": {"type": "field_changed", "fields": ["email_opens"]},
                               "actions": [{"type": "add_points", "field": "score", "points": 10}]})  # fmt: skip
    await world.rule(before | {"key": "becomes_mql", "order": 9, "trigger": {"type": "saved"},
                               "condition": {"all": [{"field": "score", "op": "gte", "value": 100},
                                                     {"field": "stage", "op": "eq", "value": "new"}]},
                               "actions": [{"type": "set_fields", "values": {"stage": "mql"}}]})  # fmt: skip
    await world.rule({"key": "mql_task", "entity": "lead", "trigger": {"type": "field_changed", "fields": ["stage"]},
                      "condition": {"field": "stage", "op": "changed_to", "value": "mql"},
                      "actions": [{"type": "create_record", "entity": "task", "link": "lead",
                                   "values": {"title": {"formula": "'Call MQL ' & name"}}}]})  # fmt: skip
    lead = await world.create("lead", name="Wu", title="IT director", employees=800)
    assert (lead["score"], lead["stage"]) == (70, "new")
    lead = await world.update("lead", lead["id"], email_opens=1)
    lead = await world.update("lead", lead["id"], email_opens=2)
    assert (lead["score"], lead["stage"]) == (90, "new")
    await world.drain()
    assert await world.items("task") == []
    lead = await world.update("lead", lead["id"], email_opens=3)
    assert (lead["score"], lead["stage"]) == (100, "mql")
    await world.drain()
    assert [(t["title"], t["lead"]) for t in await world.items("task")] == [("Call MQL Wu", lead["id"])]


# -- R6 escalation -------------------------------------------------------------------------------
async def test_r6_complaint_not_handled_within_24_hours_is_escalated(world: RulesWorld, clock: FrozenClock) -> None:
    await world.rule({
        "key": "escalate_complaints", "entity": "ticket",
        "trigger": {"type": "date", "field": "created_at", "offset": {"amount": 24, "unit": "hours"},
                    "check_every": {"amount": 15, "unit": "minutes"}},
        "condition": {"all": [{"field": "kind", "op": "eq", "value": "complaint"},
                              {"field": "status", "op": "eq", "value": "open"}]},
        "actions": [{"type": "set_fields", "values": {"escalated": True, "priority": "high"}},
                    {"type": "notify", "to": ["manager"], "title": "Escalated: {{ record.subject }}"}],
    })  # fmt: skip
    a1 = await _client_for(world, "a1")
    slow = (await a1.post("/api/v1/apps/sales/ticket", json={"subject": "Noise", "kind": "complaint"})).json()
    handled = await world.create("ticket", subject="Smell", kind="complaint")
    question = await world.create("ticket", subject="How?", kind="question")
    clock.advance(timedelta(hours=5))
    await world.update("ticket", handled["id"], status="handled")
    clock.advance(timedelta(hours=19, minutes=20))
    await world.drain()
    states = {t["subject"]: (t["escalated"], t["priority"]) for t in await world.items("ticket")}
    assert states == {"Noise": (True, "high"), "Smell": (False, "normal"), "How?": (False, "normal")}
    assert [n["title"] for n in await inbox(world, "boss")] == ["Escalated: Noise"]
    assert slow["id"] != question["id"]


# -- R7 fulfilment -------------------------------------------------------------------------------
async def test_r7_customer_order_creates_shipping_task_and_notifies_warehouse(world: RulesWorld) -> None:
    await world.rule({
        "key": "ship_orders", "entity": "order", "trigger": {"type": "created"},
        "actions": [
            {"type": "create_record", "entity": "task", "link": "order",
             "values": {"title": {"formula": "'Ship order ' & number"}, "owner": world.users["w1"]}},
            {"type": "notify", "to": [{"team": "warehouse"}], "title": "New order {{ record.number }}"},
        ],
    })  # fmt: skip
    order = await world.create("order", number="SO-1", amount=1200)
    assert await world.items("task") == []  # after the save: a durable job, not the request
    await world.drain()
    tasks = await world.items("task")
    assert [(t["title"], t["order"], t["owner"]) for t in tasks] == [("Ship order SO-1", order["id"], world.users["w1"])]
    assert [n["title"] for n in await inbox(world, "w1")] == ["New order SO-1"]


# -- R8 birthdays --------------------------------------------------------------------------------
async def test_r8_birthday_greeting_on_the_day_once(world: RulesWorld, ctx: Context, clock: FrozenClock) -> None:
    await world.create("contact", name="Today", email="today@example.com", birthday="1990-11-23")
    await world.create("contact", name="Tomorrow", email="tomorrow@example.com", birthday="1985-11-24")
    await world.create("contact", name="No date", email="none@example.com")
    await world.rule({
        "key": "birthday_greeting", "entity": "contact", "trigger": {"type": "schedule", "cron": "0 8 * * *"},
        "condition": {"field": "birthday", "op": "anniversary_today"},
        "actions": [{"type": "send_email", "to": ["email"], "subject": "Happy birthday, {{ record.name }}!"}],
    })  # fmt: skip
    await world.drain()
    assert sent_mail(ctx) == []  # 07:00: the first tick is at 08:00
    clock.advance(timedelta(hours=1))
    await world.drain()
    assert [m["To"] for m in sent_mail(ctx)] == ["today@example.com"]
    clock.advance(timedelta(days=1))
    await world.drain()
    assert sorted(m["To"] for m in sent_mail(ctx)) == ["today@example.com", "tomorrow@example.com"]


# -- R13 duplicate detection ---------------------------------------------------------------------
async def test_r13_new_lead_matching_email_or_phone_is_flagged(world: RulesWorld) -> None:
    await world.rule({
        "key": "detect_duplicates", "entity": "lead", "when": "before_save", "trigger": {"type": "created"},
        "actions": [{"type": "flag_duplicates", "match_on": ["email", "phone", "company"], "link": "duplicate_of",
                     "tag": {"field": "tags", "tag": "possible_duplicate"}}],
    })  # fmt: skip
    first = await world.create("lead", name="Li", email="li@acme.cn", phone="+86 138-0000-0000", company="ACME")
    by_email = await world.create("lead", name="Li 2", email="LI@acme.cn")
    by_phone = await world.create("lead", name="Li 3", phone="8613800000000")
    by_company = await world.create("lead", name="Li 4", company="  acme ")
    other = await world.create("lead", name="Zhang", email="zhang@other.cn", phone="139 0000 0000", company="Other")
    assert first["duplicate_of"] is None and not first["tags"]
    for dup in (by_email, by_phone, by_company):
        assert (dup["duplicate_of"], dup["tags"]) == (first["id"], ["possible_duplicate"])
    assert other["duplicate_of"] is None
