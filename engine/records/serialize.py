"""Stored rows -> the flat JSON records of the API (field keys plus system keys)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.core.jsonvalues import iso_utc
from engine.schema.model import CompiledEntity

SYSTEM_OUT = ("version", "created_at", "updated_at", "created_by", "updated_by", "owner", "deleted_at")


def record_json(
    entity: CompiledEntity, row: Any, only: Iterable[str] | None = None, hidden: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A row (or a mapping of column values) as the API's flat JSON record: the fields in `only`
    (default all), never those in `hidden` (the caller's field mask)."""
    m = row if isinstance(row, dict) else row._mapping
    keys = [k for k in (entity.fields if only is None else only) if k in entity.fields and k not in hidden]
    out: dict[str, Any] = {"id": m["id"]}
    for key in keys:
        value = m[key]
        f = entity.fields[key]
        out[key] = None if value is None else f.type.dump(f.cfg, value)
    for key in SYSTEM_OUT:
        if only is not None and key not in only:
            continue
        value = m[key]
        out[key] = iso_utc(value) if key.endswith("_at") and value is not None else value
    return out
