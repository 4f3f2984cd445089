"""the form designer's drafts (tg_form_drafts): one unpublished {entity, form} per person and entity

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tg_form_drafts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("draft", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_form_drafts")),
        sa.UniqueConstraint("app", "entity", "user_id", name=op.f("uq_tg_form_drafts_app_entity_user_id")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("tg_form_drafts")
