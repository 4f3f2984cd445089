"""files of attachment fields (tg_files)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_files",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("field", sa.String(length=63), nullable=False),
        sa.Column("record_id", ID, nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("attached_at", TS, nullable=True),
        sa.Column("deleted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_files")),
    )
    op.create_index("ix_tg_files_record", "tg_files", ["app", "entity", "record_id"])


def downgrade() -> None:
    op.drop_index("ix_tg_files_record", table_name="tg_files")
    op.drop_table("tg_files")
