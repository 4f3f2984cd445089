"""The registry of process node types: one class per type, registered by key."""

from __future__ import annotations

from functools import cache

from engine.core.registry import Registry
from engine.process.nodes.base import WAIT, CompiledEdge, Finish, Leave, Move, NodeCheck, NodeType, Visit
from engine.process.nodes.basic import End, Exclusive, Inclusive, Parallel, Service, Start, Timer
from engine.process.nodes.human import Approval, Fill, Vote, decide

BUILTIN = (Start, End, Approval, Fill, Exclusive, Parallel, Inclusive, Service, Timer)


@cache
def node_types() -> Registry[NodeType]:
    registry: Registry[NodeType] = Registry("process node type")
    for cls in BUILTIN:
        registry.register(cls())
    return registry


__all__ = [
    "WAIT", "CompiledEdge", "Finish", "Leave", "Move", "NodeCheck", "NodeType", "Visit", "Vote", "decide", "node_types",
]  # fmt: skip
