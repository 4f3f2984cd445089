"""Merging duplicate records into one, and undoing a merge while the others are in the recycle bin.

A merge, in one transaction: every live record of any entity (in any app) whose relation points at
one of the others is re-pointed to the survivor through the record service (so its audit trail,
formulas, rollups and rules stay right; the re-pointing is an effect of the merge, like a cascade,
so it runs with the engine's rights under the caller's name); the others go to the recycle bin;
the survivor takes the picked values; one `record.merged` audit entry and one tg_merges row keep
everything an undo needs. The caller needs update on the survivor and delete on the others.

Undo reverses those steps, and refuses (409) when the world moved on: the survivor changed since,
an other was purged or restored, or a re-pointed record points elsewhere now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.journal import Journal
from engine.auth.policy import Access, scope
from engine.core.clock import Clock
from engine.core.errors import Conflict, ErrorCollector, Forbidden, NotFound, pointer
from engine.records.dedup.tables import merges
from engine.records.reads import scoped
from engine.records.serialize import record_json
from engine.records.service import RecordService
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore, referrers

MAX_ID = 2**63 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
CHUNK = 500  # re-pointed records saved per record-service call


class Pick(BaseModel):
    """A field's value for the survivor: taken `from` one of the merged records, or an explicit `value`."""

    model_config = ConfigDict(extra="forbid")
    from_: RecordId | None = Field(default=None, alias="from")
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def one_of(cls, data: Any) -> Any:
        if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in ("from", "value"):
            raise ValueError('expected {"from": <id of a merged record>} or {"value": <a value>}')
        return data


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    survivor: RecordId
    others: Annotated[list[RecordId], Field(min_length=1, max_length=50)]
    values: dict[str, Pick] = Field(default_factory=dict)


Ref = tuple[str, str, str, int, int]  # (app, entity, relation field, record id, the other it pointed at)


@dataclass
class Merger:
    records: RecordService
    store: EntityStore
    clock: Clock
    journal: Journal

    async def merge(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, req: MergeRequest) -> dict[str, Any]:
        _check_request(entity, req)
        rows = await self._reachable(conn, access, entity, req)
        survivor = record_json(entity, rows[req.survivor])
        picked = {f: (record_json(entity, rows[p.from_])[f] if p.from_ is not None else p.value) for f, p in req.values.items()}
        engine_rights = Access.system(source=access.source, user_id=access.user_id)
        refs = await self._repoint(conn, entity, req, engine_rights)
        for other in req.others:
            await self.records.delete(conn, entity, other, access)
        after = await self.records.update(conn, entity, req.survivor, picked, access) if picked else survivor
        version = await _version(conn, entity, req.survivor)
        previous = {f: survivor.get(f) for f in picked}
        detail = {
            "others": req.others, "previous": previous, "picked": {f: after.get(f, picked[f]) for f in picked},
            "sources": {f: p.from_ for f, p in req.values.items() if p.from_ is not None},
            "references": [list(r) for r in refs],
        }  # fmt: skip
        merge_id = (
            await conn.execute(
                insert(merges).returning(merges.c.id),
                [
                    {
                        "app": entity.app,
                        "entity": entity.key,
                        "survivor_id": req.survivor,
                        "survivor_version": version,
                        "detail": detail,
                        "actor_id": access.user_id,
                        "merged_at": self.clock.now(),
                    }
                ],
            )
        ).scalar_one()
        await self.journal.note(
            conn, "record.merged", access, record=(entity.app, entity.key, req.survivor),
            changes={f: [previous[f], detail["picked"][f]] for f in picked if previous[f] != detail["picked"][f]},
            detail={"merge_id": merge_id, **detail},
        )  # fmt: skip
        return {"merge_id": merge_id, "survivor": req.survivor, "others": req.others, "values": detail["picked"],
                "references": [_ref_json(r) for r in refs]}  # fmt: skip

    async def _reachable(
        self, conn: AsyncConnection, access: Access, entity: CompiledEntity, req: MergeRequest
    ) -> dict[int, Any]:
        """The live records the caller may read, by id; 422 naming each one they cannot (missing or
        unreadable alike), then 403 if they may not update the survivor or delete an other."""
        t = entity.table
        ids = [req.survivor, *req.others]
        query = scoped(select(t).where(t.c.id.in_(ids), t.c.deleted_at.is_(None)), scope(access, entity, "read"))
        rows = {r.id: r for r in await conn.execute(query)}
        errors = ErrorCollector()
        for path, rid in [("/survivor", req.survivor), *((f"/others/{i}", o) for i, o in enumerate(req.others))]:
            if rid not in rows:
                errors.add(path, "not_found", f"{entity.key} record {rid} not found")
        errors.raise_if_any("Some records to merge were not found")
        for action, wanted in (("update", [req.survivor]), ("delete", req.others)):
            query = scoped(select(t.c.id).where(t.c.id.in_(wanted)), scope(access, entity, action))
            refused = set(wanted) - set((await conn.execute(query)).scalars())
            if refused:
                raise Forbidden(f"you may not {action} {entity.key} record(s) {', '.join(map(str, sorted(refused)))}")
        return rows

    async def _repoint(self, conn: AsyncConnection, entity: CompiledEntity, req: MergeRequest, rights: Access) -> list[Ref]:
        """Point every live record referring to an other at the survivor instead."""
        merged = {req.survivor, *req.others}
        refs: list[Ref] = []
        for other, f in await referrers(self.store, conn, entity):
            t = other.table
            query = select(t.c.id, t.c[f.key]).where(t.c[f.key].in_(req.others), t.c.deleted_at.is_(None)).order_by(t.c.id)
            # Within the entity itself, the merged records' own links are left as they are (the others go to the bin).
            found = [(r[0], r[1]) for r in await conn.execute(query) if not (other is entity and r[0] in merged)]
            await self._point(conn, other, f.key, [(rid, req.survivor) for rid, _ in found], rights)
            refs += [(other.app, other.key, f.key, rid, old) for rid, old in found]
        return refs

    async def _point(
        self, conn: AsyncConnection, entity: CompiledEntity, field: str, moves: list[tuple[int, int]], rights: Access
    ) -> None:
        for start in range(0, len(moves), CHUNK):
            chunk = moves[start : start + CHUNK]
            await self.records.update_many(conn, entity, [(rid, {field: to}, None) for rid, to in chunk], rights)

    # -- undo ------------------------------------------------------------------------------------
    async def undo(self, conn: AsyncConnection, access: Access, entity: CompiledEntity, merge_id: int) -> dict[str, Any]:
        m = merges
        query = select(m).where(m.c.id == merge_id, m.c.app == entity.app, m.c.entity == entity.key)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        if row is None or (await _unreadable(conn, access, entity, row.survivor_id)):
            raise NotFound(f"merge {merge_id} of {entity.key} records not found")
        if row.undone_at is not None:
            raise Conflict(f"merge {merge_id} was already undone")
        detail = row.detail
        refs = [tuple(r) for r in detail["references"]]
        await self._check_undoable(conn, entity, row, refs)
        if detail["previous"]:
            await self.records.update(conn, entity, row.survivor_id, detail["previous"], access, row.survivor_version)
        for other in detail["others"]:
            await self.records.restore(conn, entity, other, access)
        rights = Access.system(source=access.source, user_id=access.user_id)
        for (app, key, field), moves in _grouped(refs).items():
            await self._point(conn, await self.store.get(conn, app, key), field, moves, rights)
        await conn.execute(update(m).where(m.c.id == merge_id).values(undone_at=self.clock.now()))
        await self.journal.note(
            conn, "record.merge_undone", access, record=(entity.app, entity.key, row.survivor_id),
            changes={f: [v, detail["previous"][f]] for f, v in detail["picked"].items() if v != detail["previous"][f]},
            detail={"merge_id": merge_id, "others": detail["others"], "references": detail["references"]},
        )  # fmt: skip
        return {"merge_id": merge_id, "survivor": row.survivor_id, "restored": detail["others"],
                "references": [_ref_json(r) for r in refs]}  # fmt: skip

    async def _check_undoable(self, conn: AsyncConnection, entity: CompiledEntity, row: Any, refs: list[Any]) -> None:
        """409 listing what changed since the merge, if anything did."""
        problems = ErrorCollector()
        version = await _version(conn, entity, row.survivor_id)
        if version != row.survivor_version:
            what = (
                "was deleted"
                if version is None
                else f"was changed since (version {version}, the merge left {row.survivor_version})"
            )
            problems.add("/survivor", "changed", f"{entity.key} record {row.survivor_id} {what}")
        t = entity.table
        others = row.detail["others"]
        binned = set((await conn.execute(select(t.c.id).where(t.c.id.in_(others), t.c.deleted_at.is_not(None)))).scalars())
        for i, other in enumerate(others):
            if other not in binned:
                problems.add(
                    f"/others/{i}", "gone", f"{entity.key} record {other} is no longer in the recycle bin (purged or restored)"
                )
        for (app, key, field), moves in _grouped(refs).items():
            other_entity = await self.store.get_or_none(conn, app, key)
            ids = [rid for rid, _ in moves]
            gone = other_entity is None or field not in other_entity.fields
            still = set() if gone else await _pointing(conn, other_entity, field, row.survivor_id, ids)
            for rid in ids:
                if rid not in still:
                    message = f"{app}.{key} record {rid} no longer refers to the survivor through {field!r}"
                    problems.add(pointer("references", app, key, field, rid), "changed", message)
        if problems:
            raise Conflict("the merge cannot be undone: things changed since", errors=problems.errors)


def _check_request(entity: CompiledEntity, req: MergeRequest) -> None:
    """422 at each bad part: the survivor among the others, an other twice, an unknown or
    computed field, a value taken from a record that is not part of the merge."""
    errors = ErrorCollector()
    seen: set[int] = set()
    for i, other in enumerate(req.others):
        if other == req.survivor:
            errors.add(f"/others/{i}", "survivor", "the survivor cannot also be merged away")
        elif other in seen:
            errors.add(f"/others/{i}", "duplicate", f"record {other} is listed twice")
        seen.add(other)
    merged = {req.survivor, *req.others}
    for key, pick in req.values.items():
        f = entity.fields.get(key)
        if f is None:
            errors.add(pointer("values", key), "unknown_field", f"{key!r} is not a field of {entity.key}")
        elif f.type.generated or f.type.computed:
            errors.add(pointer("values", key), "read_only", f"{key!r} is computed and cannot be picked")
        elif pick.from_ is not None and pick.from_ not in merged:
            errors.add(
                pointer("values", key, "from"), "not_merged", f"record {pick.from_} is not one of the records being merged"
            )
    errors.raise_if_any("Invalid merge")


async def _version(conn: AsyncConnection, entity: CompiledEntity, rid: int) -> int | None:
    t = entity.table
    return (await conn.execute(select(t.c.version).where(t.c.id == rid, t.c.deleted_at.is_(None)))).scalar_one_or_none()


async def _unreadable(conn: AsyncConnection, access: Access, entity: CompiledEntity, rid: int) -> bool:
    t = entity.table
    return (await conn.execute(scoped(select(t.c.id).where(t.c.id == rid), scope(access, entity, "read")))).first() is None


async def _pointing(conn: AsyncConnection, entity: CompiledEntity, field: str, target: int, ids: list[int]) -> set[int]:
    t = entity.table
    query = select(t.c.id).where(t.c.id.in_(ids), t.c[field] == target, t.c.deleted_at.is_(None))
    return set((await conn.execute(query)).scalars())


def _grouped(refs: list[Any]) -> dict[tuple[str, str, str], list[tuple[int, int]]]:
    """(app, entity, field) -> [(record id, the other it pointed at)]."""
    out: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    for app, key, field, rid, old in refs:
        out.setdefault((app, key, field), []).append((rid, old))
    return out


def _ref_json(r: Any) -> dict[str, Any]:
    app, key, field, rid, old = r
    return {"app": app, "entity": key, "field": field, "id": rid, "from": old}
