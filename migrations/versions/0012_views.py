"""saved views of entity lists: filter, columns, sort, kanban settings; personal or shared

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_views",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("owner_id", ID, nullable=True),
        sa.Column("shared_with", sa.String(length=63), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("updated_by", ID, nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["tg_users.id"], name=op.f("fk_tg_views_owner_id_tg_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_views")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_views_entity", "tg_views", ["app", "entity"])
    default = sa.text("is_default")
    op.create_index(
        "uq_tg_views_default", "tg_views", ["app", "entity"], unique=True, postgresql_where=default, sqlite_where=default
    )


def downgrade() -> None:
    op.drop_index("uq_tg_views_default", table_name="tg_views")
    op.drop_index("ix_tg_views_entity", table_name="tg_views")
    op.drop_table("tg_views")
