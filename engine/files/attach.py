"""Files meet records: a save may only name the saver's own pending files (or files already on that
record), its ids attach them in the same transaction, and files taken off or purged are swept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.errors import Conflict, pointer
from engine.files.describe import attachment_keys
from engine.files.service import MB, SWEEP, Files
from engine.files.sniff import Sniffed, accepts, kind_of
from engine.files.tables import files
from engine.jobs.queue import Job, JobHandlers, enqueue
from engine.records.events import PendingChange, RecordEvent
from engine.schema.model import CompiledEntity


@dataclass
class Attachments:
    files: Files

    def register_jobs(self, handlers: JobHandlers) -> None:
        handlers.add(SWEEP, self.sweep)

    async def before_save(
        self, conn: AsyncConnection, entity: CompiledEntity, actor: Access, changes: list[PendingChange]
    ) -> None:
        """Every id saved must be the saver's own pending file of this field, or already on this
        record; and still fit the field's limits. Errors at /<field>/<i>."""
        for key in attachment_keys(entity):
            named = [(c, c.values[key]) for c in changes if isinstance(c.values.get(key), list) and c.values[key]]
            if not named:
                continue
            ids = sorted({i for _, v in named for i in v})
            t = files.c
            query = select(files).where(t.id.in_(ids), t.app == entity.app, t.entity == entity.key, t.field == key)
            found = {r.id: r for r in await conn.execute(query.where(t.deleted_at.is_(None)))}
            f = entity.fields[key]
            for change, value in named:
                for i, fid in enumerate(value):
                    why = self._refusal(found.get(fid), change, actor, f)
                    if why:
                        change.errors.add(change.path + pointer(key, i), why[0], why[1])

    def _refusal(self, row: Any, change: PendingChange, actor: Access, f: Any) -> tuple[str, str] | None:
        mine = row is not None and row.record_id is None and actor.user_id is not None and row.created_by == actor.user_id
        if row is None or not (mine or (row.record_id is not None and row.record_id == change.record_id)):
            return "not_found", "no such file: upload it to this field first"
        if row.size > self.files.limit_bytes(f):
            return "too_large", f"the file is larger than this field allows ({self.files.limit_bytes(f) // MB} MB)"
        if not accepts(f.cfg.accept, Sniffed(row.content_type, kind_of(row.content_type))):
            return "type_not_allowed", f"{row.content_type} files are not accepted here"
        return None

    async def after_change(self, conn: AsyncConnection, batch: list[RecordEvent]) -> None:
        """Attach what a save added, mark what it took off, and let purged records' files go."""
        if not batch:
            return
        entity = await self.files.store.get(conn, batch[0].app, batch[0].entity)
        keys = attachment_keys(entity)
        if not keys:
            return
        for event in batch:
            if event.kind == "purged":
                await self._release(conn, entity, event.record_id, None, now=True)
            elif event.kind in ("created", "updated"):
                before = {i for k in keys for i in (event.before or {}).get(k) or ()}
                after = {i for k in keys for i in (event.after or {}).get(k) or ()}
                await self._attach(conn, event.record_id, sorted(after - before))
                await self._release(conn, entity, event.record_id, sorted(before - after), now=False)

    async def _attach(self, conn: AsyncConnection, rid: int, ids: Sequence[str]) -> None:
        if not ids:
            return
        t = files.c
        stmt = update(files).where(t.id.in_(ids), t.record_id.is_(None), t.deleted_at.is_(None))
        done = (await conn.execute(stmt.values(record_id=rid, attached_at=self.files.clock.now()))).rowcount
        if done != len(ids):  # another save attached one of them since the check: refuse this one whole
            raise Conflict("a file was attached to another record at the same time; nothing was saved, retry")

    async def _release(self, conn: AsyncConnection, e: CompiledEntity, rid: int, ids: Sequence[str] | None, now: bool) -> None:
        """Mark files gone (ids None: every file of the record) and queue their sweep: at once for a
        purge, after the grace period for files taken off a record (an undo can still want them)."""
        if ids is not None and not ids:
            return
        t = files.c
        where = [t.app == e.app, t.entity == e.key, t.record_id == rid, t.deleted_at.is_(None)]
        stmt = update(files).where(*where, *([t.id.in_(ids)] if ids is not None else []))
        at = self.files.clock.now()
        gone = list((await conn.execute(stmt.values(deleted_at=at).returning(t.id))).scalars())
        if gone:
            await enqueue(conn, at, SWEEP, {"ids": gone}, run_at=at if now else at + self.files.grace())

    async def sweep(self, conn: AsyncConnection, job: Job) -> None:
        """Delete the bytes and rows of the job's files that are still pending or marked gone."""
        ids = job.payload.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return
        t = files.c
        cutoff = self.files.clock.now() - self.files.grace()
        unclaimed = (t.record_id.is_(None) & (t.created_at <= cutoff)) | t.deleted_at.is_not(None)
        rows = (await conn.execute(select(files).where(t.id.in_(ids), unclaimed))).all()
        for row in rows:
            await self.files.storage.delete(f"{row.storage_key}.thumb.png")
            await self.files.storage.delete(row.storage_key)
        if rows:
            await conn.execute(delete(files).where(t.id.in_([r.id for r in rows])))
