"""Value mapping: the distinct select cells of a file that match no option, so the user maps each text to an
option once instead of reading a row error per row, and the check of the map they send back."""

from __future__ import annotations

from typing import Any

from engine.core.errors import ErrorCollector, pointer
from engine.imports.coerce import is_blank, option_coercer, option_parts
from engine.imports.formats import Sheet
from engine.schema.field_types import InvalidValue
from engine.schema.field_types.formula import value_type
from engine.schema.model import BoundField, CompiledEntity

MAX_DISTINCT = 200  # unmatched texts listed per column; a column with more is not a value-mapping case
OPTION_KINDS = frozenset({"select", "multi_select"})


def option_columns(entity: CompiledEntity, mapping: dict[str, str]) -> dict[str, BoundField]:
    """The mapped columns that feed a select or multi_select field."""
    return {
        column: entity.fields[key] for column, key in mapping.items()
        if key in entity.fields and value_type(entity.fields[key].cfg) in OPTION_KINDS
    }  # fmt: skip


def unmatched_values(
    entity: CompiledEntity, sheet: Sheet, mapping: dict[str, str], value_map: dict[str, dict[str, str]] | None = None
) -> dict[str, list[str]]:
    """Column -> the distinct cell texts (in file order) that no option key, label or value map entry matches."""
    position = {c: i for i, c in enumerate(sheet.header)}
    columns = [
        (column, position[column], f, option_coercer(f, (value_map or {}).get(column)))
        for column, f in option_columns(entity, mapping).items() if column in position
    ]  # fmt: skip
    seen: dict[str, dict[str, None]] = {column: {} for column, *_ in columns}
    for _, cells in sheet.rows:
        for column, index, f, match in columns:
            if not is_blank(cells[index]) and len(seen[column]) < MAX_DISTINCT:
                _collect(f, match, cells[index], seen[column])
    return {column: list(texts) for column, texts in seen.items() if texts}


def _collect(f: BoundField, match: Any, cell: Any, into: dict[str, None]) -> None:
    try:
        parts = option_parts(f, cell)
    except InvalidValue:
        return  # a formula: reported as a row error, not a value to map
    for part in parts:
        try:
            match(part)
        except InvalidValue:
            into.setdefault(part)


def check_value_map(
    entity: CompiledEntity, mapping: dict[str, str], value_map: dict[str, dict[str, str]], errors: ErrorCollector
) -> None:
    """Each mistake at /value_map/<column> (not a select column) or /value_map/<column>/<text> (no such option)."""
    columns = option_columns(entity, mapping)
    for column, texts in value_map.items():
        f = columns.get(column)
        if f is None:
            errors.add(pointer("value_map", column), "not_select", f"the column {column[:100]!r} feeds no select field")
            continue
        keys = {o.key for o in f.cfg.options}
        for text, key in texts.items():
            if key not in keys:
                message = f"{key[:63]!r} is not an option of {f.key!r}; options: {', '.join(sorted(keys))}"
                errors.add(pointer("value_map", column, text), "unknown_option", message)
