"""The one way a change is described: {"field": [old, new]} for each value that differs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, keys: Iterable[str] | None = None, ignore: Iterable[str] = ()
) -> dict[str, list[Any]]:
    """Every key of either side by default, or only `keys` (a partial update's own fields)."""
    old, new = before or {}, after or {}
    skip = set(ignore)
    names = list(keys) if keys is not None else list({**old, **new})
    return {k: [old.get(k), new.get(k)] for k in names if k not in skip and old.get(k) != new.get(k)}
