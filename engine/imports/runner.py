"""Running an import over a sheet, one batch of rows at a time: cells to values, lookups, then writes
through the record service (validation, formulas, audit, rules and processes all apply).

A batch is written inside a savepoint. When the record service refuses it, the rows its errors name
are set aside as row errors and the rest is written again, so the good rows of a batch still go in
(skip mode) and every error is found, not only the first batch's (all-or-nothing, dry run). Errors
that name no row (a conflict) split the batch in halves down to the single row at fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.errors import TangramError, ValidationFailed
from engine.imports.coerce import Coercer, Lookup, as_user, coercer, is_blank
from engine.imports.duplicates import DUPLICATE, DuplicateFinder
from engine.imports.lookups import Lookups
from engine.imports.mapping import OWNER
from engine.records.service import RecordService
from engine.schema.field_types import InvalidValue
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

BATCH = 500
ITEM_PATH_RE = re.compile(r"^/items/(\d+)(?:/([^/]*))?")
MAX_VALUE = 1000  # characters of a cell kept in the error report


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "code": self.code, "message": self.message}


@dataclass
class Item:
    """One data row on its way in: its values by field, and the cells they came from (for errors)."""

    row: int
    values: dict[str, Any]
    cells: dict[str, Any]  # field key -> the cell as read


@dataclass
class Counts:
    total: int = 0
    processed: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed_rows(self) -> int:
        return failed_rows(self.errors)


def failed_rows(errors: list[RowError]) -> int:
    """Rows with an error; a possible duplicate is a warning, not a failure."""
    return len({e.row for e in errors if e.code != DUPLICATE})


def _shown(cell: Any) -> str | None:
    return None if cell is None else str(cell)[:MAX_VALUE]


@dataclass
class ImportRun:
    """One import's conversion and writing; the caller owns the transactions."""

    records: RecordService
    store: EntityStore
    entity: CompiledEntity
    access: Access
    mapping: dict[str, str]  # column header -> field key
    header: list[str]
    zone: ZoneInfo
    upsert_on: str | None = None
    value_map: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {cell text: option key}

    def __post_init__(self) -> None:
        position = {c: i for i, c in enumerate(self.header)}
        self.columns: dict[str, str] = {key: column for column, key in self.mapping.items()}
        self.converters: list[tuple[int, str, Coercer]] = [
            (position[column], key, as_user if key == OWNER else self._coercer(column, key))
            for column, key in self.mapping.items()
        ]
        self.lookups = Lookups(self.store, self.access, self.entity)
        self.finder = DuplicateFinder(self.entity, self.access)

    def _coercer(self, column: str, key: str) -> Coercer:
        return coercer(self.entity.fields[key], self.zone, self.value_map.get(column))

    def convert(self, rows: list[tuple[int, list[Any]]]) -> tuple[list[Item], list[RowError]]:
        """Cells to values; a blank cell sets nothing (defaults apply, an upsert keeps the stored value)."""
        items, errors = [], []
        for number, cells in rows:
            values, raw, bad = {}, {}, False
            for index, key, convert in self.converters:
                cell = cells[index]
                if is_blank(cell):
                    continue
                raw[key] = cell
                try:
                    values[key] = convert(cell)
                except InvalidValue as exc:
                    errors.append(RowError(number, self.columns[key], _shown(cell), exc.code, exc.message))
                    bad = True
            if not bad:
                items.append(Item(number, values, raw))
        return items, errors

    async def resolve(self, conn: AsyncConnection, items: list[Item]) -> tuple[list[Item], list[RowError]]:
        """Lookup cells to ids, one query per field for the whole batch."""
        keys = {k for item in items for k, v in item.values.items() if isinstance(v, Lookup)}
        errors: list[RowError] = []
        bad_rows: set[int] = set()
        for key in sorted(keys):
            answers = await self.lookups.resolve(conn, key, {v.text for i in items if isinstance(v := i.values.get(key), Lookup)})
            for item in items:
                value = item.values.get(key)
                if not isinstance(value, Lookup):
                    continue
                answer = answers[value.text]
                if answer.error is not None:
                    shown = _shown(item.cells[key])
                    errors.append(RowError(item.row, self.columns[key], shown, answer.error.code, answer.error.message))
                    bad_rows.add(item.row)
                else:
                    item.values[key] = answer.id
        return [i for i in items if i.row not in bad_rows], errors

    async def duplicates(self, conn: AsyncConnection, items: list[Item]) -> list[RowError]:
        """Warnings for rows that match a live record or an earlier row under the warn duplicate rules."""
        cells = {i.row: i.cells for i in items}
        flagged = await self.finder.flag(conn, [(i.row, i.values) for i in items])
        return [
            RowError(row, self.columns.get(key, ""), _shown(cells[row].get(key)), DUPLICATE, message)
            for row, key, message in flagged
        ]

    async def write(self, conn: AsyncConnection, items: list[Item]) -> BatchResult:
        """Write what the record service accepts; everything it refuses comes back as row errors."""
        result = BatchResult()
        while items:
            try:
                async with conn.begin_nested():
                    created, updated = await self._save(conn, items)
            except ValidationFailed as exc:
                refused = self._row_errors(items, exc)
                if refused is None:
                    await self._split(conn, items, result)
                    return result
                result.errors += refused
                items = [i for i in items if i.row not in {e.row for e in refused}]
                continue
            except TangramError as exc:
                await self._split(conn, items, result, exc)
                return result
            result.created += created
            result.updated += updated
            return result
        return result

    async def _split(
        self, conn: AsyncConnection, items: list[Item], result: BatchResult, exc: TangramError | None = None
    ) -> None:
        if len(items) == 1:
            detail = exc.detail if exc is not None else "the record was refused"
            code = exc.type_slug if exc is not None else "refused"
            result.errors.append(RowError(items[0].row, "", None, code, detail))
            return
        half = len(items) // 2
        for part in (items[:half], items[half:]):
            done = await self.write(conn, part)
            result.created += done.created
            result.updated += done.updated
            result.errors += done.errors

    async def _save(self, conn: AsyncConnection, items: list[Item]) -> tuple[int, int]:
        data = [i.values for i in items]
        paths = [f"/items/{n}" for n in range(len(items))]
        if self.upsert_on is None:
            await self.records.create_many(conn, self.entity, data, self.access, paths)
            return len(items), 0
        t = self.entity.table
        keys = [_key(self.entity, self.upsert_on, d.get(self.upsert_on)) for d in data]
        column = t.c[self.upsert_on]
        found = select(column).where(column.in_([k for k in keys if k is not None]), t.c.deleted_at.is_(None))
        existing = set((await conn.execute(found)).scalars())
        await self.records.upsert_many(conn, self.entity, data, self.upsert_on, self.access)
        updated = sum(1 for k in keys if k in existing)
        return len(items) - updated, updated

    def _row_errors(self, items: list[Item], exc: ValidationFailed) -> list[RowError] | None:
        """The refusal as row errors, or None when an error names no row (then the batch is split)."""
        out = []
        for error in exc.errors:
            match = ITEM_PATH_RE.match(error.path)
            if match is None or int(match.group(1)) >= len(items):
                return None
            item = items[int(match.group(1))]
            key = (match.group(2) or "").replace("~1", "/").replace("~0", "~")
            out.append(RowError(item.row, self.columns.get(key, ""), _shown(item.cells.get(key)), error.code, error.message))
        return out or None


Progress = Callable[[Counts], Any]


def _key(entity: CompiledEntity, key: str, value: Any) -> Any:
    """The stored form of an upsert key (an email is matched lower-cased, as it is stored)."""
    try:
        return None if value is None else entity.fields[key].parse(value)
    except InvalidValue:
        return None
