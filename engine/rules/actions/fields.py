"""Actions on the triggering record: set fields, refuse the change, tags, score points."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from engine.core.errors import pointer
from engine.rules.actions.base import Action, ActionFailed, Check, Run
from engine.rules.definition import Strict
from engine.rules.values import NUMERIC, Value, coerce, compile_values
from engine.schema.definition import Key, Label, label_text
from engine.schema.model import BoundField

BOTH = frozenset({"before_save", "after_save"})


class SetFieldsConfig(Strict):
    type: Literal["set_fields"]
    values: dict[Key, Any] = Field(min_length=1, max_length=100)


class SetFields(Action):
    """Set fields of the record to literals or formula results (before the save, or after it)."""

    key = "set_fields"
    config = SetFieldsConfig
    phases = BOTH
    writes_record = True

    def prepare(self, cfg: SetFieldsConfig, check: Check) -> dict[str, Value]:
        return compile_values(cfg.values, check.entity, check.entity, check, "values")

    async def run(self, prepared: dict[str, Value], run: Run) -> dict[str, Any]:
        values = {k: v.compute(run.record, run.env) for k, v in prepared.items()}
        await run.write_record(values)
        return {"set": {k: _show(v) for k, v in values.items()}}


class RejectConfig(Strict):
    type: Literal["reject"]
    message: Label
    field: Key | None = None  # where the error points; the record itself when omitted


class Reject(Action):
    """A validation rule: refuse the change with the builder's message (before the save only)."""

    key = "reject"
    config = RejectConfig
    phases = frozenset({"before_save"})

    def prepare(self, cfg: RejectConfig, check: Check) -> RejectConfig:
        if cfg.field is not None and cfg.field not in check.entity.fields:
            check.errors.add(check.at("field"), "unknown_field", f"unknown field {cfg.field!r}")
        return cfg

    async def run(self, prepared: RejectConfig, run: Run) -> dict[str, Any]:
        assert run.change is not None
        where = run.change.path + (pointer(prepared.field) if prepared.field else "")
        message = label_text(prepared.message, run.actor.locale)  # the caller's language, when the rule has it
        run.change.errors.add(where, "rule", message)
        return {"rejected": message}


class TagConfig(Strict):
    type: Literal["add_tag", "remove_tag"]
    field: Key
    tag: str = Field(max_length=200)


class _Tag(Action):
    phases = BOTH
    writes_record = True
    adds: bool

    def prepare(self, cfg: TagConfig, check: Check) -> TagConfig:
        f = check.entity.fields.get(cfg.field)
        if f is None or f.cfg.type != "multi_select":
            check.errors.add(check.at("field"), "type", f"{cfg.field!r} is not a multi-select field")
        elif cfg.tag not in {o.key for o in f.cfg.options}:
            check.errors.add(check.at("tag"), "unknown_option", f"{cfg.tag!r} is not an option of {cfg.field!r}")
        return cfg

    async def run(self, prepared: TagConfig, run: Run) -> dict[str, Any]:
        tags = list(run.record.get(prepared.field) or [])
        has = prepared.tag in tags
        if has == self.adds:
            return {"unchanged": prepared.field}
        tags = [*tags, prepared.tag] if self.adds else [t for t in tags if t != prepared.tag]
        await run.write_record({prepared.field: tags})
        return {prepared.field: tags}


class AddTag(_Tag):
    """Add an option to a multi-select field (nothing if it is there already)."""

    key = "add_tag"
    config = TagConfig
    adds = True


class RemoveTag(_Tag):
    key = "remove_tag"
    config = TagConfig
    adds = False


class AddPointsConfig(Strict):
    type: Literal["add_points"]
    field: Key
    points: Any  # a number, or {"formula": "..."}


class AddPoints(Action):
    """Add (or subtract) points to a number field: lead scoring. An empty score counts as 0."""

    key = "add_points"
    config = AddPointsConfig
    phases = BOTH
    writes_record = True

    def prepare(self, cfg: AddPointsConfig, check: Check) -> tuple[BoundField, Value] | None:
        f = check.entity.fields.get(cfg.field)
        if f is None or f.cfg.type not in NUMERIC:
            check.errors.add(check.at("field"), "type", f"{cfg.field!r} is not a number field")
            return None
        points = compile_values({cfg.field: cfg.points}, check.entity, check.entity, check, "points")
        return (f, points[cfg.field]) if cfg.field in points else None

    async def run(self, prepared: tuple[BoundField, Value], run: Run) -> dict[str, Any]:
        f, points = prepared
        amount = points.compute(run.record, run.env)
        if amount is None:
            return {"unchanged": f.key}
        total = coerce(f, Decimal(run.record.get(f.key) or 0) + Decimal(amount))
        if total is None:
            raise ActionFailed(f"{f.key}: no score")
        await run.write_record({f.key: total})
        return {f.key: _show(total), "added": _show(amount)}


def _show(value: Any) -> Any:
    """A value as the execution log and dry run show it (JSON)."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
