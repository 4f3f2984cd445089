"""Text search over an entity's text fields that works the same for Chinese and English.

No word segmentation: a term matches wherever its characters occur (`"发票"` finds "增值税发票",
"WiFi" finds "wifi"), case-insensitively (ILIKE on PostgreSQL; lower() LIKE lower() on SQLite, which
folds ASCII only). Several terms are AND-ed, each may match in any searched field; "quoted text" is one
term with its spaces. LIKE wildcards in the user's text are escaped, so "100%" and "a_b" are literal.

Only fields outside the caller's field mask are searched (a hidden field never decides whether a record
matches) and the caller's row scope applies like on every read (`scope` + `scoped`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from engine.auth.policy import Access, scope
from engine.core.errors import ErrorCollector, Forbidden
from engine.records.serialize import record_json
from engine.schema.model import CompiledEntity

SEARCHED_TYPES = ("text", "long_text", "email", "phone", "auto_number")  # searched when no fields are listed
LISTABLE_TYPES = (*SEARCHED_TYPES, "url")  # may be listed explicitly
MAX_QUERY_CHARS = 200
MAX_TERMS = 10
SNIPPET_BEFORE = 30  # characters of context before the first match
SNIPPET_CHARS = 120  # the snippet's length, ellipses aside
# A "phrase" in ASCII or Chinese quotes (an unclosed quote runs to the end), else a run of non-spaces.
TERM_RE = re.compile(r'"([^"]*)"?|“([^”]*)”?|(\S+)')


@dataclass(frozen=True)
class TextSearch:
    """A parsed search: the terms (all must match) and the fields they are looked for in."""

    terms: tuple[str, ...]
    fields: tuple[str, ...]


def split_terms(text: str) -> list[str]:
    """The search terms in `text`: words split on any white space (also the ideographic space U+3000),
    quoted phrases kept whole, duplicates (ignoring case) dropped, order kept."""
    seen: set[str] = set()
    terms = []
    for m in TERM_RE.finditer(text):
        term = next(g for g in m.groups() if g is not None).strip()
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            terms.append(term)
    return terms


def parse_search(
    entity: CompiledEntity, q: str, hidden: frozenset[str], listed: str | None = None, errors: ErrorCollector | None = None
) -> TextSearch:
    """Check `q` (and the optional comma-separated field list `listed`) against the entity as the caller
    sees it: a hidden field answers as unknown. Problems go to `errors` at /q and /in, else are raised."""
    own = errors is None
    errors = errors if errors is not None else ErrorCollector()
    terms = split_terms(q) if len(q) <= MAX_QUERY_CHARS else []
    if len(q) > MAX_QUERY_CHARS:
        errors.add("/q", "too_long", f"a search is at most {MAX_QUERY_CHARS} characters")
    elif not terms:
        errors.add("/q", "empty", "give at least one search term")
    elif len(terms) > MAX_TERMS:
        errors.add("/q", "too_many", f"a search has at most {MAX_TERMS} terms")
    fields = _listed_fields(entity, listed, hidden, errors) if listed else _default_fields(entity, hidden)
    if not fields and not listed:
        errors.add("/q", "nothing_to_search", f"{entity.key} has no text field you may read")
    if own:
        errors.raise_if_any("The search has errors")
    return TextSearch(tuple(terms), tuple(fields))


def _default_fields(entity: CompiledEntity, hidden: frozenset[str]) -> list[str]:
    return [k for k, f in entity.fields.items() if f.cfg.type in SEARCHED_TYPES and k not in hidden]


def _listed_fields(entity: CompiledEntity, listed: str, hidden: frozenset[str], errors: ErrorCollector) -> list[str]:
    names = list(dict.fromkeys(n.strip() for n in listed.split(",") if n.strip()))
    for i, name in enumerate(names):
        f = None if name in hidden else entity.fields.get(name)
        if f is None:
            errors.add(f"/in/{i}", "unknown_field", f"{name[:100]!r} is not a field")
        elif f.cfg.type not in LISTABLE_TYPES:
            errors.add(f"/in/{i}", "not_searchable", f"{name!r} is not a text field")
    if not names:
        errors.add("/in", "empty", "list at least one field to search in")
    return names


def search_condition(table: Any, search: TextSearch) -> ColumnElement[bool]:
    """Every term occurs in at least one searched field (wildcards in the terms escaped)."""
    return and_(*(or_(*(_has(table.c[k], t) for k in search.fields)) for t in search.terms))


def _has(col: Any, term: str) -> ColumnElement[bool]:
    return col.icontains(term, autoescape=True)  # type: ignore[no-any-return]


def _occurrences(col: Any, term: str) -> Any:
    """How often `term` occurs in the column, folded the way the match folds case (the database's lower())."""
    text = func.lower(func.coalesce(col, ""))
    stripped = func.replace(text, func.lower(literal(term, String)), "")
    return (func.length(text) - func.length(stripped)) / len(term)


def rank_order(entity: CompiledEntity, search: TextSearch) -> list[Any]:
    """Best first: terms found in the display field, then occurrences across the searched fields, then newest."""
    t = entity.table
    display = entity.definition.display_field
    in_display = [case((_has(t.c[display], term), 1), else_=0) for term in search.terms] if display in search.fields else []
    occurrences = [_occurrences(t.c[k], term) for k in search.fields for term in search.terms]
    keys = [sum(in_display[1:], in_display[0]).desc()] if in_display else []
    return [*keys, sum(occurrences[1:], occurrences[0]).desc(), t.c.created_at.desc(), t.c.id.desc()]


def snippet(entity: CompiledEntity, row: Any, search: TextSearch) -> dict[str, Any] | None:
    """The first match with its context, as plain text (the client escapes it): from the first searched
    field other than the display field that holds a term, else the display field. `matches` are the
    [start, end) offsets, in characters, of every term occurrence inside `text`."""
    display = entity.definition.display_field
    ordered = [k for k in search.fields if k != display] + [k for k in search.fields if k == display]
    for key in ordered:
        value = row._mapping[key]
        if isinstance(value, str) and (found := _first_match(value, search.terms)) is not None:
            return {"field": key, **_window(value, found, search.terms)}
    return None


def _fold(text: str) -> str:
    """Lower-cased character by character, keeping offsets (a character whose lower form is longer stays)."""
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _first_match(text: str, terms: tuple[str, ...]) -> int | None:
    folded = _fold(text)
    found = [i for i in (folded.find(_fold(t)) for t in terms) if i >= 0]
    return min(found) if found else None


def _window(text: str, first: int, terms: tuple[str, ...]) -> dict[str, Any]:
    start = max(0, first - SNIPPET_BEFORE)
    end = min(len(text), start + SNIPPET_CHARS)
    lead, tail = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
    piece = text[start:end]
    folded = _fold(piece)
    spans = sorted(
        (m.start() + len(lead), m.start() + len(lead) + len(t)) for t in terms for m in re.finditer(re.escape(_fold(t)), folded)
    )
    return {"text": lead + piece + tail, "matches": [list(s) for s in _merge(spans)]}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


async def search_records(
    conn: AsyncConnection, access: Access, entity: CompiledEntity, q: str, *, listed: str | None = None,
    limit: int = 20, offset: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Ranked matches the caller may read, with snippets, and the total number of matches."""
    from engine.records.reads import scoped  # the one scoping helper; reads imports query, which imports this module

    s = scope(access, entity, "read")
    if not s.allowed:
        raise Forbidden(f"you may not read {entity.key} records")
    search = parse_search(entity, q, s.hidden, listed)
    t = entity.table
    where = and_(t.c.deleted_at.is_(None), search_condition(t, search))
    page = scoped(select(t).where(where), s).order_by(*rank_order(entity, search)).limit(limit).offset(offset)
    rows = (await conn.execute(page)).all()
    total = (await conn.execute(scoped(select(func.count()).select_from(t).where(where), s))).scalar_one()
    items = [{"record": record_json(entity, r, None, s.hidden), "snippet": snippet(entity, r, search)} for r in rows]
    return {"items": items, "total": total, "terms": list(search.terms)}
