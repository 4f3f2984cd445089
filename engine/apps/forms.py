"""Form layouts: how an entity's fields are arranged on its record form (sections of one or two columns).

A layout is a definition like any other: a pydantic model (published as docs/schemas/form.schema.json),
checked whole against its entity when saved (every field it names exists), stored in tg_forms with a
version that grows with every save (If-Match on a replace).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.tables import forms
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, NotFound, pydantic_errors
from engine.schema.definition import Help, Key, Label
from engine.schema.store import EntityStore


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Label = None
    columns: Literal[1, 2] = 1
    fields: Annotated[list[Key], Field(min_length=1, max_length=500)]


class FormDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Key
    entity: Key
    label: Label = None
    description: Help | None = None
    sections: Annotated[list[Section], Field(min_length=1, max_length=100)]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def form_json(row: Any) -> dict[str, Any]:
    """The stored layout with its row's id, app, version (also the ETag) and last change."""
    return dict(row.definition) | {"id": row.id, "app": row.app, "version": row.version, "updated_at": row.updated_at.isoformat()}


@dataclass
class FormService:
    store: EntityStore
    clock: Clock

    async def check(self, conn: AsyncConnection, app: str, doc: Any) -> FormDefinition:
        """The layout, or a 422 listing every problem at its JSON path: its shape, its entity, each field."""
        errors = ErrorCollector()
        try:
            form = FormDefinition.model_validate(doc)
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc))
            errors.raise_if_any("The form has errors")
            raise AssertionError("unreachable") from exc
        entity = await self.store.get_or_none(conn, app, form.entity)
        if entity is None:
            errors.add("/entity", "unknown_entity", f"app {app!r} has no entity {form.entity!r}")
            errors.raise_if_any("The form has errors")
        assert entity is not None
        seen: set[str] = set()
        for s, section in enumerate(form.sections):
            for i, key in enumerate(section.fields):
                if key not in entity.fields:
                    errors.add(f"/sections/{s}/fields/{i}", "unknown_field", f"{form.entity!r} has no field {key!r}")
                elif key in seen:
                    errors.add(f"/sections/{s}/fields/{i}", "duplicate", f"field {key!r} is on the form twice")
                seen.add(key)
        errors.raise_if_any("The form has errors")
        return form

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
