"""The settings of each node type (one pydantic model per type): the part of a node document that
is not common to all nodes. Kept in one module so the JSON Schema, the BPMN export and the node
classes share them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from engine.process.definition import NodeBase, NodeId, Offset, Strict
from engine.schema.definition import Key

MAX_ASSIGNEES = 20
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]  # resolved against tg_users


# -- who works on a human task --------------------------------------------------------------------
class Users(Strict):
    """Named users, by e-mail (portable between installations)."""

    type: Literal["users"]
    users: list[Email] = Field(min_length=1, max_length=100)


class Role(Strict):
    """Every active user holding the role."""

    type: Literal["role"]
    role: Key


class Team(Strict):
    """Every member of the team (sub-teams included when `subteams`)."""

    type: Literal["team"]
    team: Key
    subteams: bool = False


class Manager(Strict):
    """The manager of the submitter's (or the record owner's) primary team, `levels` up the team tree:
    1 is the manager of their own team (or of the parent team when they manage their own)."""

    type: Literal["manager"]
    of: Literal["submitter", "owner"] = "submitter"
    levels: int = Field(default=1, ge=1, le=10)


class UserField(Strict):
    """The user in a user field of the record (`owner` included)."""

    type: Literal["field"]
    field: Key


class Submitter(Strict):
    """Whoever started the instance."""

    type: Literal["submitter"]


Assignee = Annotated[Users | Role | Team | Manager | UserField | Submitter, Field(discriminator="type")]


class FieldAccess(Strict):
    """What an assignee sees and may change on the record while the task is theirs. `visible`
    null: every field their role lets them read; `editable`: fields they may change when acting."""

    visible: list[Key] | None = Field(default=None, max_length=500)
    editable: list[Key] = Field(default_factory=list, max_length=500)
    required: list[Key] = Field(default_factory=list, max_length=500)  # must hold a value to approve/complete


class Deadline(Strict):
    """Times counted from the task's creation: remind the assignee at `remind`; at `escalate` hand the
    task to the assignee's manager (`escalate_mode` reassign) or add the manager beside them (add);
    at `auto` decide automatically with `auto_action`."""

    remind: Offset | None = None
    escalate: Offset | None = None
    escalate_mode: Literal["reassign", "add"] = "reassign"
    auto: Offset | None = None
    auto_action: Literal["approve", "reject", "complete"] | None = None
    working_hours: bool = False  # count working time on the process calendar

    @model_validator(mode="after")
    def _auto(self) -> Deadline:
        if (self.auto is None) != (self.auto_action is None):
            raise ValueError("give auto and auto_action together")
        return self


APPROVAL_ACTIONS = ("approve", "reject", "return", "transfer", "add_signer", "comment")
FILL_ACTIONS = ("complete", "return", "transfer", "comment")


class HumanConfig(NodeBase):
    assignees: list[Assignee] = Field(min_length=1, max_length=MAX_ASSIGNEES)
    cc: list[Assignee] = Field(default_factory=list, max_length=MAX_ASSIGNEES)  # copied (read-only) to
    fields: FieldAccess = FieldAccess()
    deadline: Deadline | None = None
    # Where "return" may send the instance: earlier human nodes by id, and/or "submitter".
    # Empty: any earlier human node and the submitter.
    return_to: list[NodeId] = Field(default_factory=list, max_length=50)
    # When the assignees resolve to nobody (a team without a manager): give the task to the
    # administrators, pass the node as approved, or refuse to go on (the action that led here fails).
    if_nobody: Literal["admins", "skip", "error"] = "admins"


class ApprovalConfig(HumanConfig):
    """An approval. Modes: single (或签: one decision, whoever of the assignees acts first); sequential
    (each assignee in the listed order); all (countersign: everyone must approve, one rejection
    rejects); percent (approved once `percent` % have approved; rejected once that can no longer
    happen). The old `any` meant `single` and is read as it (definition.upgrade_nodes)."""

    type: Literal["approval"]
    mode: Literal["single", "sequential", "all", "percent"] = "single"
    percent: int | None = Field(default=None, ge=1, le=100)
    actions: list[Literal["approve", "reject", "return", "transfer", "add_signer", "comment"]] = Field(
        default_factory=lambda: list(APPROVAL_ACTIONS), min_length=1
    )
    comment_required: list[Literal["approve", "reject", "return"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _percent(self) -> ApprovalConfig:
        if (self.mode == "percent") != (self.percent is not None):
            raise ValueError("percent is given with mode 'percent', and only then")
        return self


class FillConfig(HumanConfig):
    """A task that someone completes by filling fields (`fields.editable`, `fields.required`)."""

    type: Literal["fill"]
    mode: Literal["single", "all"] = "single"
    actions: list[Literal["complete", "return", "transfer", "comment"]] = Field(
        default_factory=lambda: list(FILL_ACTIONS), min_length=1
    )


class StartConfig(NodeBase):
    type: Literal["start"]


class EndConfig(NodeBase):
    """Ends the path. `rejected` ends the whole instance at once (other branches are cancelled);
    `set` writes fields of the record, as a rule's set_fields does (literals or formulas)."""

    type: Literal["end"]
    outcome: Literal["approved", "rejected", "done"] = "done"
    set: dict[Key, Any] = Field(default_factory=dict, max_length=100)


class GatewayConfig(NodeBase):
    type: Literal["exclusive", "parallel", "inclusive"]


class ServiceConfig(NodeBase):
    """Runs rule actions (set_fields, create_record, notify, send_email, webhook, add_tag, ...) on
    the record, in the transaction that moves the instance on."""

    type: Literal["service"]
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=20)


class TimerConfig(NodeBase):
    """Waits `duration`, or until the date in `field` (shifted by `offset`, `direction`)."""

    type: Literal["timer"]
    duration: Offset | None = None
    field: Key | None = None
    offset: Offset | None = None
    direction: Literal["after", "before"] = "after"
    working_hours: bool = False

    @model_validator(mode="after")
    def _one(self) -> TimerConfig:
        if (self.duration is None) == (self.field is None):
            raise ValueError("give exactly one of duration or field")
        if self.offset is not None and self.field is None:
            raise ValueError("offset shifts a field's date: give field")
        return self
