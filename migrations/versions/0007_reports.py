"""report engine: saved charts and dashboards

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    for table in ("tg_charts", "tg_dashboards"):
        op.create_table(
            table,
            sa.Column("id", ID, autoincrement=True, nullable=False),
            sa.Column("app", sa.String(length=63), nullable=False),
            sa.Column("key", sa.String(length=63), nullable=False),
            sa.Column("definition", JSON, nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("created_at", TS, nullable=False),
            sa.Column("updated_at", TS, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("app", "key", name=op.f(f"uq_{table}_app_key")),
            sqlite_autoincrement=True,
        )


def downgrade() -> None:
    op.drop_table("tg_dashboards")
    op.drop_table("tg_charts")
