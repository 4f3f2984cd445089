"""System tables of the rule engine: definitions, the execution log, fired occurrences, counters."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

rules = Table(
    "tg_rules",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("key", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("definition", JsonType, nullable=False),  # a validated RuleDefinition
    Column("enabled", Boolean, nullable=False),
    Column("position", Integer, nullable=False),  # evaluation order within the entity
    Column("version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("app", "key"),
    sqlite_autoincrement=True,
)
Index("ix_tg_rules_entity", rules.c.app, rules.c.entity)

# One row per evaluation: a record change, a scheduled match, a dry run is not logged.
rule_runs = Table(
    "tg_rule_runs",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("rule_id", IdType, ForeignKey("tg_rules.id", ondelete="CASCADE"), nullable=False),
    Column("record_id", IdType, nullable=True),
    Column("at", Timestamp, nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("matched", Boolean, nullable=False),
    Column("actions_done", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),  # done | skipped | stopped | error
    Column("detail", Text, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_rule_runs_rule", rule_runs.c.rule_id, rule_runs.c.id)

# Scheduled and date-relative rules fire once per record and occurrence (a cron tick, a date value).
rule_fires = Table(
    "tg_rule_fires",
    system_metadata,
    Column("rule_id", IdType, ForeignKey("tg_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("record_id", IdType, primary_key=True),
    Column("occurrence", String(40), primary_key=True),
    Column("at", Timestamp, nullable=False),
)

# Round-robin positions and similar per-action state.
rule_counters = Table(
    "tg_rule_counters",
    system_metadata,
    Column("rule_id", IdType, ForeignKey("tg_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(63), primary_key=True),
    Column("value", Integer, nullable=False),
)
