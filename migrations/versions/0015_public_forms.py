"""public forms (tg_public_forms) and their accepted submissions (tg_public_submissions)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tg_public_forms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("form", sa.String(length=63), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_public_forms")),
        sa.UniqueConstraint("slug", name=op.f("uq_tg_public_forms_slug")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tg_public_submissions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("public_form_id", ID, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("status_token", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["public_form_id"],
            ["tg_public_forms.id"],
            name=op.f("fk_tg_public_submissions_public_form_id_tg_public_forms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_public_submissions")),
        sa.UniqueConstraint("challenge", name=op.f("uq_tg_public_submissions_challenge")),
        sa.UniqueConstraint("status_token", name=op.f("uq_tg_public_submissions_status_token")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_public_submissions_form", "tg_public_submissions", ["public_form_id", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_tg_public_submissions_form", table_name="tg_public_submissions")
    op.drop_table("tg_public_submissions")
    op.drop_table("tg_public_forms")
