"""Sample records (sample/<entity>.json: {"records": [...]}) loaded through the record service with
automation paused, so they are validated and audited like any record but fire no rules or processes.
A relation value may name its target by other fields: {"lookup": {"name": "Acme"}} (exactly one match)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.package import file_error, in_file
from engine.auth.policy import Access
from engine.core.errors import ErrorCollector, ErrorDetail, TangramError
from engine.records.automation import automation_paused
from engine.records.service import RecordService
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

MAX_SAMPLE_RECORDS = 10_000


def sample_records(file: str, doc: Any, errors: list[ErrorDetail]) -> list[Any]:
    if not isinstance(doc, dict) or set(doc) != {"records"} or not isinstance(doc["records"], list):
        errors.append(file_error(file, "", "sample", 'a sample file is {"records": [{...}, ...]}'))
        return []
    if len(doc["records"]) > MAX_SAMPLE_RECORDS:
        errors.append(file_error(file, "/records", "too_many", f"at most {MAX_SAMPLE_RECORDS} sample records per entity"))
        return []
    return list(doc["records"])


async def load_samples(
    conn: AsyncConnection, store: EntityStore, records: RecordService, app: str, samples: dict[str, tuple[str, list[Any]]],
    access: Access,
) -> tuple[dict[str, int], list[ErrorDetail]]:  # fmt: skip
    """Create the sample records, targets before the records pointing at them; (counts, errors)."""
    errors: list[ErrorDetail] = []
    entities: dict[str, CompiledEntity] = {}
    for key, (file, _) in samples.items():
        entity = await store.get_or_none(conn, app, key)
        if entity is None:
            errors.append(file_error(file, "", "unknown_entity", f"{file}: app {app!r} has no entity {key!r}"))
        else:
            entities[key] = entity
    counts: dict[str, int] = {}
    for key in _targets_first(entities):
        file, items = samples[key]
        found = ErrorCollector()
        resolved = [await _resolve(conn, store, entities[key], item, f"/records/{i}", found) for i, item in enumerate(items)]
        if not found:
            try:
                with automation_paused():
                    paths = [f"/records/{i}" for i in range(len(items))]
                    counts[key] = len(await records.create_many(conn, entities[key], resolved, access, paths=paths))
            except TangramError as exc:
                found.extend(exc.errors or [ErrorDetail("", exc.type_slug, exc.detail)])
        errors += in_file(file, found.errors)
    return counts, errors


def _targets_first(entities: dict[str, CompiledEntity]) -> list[str]:
    graph = {
        key: {t for f in e.relations() if (t := e.relation_target(f))[0] == e.app and t[1] in entities and t[1] != key}
        for key, e in entities.items()
    }
    try:
        return list(TopologicalSorter({k: {t for _, t in v} for k, v in sorted(graph.items())}).static_order())
    except CycleError:
        return sorted(entities)


async def _resolve(conn: AsyncConnection, store: EntityStore, entity: CompiledEntity, item: Any, path: str,
                   errors: ErrorCollector) -> Any:  # fmt: skip
    """The record with each {"lookup": {...}} relation value replaced by the one matching target id."""
    if not isinstance(item, dict):
        return item
    out = dict(item)
    for key, value in item.items():
        if not (isinstance(value, dict) and set(value) == {"lookup"}):
            continue
        f = entity.fields.get(key)
        criteria = value["lookup"]
        if f is None or f.cfg.type != "relation":
            errors.add(f"{path}/{key}", "lookup", f"{key!r} is not a relation field of {entity.key!r}")
        elif not isinstance(criteria, dict) or not criteria:
            errors.add(f"{path}/{key}/lookup", "lookup", 'give the target\'s fields and values: {"lookup": {"name": "Acme"}}')
        else:
            out[key] = await _find(conn, store, entity, f, criteria, f"{path}/{key}/lookup", errors)
    return out


async def _find(conn: AsyncConnection, store: EntityStore, entity: CompiledEntity, f: Any, criteria: dict[str, Any],
                path: str, errors: ErrorCollector) -> int | None:  # fmt: skip
    target = await store.get(conn, *entity.relation_target(f))
    t = target.table
    unknown = [k for k in criteria if k not in target.fields]
    if unknown:
        errors.add(f"{path}/{unknown[0]}", "unknown_field", f"{target.key!r} has no field {unknown[0]!r}")
        return None
    query = select(t.c.id).where(t.c.deleted_at.is_(None), *(t.c[k] == v for k, v in criteria.items())).limit(2)
    ids = (await conn.execute(query)).scalars().all()
    if len(ids) != 1:
        code, what = ("lookup_not_found", "no") if not ids else ("lookup_ambiguous", "more than one")
        errors.add(path, code, f"{what} {target.key!r} record matches {criteria}")
        return None
    return int(ids[0])
