"""Imports as the API and the CLI use them: check a file and its mapping, store it with a durable job,
run it (in the job, or in-process for the CLI) with progress and row errors kept in tg_imports.

Transactions: in skip_bad_rows mode each batch commits with the import's progress (a worker that dies
resumes after the last committed batch, so no row is written twice). All-or-nothing imports and dry
runs write every batch in one transaction (a dry run's is always rolled back); their progress is
committed beside it on PostgreSQL, while on SQLite (one writer) it is known at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.access import load_access
from engine.auth.policy import Access, scope
from engine.auth.tables import api_tokens, users
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.errors import Forbidden, NotFound, ValidationFailed
from engine.core.settings import Settings
from engine.imports.formats import FileLimits, Sheet, detect, read_sheet
from engine.imports.mapping import check_mapping, suggest
from engine.imports.options import ImportOptions
from engine.imports.runner import BATCH, BatchResult, Counts, ImportRun, Progress, RowError, failed_rows
from engine.imports.tables import import_errors, imports
from engine.imports.values import unmatched_values
from engine.jobs.queue import Job, JobHandlers, PermanentFailure, enqueue
from engine.records.automation import automation_paused
from engine.records.service import RecordService
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

JOB_KIND = "imports.run"
MAX_STORED_ERRORS = 100_000  # per import; the failed count stays exact beyond it
SHOWN_ERRORS = 100  # in the status; the error report has them all
COUNTS = ("total", "processed", "created", "updated", "failed")


class _RollBack(Exception):
    """All or nothing, and something failed: undo every batch."""


@dataclass
class Imports:
    records: RecordService
    store: EntityStore
    clock: Clock
    settings: Settings
    db: Database

    def register_jobs(self, handlers: JobHandlers) -> None:
        # Outside: the handler opens its own transactions (a batch at a time, progress in between).
        handlers.add(JOB_KIND, self.run_job, outside=True)

    @property
    def limits(self) -> FileLimits:
        return FileLimits.from_settings(self.settings)

    def read(self, file_name: str, data: bytes, fmt: str | None = None, sheet: str | None = None) -> tuple[str, Sheet]:
        key = fmt or detect(file_name, data)
        return key, read_sheet(key, data, self.limits, sheet)

    # -- before the import ----------------------------------------------------------------------
    def suggest(
        self, access: Access, entity: CompiledEntity, file_name: str, data: bytes, options: ImportOptions
    ) -> dict[str, Any]:
        """The mapping a sheet's header suggests (or the one given, checked), what it leaves unmapped, and
        the select cells no option matches (value_map applied), per column."""
        s = _may_import(access, entity, None)
        key, sheet = self.read(file_name, data, options.format, options.sheet)
        found = suggest(entity, sheet.header, s)
        mapping = options.mapping if options.mapping is not None else found.mapping
        if options.mapping is not None or options.value_map:
            check_mapping(entity, sheet.header, mapping, s, None, options.value_map, required=False)
        unmatched = unmatched_values(entity, sheet, mapping, options.value_map)
        shown = {**found.as_dict(), "mapping": mapping}
        return {"format": key, "sheets": sheet.sheets, "sheet": options.sheet or next(iter(sheet.sheets), None),
                "header": sheet.header, **shown, "unmatched_values": unmatched}  # fmt: skip

    async def start(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, file_name: str, data: bytes,
        options: ImportOptions, *, enqueue_job: bool = True,
    ) -> dict[str, Any]:  # fmt: skip
        """Check the file and the mapping whole (any problem: a 4xx, nothing stored), then store the import
        and, unless the caller runs it itself, its job."""
        s = _may_import(access, entity, options.upsert_on)
        key, sheet = self.read(file_name, data, options.format, options.sheet)
        mapping = options.mapping if options.mapping is not None else suggest(entity, sheet.header, s).mapping
        check_mapping(entity, sheet.header, mapping, s, options.upsert_on, options.value_map)
        if options.upsert_on is not None:
            check_mapping(entity, sheet.header, mapping, scope(access, entity, "update"), options.upsert_on)
        total = sum(1 for _ in sheet.rows)
        stored = options.model_copy(update={"mapping": mapping, "format": key})
        now = self.clock.now()
        values = {
            "app": entity.app, "entity": entity.key, "state": "queued", "file_name": file_name[:255], "format": key, "file": data,
            "options": stored.model_dump(), "total": total, "processed": 0, "created": 0, "updated": 0, "failed": 0,
            "created_by": access.user_id, "token_id": access.token_id, "created_at": now,
        }  # fmt: skip
        import_id = (await conn.execute(insert(imports).values(values).returning(imports.c.id))).scalar_one()
        if enqueue_job:
            job_id = await enqueue(conn, now, JOB_KIND, {"import_id": import_id}, dedup_key=f"import:{import_id}", max_attempts=3)
            await conn.execute(update(imports).where(imports.c.id == import_id).values(job_id=job_id))
        return await self.status(conn, access, entity, import_id)

    # -- status and errors ----------------------------------------------------------------------
    async def status(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, import_id: int) -> dict[str, Any]:
        row = await _visible(conn, access, entity, import_id)
        shown = await self._errors(conn, import_id, SHOWN_ERRORS)
        stored = (await conn.execute(select(func.count()).where(import_errors.c.import_id == import_id))).scalar_one()
        counts = {k: row._mapping[k] for k in COUNTS}
        return {
            "id": row.id, "app": row.app, "entity": row.entity, "state": row.state, "file_name": row.file_name,
            "format": row.format, "options": row.options, "counts": counts, "message": row.message,
            "errors": [e.as_dict() for e in shown], "error_count": stored,
            "created_by": row.created_by, "created_at": row.created_at, "started_at": row.started_at,
            "finished_at": row.finished_at,
        }  # fmt: skip

    async def history(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The caller's own imports into an entity, newest first: state, counts, no file and no errors."""
        i = imports
        query = (
            select(i.c.id, i.c.state, i.c.file_name, i.c.format, i.c.options, *(i.c[k] for k in COUNTS), i.c.message,
                   i.c.created_at, i.c.finished_at)
            .where(i.c.app == entity.app, i.c.entity == entity.key, i.c.created_by == access.user_id)
            .order_by(i.c.id.desc()).limit(limit)
        )  # fmt: skip
        return [
            {"id": r.id, "state": r.state, "file_name": r.file_name, "format": r.format,
             "dry_run": bool(r.options.get("dry_run")), "counts": {k: r._mapping[k] for k in COUNTS},
             "message": r.message, "created_at": r.created_at, "finished_at": r.finished_at}
            for r in (await conn.execute(query)).all()
        ]  # fmt: skip

    async def errors(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, import_id: int) -> list[RowError]:
        await _visible(conn, access, entity, import_id)
        return await self._errors(conn, import_id, None)

    async def _errors(self, conn: AsyncConnection, import_id: int, limit: int | None) -> list[RowError]:
        e = import_errors
        query = select(e.c.row, e.c.column, e.c.value, e.c.code, e.c.message).where(e.c.import_id == import_id)
        rows = (await conn.execute(query.order_by(e.c.row, e.c.id).limit(limit))).all()
        return [RowError(*r) for r in rows]

    # -- running ------------------------------------------------------------------------------
    async def run_job(self, conn: AsyncConnection, job: Job) -> None:
        import_id = job.payload.get("import_id")
        if not isinstance(import_id, int):
            raise PermanentFailure('imports.run needs a payload {"import_id": <id>}')
        await self.execute(import_id)

    async def execute(self, import_id: int, on_progress: Progress | None = None) -> Counts:
        """Run a stored import to its end (or on from its last committed batch); returns its counts."""
        async with self.db.write() as conn:
            row = (await conn.execute(select(imports).where(imports.c.id == import_id))).first()
            if row is None:
                raise PermanentFailure(f"import {import_id} does not exist")
            counts = Counts(row.total, row.processed, row.created, row.updated, row.failed)
            if row.state in ("done", "failed"):
                return counts
            started = {"started_at": self.clock.now()} if row.started_at is None else {}
            await conn.execute(update(imports).where(imports.c.id == import_id).values(state="running", **started))
            access = await _access(conn, row)
            entity = await self.store.get(conn, row.app, row.entity) if access is not None else None
        if access is None or entity is None:
            await self._finish(import_id, counts, "failed", "the user who started the import is no longer active")
            return counts
        options = ImportOptions.model_validate(row.options)
        try:
            sheet = read_sheet(row.format, row.file, self.limits, options.sheet)
        except ValidationFailed as exc:
            await self._finish(import_id, counts, "failed", exc.errors[0].message if exc.errors else exc.detail)
            return counts
        run = ImportRun(
            self.records, self.store, entity, access, options.mapping or {}, sheet.header,
            ZoneInfo(self.settings.tangram_timezone), options.upsert_on, options.value_map or {},
        )  # fmt: skip
        with nullcontext() if options.run_automation else automation_paused():
            if options.mode == "skip_bad_rows" and not options.dry_run:
                await self._batch_by_batch(import_id, run, sheet, counts, on_progress)
            else:
                await self._all_at_once(import_id, run, sheet, counts, options.dry_run, on_progress)
        return counts

    async def _batch_by_batch(
        self, import_id: int, run: ImportRun, sheet: Sheet, counts: Counts, on_progress: Progress | None
    ) -> None:
        stored = counts.failed
        for rows in _batches(itertools.islice(sheet.rows, counts.processed, None)):
            async with self.db.write() as conn:
                result = await _batch(conn, run, rows)
                _add(counts, len(rows), result)
                stored = await _store_errors(conn, import_id, result.errors, stored)
                await _save_counts(conn, import_id, counts)
            _notify(on_progress, counts)
        await self._finish(import_id, counts, "done", None)

    async def _all_at_once(
        self, import_id: int, run: ImportRun, sheet: Sheet, counts: Counts, dry_run: bool, on_progress: Progress | None
    ) -> None:
        errors: list[RowError] = []
        try:
            async with self._one_transaction(dry_run) as conn:
                for rows in _batches(sheet.rows):
                    result = await _batch(conn, run, rows, dry_run)
                    _add(counts, len(rows), result)
                    errors += result.errors
                    await self._side_progress(import_id, counts)
                    _notify(on_progress, counts)
                if failed_rows(errors) and not dry_run:
                    raise _RollBack
                if not dry_run:  # committed with the records: done exactly when they are
                    await _save_counts(conn, import_id, counts, state="done", finished_at=self.clock.now())
        except _RollBack:
            counts.created = counts.updated = 0
        if dry_run or errors:
            async with self.db.write() as conn:
                await _store_errors(conn, import_id, errors, 0)
            await self._finish(import_id, counts, "failed" if errors and not dry_run else "done", _summary(errors, dry_run))

    @asynccontextmanager
    async def _one_transaction(self, dry_run: bool) -> AsyncIterator[AsyncConnection]:
        async with self.db.rehearse() if dry_run else self.db.write() as conn:
            yield conn

    async def _side_progress(self, import_id: int, counts: Counts) -> None:
        # SQLite has one writer, held by the import's own transaction: progress waits for the end.
        if not self.db.is_sqlite:
            async with self.db.write() as conn:
                await _save_counts(conn, import_id, counts)

    async def _finish(self, import_id: int, counts: Counts, state: str, message: str | None) -> None:
        async with self.db.write() as conn:
            await _save_counts(conn, import_id, counts, state=state, message=message, finished_at=self.clock.now())


def _may_import(access: Access, entity: CompiledEntity, upsert_on: str | None) -> Any:
    s = scope(access, entity, "create")
    if not s.allowed:
        raise Forbidden(f"you may not create {entity.key} records, so you may not import them")
    if upsert_on is not None and not scope(access, entity, "update").allowed:
        raise Forbidden(f"you may not update {entity.key} records, so you may not import with upsert_on")
    return s


async def _visible(conn: AsyncConnection, access: Access, entity: CompiledEntity, import_id: int) -> Any:
    """An import is seen by whoever started it and by admins; to anyone else it does not exist."""
    query = select(imports).where(imports.c.id == import_id, imports.c.app == entity.app, imports.c.entity == entity.key)
    row = (await conn.execute(query)).first()
    if row is None or not (access.is_admin or row.created_by == access.user_id):
        raise NotFound(f"import {import_id} not found")
    return row


async def _access(conn: AsyncConnection, row: Any) -> Access | None:
    """The rights of whoever started the import, as of now, narrowed by their token if they used one."""
    active = select(users.c.id, users.c.is_admin).where(users.c.id == row.created_by, users.c.active.is_(True))
    user = (await conn.execute(active)).first()
    if user is None:
        return None
    if row.token_id is None:
        return await load_access(conn, user.id, user.is_admin, source="import")
    t = api_tokens
    token = (await conn.execute(select(t.c.read_only, t.c.apps).where(t.c.id == row.token_id, t.c.revoked_at.is_(None)))).first()
    if token is None:
        return None
    narrowing = {"token_id": row.token_id, "token_read_only": token.read_only, "token_apps": token.apps}
    return await load_access(conn, user.id, user.is_admin, source="import", **narrowing)


async def _batch(conn: AsyncConnection, run: ImportRun, rows: list[tuple[int, list[Any]]], dry_run: bool = False) -> BatchResult:
    items, errors = run.convert(rows)
    items, missing = await run.resolve(conn, items)
    warnings = await run.duplicates(conn, items) if dry_run else []
    result = await run.write(conn, items)
    result.errors = sorted([*errors, *missing, *warnings, *result.errors], key=lambda e: e.row)
    return result


def _batches(rows: Iterator[tuple[int, list[Any]]]) -> Iterator[list[tuple[int, list[Any]]]]:
    while batch := list(itertools.islice(rows, BATCH)):
        yield batch


def _add(counts: Counts, rows: int, result: BatchResult) -> None:
    counts.processed += rows
    counts.created += result.created
    counts.updated += result.updated
    counts.failed += result.failed_rows


def _notify(on_progress: Progress | None, counts: Counts) -> None:
    if on_progress is not None:
        on_progress(counts)


async def _store_errors(conn: AsyncConnection, import_id: int, errors: list[RowError], stored: int) -> int:
    room = max(0, MAX_STORED_ERRORS - stored)
    if errors[:room]:
        await conn.execute(insert(import_errors), [{"import_id": import_id, **e.as_dict()} for e in errors[:room]])
    return stored + min(room, len(errors))


async def _save_counts(conn: AsyncConnection, import_id: int, counts: Counts, **values: Any) -> None:
    await conn.execute(update(imports).where(imports.c.id == import_id).values(**counts.as_dict(), **values))


def _summary(errors: list[RowError], dry_run: bool) -> str | None:
    rows = failed_rows(errors)
    if dry_run:
        return f"dry run: nothing was written; {rows} row(s) have errors" if rows else "dry run: nothing was written"
    return f"nothing was written: {rows} row(s) have errors (all or nothing)" if rows else None
