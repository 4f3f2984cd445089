"""apps get an icon, a colour and a recycle bin (tg_apps.icon, .color, .deleted_at)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tg_apps") as batch:
        batch.add_column(sa.Column("icon", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("deleted_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tg_apps") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("color")
        batch.drop_column("icon")
