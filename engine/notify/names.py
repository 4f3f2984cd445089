"""How notification and email texts name a record: by its display value (`QT-000001`), not `quote #1`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.schema.model import CompiledEntity


def record_name(entity: CompiledEntity, record: Mapping[str, Any]) -> str:
    """The record's display value as text (native values in `record`); `#id` when it has none."""
    key = entity.definition.display_field
    value = record.get(key) if key else None
    if key is None or value is None or value == "" or key not in entity.fields:
        return f"#{record.get('id')}"
    f = entity.fields[key]
    shown = f.type.dump(f.cfg, value)
    return ", ".join(map(str, shown)) if isinstance(shown, list) else str(shown)
