"""File descriptors: what the API shows for a file id (name, size, type, its download URLs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.files.sniff import IMAGES
from engine.files.tables import files
from engine.schema.model import CompiledEntity

PREFIX = "/api/v1/apps"


def descriptor(row: Mapping[str, Any]) -> dict[str, Any]:
    """One file (a tg_files row) as the API returns it; the URLs need the caller's credentials."""
    base = f"{PREFIX}/{row['app']}/{row['entity']}"
    rid = row["record_id"]
    url = f"{base}/{rid}/files/{row['id']}" if rid is not None else f"{base}/files/{row['id']}"
    is_image = row["content_type"] in IMAGES
    return {
        "id": row["id"], "name": row["name"], "size": row["size"], "content_type": row["content_type"], "is_image": is_image,
        "url": url, "thumbnail_url": f"{url}?thumbnail=1" if is_image else None,
    }  # fmt: skip


def attachment_keys(entity: CompiledEntity) -> list[str]:
    return [k for k, f in entity.fields.items() if f.cfg.type == "attachment"]


async def describe(conn: AsyncConnection, entity: CompiledEntity, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace the file ids in each record's attachment fields with descriptors, in one query. Ids of
    files that are gone (swept) are left out. Changes the records in place and returns them."""
    keys = [k for k in attachment_keys(entity) if any(isinstance(r.get(k), list) for r in records)]
    wanted = {i for r in records for k in keys for i in r.get(k) or () if isinstance(i, str)}
    if not wanted:
        return records
    t = files.c
    query = select(files).where(t.id.in_(sorted(wanted)), t.app == entity.app, t.entity == entity.key, t.deleted_at.is_(None))
    found = {row.id: row for row in await conn.execute(query)}
    for r in records:
        for k in keys:
            if isinstance(r.get(k), list):
                r[k] = [descriptor(found[i]._mapping) for i in r[k] if i in found and found[i].record_id in (None, r.get("id"))]
    return records
