"""System tables of app packages: form layouts, and what each package installed (the upgrade's baseline).

`tg_app_install_items` keeps every definition exactly as the package installed it. An upgrade compares
that baseline with the definition as it is now (did the customer change it?) and with the new package's
(did the package change it?): the three-way comparison that keeps customers' changes safe.
"""

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

forms = Table(
    "tg_forms",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("key", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("definition", JsonType, nullable=False),  # a checked FormDefinition
    Column("version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("app", "key"),
    sqlite_autoincrement=True,
)

app_installs = Table(
    "tg_app_installs",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False, unique=True),
    Column("package", String(63), nullable=False),
    Column("version", String(100), nullable=False),
    Column("manifest", JsonType, nullable=False),
    Column("installed_at", Timestamp, nullable=False),
    Column("installed_by", IdType, nullable=True),
    Column("upgraded_at", Timestamp, nullable=True),
    sqlite_autoincrement=True,
)

app_install_items = Table(
    "tg_app_install_items",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("kind", String(20), nullable=False),  # entity, form, role, rule, process, chart, dashboard
    Column("key", String(63), nullable=False),
    Column("definition", JsonType, nullable=False),
    UniqueConstraint("app", "kind", "key"),
    sqlite_autoincrement=True,
)
