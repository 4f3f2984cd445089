"""The durable sweep of files: pending uploads never saved, uploads whose record save failed, and the
crash between storing the bytes and finishing the request are all deleted after the grace period
(the clock moves; nothing sleeps). Attached files are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from engine.api.context import Context
from engine.core.clock import FrozenClock
from engine.files.storage import Storage
from engine.jobs.worker import Worker
from tests.api.files_world import DEALS, PDF, deal_app, file_rows, stored_keys, upload, uploaded


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 8, 9, 0, tzinfo=UTC))


async def _after_grace(ctx: Context, clock: FrozenClock) -> None:
    clock.advance(timedelta(hours=ctx.settings.tangram_file_grace_hours, seconds=1))
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()


async def test_pending_and_failed_save_files_are_swept_attached_ones_kept(
    client: httpx.AsyncClient, ctx: Context, clock: FrozenClock
) -> None:
    await deal_app(client)
    never = await uploaded(client, "docs", ("never.pdf", PDF))
    failed = await uploaded(client, "docs", ("failed.pdf", PDF))
    kept = await uploaded(client, "docs", ("kept.pdf", PDF))
    r = await client.post(DEALS, json={"docs": failed})  # the save fails (name is required): nothing attached
    assert r.status_code == 422
    rid = (await client.post(DEALS, json={"name": "Acme", "docs": kept})).json()["id"]
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    assert len(await stored_keys(ctx)) == 3  # within the grace period nothing goes
    await _after_grace(ctx, clock)
    assert [r["id"] for r in await file_rows(ctx)] == kept and len(await stored_keys(ctx)) == 1
    assert (await client.get(f"{DEALS}/{rid}/files/{kept[0]}")).content == PDF
    assert (await client.get(f"{DEALS}/files/{never[0]}")).status_code == 404


class CrashAfterStoring(Storage):
    """Stores the bytes, then the process "dies" before the request completes."""

    async def put(self, key: str, data: Any) -> None:
        await super().put(key, data)
        raise RuntimeError("crash between storing and committing")


async def test_a_crash_after_the_bytes_were_stored_is_swept(client: httpx.AsyncClient, ctx: Context, clock: FrozenClock) -> None:
    await deal_app(client)
    real = ctx.files.storage
    ctx.files.storage = CrashAfterStoring(real.store)
    with pytest.raises(RuntimeError):  # ASGITransport re-raises what the 500 handler logged
        await upload(client, "docs", ("lost.pdf", PDF))
    ctx.files.storage = real
    assert len(await stored_keys(ctx)) == 1 and len(await file_rows(ctx)) == 1  # orphaned bytes, a pending row
    await _after_grace(ctx, clock)
    assert await stored_keys(ctx) == [] and await file_rows(ctx) == []


async def test_a_file_taken_off_a_record_is_swept_after_the_grace_period(
    client: httpx.AsyncClient, ctx: Context, clock: FrozenClock
) -> None:
    await deal_app(client)
    ids = await uploaded(client, "docs", ("a.pdf", PDF), ("b.pdf", PDF))
    rid = (await client.post(DEALS, json={"name": "Acme", "docs": ids})).json()["id"]
    assert (await client.patch(f"{DEALS}/{rid}", json={"docs": ids[:1]})).status_code == 200
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    assert len(await stored_keys(ctx)) == 2
    await _after_grace(ctx, clock)
    assert [r["id"] for r in await file_rows(ctx)] == ids[:1] and len(await stored_keys(ctx)) == 1
