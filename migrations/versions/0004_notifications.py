"""in-app notifications (the sent-effect ledger is tg_job_effects, created with the jobs in 0003)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tg_notifications",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=True),
        sa.Column("entity", sa.String(length=63), nullable=True),
        sa.Column("record_id", ID, nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["tg_users.id"], name=op.f("fk_tg_notifications_user_id_tg_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_notifications")),
        sqlite_autoincrement=True,
    )
    unread = sa.text("read_at IS NULL")
    keyed = sa.text("dedup_key IS NOT NULL")
    with op.batch_alter_table("tg_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_tg_notifications_user", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_tg_notifications_unread", ["user_id", "id"], unique=False, postgresql_where=unread, sqlite_where=unread
        )
        batch_op.create_index(
            "uq_tg_notifications_dedup", ["user_id", "dedup_key"], unique=True, postgresql_where=keyed, sqlite_where=keyed
        )


def downgrade() -> None:
    with op.batch_alter_table("tg_notifications", schema=None) as batch_op:
        batch_op.drop_index("uq_tg_notifications_dedup")
        batch_op.drop_index("ix_tg_notifications_unread")
        batch_op.drop_index("ix_tg_notifications_user")
    op.drop_table("tg_notifications")
