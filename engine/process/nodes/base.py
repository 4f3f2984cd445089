"""The node-type contract: each node type is one class registered by key (the registry pattern).

A node type owns its settings model (engine.process.nodes.configs), checks their meaning against
the entity when a process is saved (`prepare`), and says what happens when a token arrives
(`enter`): leave along some edges now, finish the path, or wait (for people, a timer, a join).
Human decisions on a waiting node are handled by the runtime with the node's `decide`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from engine.core.errors import ErrorCollector
from engine.formula.env import Env
from engine.process.definition import Edge, NodeBase, ProcessDefinition
from engine.schema.model import CompiledEntity

if TYPE_CHECKING:
    from engine.process.graph import Graph


@dataclass(frozen=True)
class CompiledEdge:
    index: int
    edge: Edge
    condition: Callable[[Mapping[str, Any], Env], bool] | None

    @property
    def target(self) -> str:
        return self.edge.target


@dataclass
class NodeCheck:
    """Where a node's meaning is checked."""

    process: ProcessDefinition
    graph: Graph
    entity: CompiledEntity
    entities: Mapping[str, CompiledEntity]
    errors: ErrorCollector
    path: str  # /nodes/<i>

    def at(self, *parts: str | int) -> str:
        return self.path + "".join(f"/{p}" for p in parts)


@dataclass(frozen=True)
class Leave:
    edges: tuple[CompiledEdge, ...]
    outcome: str = "done"  # recorded on the step


@dataclass(frozen=True)
class Finish:
    outcome: str  # approved | rejected | done


class Wait:
    """The token stays at the node (tasks were created, a timer set, a join is incomplete)."""


WAIT = Wait()
Move = Leave | Finish | Wait


class NodeType:
    key: ClassVar[str]
    config: ClassVar[type[NodeBase]]
    human: ClassVar[bool] = False  # creates tasks for people

    def prepare(self, cfg: Any, check: NodeCheck) -> Any:
        """Check the settings against the entity; return what `enter` needs (compiled values...)."""
        return cfg

    async def enter(self, visit: Visit) -> Move:
        raise NotImplementedError


class Visit(Protocol):
    """A token arriving at a node, as the node type sees it (implemented by the runtime)."""

    node: Any  # engine.process.compile.CompiledNode
    record: dict[str, Any]  # the record, native values
    env: Env

    def edges(self) -> tuple[CompiledEdge, ...]:
        """The node's outgoing edges, in definition order."""

    async def create_tasks(self, kind: str) -> bool:
        """Ask the node's assignees to act; False when nobody could be found and the node is skipped."""

    async def arrive_at_join(self) -> bool:
        """Count this token in at a join; True when every branch has arrived (the token goes on)."""

    async def set_timer(self, due: datetime) -> None:
        """Wake this token at `due` (a durable job)."""

    async def run_actions(self, steps: Any) -> None:
        """Run prepared rule actions on the record (service tasks)."""

    async def write_record(self, values: dict[str, Any]) -> None:
        """Write native field values to the record, as the engine."""
