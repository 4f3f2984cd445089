"""Shared helpers of the job-queue tests: a fixed start time and readers of the queue's tables."""

from datetime import UTC, datetime

from sqlalchemy import select

from engine.core.db import Database
from engine.jobs.tables import job_touches, jobs

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def job_row(db: Database, job_id: int) -> dict:
    async with db.read() as conn:
        return dict((await conn.execute(select(jobs).where(jobs.c.id == job_id))).mappings().one())


async def touched(db: Database) -> list[str]:
    async with db.read() as conn:
        return list((await conn.execute(select(job_touches.c.key).order_by(job_touches.c.key))).scalars())
