"""durable job queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tg_jobs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=200), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_jobs")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_tg_jobs_dedup_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tg_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_tg_jobs_state_run_at", ["state", "run_at"], unique=False)

    op.create_table(
        "tg_job_effects",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_tg_job_effects")),
    )
    op.create_table(
        "tg_job_touches",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("job_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_tg_job_touches")),
    )


def downgrade() -> None:
    op.drop_table("tg_job_touches")
    op.drop_table("tg_job_effects")
    with op.batch_alter_table("tg_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_tg_jobs_state_run_at")
    op.drop_table("tg_jobs")
