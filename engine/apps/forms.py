"""Form layouts: how an entity's fields are arranged on its record form (sections of one or two columns).

Sections may be folded into tabs or collapsed, carry form rules (visible / required / read-only when,
conditions on the record) or show line items of a child entity. Checked whole when saved
(form_check.py), stored in tg_forms with a version that grows with every save (If-Match on a replace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.form_check import check_meaning
from engine.apps.tables import forms
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, NotFound, pydantic_errors
from engine.schema.definition import Help, Key, Label
from engine.schema.store import EntityStore

Condition = dict[str, Any]  # a JSON condition (docs/user-guide/conditions.md), checked against the entity on save
# Union members are told apart by these tags; pydantic puts them in error locations, `parse_form` drops them.
TAGS = frozenset({"fields-section", "lines-section", "field-key", "field-rules"})


class FieldRules(BaseModel):
    """A field on the form with rules: each condition is evaluated on the record being edited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: Key
    visible_when: Condition | None = None
    required_when: Condition | None = None
    read_only_when: Condition | None = None


def _item_tag(v: Any) -> str:
    return "field-key" if isinstance(v, str) else "field-rules"


FieldItem = Annotated[Annotated[Key, Tag("field-key")] | Annotated[FieldRules, Tag("field-rules")], Discriminator(_item_tag)]


class _Folding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key | None = None  # unique in the form
    label: Label = None
    tab: Label = None  # consecutive sections with the same tab form one tab
    collapsible: bool | None = None
    collapsed: bool | None = None  # starts folded (collapsible sections only)


class Section(_Folding):
    """Fields in one or two columns; `visible_when` hides all of them."""

    kind: Literal["fields"] | None = None
    columns: Literal[1, 2] = 1
    fields: Annotated[list[FieldItem], Field(min_length=1, max_length=500)]
    visible_when: Condition | None = None

    def items(self) -> list[FieldRules]:
        """Every field of the section with its rules (none for a plain key)."""
        return [FieldRules(field=f) if isinstance(f, str) else f for f in self.fields]


class LinesSection(_Folding):
    """Line items: the records of a child `entity` whose relation `link` points at this form's record,
    shown as a grid with `fields` as columns."""

    kind: Literal["lines"]
    key: Key
    entity: Key
    link: Key
    fields: Annotated[list[Key], Field(min_length=1, max_length=50)]


def _section_tag(v: Any) -> str:
    kind = v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)
    return "lines-section" if kind == "lines" else "fields-section"


AnySection = Annotated[
    Annotated[Section, Tag("fields-section")] | Annotated[LinesSection, Tag("lines-section")], Discriminator(_section_tag)
]


class FormDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    entity: Key
    label: Label = None
    description: Help | None = None
    sections: Annotated[list[AnySection], Field(min_length=1, max_length=100)]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def lines_sections(form: FormDefinition) -> list[LinesSection]:
    """The form's line-item sections, in order (what saving a record with its lines walks)."""
    return [s for s in form.sections if isinstance(s, LinesSection)]


def field_sections(form: FormDefinition) -> list[tuple[int, Section]]:
    """(position, section) of every section of fields."""
    return [(i, s) for i, s in enumerate(form.sections) if isinstance(s, Section)]


def parse_form(doc: Any, errors: ErrorCollector) -> FormDefinition | None:
    """The layout's shape, or None with every problem located (union tags left out of the paths)."""
    try:
        return FormDefinition.model_validate(doc)
    except ValidationError as exc:
        for e in pydantic_errors(exc):
            parts = e.path.split("/")
            kept = [p for i, p in enumerate(parts) if not (p in TAGS and parts[i - 1].isdigit())]
            errors.add("/".join(kept), e.code, e.message)
        return None


def form_json(row: Any) -> dict[str, Any]:
    """The stored layout with its row's id, app, version (also the ETag) and last change."""
    return dict(row.definition) | {"id": row.id, "app": row.app, "version": row.version, "updated_at": row.updated_at.isoformat()}


@dataclass
class FormService:
    store: EntityStore
    clock: Clock

    async def check(self, conn: AsyncConnection, app: str, doc: Any) -> FormDefinition:
        """The layout, or a 422 listing every problem at its JSON path: its shape, its entity, each
        field, section keys and tabs, form rules, line-item sections."""
        errors = ErrorCollector()
        form = parse_form(doc, errors)
        errors.raise_if_any("The form has errors")
        assert form is not None
        entity = await self.store.get_or_none(conn, app, form.entity)
        if entity is None:
            errors.add("/entity", "unknown_entity", f"app {app!r} has no entity {form.entity!r}")
            errors.raise_if_any("The form has errors")
        assert entity is not None
        await check_meaning(conn, self.store, form, entity, errors)
        errors.raise_if_any("The form has errors")
        return form

    async def record_form(self, conn: AsyncConnection, app: str, entity: str) -> FormDefinition | None:
        """THE layout of the entity's record page: the one whose key is the entity's, else the first by key."""
        row = await self.record_row(conn, app, entity)
        return None if row is None else FormDefinition.model_validate(row.definition)

    async def record_row(self, conn: AsyncConnection, app: str, entity: str) -> Any:
        """The stored row (id, version, definition) of the entity's record form, or None."""
        query = select(forms.c.id, forms.c.key, forms.c.version, forms.c.definition)
        rows = (await conn.execute(query.where(forms.c.app == app, forms.c.entity == entity))).all()
        return min(rows, key=lambda r: (r.key != entity, r.key), default=None)

    async def list(self, conn: AsyncConnection, app: str, entity: str | None = None) -> list[Any]:
        query = select(forms).where(forms.c.app == app).order_by(forms.c.key)
        if entity is not None:
            query = query.where(forms.c.entity == entity)
        return list((await conn.execute(query)).all())

    async def row(self, conn: AsyncConnection, app: str, key: str) -> Any:
        row = (await conn.execute(select(forms).where(forms.c.app == app, forms.c.key == key))).first()
        if row is None:
            raise NotFound(f"app {app!r} has no form {key!r}")
        return row

    async def create(self, conn: AsyncConnection, app: str, doc: Any) -> dict[str, Any]:
        form = await self.check(conn, app, doc)
        if (await conn.execute(select(func.count()).where(forms.c.app == app, forms.c.key == form.key))).scalar():
            raise Conflict(f"app {app!r} already has a form {form.key!r}")
        now = self.clock.now()
        values = {"app": app, "key": form.key, "entity": form.entity, "definition": form.to_json(), "version": 1,
                  "created_at": now, "updated_at": now}  # fmt: skip
        await conn.execute(insert(forms).values(values))
        return form_json(await self.row(conn, app, form.key))

    async def replace(self, conn: AsyncConnection, app: str, key: str, doc: Any, expected: int | None) -> dict[str, Any]:
        old = await self.row(conn, app, key)
        if expected is not None and expected != old.version:
            raise Conflict(f"form {key!r} was changed by someone else (version {old.version})", current_version=old.version)
        form = await self.check(conn, app, doc)
        if form.key != key:
            raise Conflict(f"a form's key cannot change (it is {key!r})")
        stmt = (
            update(forms)
            .where(forms.c.id == old.id, forms.c.version == old.version)
            .values(entity=form.entity, definition=form.to_json(), version=old.version + 1, updated_at=self.clock.now())
        )
        if (await conn.execute(stmt)).rowcount != 1:
            raise Conflict(f"form {key!r} was changed by someone else; reload it")
        return form_json(await self.row(conn, app, key))

    async def delete(self, conn: AsyncConnection, app: str, key: str) -> None:
        row = await self.row(conn, app, key)
        await conn.execute(delete(forms).where(forms.c.id == row.id))
