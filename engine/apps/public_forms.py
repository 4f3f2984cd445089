"""Public forms: a form layout published for anonymous visitors at an unguessable link (/f/{slug}).

Settings are checked whole (422 at their paths) and kept in tg_public_forms. Relation, user, file and
computed fields are never offered to visitors (they would reveal or need internal records).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.forms import FormDefinition, FormService, field_sections
from engine.apps.tables import public_forms
from engine.auth.policy import Access
from engine.auth.tables import users
from engine.core.errors import ErrorCollector, NotFound, pointer
from engine.records.validation import validate_input
from engine.schema.definition import Key, Label
from engine.schema.model import CompiledEntity

OFFERED = frozenset(
    {"text", "long_text", "email", "phone", "url", "integer", "decimal", "currency", "percent", "date", "datetime",
     "boolean", "select", "multi_select"}
)  # fmt: skip
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what secrets.token_urlsafe makes: slugs and status tokens
SOURCE = "public_form"  # the actor's source of every submission: the audit shows it
Origin = Annotated[str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=200)]


class PublicFormIn(BaseModel):
    """What an implementer sets: which layout, who owns the records, what visitors are told and shown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form: Key
    enabled: bool = True
    assignment: Literal["owner", "rules"] = "owner"  # a fixed owner, or the entity's rules assign it
    owner: Annotated[int, Field(ge=1)] | None = None
    title: Label = None  # shown above the form (default: the layout's label)
    thank_you: Label = None
    origins: Annotated[list[Origin], Field(max_length=20)] = []  # sites that may embed the form in a frame
    daily_cap: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    status_fields: Annotated[list[Key], Field(max_length=30)] = []  # shown on the submitter's status link
    # Values set on every submission, for fields the form does not offer: the event of a sign-up form
    # (a relation), a lead's source. Checked like a write when published.
    fixed: Annotated[dict[Key, Any], Field(max_length=30)] = {}

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class Published:
    """A public form as visitors meet it: its settings, layout, entity and the fields offered."""

    id: int
    app: str
    slug: str
    settings: PublicFormIn
    layout: FormDefinition
    entity: CompiledEntity

    def fields(self) -> list[str]:
        """The keys a visitor may send, in the layout's order."""
        keys = [item.field for _, s in field_sections(self.layout) for item in s.items()]
        return [k for k in keys if offered(self.entity, k)]


def offered(entity: CompiledEntity, key: str) -> bool:
    f = entity.fields.get(key)
    return f is not None and f.cfg.type in OFFERED and not f.type.computed and not f.type.generated


def public_json(row: Any) -> dict[str, Any]:
    return dict(row.settings) | {"id": row.id, "app": row.app, "slug": row.slug, "enabled": row.enabled,
                                 "url": f"/f/{row.slug}", "updated_at": row.updated_at.isoformat()}  # fmt: skip


@dataclass
class PublicForms:
    """Publishing (for those who manage the layout's entity; the router checks) and loading by link."""

    forms: FormService

    async def _check(self, conn: AsyncConnection, app: str, doc: PublicFormIn) -> CompiledEntity:
        errors = ErrorCollector()
        row = await self.forms.list(conn, app)
        layout = next((r for r in row if r.key == doc.form), None)
        if layout is None:
            errors.add("/form", "unknown_form", f"app {app!r} has no form {doc.form!r}")
            errors.raise_if_any("The public form has errors")
        assert layout is not None
        entity = await self.forms.store.get(conn, app, layout.entity)
        if doc.assignment == "owner" and doc.owner is None:
            errors.add("/owner", "required", "a fixed owner is required unless the rules assign the records")
        if doc.owner is not None and not await _active_user(conn, doc.owner):
            errors.add("/owner", "unknown_user", f"no active user {doc.owner}")
        for i, key in enumerate(doc.status_fields):
            if key not in entity.fields:
                errors.add(f"/status_fields/{i}", "unknown_field", f"{entity.key!r} has no field {key!r}")
        _check_fixed(doc, entity, FormDefinition.model_validate(layout.definition), errors)
        errors.raise_if_any("The public form has errors")
        return entity

    async def entity_of(self, conn: AsyncConnection, app: str, form: str) -> str:
        """The entity of a layout (what the caller must manage), or NotFound."""
        return str((await self.forms.row(conn, app, form)).entity)

    async def create(self, conn: AsyncConnection, app: str, doc: PublicFormIn, now: Any) -> dict[str, Any]:
        await self._check(conn, app, doc)
        values = {"app": app, "form": doc.form, "slug": secrets.token_urlsafe(18), "settings": doc.to_json(),
                  "enabled": doc.enabled, "created_at": now, "updated_at": now}  # fmt: skip
        rid = (await conn.execute(insert(public_forms).values(values).returning(public_forms.c.id))).scalar_one()
        return public_json(await self.row(conn, app, rid))

    async def replace(self, conn: AsyncConnection, app: str, pid: int, doc: PublicFormIn, now: Any) -> dict[str, Any]:
        """New settings (the link stays); `enabled: false` takes the form offline at once."""
        await self.row(conn, app, pid)
        await self._check(conn, app, doc)
        values = {"form": doc.form, "settings": doc.to_json(), "enabled": doc.enabled, "updated_at": now}
        await conn.execute(update(public_forms).where(public_forms.c.id == pid).values(values))
        return public_json(await self.row(conn, app, pid))

    async def row(self, conn: AsyncConnection, app: str, pid: int) -> Any:
        query = select(public_forms).where(public_forms.c.app == app, public_forms.c.id == pid)
        if (row := (await conn.execute(query)).first()) is None:
            raise NotFound(f"app {app!r} has no public form {pid}")
        return row

    async def list(self, conn: AsyncConnection, app: str) -> list[dict[str, Any]]:
        query = select(public_forms).where(public_forms.c.app == app).order_by(public_forms.c.id)
        return [public_json(r) for r in (await conn.execute(query)).all()]

    async def published(self, conn: AsyncConnection, slug: str) -> Published:
        """The enabled form behind a link; a disabled or unknown one is simply not found."""
        query = select(public_forms).where(public_forms.c.slug == slug, public_forms.c.enabled.is_(True))
        row = (await conn.execute(query)).first() if TOKEN.fullmatch(slug) else None
        if row is None:
            raise NotFound("this form does not exist or is closed")
        layout = await self.forms.row(conn, row.app, row.form)
        form = FormDefinition.model_validate(layout.definition)
        entity = await self.forms.store.get(conn, row.app, layout.entity)
        return Published(row.id, row.app, row.slug, PublicFormIn.model_validate(row.settings), form, entity)


def _check_fixed(doc: PublicFormIn, entity: CompiledEntity, layout: FormDefinition, errors: ErrorCollector) -> None:
    offered_keys = set(Published(0, "", "", doc, layout, entity).fields())
    for key in doc.fixed:
        if key in offered_keys:
            errors.add(pointer("fixed", key), "offered", f"{key!r} is on the form: visitors fill it")
    validate_input(entity, doc.fixed, Access.system(source=SOURCE), errors, partial=True, path="/fixed")


async def _active_user(conn: AsyncConnection, user_id: int) -> bool:
    query = select(users.c.id).where(users.c.id == user_id, users.c.active.is_(True))
    return (await conn.execute(query)).first() is not None
