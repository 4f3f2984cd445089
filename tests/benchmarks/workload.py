"""The benchmark's app, entity and data: one `customer` entity with the usual field mix, a running
Context with an admin actor and an HTTP client, and deterministic record payloads.

Payloads are what a client sends (JSON-shaped values, decimals as Decimal as the API parses them);
`raw_row` turns one into the column values a hand-written Core insert would bind.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, text

from engine.api.app import create_app
from engine.api.context import Context
from engine.auth.policy import Access
from engine.core.db import Database
from engine.core.settings import Settings
from engine.schema.model import CompiledEntity

APP = "bench"
REGIONS = ("north", "south", "east", "west", "central", "overseas")
STAGES = ("new", "qualified", "proposal", "won", "lost")
RAW_TAG = "raw-"  # email prefix of baseline rows, so they can be removed after each write benchmark

CUSTOMER: dict[str, Any] = {
    "key": "customer",
    "label": {"en": "Customer"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "email", "type": "email", "unique": True},
        {"key": "region", "type": "select", "options": [{"key": k} for k in REGIONS]},
        {"key": "amount", "type": "decimal", "precision": 15, "scale": 2, "min": 0},
        {"key": "stage", "type": "select", "indexed": True, "options": [{"key": k} for k in STAGES]},
        {"key": "created_on", "type": "date"},
        {"key": "rep_id", "type": "integer", "min": 1},
    ],
}


@dataclass(frozen=True)
class Sizes:
    rows: int  # records loaded by the bulk benchmark (the table size the list benchmark reads)
    creates: int  # single creates per variant
    list_reps: int  # timed repetitions per list query
    batch: int = 1000

    @classmethod
    def from_env(cls) -> Sizes:
        return cls(
            rows=int(os.environ.get("BENCH_ROWS", "100000")),
            creates=int(os.environ.get("BENCH_CREATES", "2000")),
            list_reps=int(os.environ.get("BENCH_LIST_REPS", "300")),
        )


@dataclass
class Bench:
    """Everything a benchmark needs: the running services, the entity and an authenticated client."""

    ctx: Context
    entity: CompiledEntity
    actor: Access
    http: httpx.AsyncClient
    sizes: Sizes

    @property
    def records_path(self) -> str:
        return f"/api/v1/apps/{APP}/{self.entity.key}"

    def stamps(self) -> dict[str, Any]:
        """The system columns the record service writes on create."""
        now = self.ctx.clock.now()
        uid = self.actor.user_id
        return {"version": 1, "created_at": now, "updated_at": now, "created_by": uid, "updated_by": uid, "owner": uid}

    async def remove_baseline_rows(self) -> None:
        t = self.entity.table
        async with self.ctx.db.write() as conn:
            await conn.execute(delete(t).where(t.c.email.startswith(RAW_TAG)))

    async def settle(self) -> None:
        """Refresh planner statistics the way autovacuum would on PostgreSQL (SQLite is left as
        the product leaves it: it never runs ANALYZE)."""
        if self.ctx.db.is_sqlite:
            return
        async with self.ctx.db.writer_engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'VACUUM ANALYZE "{self.entity.table_name}"'))


def payload(i: int, tag: str) -> dict[str, Any]:
    """Record i of a series; `tag` keeps the unique emails of different series apart."""
    mix = (i * 2654435761) & 0xFFFFFFFF  # Knuth's multiplicative hash: spread without randomness
    return {
        "name": f"Customer {tag}{i}",
        "email": f"{tag}{i}@bench.example",
        "region": REGIONS[mix % len(REGIONS)],
        "amount": Decimal(mix % 10_000_000) / 100,
        "stage": STAGES[(mix >> 8) % len(STAGES)],
        "created_on": (date(2020, 1, 1) + timedelta(days=mix % 2000)).isoformat(),
        "rep_id": mix % 50 + 1,
    }


def payloads(start: int, count: int, tag: str) -> list[dict[str, Any]]:
    return [payload(i, tag) for i in range(start, start + count)]


def raw_row(data: dict[str, Any]) -> dict[str, Any]:
    """A payload as column values, without the record service (the baseline's input)."""
    return data | {"created_on": date.fromisoformat(data["created_on"])}


@asynccontextmanager
async def open_bench(url: str, work_dir: Path, sizes: Sizes) -> AsyncIterator[Bench]:
    """Services on a migrated database, with an admin, its API token, the app and the entity."""
    settings = Settings(database_url=url, var_dir=str(work_dir / "var"), tangram_secret_key="bench-secret")
    ctx = Context(settings=settings, db=Database(url))
    try:
        async with ctx.db.write() as conn:
            uid, _ = await ctx.auth.ensure_admin(conn, "bench@example.com", "benchmark password 1")
            token, info = await ctx.auth.create_token(conn, uid, "bench")
            actor = Access(user_id=uid, token_id=info["id"], is_admin=True, source="api")
            await ctx.schema.create_app(conn, APP, {"en": "Benchmark"}, None)
            entity = await ctx.schema.create_entity(conn, APP, CUSTOMER, actor)
        transport = httpx.ASGITransport(app=create_app(settings, ctx))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as http:
            yield Bench(ctx, entity, actor, http, sizes)
    finally:
        await ctx.db.dispose()
