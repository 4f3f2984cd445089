"""System tables of the process engine.

Definitions: `tg_processes` holds the draft a builder edits; publishing copies it into
`tg_process_versions`, and every instance points at the version it started on (running instances
finish on that version whatever is published later).

Runtime: an instance has tokens (where it is: one per parallel branch), forks (how many branches a
split started, so a join knows when all arrived), steps (one row per node visit: the timeline and
the "node duration" data), tasks (one row per person asked to act) and events (what people and
the engine did: approve, comment, transfer, remind, escalate ...).
"""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

processes = Table(
    "tg_processes",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("key", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("definition", JsonType, nullable=False),  # the draft: a ProcessDefinition
    Column("version", Integer, nullable=False),  # of the draft (optimistic concurrency on edits)
    Column("published_version", Integer, nullable=True),  # the version new instances start on
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("app", "key"),
    sqlite_autoincrement=True,
)
Index("ix_tg_processes_entity", processes.c.app, processes.c.entity)

process_versions = Table(
    "tg_process_versions",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("process_id", IdType, ForeignKey("tg_processes.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JsonType, nullable=False),
    Column("published_at", Timestamp, nullable=False),
    Column("published_by", IdType, nullable=True),
    UniqueConstraint("process_id", "version"),
    sqlite_autoincrement=True,
)

instances = Table(
    "tg_process_instances",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("process_id", IdType, ForeignKey("tg_processes.id", ondelete="CASCADE"), nullable=False),
    Column("version_id", IdType, ForeignKey("tg_process_versions.id", ondelete="CASCADE"), nullable=False),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("record_id", IdType, nullable=False),
    Column("state", String(16), nullable=False),  # running | completed | withdrawn | cancelled (record deleted)
    Column("outcome", String(16), nullable=True),  # approved | rejected | done (set when it ends)
    # "<process id>:<record id>" while running when only one may run per record; NULL otherwise.
    # A unique column, so two concurrent starts cannot both succeed.
    Column("running_key", String(40), nullable=True, unique=True),
    Column("lock", JsonType, nullable=True),  # ["*"] or field keys, while running
    Column("started_by", IdType, nullable=True),
    Column("started_at", Timestamp, nullable=False),
    Column("ended_at", Timestamp, nullable=True),
    Column("revision", Integer, nullable=False),  # bumped by every transition: serialises actors
    sqlite_autoincrement=True,
)
Index("ix_tg_process_instances_record", instances.c.app, instances.c.entity, instances.c.record_id)
Index("ix_tg_process_instances_starter", instances.c.started_by, instances.c.id)

forks = Table(
    "tg_process_forks",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("instance_id", IdType, ForeignKey("tg_process_instances.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("node_id", String(63), nullable=False),  # the split
    Column("expected", Integer, nullable=False),  # branches started
    Column("parent_id", IdType, nullable=True),  # the fork the split itself ran in
    sqlite_autoincrement=True,
)

tokens = Table(
    "tg_process_tokens",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("instance_id", IdType, ForeignKey("tg_process_instances.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("node_id", String(63), nullable=False),
    Column("fork_id", IdType, nullable=True),
    Column("state", String(16), nullable=False),  # waiting (at a task, timer or join) | done | cancelled
    Column("step_id", IdType, nullable=True),  # the open visit of node_id
    sqlite_autoincrement=True,
)

steps = Table(
    "tg_process_steps",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("instance_id", IdType, ForeignKey("tg_process_instances.id", ondelete="CASCADE"), nullable=False),
    Column("token_id", IdType, nullable=True),
    Column("node_id", String(63), nullable=False),
    Column("node_type", String(40), nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("ended_at", Timestamp, nullable=True),
    Column("outcome", String(32), nullable=True),  # approved | rejected | returned | completed | cancelled | done ...
    sqlite_autoincrement=True,
)
Index("ix_tg_process_steps_instance", steps.c.instance_id, steps.c.id)

tasks = Table(
    "tg_process_tasks",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("instance_id", IdType, ForeignKey("tg_process_instances.id", ondelete="CASCADE"), nullable=False),
    Column("step_id", IdType, nullable=False),
    Column("node_id", String(63), nullable=False),
    Column("kind", String(16), nullable=False),  # approval | fill | resubmit | cc
    Column("assignee_id", IdType, nullable=False),
    Column("state", String(16), nullable=False),  # pending | queued (later in a chain) | done | cancelled
    Column("position", Integer, nullable=False),  # order in a sequential chain
    Column("decision", String(16), nullable=True),  # approve | reject | complete | return | transfer ...
    Column("comment", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("due_at", Timestamp, nullable=True),
    Column("acted_at", Timestamp, nullable=True),
    Column("acted_by", IdType, nullable=True),
    Column("origin_id", IdType, nullable=True),  # the task this one was transferred / escalated / added from
    Column("placement", String(8), nullable=True),  # before | after: a signer added beside the assignees
    Column("escalated", Boolean, nullable=False, default=False),
    Column("on_behalf_of", IdType, nullable=True),  # the user whose delegation gave this task to the assignee
    sqlite_autoincrement=True,
)
Index("ix_tg_process_tasks_assignee", tasks.c.assignee_id, tasks.c.state, tasks.c.id)
Index("ix_tg_process_tasks_instance", tasks.c.instance_id, tasks.c.step_id)
Index("ix_tg_process_tasks_actor", tasks.c.acted_by, tasks.c.id)  # the "handled by me" inbox

events = Table(
    "tg_process_events",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("instance_id", IdType, ForeignKey("tg_process_instances.id", ondelete="CASCADE"), nullable=False),
    Column("step_id", IdType, nullable=True),
    Column("task_id", IdType, nullable=True),
    Column("at", Timestamp, nullable=False),
    Column("actor_id", IdType, nullable=True),  # NULL: the engine (a timer, a deadline)
    Column("action", String(32), nullable=False),
    Column("comment", Text, nullable=True),
    Column("data", JsonType, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_process_events_instance", events.c.instance_id, events.c.id)
Index("ix_tg_process_events_actor", events.c.actor_id, events.c.instance_id)

# A user's delegation (委托): tasks that arrive for `user_id` between `starts_at` and `ends_at`
# (optionally only those of one app, or one process) go to `delegate_id` instead.
delegations = Table(
    "tg_delegations",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), nullable=False),
    Column("delegate_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), nullable=False),
    Column("starts_at", Timestamp, nullable=False),
    Column("ends_at", Timestamp, nullable=False),
    Column("app", String(63), nullable=True),  # NULL: every app
    Column("process", String(63), nullable=True),  # a process key of `app`; NULL: every process
    Column("note", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_tg_delegations_user", delegations.c.user_id, delegations.c.starts_at)
