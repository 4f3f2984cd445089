"""imports: CSV/XLSX imports with their stored file, progress and row errors

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_imports",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=False),
        sa.Column("options", JSON, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("total", "processed", "created", "updated", "failed")),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("token_id", ID, nullable=True),
        sa.Column("job_id", ID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_imports")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_imports_app_entity", "tg_imports", ["app", "entity"])
    op.create_table(
        "tg_import_errors",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("import_id", ID, nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["tg_imports.id"], name=op.f("fk_tg_import_errors_import_id_tg_imports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_import_errors")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_import_errors_import_id_row", "tg_import_errors", ["import_id", "row"])


def downgrade() -> None:
    op.drop_table("tg_import_errors")
    op.drop_table("tg_imports")
