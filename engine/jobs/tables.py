"""System tables of the job queue: the jobs, the effects ledger, and the diagnostic touch table."""

from typing import Literal, get_args

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

JobState = Literal["pending", "running", "done", "dead"]
STATES: tuple[str, ...] = get_args(JobState)

jobs = Table(
    "tg_jobs",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", String(100), nullable=False),
    Column("payload", JsonType, nullable=False),
    Column("state", String(16), nullable=False),
    # When the job may run next: its first run, or its next try after a failure.
    Column("run_at", Timestamp, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    # Counts claims, so a job whose worker keeps dying still reaches max_attempts.
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("locked_by", String(200), nullable=True),
    # The lease: once past, the claiming worker is presumed dead and the job is claimable again.
    Column("locked_until", Timestamp, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("finished_at", Timestamp, nullable=True),
    # NULLs are distinct on both databases, so only jobs that carry a key are deduplicated.
    Column("dedup_key", String(255), nullable=True),
    UniqueConstraint("dedup_key"),
    sqlite_autoincrement=True,
)
# The claim query: due pending jobs by run_at; running jobs (a few per worker) by their state alone.
Index("ix_tg_jobs_state_run_at", jobs.c.state, jobs.c.run_at)

# Effects outside the database that a handler has performed (see engine/jobs/effects.py).
job_effects = Table(
    "tg_job_effects",
    system_metadata,
    Column("key", String(255), primary_key=True),
    Column("done_at", Timestamp, nullable=False),
)

# Written only by the diagnostic `jobs.touch` kind (engine/jobs/builtin.py).
job_touches = Table(
    "tg_job_touches",
    system_metadata,
    Column("key", String(255), primary_key=True),
    Column("job_id", IdType, nullable=False),
)
