"""Human tasks: approvals and fill tasks. Entering creates the tasks; the runtime records each
person's action and asks `decide` whether the node is finished."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.process.nodes.base import WAIT, Leave, Move, NodeCheck, NodeType, Visit
from engine.process.nodes.configs import ApprovalConfig, FillConfig, HumanConfig


@dataclass(frozen=True)
class Vote:
    """One task of the node as `decide` sees it."""

    state: str  # pending | queued | done | cancelled
    decision: str | None  # approve | reject | complete | transfer | ...
    added: bool  # created by add_signer: always required


class Human(NodeType):
    human = True

    def prepare(self, cfg: HumanConfig, check: NodeCheck) -> Any:
        fields = check.entity.fields
        for group in ("visible", "editable", "required"):
            for i, key in enumerate(getattr(cfg.fields, group) or ()):
                f = fields.get(key)
                if f is None and key != "owner":
                    check.errors.add(check.at("fields", group, i), "unknown_field", f"unknown field {key!r}")
                elif group != "visible" and f is not None and (f.type.generated or f.type.computed):
                    check.errors.add(check.at("fields", group, i), "read_only", f"{key!r} is computed: nobody can edit it")
        for i, target in enumerate(cfg.return_to):
            if target != "submitter" and target not in check.graph.earlier_human(check.process.nodes[_index(check)]["id"]):
                check.errors.add(check.at("return_to", i), "return_target", f"{target!r} is not an earlier approval or fill task")
        deadline = cfg.deadline
        if deadline is not None and deadline.working_hours and check.process.working_hours is None:
            check.errors.add(check.at("deadline", "working_hours"), "calendar", "the process has no working_hours calendar")
        if deadline is not None and deadline.auto_action is not None and deadline.auto_action not in self.decisions:
            check.errors.add(check.at("deadline", "auto_action"), "action", f"a {self.key} task cannot {deadline.auto_action}")
        elif deadline is not None and deadline.auto_action is not None and deadline.auto_action not in cfg.actions:  # type: ignore[attr-defined]
            message = f"{deadline.auto_action!r} is not among the node's actions, so it cannot be decided automatically"
            check.errors.add(check.at("deadline", "auto_action"), "action", message)
        return cfg

    decisions: tuple[str, ...] = ()

    async def enter(self, visit: Visit) -> Move:
        if await visit.create_tasks(self.key):
            return WAIT
        return Leave(tuple(e for e in visit.edges() if e.edge.outcome != "rejected"), outcome="skipped")


def _index(check: NodeCheck) -> int:
    return int(check.path.rsplit("/", 1)[1])


class Approval(Human):
    key = "approval"
    config = ApprovalConfig
    decisions = ("approve", "reject")


class Fill(Human):
    key = "fill"
    config = FillConfig
    decisions = ("complete",)


def decide(cfg: HumanConfig, votes: Sequence[Vote]) -> str | None:
    """ "approved", "rejected" or None (still waiting), from the node's tasks so far.

    Signers added with add_signer must always act. A transferred or cancelled task does not count.
    Fill tasks count a completion as an approval."""
    live = [v for v in votes if v.state != "cancelled" and v.decision != "transfer"]
    approvals = sum(v.decision in ("approve", "complete") for v in live)
    rejections = sum(v.decision == "reject" for v in live)
    open_ = sum(v.state in ("pending", "queued") for v in live)
    added_open = any(v.added and v.state in ("pending", "queued") for v in live)
    mode = getattr(cfg, "mode", "single")
    if mode == "percent":
        total = sum(not v.added for v in live)
        needed = cfg.percent * total  # type: ignore[attr-defined]
        if (approvals + open_) * 100 < needed or (rejections and not total):
            return "rejected"
        return "approved" if approvals * 100 >= needed and not added_open else None
    if rejections:
        return "rejected"
    if mode == "single":
        return "approved" if approvals and not added_open else None
    return "approved" if approvals and not open_ else None  # all, sequential: everyone
