"""A compiled entity: its definition bound to field types and a SQLAlchemy Table of its real table.

Compiled once per (entity id, version) and cached, so a request never re-parses a definition.
Relations are plain indexed id columns: the record service (the only writer) enforces that targets
exist and applies on-delete behaviour, which soft delete and online schema changes need anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, Table

from engine.core.errors import ErrorCollector
from engine.core.sql import IdType, Timestamp, short_name
from engine.schema.definition import EntityDefinition, FieldBase, parse_entity, parse_fields
from engine.schema.field_types import FieldType, field_types

SYSTEM_COLUMNS = ("id", "version", "created_at", "updated_at", "created_by", "updated_by", "owner", "deleted_at")


@dataclass(frozen=True)
class BoundField:
    cfg: Any
    type: FieldType

    @property
    def key(self) -> str:
        return str(self.cfg.key)

    @cached_property
    def parse(self) -> Callable[[Any], Any]:
        """The type's parser for this config, built once (the hot path of every write)."""
        return self.type.parser(self.cfg)

    @cached_property
    def default_value(self) -> Any:
        return None if self.cfg.default is None else self.parse(self.cfg.default)


@dataclass
class CompiledEntity:
    id: int
    app: str
    key: str
    version: int
    table_name: str
    definition: EntityDefinition
    removed: tuple[FieldBase, ...]
    table: Table
    fields: dict[str, BoundField] = field(default_factory=dict)

    @property
    def label(self) -> Any:
        return self.definition.label

    def relation_target(self, f: BoundField) -> tuple[str, str]:
        app, _, entity = f.cfg.target.rpartition(".")
        return (app or self.app, entity)

    def relations(self) -> list[BoundField]:
        return [f for f in self.fields.values() if f.cfg.type == "relation"]


def system_columns() -> list[Column[Any]]:
    return [
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column("version", Integer, nullable=False),
        Column("created_at", Timestamp, nullable=False),
        Column("updated_at", Timestamp, nullable=False),
        Column("created_by", IdType, nullable=True),
        Column("updated_by", IdType, nullable=True),
        Column("owner", IdType, nullable=True),
        Column("deleted_at", Timestamp, nullable=True),
    ]


def field_column(f: BoundField) -> Column[Any]:
    # Every user column is nullable: `required` is enforced by the record service, which is what
    # lets fields be added, removed and restored online without rewriting the table.
    return Column(f.key, f.type.column_type(f.cfg), nullable=True)


def field_indexes(table: Table, f: BoundField) -> list[Index]:
    col = table.c[f.key]
    if f.cfg.unique or f.type.generated:
        live = table.c.deleted_at.is_(None)
        # Unique among live records: a record in the recycle bin does not hold its value hostage.
        return [Index(short_name("uq", table.name, f.key), col, unique=True, sqlite_where=live, postgresql_where=live)]
    if f.cfg.indexed or f.cfg.type in ("relation", "user"):
        return [Index(short_name("ix", table.name, f.key), col)]
    return []


def build_table(table_name: str, fields: list[BoundField]) -> Table:
    # AUTOINCREMENT on SQLite: a purged record's id is never handed out again.
    table = Table(table_name, MetaData(), *system_columns(), *(field_column(f) for f in fields), sqlite_autoincrement=True)
    # (owner, id): a row-scoped page in id order walks only the owner's rows.
    Index(short_name("ix", table_name, "owner"), table.c.owner, table.c.id)
    for f in fields:
        field_indexes(table, f)
    return table


def bind(cfgs: Any) -> list[BoundField]:
    registry = field_types()
    return [BoundField(cfg, registry[cfg.type]) for cfg in cfgs]


def compile_entity(row: Any, app_key: str) -> CompiledEntity:
    """Compile a tg_entities row (definitions in it were validated when published)."""
    definition = parse_entity(row.definition, field_types())
    removed = tuple(parse_fields(row.removed_fields, field_types(), ErrorCollector()))
    live = bind(definition.fields)
    table = build_table(row.table_name, live + bind(removed))
    return CompiledEntity(
        id=row.id,
        app=app_key,
        key=row.key,
        version=row.version,
        table_name=row.table_name,
        definition=definition,
        removed=removed,
        table=table,
        fields={f.key: f for f in live},
    )
