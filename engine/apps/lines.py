"""Line items: a record saved with the child records of its form's lines sections in one transaction,
and read back with them. Every write goes through the record service (rights, rules, formulas, audit,
events); the parent's aggregates are recomputed once, on the final set of lines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.forms import FormService, lines_sections
from engine.apps.lines_input import MAX_LINES, Item, Lines, parse_items
from engine.auth.policy import Access, scope
from engine.core.errors import ErrorCollector, NotFound, ValidationFailed, pointer
from engine.records.computed import ComputedFields
from engine.records.reads import RecordReader, scoped
from engine.records.serialize import SYSTEM_OUT, record_json
from engine.records.service import RecordService, changed_elsewhere
from engine.records.validation import validate_input
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

T = TypeVar("T")
SectionsOf = Callable[[AsyncConnection, str, str], Awaitable[Sequence[Lines]]]  # (conn, app, entity) -> sections
RECORD_KEYS = {"id", *SYSTEM_OUT}


@dataclass
class LineItems:
    records: RecordService
    reader: RecordReader
    computed: ComputedFields
    store: EntityStore
    sections_of: SectionsOf  # the lines sections of an entity's record form

    async def create(self, conn: AsyncConnection, entity: CompiledEntity, data: Any, actor: Access) -> dict[str, Any]:
        """Create a record, and the new lines under each lines-section key of `data` linked to it."""
        own, sent = await self._split(conn, entity, data)
        if not sent:
            return await self.records.create(conn, entity, own, actor)
        errors = ErrorCollector()
        with self.computed.deferring() as pending:
            record = await _collect(errors, self.records.create(conn, entity, own, actor))
            for section, raw in sent:
                await self._save(conn, entity, record["id"] if record else None, section, raw, actor, errors)
        errors.raise_if_any("The record has errors", lone=True)
        assert record is not None
        await self.computed.recompute(conn, pending)  # the new record's totals, as a line change would
        return await self._answer(conn, actor, entity, record, [s for s, _ in sent])

    async def update(
        self, conn: AsyncConnection, entity: CompiledEntity, rid: int, data: Any, actor: Access, expected: int | None
    ) -> dict[str, Any]:
        """Change a record and replace the lines of each lines-section key of `data`: items with an id
        update that line, items without create one, lines missing from the array are deleted."""
        own, sent = await self._split(conn, entity, data)
        if not sent:
            return await self.records.update(conn, entity, rid, own, actor, expected)
        current = await self.reader.get(conn, actor, entity, rid, ["version"])
        if expected is not None and expected != current["version"]:
            raise changed_elsewhere(actor, rid, current["version"])
        errors = ErrorCollector()
        with self.computed.deferring() as pending:
            changed = False
            for section, raw in sent:
                changed |= await self._save(conn, entity, rid, section, raw, actor, errors)
            pending.discard(entity, rid)  # saved below, which recomputes its totals on the final lines
            record = await _collect(errors, self.records.update(conn, entity, rid, own, actor, expected, touch=changed))
        errors.raise_if_any("The record has errors", lone=True)
        assert record is not None
        await self.computed.recompute(conn, pending)
        return await self._answer(conn, actor, entity, record, [s for s, _ in sent])

    async def read(self, conn: AsyncConnection, actor: Access, entity: CompiledEntity, record: dict[str, Any]) -> None:
        """Add the lines of every lines section of the entity's record form to `record`, under the
        section's key: the lines the caller may read, in id order (at most MAX_LINES). A section whose
        child entity the caller may not read is left out."""
        for section in await self.sections(conn, entity):
            lines = await self._lines(conn, actor, entity, record["id"], section)
            if lines is not None:
                record[section.key] = lines

    async def sections(self, conn: AsyncConnection, entity: CompiledEntity) -> list[Lines]:
        """The entity's lines sections, but for one whose key names a field of the record (the field wins)."""
        sections = await self.sections_of(conn, entity.app, entity.key)
        return [s for s in sections if s.key not in entity.fields and s.key not in RECORD_KEYS]

    # -- saving ----------------------------------------------------------------------------------
    async def _split(self, conn: AsyncConnection, entity: CompiledEntity, data: Any) -> tuple[Any, list[tuple[Lines, Any]]]:
        """The record's own values and (section, raw array) for each lines-section key present. A
        payload of fields only costs no look-up of the form."""
        if not isinstance(data, dict) or all(k in entity.fields or k in RECORD_KEYS for k in data):
            return data, []
        sent = [(s, data[s.key]) for s in await self.sections(conn, entity) if s.key in data]
        keys = {s.key for s, _ in sent}
        return {k: v for k, v in data.items() if k not in keys}, sent

    async def _save(
        self, conn: AsyncConnection, parent: CompiledEntity, pid: int | None, section: Lines, raw: Any,
        actor: Access, errors: ErrorCollector,
    ) -> bool:  # fmt: skip
        """Write one section's lines (only check them when the parent could not be created); whether
        any line was created, changed or deleted."""
        child = await self.store.get(conn, parent.app, section.entity)
        mine = ErrorCollector()
        items = parse_items(section, raw, mine)
        existing = {} if pid is None or items is None else await self._existing(conn, actor, child, section, pid)
        for item in items or []:
            if item.id is not None and item.id not in existing:
                mine.add(pointer(section.key, item.index, "id"), "not_found", f"{item.id} is not a line of this {parent.key}")
        errors.extend(mine.errors)
        if items is None or mine:
            return False
        if pid is None:
            _check_new(child, section, items, actor, errors)
            return False
        gone = sorted(set(existing) - {i.id for i in items})
        for lid in gone:  # deleted first, so a new line may take a unique value a removed one held
            await self.records.delete(conn, child, lid, actor)
        kept = [(i, i.id) for i in items if i.id is not None]
        batch = [(lid, i.values, i.version) for i, lid in kept]
        paths = [pointer(section.key, i.index) for i, _ in kept]
        updated = await _collect(errors, self.records.update_many(conn, child, batch, actor, paths)) if kept else []
        new = [i for i in items if i.id is None]
        if new:
            values = [i.values | {section.link: pid} for i in new]
            paths = [pointer(section.key, i.index) for i in new]
            await _collect(errors, self.records.create_many(conn, child, values, actor, paths))
        return bool(gone or new) or any(r["version"] != existing[lid] for (_, lid), r in zip(kept, updated or [], strict=False))

    async def _existing(
        self, conn: AsyncConnection, actor: Access, child: CompiledEntity, section: Lines, pid: int
    ) -> dict[int, int]:
        """Line id -> version of the parent's live lines the caller may read (those it may replace)."""
        t = child.table
        query = select(t.c.id, t.c.version).where(t.c[section.link] == pid, t.c.deleted_at.is_(None))
        return {r.id: r.version for r in await conn.execute(scoped(query, scope(actor, child, "read")))}

    # -- reading ---------------------------------------------------------------------------------
    async def _answer(
        self, conn: AsyncConnection, actor: Access, entity: CompiledEntity, saved: dict[str, Any], sections: list[Lines]
    ) -> dict[str, Any]:
        """The saved record as the caller may read it (else as saved), with the lines of the sections it sent."""
        try:
            record = await self.reader.get(conn, actor, entity, saved["id"])
        except NotFound:  # a right to create without one to read
            record = saved
        for section in sections:
            lines = await self._lines(conn, actor, entity, record["id"], section)
            if lines is not None:
                record[section.key] = lines
        return record

    async def _lines(
        self, conn: AsyncConnection, actor: Access, parent: CompiledEntity, pid: int, section: Lines
    ) -> list[dict[str, Any]] | None:
        child = await self.store.get(conn, parent.app, section.entity)
        s = scope(actor, child, "read")
        if not s.allowed:
            return None
        t = child.table
        query = select(t).where(t.c[section.link] == pid, t.c.deleted_at.is_(None)).order_by(t.c.id).limit(MAX_LINES)
        return [record_json(child, row, None, s.hidden) for row in await conn.execute(scoped(query, s))]


async def _collect(errors: ErrorCollector, call: Awaitable[T]) -> T | None:
    """The call's result, or None with its validation errors added (other errors propagate)."""
    try:
        return await call
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        return None


def _check_new(child: CompiledEntity, section: Lines, items: list[Item], actor: Access, errors: ErrorCollector) -> None:
    """The new lines' own problems, when there is no parent to link them to (its errors are reported)."""
    s = scope(actor, child, "create")
    for item in items:
        path = pointer(section.key, item.index)
        found = ErrorCollector()
        validate_input(child, item.values, actor, found, partial=False, path=path, scope=s)
        errors.extend([e for e in found.errors if e.path != path + pointer(section.link)])


def record_form_lines(forms: FormService) -> SectionsOf:
    """The lines sections of the entity's record form (none without a form)."""

    async def sections_of(conn: AsyncConnection, app: str, entity: str) -> Sequence[Lines]:
        form = await forms.record_form(conn, app, entity)
        return lines_sections(form) if form is not None else []

    return sections_of
