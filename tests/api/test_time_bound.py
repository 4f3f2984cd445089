"""Behaviour that depends on time, driven by a frozen clock (no sleeps)."""

from datetime import UTC, datetime, timedelta

import pytest

from engine.core.clock import FrozenClock
from tests.factories import make_app

LEADS = "/api/v1/apps/crm/lead"


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


async def test_idempotency_keys_are_forgotten_after_a_day(client, clock):
    await make_app(client)
    headers = {"Idempotency-Key": "k1"}
    first = (await client.post(LEADS, json={"name": "A"}, headers=headers)).json()
    clock.advance(timedelta(hours=23))
    assert (await client.post(LEADS, json={"name": "A"}, headers=headers)).json()["id"] == first["id"]
    clock.advance(timedelta(hours=2))
    later = await client.post(LEADS, json={"name": "A"}, headers=headers)
    assert later.status_code == 201 and later.json()["id"] != first["id"]


async def test_token_expiry_and_last_use(client, anon, clock):
    expires = (clock.now() + timedelta(days=1)).isoformat()
    created = (await client.post("/api/v1/auth/tokens", json={"name": "temp", "expires_at": expires})).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert (await anon.get("/api/v1/auth/me", headers=headers)).status_code == 200
    listed = {t["id"]: t for t in (await client.get("/api/v1/auth/tokens")).json()["items"]}
    assert listed[created["id"]]["last_used_at"] == "2026-11-23T09:00:00Z"
    clock.advance(timedelta(days=1))
    assert (await anon.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_stamps_come_from_the_injected_clock(client, clock):
    await make_app(client)
    lead = (await client.post(LEADS, json={"name": "A"})).json()
    clock.advance(timedelta(minutes=5))
    updated = (await client.patch(f"{LEADS}/{lead['id']}", json={"name": "B"})).json()
    assert lead["created_at"] == "2026-11-23T09:00:00Z" and updated["updated_at"] == "2026-11-23T09:05:00Z"


async def test_expired_idempotency_keys_are_cleaned_up(client, ctx, clock):
    from sqlalchemy import select

    from engine.records.tables import idempotency_keys

    await make_app(client)
    for n in range(3):
        await client.post(LEADS, json={"name": "A"}, headers={"Idempotency-Key": f"old-{n}"})
    clock.advance(timedelta(days=2))
    await client.post(LEADS, json={"name": "B"}, headers={"Idempotency-Key": "new"})
    async with ctx.db.read() as conn:
        kept = (await conn.execute(select(idempotency_keys.c.key))).scalars().all()
    assert kept == ["new"]
