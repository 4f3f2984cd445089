"""A process checked against its entity and compiled once per published version: node settings
parsed by their node types, edge conditions compiled to Python, the start condition compiled.
`check_process` is also the 422 path of the definitions API: every problem at its JSON path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import ErrorCollector, ErrorDetail, pydantic_errors
from engine.expr.condition import parse_condition
from engine.expr.paths import required_paths
from engine.expr.to_python import compile_python
from engine.formula.env import Env
from engine.process.assignees import check_assignees
from engine.process.calendar import validate as validate_hours
from engine.process.definition import NodeBase, ProcessDefinition, WorkingHours, parse_process
from engine.process.graph import Graph, check_graph
from engine.process.nodes import CompiledEdge, NodeCheck, NodeType, node_types
from engine.process.nodes.configs import HumanConfig
from engine.schema.model import CompiledEntity

Predicate = Callable[[Mapping[str, Any], Env], bool]


@dataclass(frozen=True)
class CompiledNode:
    id: str
    index: int
    type: NodeType
    cfg: Any  # the node type's settings model
    prepared: Any
    edges: tuple[CompiledEdge, ...]  # outgoing, in definition order
    joins: bool  # a gateway with more than one incoming edge
    calendar: WorkingHours | None


@dataclass(frozen=True)
class CompiledProcess:
    process_id: int
    version_id: int
    version: int
    app: str
    definition: ProcessDefinition
    graph: Graph
    nodes: dict[str, CompiledNode]
    start_when: Predicate | None
    paths: frozenset[str]  # relation paths the conditions read ("account.level"), loaded with the record

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def start(self) -> CompiledNode:
        assert self.graph.start is not None
        return self.nodes[self.graph.start]

    def label(self) -> str:
        label = self.definition.label
        if isinstance(label, dict):
            return label.get("en") or next(iter(label.values()))
        return label or self.definition.key


@dataclass
class Checked:
    definition: ProcessDefinition
    entity: CompiledEntity
    graph: Graph
    nodes: dict[str, CompiledNode]
    start_when: Predicate | None
    paths: set[str]

    def compiled(self, process_id: int, version_id: int, version: int, app: str) -> CompiledProcess:
        return CompiledProcess(
            process_id, version_id, version, app, self.definition, self.graph, self.nodes, self.start_when, frozenset(self.paths)
        )


async def check_process(
    conn: AsyncConnection, doc: Any, entity_for: Callable[[str], Any], errors: ErrorCollector
) -> Checked | None:
    """Check a whole process document: shape, graph, node settings, fields, users and roles.
    `entity_for(key)` returns (entity, entities of its app) or None."""
    process = parse_process(doc, errors)
    if process is None:
        return None
    graph = check_graph(process, errors)
    found = await entity_for(process.entity)
    if found is None:
        errors.add("/entity", "unknown_entity", f"there is no entity {process.entity!r}")
        _name_nodes(process, errors)
        return None
    entity, entities = found
    if process.working_hours is not None:
        try:
            validate_hours(process.working_hours)
        except ValueError as exc:
            errors.add("/working_hours", "calendar", str(exc))
    for i, key in enumerate(process.lock_fields):
        if key not in entity.fields:
            errors.add(f"/lock_fields/{i}", "unknown_field", f"unknown field {key!r}")
    paths: set[str] = set()
    start_when = None
    if process.start.when is not None:
        node = parse_condition(process.start.when, entity, errors, "/start/when", entities=entities)
        start_when = None if node is None else compile_python(node)
        paths |= {p for p in required_paths(node) if "." in p} if node is not None else set()
    nodes = {}
    for i, doc_node in enumerate(process.nodes):
        compiled = await _node(conn, process, graph, entity, entities, errors, i, doc_node, paths)
        if compiled is not None:
            nodes[compiled.id] = compiled
    _name_nodes(process, errors)
    return Checked(process, entity, graph, nodes, start_when, paths)


def _name_nodes(process: ProcessDefinition, errors: ErrorCollector) -> None:
    """Say which node or edge each problem is on, in the message too: a builder reads node ids
    on the canvas, not JSON pointers."""
    named = []
    for e in errors.errors:
        parts = e.path.split("/")
        where, ids = None, ()
        if len(parts) > 2 and parts[1] == "nodes" and parts[2].isdigit() and int(parts[2]) < len(process.nodes):
            ids = (str(process.nodes[int(parts[2])].get("id")),)
            where = f"node {ids[0]!r}"
        elif len(parts) > 2 and parts[1] == "edges" and parts[2].isdigit() and int(parts[2]) < len(process.edges):
            edge = process.edges[int(parts[2])]
            ids, where = (edge.source, edge.target), f"edge {edge.source!r} -> {edge.target!r}"
        named_already = all(repr(i) in e.message for i in ids)
        named.append(e if where is None or named_already else ErrorDetail(e.path, e.code, f"{where}: {e.message}"))
    errors.errors[:] = named


async def _node(
    conn: AsyncConnection, process: ProcessDefinition, graph: Graph, entity: CompiledEntity,
    entities: Mapping[str, CompiledEntity], errors: ErrorCollector, i: int, doc: dict[str, Any], paths: set[str],
) -> CompiledNode | None:  # fmt: skip
    path = f"/nodes/{i}"
    kind = doc.get("type")
    node_type = node_types().get(kind) if isinstance(kind, str) else None
    if node_type is None:
        errors.add(f"{path}/type", "unknown_node_type", f"unknown node type {str(kind)[:40]!r}; use one of {node_types().keys()}")
        return None
    try:
        cfg: NodeBase = node_type.config.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc), prefix=path)
        return None
    prepared = node_type.prepare(cfg, NodeCheck(process, graph, entity, entities, errors, path))
    if isinstance(cfg, HumanConfig):
        await check_assignees(conn, cfg.assignees, entity, errors, f"{path}/assignees")
        await check_assignees(conn, cfg.cc, entity, errors, f"{path}/cc")
    edges = tuple(_edge(process, entity, entities, errors, e, paths) for e in graph.outgoing.get(cfg.id, ()))
    joins = kind in ("parallel", "inclusive") and len(graph.incoming.get(cfg.id, ())) > 1
    return CompiledNode(cfg.id, i, node_type, cfg, prepared, edges, joins, process.working_hours)


def _edge(
    process: ProcessDefinition, entity: CompiledEntity, entities: Mapping[str, CompiledEntity], errors: ErrorCollector,
    index: int, paths: set[str],
) -> CompiledEdge:  # fmt: skip
    edge = process.edges[index]
    condition = None
    if edge.condition is not None:
        node = parse_condition(edge.condition, entity, errors, f"/edges/{index}/condition", entities=entities)
        if node is not None:
            condition = compile_python(node)
            paths |= {p for p in required_paths(node) if "." in p}
    return CompiledEdge(index, edge, condition)
