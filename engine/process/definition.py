"""Process definitions: the JSON graph a builder draws, checked whole before it is saved.

    {"key": "discount_approval", "entity": "quote", "label": {"en": "Discount approval"},
     "start": {"manual": true},
     "lock": "fields", "lock_fields": ["discount", "amount"],
     "nodes": [
       {"id": "start", "type": "start", "position": {"x": 40, "y": 120}},
       {"id": "big", "type": "exclusive", "label": "Discount?"},
       {"id": "manager", "type": "approval", "assignees": [{"type": "manager"}]},
       {"id": "approved", "type": "end", "outcome": "approved", "set": {"status": "approved"}},
       ...],
     "edges": [
       {"from": "start", "to": "big"},
       {"from": "big", "to": "manager", "label": "> 10%",
        "condition": {"field": "discount", "op": "gt", "value": 10}},
       {"from": "big", "to": "approved", "default": true},
       {"from": "manager", "to": "approved"},
       {"from": "manager", "to": "rejected", "outcome": "rejected"}]}

The shape of the whole document is checked here (pydantic); each node's own settings by the config
model of its registered node type (engine.process.nodes); the graph's structure (reachability,
dead ends, joins) by engine.process.graph; the meaning against the entity (fields, users, roles,
conditions) by engine.process.compile. Positions, labels and edge waypoints are kept for the
graph editor and the BPMN export; the engine itself ignores them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from engine.core.errors import ErrorCollector, pydantic_errors
from engine.schema.definition import Help, Key, Label

MAX_NODES = 200
MAX_EDGES = 400
NODE_ID = r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$"  # also a valid BPMN/XML id
NodeId = Annotated[str, StringConstraints(pattern=NODE_ID)]
OUTCOMES = ("approved", "rejected", "done")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Position(Strict):
    """Where the graph editor draws a node (its top-left corner) or an edge waypoint."""

    x: float = Field(ge=-100_000, le=100_000)
    y: float = Field(ge=-100_000, le=100_000)


class Offset(Strict):
    """A duration: {"amount": 24, "unit": "hours"}. Days and longer count calendar days in the
    business time zone; with working hours on, minutes/hours/days count working time."""

    amount: int = Field(ge=1, le=100_000)
    unit: Literal["minutes", "hours", "days", "weeks", "months"]


class NodeBase(Strict):
    """What every node has; node types add their own settings (engine.process.nodes)."""

    id: NodeId
    type: str = Field(max_length=40)
    label: Label = None
    description: Help | None = None
    position: Position | None = None


class Edge(Strict):
    """A sequence flow. On a gateway, edges are tried in list order: the first whose condition holds
    is taken (an inclusive gateway takes all that hold); `default` is taken when none does. On an
    approval, `outcome` says which decision leaves along it (no rejected edge: a rejection ends the
    instance as rejected)."""

    id: NodeId | None = None
    source: NodeId = Field(alias="from")
    target: NodeId = Field(alias="to")
    label: Label = None
    condition: dict[str, Any] | None = None
    default: bool = False
    outcome: Literal["approved", "rejected"] | None = None
    points: list[Position] = Field(default_factory=list, max_length=50)  # waypoints for the editor

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StartOptions(Strict):
    """How instances start. `manual`: a user submits the record ("submit for approval");
    `on_create`: every new record; `when`: the first save (create or update) after which the
    condition holds and did not before (it "becomes true")."""

    manual: bool = True
    on_create: bool = False
    when: dict[str, Any] | None = None
    # Who may submit manually, besides admins: anyone who may update the record (default) or
    # only its owner.
    who: Literal["editors", "owner"] = "editors"


class WorkingHours(Strict):
    """A working-time calendar for deadlines: days are ISO weekdays (1 = Monday)."""

    days: list[int] = Field(default=[1, 2, 3, 4, 5], min_length=1, max_length=7)
    start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    holidays: list[str] = Field(default_factory=list, max_length=400)  # ISO dates
    workdays: list[str] = Field(default_factory=list, max_length=400)  # extra working dates (调休)


class ProcessDefinition(Strict):
    key: Key
    entity: Key
    label: Label = None
    description: Help | None = None
    enabled: bool = True
    start: StartOptions = StartOptions()
    # More than one running instance of this process per record (otherwise a second start is a 409).
    allow_concurrent: bool = False
    # While an instance runs: nothing locked, the whole record, or the listed fields. The engine's
    # own writes (service tasks, end nodes, fields edited on a task) are not refused.
    lock: Literal["none", "record", "fields"] = "none"
    lock_fields: list[Key] = Field(default_factory=list, max_length=200)
    withdraw: bool = True  # the submitter may withdraw a running instance
    working_hours: WorkingHours | None = None
    nodes: list[dict[str, Any]] = Field(min_length=2, max_length=MAX_NODES)
    edges: list[Edge] = Field(min_length=1, max_length=MAX_EDGES)

    @field_validator("nodes", mode="before")
    @classmethod
    def _upgrade(cls, nodes: Any) -> Any:
        return upgrade_nodes(nodes)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def upgrade_nodes(nodes: Any) -> Any:
    """Definitions written before issue 14: approval mode `any` was a second name for `single` (the
    first decision decides); it reads as `single`, so a saved draft or version stores `single`."""
    if not isinstance(nodes, list):
        return nodes
    return [
        {**n, "mode": "single"} if isinstance(n, dict) and n.get("type") == "approval" and n.get("mode") == "any" else n
        for n in nodes
    ]


def parse_process(doc: Any, errors: ErrorCollector) -> ProcessDefinition | None:
    """The document's shape; None (with errors at JSON paths) when it does not fit. Node settings
    are checked by their node types in `compile.check_process`."""
    try:
        process = ProcessDefinition.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc))
        return None
    if process.lock == "fields" and not process.lock_fields:
        errors.add("/lock_fields", "required", "name the fields to lock (or lock the whole record)")
    return process
