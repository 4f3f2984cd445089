"""Notification and email texts name records by their display value (`SO-7`, not `order #3`), and rule
emails carry their body: R1's key-lead notice, R7's order notice and P2's approval task, on both databases."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.api.context import Context
from engine.core.clock import FrozenClock
from tests.scenarios.process_world import ProcessWorld, process_world
from tests.scenarios.rules_world import START, RulesWorld
from tests.scenarios.test_process_scenarios import discount_process, submit_quote


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def sent_mail(ctx: Context) -> list[email.message.Message]:
    folder = Path(ctx.settings.var_dir) / "mail"
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def text_of(message: email.message.Message) -> str:
    part = message.get_body(preferencelist=("plain",)) if hasattr(message, "get_body") else message
    return str(part.get_payload(decode=True).decode())  # type: ignore[union-attr]


async def titles_and_bodies(world: RulesWorld, user_id: int) -> list[tuple[str, str]]:
    async with world.ctx.db.write() as conn:
        token, _ = await world.ctx.auth.create_token(conn, user_id, "test")
    r = await world.http.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return [(n["title"], n["body"]) for n in r.json()["items"]]


async def test_r1_key_lead_notice_names_the_lead_and_its_email_carries_the_body(world: RulesWorld) -> None:
    await world.rule({
        "key": "key_lead_notice", "entity": "lead", "trigger": {"type": "created"},
        "condition": {"field": "budget", "op": "gt", "value": 500000},
        "actions": [{"type": "notify", "to": ["owner"], "title": "Key lead: {{ record_name }}",
                     "body": "{{ record.company }}: {{ record_name }}", "email": True}],
    })  # fmt: skip
    await world.create("lead", name="Sany Heavy", company="Sany", industry="manufacturing", budget=600000)
    await world.create("lead", name="Small shop", budget=1000)
    await world.drain()
    admin = world.users["admin"]
    assert await titles_and_bodies(world, admin) == [("Key lead: Sany Heavy", "Sany: Sany Heavy")]
    [mail] = sent_mail(world.ctx)
    assert mail["Subject"] == "Key lead: Sany Heavy"
    assert text_of(mail).strip() == "Sany: Sany Heavy"


async def test_r7_a_notice_without_body_emails_its_title_and_send_email_knows_the_record_name(world: RulesWorld) -> None:
    await world.rule({
        "key": "order_notice", "entity": "order", "trigger": {"type": "created"},
        "actions": [
            {"type": "notify", "to": ["owner"], "title": "New order {{ record_name }}", "email": True},
            {"type": "send_email", "to": ["contact.email"], "subject": "Your order {{ record_name }}",
             "body": "Thank you for order {{ record_name }}."},
        ],
    })  # fmt: skip
    contact = await world.create("contact", name="Ann", email="ann@example.com")
    await world.create("order", number="SO-7", contact=contact["id"], amount=10)
    await world.drain()
    mails = {m["To"]: (m["Subject"], text_of(m).strip()) for m in sent_mail(world.ctx)}
    assert mails["ann@example.com"] == ("Your order SO-7", "Thank you for order SO-7.")
    assert [v for k, v in mails.items() if k != "ann@example.com"] == [("New order SO-7", "New order SO-7")]


async def test_a_broken_record_name_template_is_refused_at_its_path(world: RulesWorld) -> None:
    r = await world.http.post("/api/v1/meta/apps/sales/rules", json={
        "key": "broken", "entity": "order", "trigger": {"type": "created"},
        "actions": [{"type": "notify", "to": ["owner"], "title": "{{ record_name }", "body": ""}],
    })  # fmt: skip
    assert r.status_code == 422
    assert [e["path"] for e in r.json()["errors"]] == ["/actions/0/title"]


@pytest.fixture
async def pw(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> Any:
    async with process_world(ctx, client, int(admin["id"])) as world:
        yield world


async def test_p2_an_approval_task_notice_names_the_quote(pw: ProcessWorld) -> None:
    await pw.publish(discount_process())
    await submit_quote(pw, "15")
    [notice] = await pw.notifications("sales_mgr")
    assert (notice.title, notice.body) == ("Discount approval: to approve", "Q 15")
    async with pw.ctx.db.write() as conn:
        token, _ = await pw.ctx.auth.create_token(conn, pw.users["sales_mgr"], "test")
    [item] = (await pw.http.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"})).json()["items"]
    [task] = await pw.pending("sales_mgr")
    assert (item["entity"], item["task_id"]) == ("quote", task)  # the inbox links to the task page


async def test_p2_a_chinese_reader_gets_the_notice_in_chinese(pw: ProcessWorld) -> None:
    """A process notice is written in its reader's language (their chosen locale); others keep English."""
    from engine.auth.profile import set_preferences

    async with pw.ctx.db.write() as conn:
        await set_preferences(conn, pw.users["sales_mgr"], locale="zh-CN")
    definition = discount_process()
    await pw.publish(definition | {"label": {"en": "Discount approval", "zh-CN": "折扣审批"}})
    await submit_quote(pw, "15")
    [notice] = await pw.notifications("sales_mgr")
    assert (notice.title, notice.body) == ("折扣审批: 待你审批", "Q 15")
