"""Which column feeds which field: suggested from the header, checked before anything is stored.

A header matches a field by its key or by any of its labels (zh-CN, en, ...), ignoring case, width,
spaces and punctuation: "Company Name" finds company_name, "客户名称" the field labelled 客户名称. A header
that only resembles one (a unit in brackets, more or fewer words: "预算(元)", "Expected Budget") is matched
by its words (Chinese: its characters) when one field's are clearly the closest. Only fields the caller may
write are offered; mapping a hidden, read-only or computed field is an error up
front, not 100,000 row errors later.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from engine.auth.policy import Scope
from engine.core.errors import ErrorCollector, pointer
from engine.imports.coerce import normal
from engine.imports.values import check_value_map
from engine.schema.model import CompiledEntity

OWNER = "owner"  # not a field, but a column of people's emails may say who owns each record
OWNER_NAMES = ("owner", "负责人", "所有者", "Owner email")
UNIT_RE = re.compile("\\s*[(\uff08\\[【][^)\uff09\\]】]{0,20}[)\uff09\\]】]\\s*$")  # 预算(元), Budget (CNY), 金额【万元】
TOKEN_RE = re.compile(r"[a-z0-9]+|[^\W\d_a-z]")  # Latin words, or single CJK characters
MIN_RESEMBLANCE = 0.5  # the shorter name's tokens over the longer's, when one holds all of the other's


@dataclass(frozen=True)
class Suggestion:
    mapping: dict[str, str]  # column header -> field key
    unmapped: list[str]  # columns no field matched
    unmatched_fields: list[str]  # writable fields no column matched

    def as_dict(self) -> dict[str, Any]:
        return {"mapping": self.mapping, "unmapped": self.unmapped, "unmatched_fields": self.unmatched_fields}


def writable(entity: CompiledEntity, s: Scope) -> list[str]:
    """Fields the caller may set from a file, in definition order, then owner."""
    keys = [
        k for k, f in entity.fields.items()
        if not (f.type.generated or f.type.computed or f.cfg.read_only or k in s.hidden or k in s.read_only)
    ]  # fmt: skip
    return [*keys, OWNER]


def _labels(entity: CompiledEntity, key: str) -> list[str]:
    label = entity.fields[key].cfg.label if key in entity.fields else None
    labels = list(label.values()) if isinstance(label, dict) else [label] if label else []
    return [key, *map(str, labels), *(OWNER_NAMES if key == OWNER else ())]


def _names(entity: CompiledEntity, keys: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for key in keys:
        for name in _labels(entity, key):
            names.setdefault(normal(name), key)
    return names


def _tokens(name: str) -> frozenset[str]:
    return frozenset(TOKEN_RE.findall(unicodedata.normalize("NFKC", name).casefold().replace("_", " ")))


def _resembling(column: str, names: dict[str, str], taken: set[str]) -> str | None:
    """The one free field whose name's tokens hold the header's, or are held by them, most closely."""
    wanted = _tokens(column)
    scores: dict[str, float] = {}
    for name, key in names.items():
        tokens = _tokens(name)
        if key in taken or not tokens or not wanted or not (tokens <= wanted or wanted <= tokens):
            continue
        scores[key] = max(scores.get(key, 0.0), min(len(tokens), len(wanted)) / max(len(tokens), len(wanted)))
    ranked = sorted(scores.values(), reverse=True)
    if not ranked or ranked[0] < MIN_RESEMBLANCE or (len(ranked) > 1 and ranked[1] == ranked[0]):
        return None
    return next(k for k, v in scores.items() if v == ranked[0])


def suggest(entity: CompiledEntity, header: list[str], s: Scope) -> Suggestion:
    """Exact names first (key or label, units in brackets aside), then headers that only resemble one."""
    keys = writable(entity, s)
    names = _names(entity, keys)
    mapping: dict[str, str] = {}
    for column in header:
        key = (names.get(normal(column)) or names.get(normal(UNIT_RE.sub("", column)))) if column else None
        if key is not None and key not in mapping.values():
            mapping[column] = key
    labels = {str(name): key for key in keys for name in _labels(entity, key)}
    for column in header:
        if column and column not in mapping and (key := _resembling(UNIT_RE.sub("", column), labels, set(mapping.values()))):
            mapping[column] = key
    mapping = {c: mapping[c] for c in header if c in mapping}
    unmapped = [c for c in header if c and c not in mapping]
    return Suggestion(mapping, unmapped, [k for k in keys if k not in mapping.values() and k != OWNER])


def check_mapping(
    entity: CompiledEntity, header: list[str], mapping: dict[str, str], s: Scope, upsert_on: str | None,
    value_map: dict[str, dict[str, str]] | None = None, *, required: bool = True,
) -> None:  # fmt: skip
    """Every mapping mistake at /mapping/<column> (or /value_map/...); raises ValidationFailed (nothing stored)."""
    errors = ErrorCollector()
    keys = set(writable(entity, s))
    used: dict[str, str] = {}
    for column, key in mapping.items():
        where = pointer("mapping", column)
        if column not in header:
            errors.add(where, "unknown_column", f"the file has no column {column[:100]!r}")
        elif key in used:
            errors.add(where, "duplicate", f"{key!r} is already fed by the column {used[key][:100]!r}")
        elif (key not in entity.fields and key != OWNER) or key in s.hidden:
            errors.add(where, "unknown_field", f"{str(key)[:100]!r} is not a field of {entity.key!r}")
        elif key not in keys:
            errors.add(where, "read_only", f"{key!r} is read-only: it cannot be imported")
        used.setdefault(key, column)
    if not mapping:
        errors.add("/mapping", "empty", "no column is mapped to a field")
    _check_upsert(entity, used, upsert_on, errors)
    check_value_map(entity, mapping, value_map or {}, errors)
    if upsert_on is None and required:
        for key, f in entity.fields.items():
            if f.cfg.required and f.cfg.default is None and key not in used and not (f.type.generated or f.type.computed):
                errors.add("/mapping", "required", f"the required field {key!r} has no column")
    errors.raise_if_any("The import mapping has errors")


def _check_upsert(entity: CompiledEntity, used: dict[str, str], upsert_on: str | None, errors: ErrorCollector) -> None:
    if upsert_on is None:
        return
    f = entity.fields.get(upsert_on)
    if f is None or not f.cfg.unique:
        errors.add("/upsert_on", "not_unique", f"{upsert_on[:100]!r} is not a unique field of {entity.key!r}")
    elif upsert_on not in used:
        errors.add("/upsert_on", "not_mapped", f"no column is mapped to {upsert_on!r}, so rows cannot be matched")
