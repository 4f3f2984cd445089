"""Uploading and downloading files. An upload is checked whole before anything is stored; its rows
commit (with the job that sweeps them if never attached) before the bytes are written."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

import anyio
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.errors import ErrorCollector, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from engine.core.settings import Settings
from engine.files.describe import descriptor
from engine.files.sniff import Refused, Sniffed, accepts, check_image, safe_name, sniff, thumbnail
from engine.files.storage import Storage
from engine.files.tables import files
from engine.jobs.queue import enqueue
from engine.records.reads import scoped
from engine.schema.model import BoundField, CompiledEntity
from engine.schema.store import EntityStore

SWEEP = "files.sweep"
HEAD = 8192
CHUNK = 1024 * 1024
MB = 1024 * 1024


@dataclass
class Incoming:
    """One uploaded file as the router received it: its claimed name and a readable, seekable body."""

    name: str | None
    body: IO[bytes]
    size: int


@dataclass(frozen=True)
class Checked:
    incoming: Incoming
    name: str
    sniffed: Sniffed
    sha256: str


@dataclass
class Files:
    store: EntityStore
    clock: Clock
    settings: Settings
    db: Database
    storage: Storage

    def limit_bytes(self, f: BoundField) -> int:
        """A field's per-file limit, capped by the installation's TANGRAM_MAX_FILE_MB."""
        return min(f.cfg.max_size_mb, self.settings.tangram_max_file_mb) * MB

    def grace(self) -> timedelta:
        return timedelta(hours=self.settings.tangram_file_grace_hours)

    async def upload(self, actor: Access, app: str, entity: str, field: str, incoming: list[Incoming]) -> list[dict[str, Any]]:
        """Check every file (count, size, sniffed type, images), then record them as the caller's
        pending files and store their bytes. Any refusal stores nothing."""
        async with self.db.read() as conn:
            e = await self.store.get(conn, app, entity)
        f = _upload_field(actor, e, field)
        if not incoming:
            raise ValidationFailed("No file", errors=_at("/files", "required", "send files in the form field 'files'"))
        if len(incoming) > f.cfg.max_files:
            raise ValidationFailed("Too many files", errors=_at("/files", "max_files", f"at most {f.cfg.max_files} files"))
        checked = [self._check(f, item, i) for i, item in enumerate(incoming)]
        errors = ErrorCollector()
        for i, c in enumerate(checked):
            if isinstance(c, Refused):
                errors.add(f"/files/{i}", c.code, c.message)
        errors.raise_if_any("Some files were refused; nothing was stored")
        rows = await self._record(actor, e, field, [c for c in checked if isinstance(c, Checked)])
        for c, row in zip(checked, rows, strict=True):
            assert isinstance(c, Checked)
            c.incoming.body.seek(0)
            await self.storage.put(row["storage_key"], _chunks(c.incoming.body))
        return [descriptor(row) for row in rows]

    def _check(self, f: BoundField, item: Incoming, i: int) -> Checked | Refused:
        limit = self.limit_bytes(f)
        if item.size > limit:
            raise PayloadTooLarge(
                f"file {i} is larger than this field allows ({limit // MB} MB)", limit_bytes=limit, path=f"/files/{i}"
            )
        if item.size == 0:
            return Refused("empty", "the file is empty")
        name = safe_name(item.name)
        item.body.seek(0)
        sniffed = sniff(item.body.read(HEAD), name)
        if not accepts(f.cfg.accept, sniffed):
            return Refused("type_not_allowed", f"{sniffed.content_type} files are not accepted here ({', '.join(f.cfg.accept)})")
        item.body.seek(0)
        if sniffed.kind == "image":
            try:
                check_image(item.body.read())
            except Refused as exc:
                return exc
        item.body.seek(0)
        digest = hashlib.sha256()
        for chunk in _chunks(item.body):
            digest.update(chunk)
        return Checked(item, name, sniffed, digest.hexdigest())

    async def _record(self, actor: Access, e: CompiledEntity, field: str, checked: list[Checked]) -> list[dict[str, Any]]:
        now = self.clock.now()
        rows = []
        for c in checked:
            fid = secrets.token_urlsafe(18)
            rows.append({
                "id": fid, "app": e.app, "entity": e.key, "field": field, "record_id": None, "name": c.name,
                "content_type": c.sniffed.content_type, "size": c.incoming.size, "sha256": c.sha256,
                "storage_key": f"{e.app}/{e.key}/{fid[:2]}/{fid}", "created_at": now, "created_by": actor.user_id,
                "attached_at": None, "deleted_at": None,
            })  # fmt: skip
        async with self.db.write() as conn:
            await conn.execute(insert(files), rows)
            # Durable before any byte is written: a crash after storing still gets swept.
            await enqueue(conn, now, SWEEP, {"ids": [r["id"] for r in rows]}, run_at=now + self.grace())
        return rows

    # -- downloads -------------------------------------------------------------------------------
    async def attached(self, conn: AsyncConnection, actor: Access, app: str, entity: str, rid: int, fid: str) -> Any:
        """A file on a live record the caller may read, in a field they may see; else 404 (BOLA)."""
        e = await self.store.get(conn, app, entity)
        s = scope(actor, e, "read")
        t = e.table
        live = (await conn.execute(scoped(select(t.c.id).where(t.c.id == rid, t.c.deleted_at.is_(None)), s))).first()
        row = None
        if live is not None:
            c = files.c
            query = select(files).where(c.id == fid, c.app == app, c.entity == entity, c.record_id == rid, c.deleted_at.is_(None))
            row = (await conn.execute(query)).first()
        if row is None or row.field in s.hidden or row.field not in e.fields:
            raise NotFound("file not found")
        return row

    async def pending(self, conn: AsyncConnection, actor: Access, app: str, entity: str, fid: str) -> Any:
        """A pending file: only its uploader may fetch it."""
        c = files.c
        query = select(files).where(c.id == fid, c.app == app, c.entity == entity, c.record_id.is_(None), c.deleted_at.is_(None))
        row = (await conn.execute(query)).first()
        if row is None or actor.user_id is None or row.created_by != actor.user_id:
            raise NotFound("file not found")
        return row

    async def content(self, row: Any, thumb: bool) -> AsyncIterator[bytes]:
        """The file's bytes, or its thumbnail (made once with pillow, then kept in storage)."""
        if not thumb:
            stream = await self.storage.stream(row.storage_key)
            if stream is None:
                raise NotFound("file not found")
            return stream
        if descriptor(row._mapping)["thumbnail_url"] is None:
            raise NotFound("this file has no thumbnail")
        key = f"{row.storage_key}.thumb.png"
        data = await self.storage.read(key)
        if data is None:
            original = await self.storage.read(row.storage_key)
            if original is None:
                raise NotFound("file not found")
            data = await anyio.to_thread.run_sync(thumbnail, original)
            await self.storage.put(key, data)
        return _once(data)


def _upload_field(actor: Access, e: CompiledEntity, field: str) -> BoundField:
    f = e.fields.get(field)
    creating, updating = scope(actor, e, "create"), scope(actor, e, "update")
    if f is None or f.cfg.type != "attachment" or field in updating.hidden:
        raise NotFound(f"{e.key!r} has no attachment field {field[:100]!r}")
    if not (creating.allowed or (updating.allowed and field not in updating.read_only)):
        raise Forbidden(f"you may not attach files to {e.key} records")
    return f


def _at(path: str, code: str, message: str) -> list[Any]:
    collector = ErrorCollector()
    collector.add(path, code, message)
    return collector.errors


def _chunks(body: IO[bytes]) -> Iterator[bytes]:
    while chunk := body.read(CHUNK):
        yield chunk


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
