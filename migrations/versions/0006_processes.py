"""process engine: definitions, versions, instances, tokens, forks, steps, tasks, events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_processes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_processes")),
        sa.UniqueConstraint("app", "key", name=op.f("uq_tg_processes_app_key")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_processes_entity", "tg_processes", ["app", "entity"], unique=False)
    op.create_table(
        "tg_process_versions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("process_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("published_by", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["process_id"], ["tg_processes.id"], name=op.f("fk_tg_process_versions_process_id_tg_processes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_versions")),
        sa.UniqueConstraint("process_id", "version", name=op.f("uq_tg_process_versions_process_id_version")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tg_process_instances",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("process_id", ID, nullable=False),
        sa.Column("version_id", ID, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("running_key", sa.String(length=40), nullable=True),
        sa.Column("lock", JSON, nullable=True),
        sa.Column("started_by", ID, nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"], ["tg_processes.id"], name=op.f("fk_tg_process_instances_process_id_tg_processes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["tg_process_versions.id"],
            name=op.f("fk_tg_process_instances_version_id_tg_process_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_instances")),
        sa.UniqueConstraint("running_key", name=op.f("uq_tg_process_instances_running_key")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_process_instances_record", "tg_process_instances", ["app", "entity", "record_id"], unique=False)
    op.create_index("ix_tg_process_instances_starter", "tg_process_instances", ["started_by", "id"], unique=False)
    op.create_table(
        "tg_process_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=True),
        sa.Column("task_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["tg_process_instances.id"],
            name=op.f("fk_tg_process_events_instance_id_tg_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_process_events_actor", "tg_process_events", ["actor_id", "instance_id"], unique=False)
    op.create_index("ix_tg_process_events_instance", "tg_process_events", ["instance_id", "id"], unique=False)
    op.create_table(
        "tg_process_forks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["tg_process_instances.id"],
            name=op.f("fk_tg_process_forks_instance_id_tg_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_forks")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tg_process_forks_instance_id"), "tg_process_forks", ["instance_id"], unique=False)
    op.create_table(
        "tg_process_steps",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("token_id", ID, nullable=True),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("node_type", sa.String(length=40), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["tg_process_instances.id"],
            name=op.f("fk_tg_process_steps_instance_id_tg_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_steps")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_process_steps_instance", "tg_process_steps", ["instance_id", "id"], unique=False)
    op.create_table(
        "tg_process_tasks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("step_id", ID, nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("acted_at", TS, nullable=True),
        sa.Column("acted_by", ID, nullable=True),
        sa.Column("origin_id", ID, nullable=True),
        sa.Column("placement", sa.String(length=8), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["tg_process_instances.id"],
            name=op.f("fk_tg_process_tasks_instance_id_tg_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_tasks")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_process_tasks_assignee", "tg_process_tasks", ["assignee_id", "state", "id"], unique=False)
    op.create_index("ix_tg_process_tasks_instance", "tg_process_tasks", ["instance_id", "step_id"], unique=False)
    op.create_index("ix_tg_process_tasks_actor", "tg_process_tasks", ["acted_by", "id"], unique=False)
    op.create_table(
        "tg_process_tokens",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", ID, nullable=False),
        sa.Column("node_id", sa.String(length=63), nullable=False),
        sa.Column("fork_id", ID, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["tg_process_instances.id"],
            name=op.f("fk_tg_process_tokens_instance_id_tg_process_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_process_tokens")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tg_process_tokens_instance_id"), "tg_process_tokens", ["instance_id"], unique=False)


def downgrade() -> None:
    op.drop_table("tg_process_tokens")
    op.drop_table("tg_process_tasks")
    op.drop_table("tg_process_steps")
    op.drop_table("tg_process_forks")
    op.drop_table("tg_process_events")
    op.drop_table("tg_process_instances")
    op.drop_table("tg_process_versions")
    op.drop_table("tg_processes")
