"""The worker: claims due jobs under a lease, runs each in one transaction, retries or buries failures.

Exactly-once database effects: a job's handler runs in the same write transaction that flips the job
from running to done, and that flip only succeeds while this worker still holds the job. A worker
that dies mid-job leaves no effects (its transaction never commits) and a job whose lease expires is
claimed again. On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED, so workers in many processes
never take the same job; SQLite has one writer, which serialises claims by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.clock import Clock
from engine.core.db import Database
from engine.jobs.backoff import backoff
from engine.jobs.queue import Job, JobHandlers, PermanentFailure
from engine.jobs.tables import jobs

log = logging.getLogger("tangram.jobs")

MAX_ERROR = 2000  # characters of last_error kept: enough to diagnose, bounded for the table


def default_name() -> str:
    """host:pid:random, unique per worker even with several in one process."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(3)}"


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR]


class Worker:
    """Runs due jobs with the handlers registered for their kinds."""

    def __init__(
        self, db: Database, clock: Clock, handlers: JobHandlers, *, name: str | None = None, batch: int = 10,
        lease: timedelta = timedelta(minutes=5), poll_seconds: float = 1.0,
        retry_delay: Callable[[int], timedelta] = backoff, renew_every: float | None = None,
    ) -> None:  # fmt: skip
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.db, self.clock, self.handlers = db, clock, handlers
        self.name = name or default_name()
        self.batch, self.lease, self.poll_seconds = batch, lease, poll_seconds
        self.retry_delay = retry_delay
        self.renew_every = renew_every or lease.total_seconds() / 3  # seconds between lease renewals
        self.running = False  # inside run(): the health route's "worker alive"
        self.last_look: float | None = None  # time.monotonic() of the last look for due jobs

    async def run_until_idle(self) -> int:
        """Run jobs until none is due; returns how many runs were made (for tests and `--once`)."""
        total = 0
        while ran := await self.run_batch():
            total += ran
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; the job in hand finishes, claimed ones not started are released."""
        log.info("worker %s started", self.name)
        self.running = True
        try:
            while not stop.is_set():
                self.last_look = time.monotonic()
                try:
                    ran = await self.run_batch(stop)
                except Exception:
                    # The database may be restarting: stay alive and try again after a pause.
                    log.exception("worker %s could not claim or settle jobs", self.name)
                    ran = 0
                if not ran:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll_seconds)
        finally:
            self.running = False
        log.info("worker %s stopped", self.name)

    async def run_batch(self, stop: asyncio.Event | None = None) -> int:
        """Claim up to `batch` due jobs and run them in order; returns how many were run."""
        claimed = await self._claim()
        for done, job in enumerate(claimed):
            if stop is not None and stop.is_set():
                await self._release(claimed[done:])
                return done
            await self._run(job)
        return len(claimed)

    async def _claim(self) -> list[Job]:
        now = self.clock.now()
        due = or_(
            and_(jobs.c.state == "pending", jobs.c.run_at <= now),
            and_(jobs.c.state == "running", jobs.c.locked_until <= now),  # its worker died
        )
        pick = select(jobs.c.id).where(due).order_by(jobs.c.run_at, jobs.c.id).limit(self.batch)
        if not self.db.is_sqlite:
            # Rows another worker is claiming (or running) are skipped, not waited for or taken twice.
            pick = pick.with_for_update(skip_locked=True)
        async with self.db.write() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            claim = (
                update(jobs)
                .where(jobs.c.id.in_(ids))
                .values(state="running", locked_by=self.name, locked_until=now + self.lease, attempts=jobs.c.attempts + 1)
                .returning(*jobs.c)
            )
            rows = (await conn.execute(claim)).mappings().all()
        return sorted((Job.from_row(row) for row in rows), key=lambda job: (job.run_at, job.id))

    async def _run(self, job: Job) -> None:
        kind = self.handlers.get(job.kind)
        if kind is None:
            await self._settle(job, f"no handler is registered for job kind {job.kind!r}", state="dead")
            return
        if job.attempts > job.max_attempts:
            await self._settle(job, "its worker stopped during the last allowed attempt (the lease expired)", state="dead")
            return
        try:
            if kind.outside:
                async with self._lease_renewed(job), self.db.read() as conn:
                    await kind.handler(conn, job)
                async with self.db.write() as conn:
                    await self._mark_done(conn, job)
            else:
                async with self.db.write() as conn:
                    if await self._mark_done(conn, job):
                        await kind.handler(conn, job)
        except Exception as exc:
            log.warning("job %s (%s) failed on attempt %s: %s", job.id, job.kind, job.attempts, describe(exc))
            await self._failed(job, exc)

    @asynccontextmanager
    async def _lease_renewed(self, job: Job) -> AsyncIterator[None]:
        """While an outside job runs (an import may take longer than the lease), its lease is pushed on, so no
        other worker takes it over as if this one had died. In-transaction jobs need none: the done mark's row
        lock (PostgreSQL) or the single writer (SQLite) keeps other workers off them."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.renew_every)
                try:
                    async with self.db.write() as conn:
                        mine = (jobs.c.id == job.id) & (jobs.c.locked_by == self.name) & (jobs.c.state == "running")
                        await conn.execute(update(jobs).where(mine).values(locked_until=self.clock.now() + self.lease))
                except Exception:  # the database may be restarting: try again at the next turn
                    log.warning("worker %s could not renew the lease of job %s", self.name, job.id, exc_info=True)

        renewing = asyncio.create_task(renew(), name=f"lease of job {job.id}")
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _mark_done(self, conn: AsyncConnection, job: Job) -> bool:
        """Flip the job to done first: the row lock it takes also keeps other workers off it (PostgreSQL).
        False when this worker no longer holds the job: its lease ran out and another claimed it."""
        held = and_(jobs.c.id == job.id, jobs.c.state == "running", jobs.c.locked_by == self.name)
        # locked_by stays, naming the worker that ran the job.
        done = update(jobs).where(held).values(state="done", finished_at=self.clock.now(), locked_until=None)
        result = await conn.execute(done)
        if result.rowcount != 1:
            log.info("job %s was claimed by another worker after this one's lease expired; skipped", job.id)
            return False
        return True

    async def _failed(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, PermanentFailure) or job.attempts >= job.max_attempts:
            await self._settle(job, describe(exc), state="dead")
        else:
            await self._settle(job, describe(exc), state="pending", run_at=self.clock.now() + self.retry_delay(job.attempts))

    async def _settle(self, job: Job, error: str, **values: Any) -> None:
        """Record a run that did not complete: back to pending for a retry, or dead."""
        if values["state"] == "dead":
            values["finished_at"] = self.clock.now()
            log.error("job %s (%s) is dead: %s", job.id, job.kind, error)
        async with self.db.write() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == job.id, jobs.c.state == "running", jobs.c.locked_by == self.name)
                .values(last_error=error, locked_by=None, locked_until=None, **values)
            )

    async def _release(self, unstarted: Sequence[Job]) -> None:
        """Hand back jobs claimed but not started (graceful stop): claimable at once, attempt not counted."""
        async with self.db.write() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id.in_([job.id for job in unstarted]), jobs.c.state == "running", jobs.c.locked_by == self.name)
                .values(state="pending", locked_by=None, locked_until=None, attempts=jobs.c.attempts - 1)
            )


@asynccontextmanager
async def in_background(worker: Worker) -> AsyncIterator[None]:
    """Run `worker` for the duration of the block, then stop it cleanly (the in-process worker of `serve`)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name=f"job worker {worker.name}")
    try:
        yield
    finally:
        stop.set()
        await task
