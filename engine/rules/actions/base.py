"""The action contract: each action type is one class, registered by key (the registry pattern).

An action's config is a pydantic model (its shape), `prepare` checks its meaning against the entity
once when the rule is saved or loaded (and compiles formulas), and `run` does the work for one
record. Actions never know which phase they run in: `Run.write_record` sets fields on the pending
change before the save, or updates the stored record after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.errors import ErrorCollector
from engine.formula.env import Env
from engine.records.events import PendingChange
from engine.schema.model import CompiledEntity


class ActionFailed(Exception):
    """An action cannot do its work for this record (logged on the rule run; the job is not retried)."""


@dataclass
class Check:
    """Where an action's meaning is checked: the rule's entity, its app's entities, the error path."""

    entity: CompiledEntity
    entities: Mapping[str, CompiledEntity]
    errors: ErrorCollector
    path: str
    when: str  # before_save | after_save
    processes: bool  # is a process engine installed (start_process)?

    def at(self, *parts: str | int) -> str:
        return self.path + "".join(f"/{p}" for p in parts)


@dataclass
class Run:
    """One rule firing on one record, as its actions see it."""

    conn: AsyncConnection
    services: Any  # engine.rules.engine.Services (records, clock, settings, enqueue, ...)
    rule_id: int
    rule_key: str
    entity: CompiledEntity
    record: dict[str, Any]  # native values, id included (before the save: the record as it will be stored)
    env: Env
    actor: Access  # the rule acting: system rights, with the chain of rules that led here
    key: str  # idempotency base for this firing, e.g. "rule:3:rec:17:v2"
    change: PendingChange | None = None  # set before the save
    done: list[dict[str, Any]] = field(default_factory=list)
    # Where the running actions' configs are stored, so a job can read a secret (a webhook's
    # signing key) there when it runs instead of carrying it: {"rule": id} by default; a process's
    # service task sets {"process_version": id, "node": "..."}.
    origin: dict[str, Any] | None = None

    @property
    def config_origin(self) -> dict[str, Any] | None:
        return self.origin if self.origin is not None else ({"rule": self.rule_id} if self.rule_id else None)

    async def write_record(self, values: dict[str, Any]) -> None:
        """Set native field values on the triggering record, in whichever phase we are."""
        if not values:
            return
        self.record.update(values)
        if self.change is not None:
            self.change.values.update(values)
            return
        data = {k: dump_value(self.entity, k, v) for k, v in values.items()}
        await self.services.records.update(self.conn, self.entity, self.record["id"], data, self.actor)

    def record_json(self) -> dict[str, Any]:
        """The record as the API shows it (for templates, webhook bodies and the log)."""
        out = {}
        for k, v in self.record.items():
            if k in self.entity.fields:
                out[k] = dump_value(self.entity, k, v)
            elif "." not in k and k != "deleted_at":
                out[k] = v.isoformat() if hasattr(v, "isoformat") else v
        return out


def dump_value(entity: CompiledEntity, key: str, value: Any) -> Any:
    """A native field value as the record API takes it (what the record service parses back)."""
    if value is None or key == "owner":
        return value
    f = entity.fields[key]
    return f.type.dump(f.cfg, value)


class Action:
    key: ClassVar[str]
    config: ClassVar[type[BaseModel]]
    phases: ClassVar[frozenset[str]] = frozenset({"after_save"})
    # Writes fields of the record that triggered it: with an "updated" trigger after the save this
    # would trigger itself again, so `check_rule` refuses that setup.
    writes_record: ClassVar[bool] = False

    def prepare(self, cfg: Any, check: Check) -> Any:
        """Check the config against the entity; return what `run` needs (compiled formulas...)."""
        return cfg

    async def run(self, prepared: Any, run: Run) -> dict[str, Any]:
        """Do the work for one record; return a short description of what was done."""
        raise NotImplementedError
