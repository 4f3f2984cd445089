"""A webhook's signing secret is write-only (issue 18): it never sits in a queued job's payload (which
`GET /api/v1/admin/jobs` and `tangram jobs list` show), nor in the logs. The delivery reads it from
the rule or process service task that queued the call, when it runs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from engine.api.context import Context
from engine.auth.access import load_access
from engine.core.clock import FrozenClock
from engine.jobs.admin import list_jobs
from engine.jobs.queue import enqueue
from engine.jobs.tables import jobs
from tests.scenarios.rules_world import RULES, START, RulesWorld

SECRET = "a shared secret of finance 7f3a"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def verified(got: dict[str, Any], secret: str) -> bool:
    h = got["headers"]
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + got["body"]
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return bool(h["webhook-signature"] == f"v1,{expected}")


async def webhook_jobs(ctx: Context) -> list[Any]:
    async with ctx.db.read() as conn:
        return list((await conn.execute(select(jobs).where(jobs.c.kind == "rules.webhook"))).all())


async def assert_secret_nowhere(world: RulesWorld) -> None:
    """Not in the stored payload, nor where administrators read jobs (API and CLI share list_jobs)."""
    queued = await webhook_jobs(world.ctx)
    assert queued, "a webhook job was queued"
    for job in queued:
        assert SECRET not in json.dumps(job.payload), job.payload
    r = await world.http.get("/api/v1/admin/jobs")
    assert r.status_code == 200 and "rules.webhook" in r.text
    assert SECRET not in r.text
    r = await world.http.get(f"/api/v1/admin/jobs/{queued[0].id}")
    assert r.status_code == 200 and SECRET not in r.text
    async with world.ctx.db.read() as conn:
        assert SECRET not in json.dumps(await list_jobs(conn), default=str)


async def test_a_rule_webhook_job_carries_no_secret_and_is_signed_with_the_rules_secret(
    world: RulesWorld, ctx: Context, receiver: tuple[str, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    url, received = receiver
    ctx.settings.tangram_webhook_allow_hosts = ["127.0.0.1"]
    # What a server logs (INFO and up; the engine's own loggers at every level). The database driver's
    # DEBUG lines echo every statement, the rule's own INSERT included: never on in production.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="tangram")
    rule = await world.rule({"key": "push", "entity": "lead", "trigger": {"type": "created"},
                             "actions": [{"type": "add_tag", "field": "tags", "tag": "vip"},
                                         {"type": "webhook", "url": url, "secret": SECRET}]})  # fmt: skip
    await world.create("lead", name="Acme")
    await world.drain()  # the rule runs and queues the delivery; the delivery runs too
    await assert_secret_nowhere(world)
    [job] = await webhook_jobs(ctx)
    assert job.payload["secret_from"] == {"rule": rule["id"]} and job.state == "done"
    assert len(received) == 1 and verified(received[0], SECRET)
    assert SECRET not in caplog.text


async def test_a_service_task_webhook_reads_its_secret_from_the_published_process(
    world: RulesWorld, ctx: Context, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    ctx.settings.tangram_webhook_allow_hosts = ["127.0.0.1"]
    doc = {
        "key": "notify_erp", "entity": "opportunity", "start": {"manual": True},
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "push", "type": "service", "actions": [{"type": "webhook", "url": url, "secret": SECRET}]},
                  {"id": "done", "type": "end", "outcome": "done"}],
        "edges": [{"from": "start", "to": "push"}, {"from": "push", "to": "done"}],
    }  # fmt: skip
    async with ctx.db.write() as conn:
        admin = await load_access(conn, world.users["admin"], True, source="api")
        await ctx.process_service.create(conn, "sales", doc)
        await ctx.process_service.publish(conn, "sales", "notify_erp", admin)
    opportunity = await world.create("opportunity", name="Big one")
    r = await world.http.post(f"/api/v1/apps/sales/opportunity/{opportunity['id']}/processes/notify_erp", json={})
    assert r.status_code == 201, r.text
    [job] = await webhook_jobs(ctx)
    assert set(job.payload["secret_from"]) == {"process_version", "node"} and job.payload["secret_from"]["node"] == "push"
    await assert_secret_nowhere(world)
    await world.drain()
    assert len(received) == 1 and verified(received[0], SECRET)


async def test_a_delivery_whose_rule_is_gone_is_not_sent_unsigned(
    world: RulesWorld, ctx: Context, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    await world.rule({"key": "push", "entity": "lead", "trigger": {"type": "created"},
                      "actions": [{"type": "webhook", "url": url, "secret": SECRET}]})  # fmt: skip
    await world.create("lead", name="Acme")
    await world.drain()  # loopback is not allowed yet: the delivery dies
    [job] = await webhook_jobs(ctx)
    assert job.state == "dead"
    # The rule is deleted; the operator then allows the host and retries the delivery.
    assert (await world.http.delete(f"{RULES}/push")).status_code == 204
    ctx.settings.tangram_webhook_allow_hosts = ["127.0.0.1"]
    assert (await world.http.post(f"/api/v1/admin/jobs/{job.id}/retry")).status_code == 200
    await world.drain()
    assert received == []
    [job] = await webhook_jobs(ctx)
    assert job.state == "dead" and "secret" in job.last_error


async def test_a_job_queued_by_an_older_version_with_its_secret_is_masked_and_still_signed(
    world: RulesWorld, ctx: Context, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = receiver
    ctx.settings.tangram_webhook_allow_hosts = ["127.0.0.1"]
    payload = {"url": url, "secret": SECRET, "timeout": 5, "body": {"hello": "world"}, "id": "legacy:1"}
    async with ctx.db.write() as conn:  # queued as the engine did before secrets left payloads
        await enqueue(conn, ctx.clock.now(), "rules.webhook", payload, dedup_key="legacy:1")
    r = await world.http.get("/api/v1/admin/jobs")
    assert SECRET not in r.text and "********" in r.text
    await world.drain()
    assert len(received) == 1 and verified(received[0], SECRET)
