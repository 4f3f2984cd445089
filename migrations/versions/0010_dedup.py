"""duplicate rules and merges: match keys, their build marks, remembered merges

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_dedup_keys",
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("rule", sa.String(length=63), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("app", "entity", "rule", "record_id", name=op.f("pk_tg_dedup_keys")),
    )
    op.create_index("ix_tg_dedup_keys_key", "tg_dedup_keys", ["app", "entity", "rule", "key"])
    op.create_table(
        "tg_dedup_built",
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("rule", sa.String(length=63), nullable=False),
        sa.Column("entity_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("app", "entity", "rule", name=op.f("pk_tg_dedup_built")),
    )
    op.create_table(
        "tg_merges",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("survivor_id", ID, nullable=False),
        sa.Column("survivor_version", sa.Integer(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("merged_at", TS, nullable=False),
        sa.Column("undone_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_merges")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_merges_survivor", "tg_merges", ["app", "entity", "survivor_id"])


def downgrade() -> None:
    op.drop_index("ix_tg_merges_survivor", table_name="tg_merges")
    op.drop_table("tg_merges")
    op.drop_table("tg_dedup_built")
    op.drop_index("ix_tg_dedup_keys_key", table_name="tg_dedup_keys")
    op.drop_table("tg_dedup_keys")
