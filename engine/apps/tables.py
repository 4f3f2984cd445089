"""System tables of app packages: form layouts, and what each package installed (the upgrade's baseline).

`tg_app_install_items` keeps every definition exactly as the package installed it. An upgrade compares
that baseline with the definition as it is now (did the customer change it?) and with the new package's
(did the package change it?): the three-way comparison that keeps customers' changes safe.
"""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

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

# A form layout published for anonymous visitors (engine/apps/public_forms.py): its settings.
public_forms = Table(
    "tg_public_forms",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("form", String(63), nullable=False),  # the layout's key in tg_forms
    Column("slug", String(64), nullable=False, unique=True),  # unguessable: the link /f/{slug}
    Column("settings", JsonType, nullable=False),  # a checked PublicFormIn
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    sqlite_autoincrement=True,
)

# One row per accepted submission: the daily cap counts them, `challenge` refuses a replayed answer,
# `status_token` is the submitter's private status link (null when the form shows no status).
public_submissions = Table(
    "tg_public_submissions",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("public_form_id", IdType, ForeignKey("tg_public_forms.id", ondelete="CASCADE"), nullable=False),
    Column("record_id", IdType, nullable=False),
    Column("challenge", String(64), nullable=False, unique=True),
    Column("status_token", String(64), nullable=True, unique=True),
    Column("submitted_at", Timestamp, nullable=False),
    Index("ix_tg_public_submissions_form", "public_form_id", "submitted_at"),
    sqlite_autoincrement=True,
)

# The form designer's unpublished drafts: one per person and entity, the whole {entity, form} being edited,
# with the entity version it started from (a draft of an older version is offered with that warning).
form_drafts = Table(
    "tg_form_drafts",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("user_id", IdType, nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("draft", JsonType, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("app", "entity", "user_id"),
    sqlite_autoincrement=True,
)
