"""System tables of the report engine: saved charts and dashboards, one row per definition.

A chart's source entity and a dashboard's tiles live inside the definition (JSON): both are read whole
whenever they are used, and an app holds tens of them, not millions, so nothing is indexed but the key.
`version` grows with every save (optimistic concurrency: If-Match on a replace).
"""

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

charts = Table(
    "tg_charts",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("key", String(63), nullable=False),
    Column("definition", JsonType, nullable=False),  # a checked ChartDefinition
    Column("version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("app", "key"),
    sqlite_autoincrement=True,
)

dashboards = Table(
    "tg_dashboards",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("key", String(63), nullable=False),
    Column("definition", JsonType, nullable=False),  # a DashboardDefinition: tiles name charts of the same app by key
    Column("version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("app", "key"),
    sqlite_autoincrement=True,
)
