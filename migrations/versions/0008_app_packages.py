"""app packages: form layouts, installed packages and their definitions as installed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_forms",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_forms")),
        sa.UniqueConstraint("app", "key", name=op.f("uq_tg_forms_app_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tg_app_installs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("package", sa.String(length=63), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("manifest", JSON, nullable=False),
        sa.Column("installed_at", TS, nullable=False),
        sa.Column("installed_by", ID, nullable=True),
        sa.Column("upgraded_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_app_installs")),
        sa.UniqueConstraint("app", name=op.f("uq_tg_app_installs_app")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tg_app_install_items",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_app_install_items")),
        sa.UniqueConstraint("app", "kind", "key", name=op.f("uq_tg_app_install_items_app_kind_key")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("tg_app_install_items")
    op.drop_table("tg_app_installs")
    op.drop_table("tg_forms")
