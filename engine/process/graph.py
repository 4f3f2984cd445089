"""The structure of a process graph: one start, every node reachable and able to finish, edge settings
where they mean something, and parallel/inclusive joins matched to the split whose branches they wait
for. Pure functions over the definition (no database), run before a definition is saved."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.core.errors import ErrorCollector
from engine.process.definition import Edge, ProcessDefinition

HUMAN_TYPES = frozenset({"approval", "fill"})
CONDITIONAL_GATEWAYS = frozenset({"exclusive", "inclusive"})
GATEWAYS = frozenset({"exclusive", "parallel", "inclusive"})
JOIN_TYPES = frozenset({"parallel", "inclusive"})


@dataclass(frozen=True)
class Graph:
    """A checked process graph, indexed for the runtime. Edges naming an unknown node and repeated
    edges (same from and to) are reported and left out of `outgoing`/`incoming`."""

    nodes: dict[str, dict[str, Any]]  # node id -> raw node doc (has "type"), in node list order
    index: dict[str, int]  # node id -> position in process.nodes (for error paths /nodes/i)
    outgoing: dict[str, tuple[int, ...]]  # node id -> edge indexes, in list order
    incoming: dict[str, tuple[int, ...]]
    edges: tuple[Edge, ...]
    start: str | None  # the start node id
    splits: dict[str, str] = field(default_factory=dict)  # join id -> its matched split id

    def type_of(self, node_id: str) -> str:
        return str(self.nodes[node_id].get("type"))

    def successors(self, node_id: str) -> list[str]:
        return [self.edges[i].target for i in self.outgoing[node_id]]

    def predecessors(self, node_id: str) -> list[str]:
        return [self.edges[i].source for i in self.incoming[node_id]]

    def earlier_human(self, node_id: str) -> list[str]:
        """Approval/fill node ids from which node_id is reachable (not itself), in node list order:
        where a "return" may send the instance back to."""
        before = _closure(self.predecessors(node_id), self.predecessors)
        return [n for n in self.nodes if n in before and n != node_id and self.type_of(n) in HUMAN_TYPES]

    def split_of(self, join_id: str) -> str | None:
        """The split a parallel/inclusive join waits for (None when the node is no matched join)."""
        return self.splits.get(join_id)


def check_graph(process: ProcessDefinition, errors: ErrorCollector) -> Graph:
    """Index the graph and report every structural problem at once (node settings are checked by
    the node types, meanings against the entity by the compile step)."""
    nodes, index = _collect_nodes(process.nodes, errors)
    outgoing, incoming = _collect_edges(process.edges, nodes, errors)
    graph = Graph(nodes, index, outgoing, incoming, tuple(process.edges), _check_start_and_ends(nodes, index, incoming, errors))
    _check_end_edges(graph, errors)
    _check_reachability(graph, errors)
    _check_edge_settings(graph, errors)
    _check_outgoing_counts(graph, errors)
    return replace(graph, splits=_match_joins(graph, errors))


# -- indexing -------------------------------------------------------------------------------------
def _collect_nodes(docs: list[dict[str, Any]], errors: ErrorCollector) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    nodes: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    for i, doc in enumerate(docs):
        node_id = doc.get("id")
        if not isinstance(node_id, str):
            continue  # the node's own settings check reports it
        if node_id in nodes:
            errors.add(f"/nodes/{i}/id", "duplicate", f"node id '{node_id}' is used twice (first at /nodes/{index[node_id]})")
            continue
        nodes[node_id] = doc
        index[node_id] = i
    return nodes, index


def _collect_edges(
    edges: list[Edge], nodes: dict[str, Any], errors: ErrorCollector
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    outgoing: dict[str, list[int]] = {n: [] for n in nodes}
    incoming: dict[str, list[int]] = {n: [] for n in nodes}
    edge_ids: dict[str, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    for i, edge in enumerate(edges):
        if edge.id is not None:
            if edge.id in edge_ids:
                errors.add(
                    f"/edges/{i}/id", "duplicate", f"edge id '{edge.id}' is used twice (first at /edges/{edge_ids[edge.id]})"
                )
            edge_ids.setdefault(edge.id, i)
        known = True
        for end, node_id in (("from", edge.source), ("to", edge.target)):
            if node_id not in nodes:
                errors.add(f"/edges/{i}/{end}", "unknown_node", f"edge {end} '{node_id}': there is no node with that id")
                known = False
        if not known:
            continue
        pair = (edge.source, edge.target)
        if pair in pairs:
            errors.add(
                f"/edges/{i}",
                "duplicate_edge",
                f"a second edge from '{edge.source}' to '{edge.target}' (first at /edges/{pairs[pair]})",
            )
            continue
        pairs[pair] = i
        outgoing[edge.source].append(i)
        incoming[edge.target].append(i)
    return {n: tuple(v) for n, v in outgoing.items()}, {n: tuple(v) for n, v in incoming.items()}


# -- start, ends, reachability --------------------------------------------------------------------
def _check_start_and_ends(
    nodes: dict[str, dict[str, Any]], index: dict[str, int], incoming: dict[str, tuple[int, ...]], errors: ErrorCollector
) -> str | None:
    starts = [n for n, doc in nodes.items() if doc.get("type") == "start"]
    if not starts:
        errors.add("/nodes", "no_start", "the process needs a start node")
    for extra in starts[1:]:
        errors.add(
            f"/nodes/{index[extra]}", "multiple_start", f"node '{extra}' is a second start node: a process has exactly one"
        )
    for start in starts:
        for e in incoming[start]:
            errors.add(f"/edges/{e}/to", "start_incoming", f"start node '{start}' cannot have incoming edges")
    if not any(doc.get("type") == "end" for doc in nodes.values()):
        errors.add("/nodes", "end_missing", "the process needs at least one end node")
    return starts[0] if starts else None


def _check_end_edges(graph: Graph, errors: ErrorCollector) -> None:
    for node_id in graph.nodes:
        if graph.type_of(node_id) == "end":
            for e in graph.outgoing[node_id]:
                errors.add(f"/edges/{e}/from", "end_outgoing", f"end node '{node_id}' cannot have outgoing edges")


def _check_reachability(graph: Graph, errors: ErrorCollector) -> None:
    dead_ends = [n for n in graph.nodes if graph.type_of(n) != "end" and not graph.outgoing[n]]
    for node_id in dead_ends:
        errors.add(
            f"/nodes/{graph.index[node_id]}",
            "dead_end",
            f"node '{node_id}' has no outgoing edge: the path stops there without an end",
        )
    if graph.start is None:
        return  # without a start everything would be "unreachable": the missing start is the one error
    reached = _reachable(graph)
    for node_id in graph.nodes:
        if node_id not in reached:
            errors.add(f"/nodes/{graph.index[node_id]}", "unreachable", f"node '{node_id}' cannot be reached from the start")
    # A node that can only reach a dead end is reported there; "no_end" is for loops with no way out.
    finishes = _closure([n for n in graph.nodes if graph.type_of(n) == "end"] + dead_ends, graph.predecessors)
    for node_id in graph.nodes:
        if node_id in reached and node_id not in finishes:
            errors.add(
                f"/nodes/{graph.index[node_id]}", "no_end", f"no end can be reached from node '{node_id}': it is caught in a loop"
            )


def _reachable(graph: Graph) -> list[str]:
    """Nodes reachable from the start, in breadth-first order."""
    if graph.start is None:
        return []
    order, queue, seen = [], deque([graph.start]), {graph.start}
    while queue:
        node_id = queue.popleft()
        order.append(node_id)
        for nxt in graph.successors(node_id):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return order


def _closure(seeds: Iterable[str], step: Callable[[str], list[str]], *, blocked: frozenset[str] = frozenset()) -> set[str]:
    """The seeds and every node reached from them along `step`, not going on from `blocked` nodes
    (which are included when reached)."""
    stack = list(seeds)
    seen = set(stack)
    while stack:
        node_id = stack.pop()
        if node_id in blocked:
            continue
        for nxt in step(node_id):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


# -- edge settings and outgoing counts ------------------------------------------------------------
def _check_edge_settings(graph: Graph, errors: ErrorCollector) -> None:
    for i, edge in enumerate(graph.edges):
        if edge.source not in graph.nodes:
            continue
        kind = graph.type_of(edge.source)
        if kind not in CONDITIONAL_GATEWAYS:
            for name, value in (("condition", edge.condition is not None), ("default", edge.default)):
                if value:
                    errors.add(
                        f"/edges/{i}/{name}",
                        "condition",
                        f"edge from {kind} '{edge.source}': only exclusive and inclusive gateways choose by {name}",
                    )
        if edge.outcome is not None and kind != "approval":
            errors.add(
                f"/edges/{i}/outcome", "outcome", f"edge from {kind} '{edge.source}': only an approval's edges have an outcome"
            )
    for node_id in graph.nodes:
        out = graph.outgoing[node_id]
        # A single conditioned edge needs a default too: when its condition fails, the token must go somewhere.
        if graph.type_of(node_id) in CONDITIONAL_GATEWAYS and (len(out) > 1 or any(graph.edges[e].condition for e in out)):
            _check_gateway_edges(graph, node_id, errors)


def _check_gateway_edges(graph: Graph, node_id: str, errors: ErrorCollector) -> None:
    out = graph.outgoing[node_id]
    defaults = [e for e in out if graph.edges[e].default]
    if not defaults:
        errors.add(
            f"/nodes/{graph.index[node_id]}",
            "no_default",
            f"gateway '{node_id}' needs a default edge, taken when no condition holds",
        )
    for e in defaults[1:]:
        errors.add(f"/edges/{e}/default", "multiple_default", f"gateway '{node_id}' has more than one default edge")
    for e in out:
        edge = graph.edges[e]
        if edge.default and edge.condition is not None:
            errors.add(
                f"/edges/{e}/condition",
                "condition",
                f"the default edge of gateway '{node_id}' is taken when no other holds: no condition",
            )
        elif not edge.default and edge.condition is None:
            errors.add(
                f"/edges/{e}",
                "condition_missing",
                f"edge from gateway '{node_id}' to '{edge.target}' needs a condition (or be the default)",
            )


def _check_outgoing_counts(graph: Graph, errors: ErrorCollector) -> None:
    for node_id, out in graph.outgoing.items():
        kind = graph.type_of(node_id)
        if not out or kind in GATEWAYS or kind == "end":
            continue  # no edge: a dead end (reported); gateways branch; ends are checked apart
        path = f"/nodes/{graph.index[node_id]}"
        if kind == "approval":
            approved = [e for e in out if graph.edges[e].outcome in (None, "approved")]
            rejected = [e for e in out if graph.edges[e].outcome == "rejected"]
            if len(approved) != 1:
                errors.add(path, "approved_path", f"approval '{node_id}' needs exactly one approved edge (has {len(approved)})")
            for e in rejected[1:]:
                errors.add(f"/edges/{e}/outcome", "duplicate_outcome", f"approval '{node_id}' has more than one rejected edge")
        elif len(out) > 1:
            errors.add(
                path,
                "outgoing_count",
                f"{kind} node '{node_id}' has {len(out)} outgoing edges: it goes on along exactly one (branch with a gateway)",
            )


# -- joins ----------------------------------------------------------------------------------------
def _match_joins(graph: Graph, errors: ErrorCollector) -> dict[str, str]:
    """Each parallel/inclusive join (more than one incoming edge) waits for the branches its split
    started, so it must close a well-formed block opened by a split of its own type."""
    reached = _reachable(graph)
    if not reached:
        return {}
    dominators = _dominators(graph, reached)
    splits: dict[str, str] = {}
    reported: set[int] = set()
    for join in reached:
        kind = graph.type_of(join)
        if kind not in JOIN_TYPES or len(graph.incoming[join]) < 2:
            continue
        split = _nearest_branching_dominator(graph, join, dominators)
        path = f"/nodes/{graph.index[join]}"
        if split is None:
            errors.add(path, "unmatched_join", f"join '{join}' is not preceded by a {kind} split whose branches it would join")
        elif graph.type_of(split) != kind:
            split_kind = graph.type_of(split) + (" gateway" if graph.type_of(split) in GATEWAYS else "")
            errors.add(
                path,
                "unmatched_join",
                f"join '{join}' is reached through {split_kind} '{split}': it would wait forever for the branches not taken; "
                f"join after a {kind} split",
            )
        else:
            splits[join] = split
            _check_block(graph, split, join, errors, reported)
    return splits


def _dominators(graph: Graph, reached: list[str]) -> dict[str, set[str]]:
    """The simple iterative algorithm: a node's dominators are itself plus those common to all its
    (reachable) predecessors. Graphs have at most a few hundred nodes."""
    start = reached[0]
    dominators = {n: set(reached) for n in reached}
    dominators[start] = {start}
    changed = True
    while changed:
        changed = False
        for node_id in reached[1:]:
            preds = [dominators[p] for p in graph.predecessors(node_id) if p in dominators]
            new = set.intersection(*preds) | {node_id}
            if new != dominators[node_id]:
                dominators[node_id] = new
                changed = True
    return dominators


def _nearest_branching_dominator(graph: Graph, node_id: str, dominators: dict[str, set[str]]) -> str | None:
    # Strict dominators form a chain; the nearest one has the most dominators itself.
    branching = [d for d in dominators[node_id] - {node_id} if len(graph.outgoing[d]) > 1]
    return max(branching, key=lambda d: len(dominators[d]), default=None)


def _check_block(graph: Graph, split: str, join: str, errors: ErrorCollector, reported: set[int]) -> None:
    kind = graph.type_of(split)
    stop = frozenset({split, join})
    for e in graph.outgoing[split]:
        target = graph.edges[e].target
        if join not in _closure([target], graph.successors, blocked=stop):
            errors.add(
                f"/edges/{e}", "branch_not_joined", f"branch '{target}' of {kind} split '{split}' never reaches join '{join}'"
            )
    joined, started = len(graph.incoming[join]), len(graph.outgoing[split])
    if joined != started:
        errors.add(
            f"/nodes/{graph.index[join]}",
            "join_count",
            f"join '{join}' has {joined} incoming edges but split '{split}' starts {started} branches: "
            "the join waits for as many branches as its split started",
        )
    # The block: nodes on a path from the split to the join.
    after_split = _closure(graph.successors(split), graph.successors, blocked=stop)
    before_join = _closure(graph.predecessors(join), graph.predecessors, blocked=stop)
    inside = (after_split & before_join) - stop
    _check_block_edges(graph, split, join, inside, errors, reported)


def _check_block_edges(graph: Graph, split: str, join: str, inside: set[str], errors: ErrorCollector, reported: set[int]) -> None:
    """A path may not enter a split/join block in the middle nor leave it except through the join (or
    at a rejected end, which ends the whole instance): the join would count the wrong branches."""
    block = f"the block from split '{split}' to join '{join}'"
    for node_id in inside:
        for e in graph.incoming[node_id]:
            source = graph.edges[e].source
            if source not in inside and source != split and e not in reported:
                reported.add(e)
                errors.add(
                    f"/edges/{e}", "enters_block", f"edge from '{source}' enters {block} at '{node_id}': lead it to '{split}'"
                )
        for e in graph.outgoing[node_id]:
            target = graph.edges[e].target
            rejected_end = graph.type_of(target) == "end" and graph.nodes[target].get("outcome") == "rejected"
            if target not in inside and target != join and not rejected_end and e not in reported:
                reported.add(e)
                errors.add(
                    f"/edges/{e}",
                    "leaves_block",
                    f"edge from '{node_id}' to '{target}' leaves {block} without passing the join: '{join}' would wait forever",
                )
