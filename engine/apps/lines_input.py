"""Line items in a record payload: the arrays under a form's lines-section keys, checked for shape
(pure, no database) before the record service sees any of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from engine.core.errors import ErrorCollector, pointer

MAX_LINES = 1000  # per section and request, as many as a bulk request takes
MAX_ID = 2**63 - 1


class Lines(Protocol):
    """What saving needs of a lines section (engine/apps/forms.py::LinesSection has it)."""

    @property
    def key(self) -> str: ...  # the payload key holding the array
    @property
    def entity(self) -> str: ...  # the child entity
    @property
    def link(self) -> str: ...  # the child's relation field pointing at the parent


@dataclass(frozen=True)
class Item:
    """One line item: an existing child (`id`, optional `version`) or a new one."""

    index: int
    id: int | None
    version: int | None
    values: dict[str, Any]


def is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def parse_items(section: Lines, raw: Any, errors: ErrorCollector) -> list[Item] | None:
    """The items of one section, or None when the array itself is unusable. Problems are added at
    `/<key>/<i>/...`; an item with a problem is left out (the save is refused anyway)."""
    prefix = pointer(section.key)
    if not isinstance(raw, list):
        errors.add(prefix, "type", "expected an array of line items")
        return None
    if len(raw) > MAX_LINES:
        errors.add(prefix, "too_many", f"at most {MAX_LINES} line items")
        return None
    items: list[Item] = []
    seen: set[int] = set()
    for i, item in enumerate(raw):
        parsed = _item(section, i, item, errors, prefix + pointer(i))
        if parsed is not None and parsed.id in seen:
            errors.add(prefix + pointer(i, "id"), "duplicate", f"line {parsed.id} is in the array twice")
        elif parsed is not None:
            items.append(parsed)
            if parsed.id is not None:
                seen.add(parsed.id)
    return items


def _item(section: Lines, i: int, raw: Any, errors: ErrorCollector, path: str) -> Item | None:
    if not isinstance(raw, dict):
        errors.add(path, "type", "a line item must be a JSON object")
        return None
    values = dict(raw)
    rid, version = values.pop("id", None), values.pop("version", None)
    before = len(errors.errors)
    if rid is not None and not is_id(rid):
        errors.add(path + "/id", "type", "id must be the positive integer id of a line")
    if version is not None and not is_id(version):
        errors.add(path + "/version", "type", "version must be a positive integer")
    elif version is not None and rid is None:
        errors.add(path + "/version", "read_only", "a new line has no version yet")
    if section.link in values:
        errors.add(path + pointer(section.link), "read_only", f"{section.link!r} is set by the server")
    return Item(i, rid, version, values) if len(errors.errors) == before else None
