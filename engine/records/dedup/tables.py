"""System tables of duplicate rules and merges (migration 0010).

tg_dedup_keys holds, for every live record of an entity with duplicate rules, one normalised match key
per rule, so "who shares this key" and "which keys are shared" are indexed SQL lookups. tg_dedup_built
says which (rule, definition version) the keys were last built for: a rule added or changed later gets
its keys built once from the records, on first use. tg_merges remembers each merge for its undo.
"""

from sqlalchemy import Column, Index, Integer, String, Table

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

dedup_keys = Table(
    "tg_dedup_keys",
    system_metadata,
    Column("app", String(63), primary_key=True),
    Column("entity", String(63), primary_key=True),
    Column("rule", String(63), primary_key=True),
    Column("record_id", IdType, primary_key=True),
    Column("key", String(64), nullable=False),  # a digest of the normalised values
)
Index("ix_tg_dedup_keys_key", dedup_keys.c.app, dedup_keys.c.entity, dedup_keys.c.rule, dedup_keys.c.key)

dedup_built = Table(
    "tg_dedup_built",
    system_metadata,
    Column("app", String(63), primary_key=True),
    Column("entity", String(63), primary_key=True),
    Column("rule", String(63), primary_key=True),
    Column("entity_version", Integer, nullable=False),
)

merges = Table(
    "tg_merges",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("survivor_id", IdType, nullable=False),
    Column("survivor_version", Integer, nullable=False),  # right after the merge: undo refuses a survivor changed since
    Column("detail", JsonType, nullable=False),  # others, previous and picked values, re-pointed references
    Column("actor_id", IdType, nullable=True),
    Column("merged_at", Timestamp, nullable=False),
    Column("undone_at", Timestamp, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_merges_survivor", merges.c.app, merges.c.entity, merges.c.survivor_id)
