"""flag_duplicates: find a live record of the same entity that matches on any of the given fields
(R13: phone, email, company name) and point at it and/or tag the record. Text compares without
case or surrounding spaces; phones compare by their digits, so "+86 138-0000-0000" = "8613800000000".
Merging the pair is a person's decision (the apps issue brings merge).

    {"type": "flag_duplicates", "match_on": ["email", "phone", "company"],
     "link": "duplicate_of", "tag": {"field": "tags", "tag": "possible_duplicate"}}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sqlalchemy import func, or_, select

from engine.rules.actions.base import Action, Check, Run
from engine.rules.definition import Strict
from engine.schema.definition import Key

MATCHABLE = {"text", "email", "phone"}
PHONE_PUNCTUATION = " -()./+"


class TagRef(Strict):
    field: Key
    tag: str = Field(max_length=200)


class FlagDuplicatesConfig(Strict):
    type: Literal["flag_duplicates"]
    match_on: list[Key] = Field(min_length=1, max_length=10)
    link: Key | None = None  # a relation field of the entity to itself
    tag: TagRef | None = None


class FlagDuplicates(Action):
    key = "flag_duplicates"
    config = FlagDuplicatesConfig
    phases = frozenset({"before_save", "after_save"})
    writes_record = True

    def prepare(self, cfg: FlagDuplicatesConfig, check: Check) -> FlagDuplicatesConfig:
        fields = check.entity.fields
        for i, key in enumerate(cfg.match_on):
            if key not in fields or fields[key].cfg.type not in MATCHABLE:
                check.errors.add(check.at("match_on", i), "type", f"{key!r} is not a text, email or phone field")
        if cfg.link is None and cfg.tag is None:
            check.errors.add(check.path, "required", "give link, tag or both: what marks a duplicate")
        if cfg.link is not None:
            f = fields.get(cfg.link)
            if f is None or f.cfg.type != "relation" or f.cfg.target.split(".")[-1] != check.entity.key:
                check.errors.add(check.at("link"), "type", f"{cfg.link!r} is not a relation of {check.entity.key!r} to itself")
        if cfg.tag is not None:
            f = fields.get(cfg.tag.field)
            if f is None or f.cfg.type != "multi_select" or cfg.tag.tag not in {o.key for o in f.cfg.options}:
                check.errors.add(check.at("tag"), "type", "tag needs a multi-select field and one of its options")
        return cfg

    async def run(self, prepared: FlagDuplicatesConfig, run: Run) -> dict[str, Any]:
        match = await _first_match(prepared, run)
        if match is None:
            return {"duplicate_of": None}
        values: dict[str, Any] = {}
        if prepared.link is not None:
            values[prepared.link] = match
        if prepared.tag is not None:
            tags = list(run.record.get(prepared.tag.field) or [])
            if prepared.tag.tag not in tags:
                values[prepared.tag.field] = [*tags, prepared.tag.tag]
        await run.write_record(values)
        return {"duplicate_of": match}


async def _first_match(cfg: FlagDuplicatesConfig, run: Run) -> int | None:
    t = run.entity.table
    tests = []
    for key in cfg.match_on:
        value = run.record.get(key)
        if not value:
            continue
        if run.entity.fields[key].cfg.type == "phone":
            tests.append(_digits(t.c[key]) == "".join(c for c in value if c.isdigit()))
        else:
            tests.append(func.lower(func.trim(t.c[key])) == value.strip().lower())
    if not tests:
        return None
    query = select(t.c.id).where(t.c.deleted_at.is_(None), or_(*tests)).order_by(t.c.id).limit(1)
    if run.record.get("id") is not None:
        query = query.where(t.c.id != run.record["id"])
    return (await run.conn.execute(query)).scalar()


def _digits(col: Any) -> Any:
    for ch in PHONE_PUNCTUATION:
        col = func.replace(col, ch, "")
    return col
