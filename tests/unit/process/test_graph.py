"""Structural checks of process graphs: what a builder is told before a broken graph is saved, and
the index the runtime walks (joins matched to their splits, where "return" may go)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.core.errors import ErrorCollector
from engine.process.definition import ProcessDefinition
from engine.process.graph import Graph, check_graph

ASSIGNEES = [{"type": "manager"}]


def node(spec: str, **extra: Any) -> dict[str, Any]:
    """'id:type' -> a node document (human nodes get assignees so only structure is under test)."""
    node_id, kind = spec.split(":")
    doc: dict[str, Any] = {"id": node_id, "type": kind}
    if kind in ("approval", "fill"):
        doc["assignees"] = ASSIGNEES
    return doc | extra


def edge(source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {"from": source, "to": target} | extra


def process(nodes: list[dict[str, Any] | str], edges: list[dict[str, Any]]) -> ProcessDefinition:
    docs = [node(n) if isinstance(n, str) else n for n in nodes]
    return ProcessDefinition.model_validate({"key": "p", "entity": "quote", "nodes": docs, "edges": edges})


def check(proc: ProcessDefinition) -> tuple[Graph, list[tuple[str, str]], ErrorCollector]:
    errors = ErrorCollector()
    graph = check_graph(proc, errors)
    return graph, [(e.path, e.code) for e in errors.errors], errors


COND = {"field": "discount", "op": "gt", "value": 10}


def p2() -> ProcessDefinition:
    """Quote discount approval: above 10% the manager, then finance, approve; otherwise approved."""
    return process(
        [
            "start:start",
            "big:exclusive",
            "manager:approval",
            "finance:approval",
            node("approved:end", outcome="approved"),
            node("rejected:end", outcome="rejected"),
        ],
        [
            edge("start", "big"),
            edge("big", "manager", condition=COND),
            edge("big", "approved", default=True),
            edge("manager", "finance"),
            edge("manager", "rejected", outcome="rejected"),
            edge("finance", "approved", outcome="approved"),
            edge("finance", "rejected", outcome="rejected"),
        ],
    )


def p6() -> ProcessDefinition:
    """A signed contract fans out to production, invoicing and kick-off, then closes."""
    return process(
        ["start:start", "fan:parallel", "production:fill", "invoice:fill", "kickoff:fill", "joined:parallel", "done:end"],
        [
            edge("start", "fan"),
            edge("fan", "production"),
            edge("fan", "invoice"),
            edge("fan", "kickoff"),
            edge("production", "joined"),
            edge("invoice", "joined"),
            edge("kickoff", "joined"),
            edge("joined", "done"),
        ],
    )


def test_p2_discount_approval_is_valid_and_indexed() -> None:
    graph, found, _ = check(p2())
    assert found == []
    assert graph.start == "start"
    assert graph.index["finance"] == 3
    assert graph.outgoing["big"] == (1, 2)  # gateways try edges in list order
    assert graph.incoming["rejected"] == (4, 6)
    assert graph.successors("manager") == ["finance", "rejected"]
    assert graph.earlier_human("finance") == ["manager"]
    assert graph.earlier_human("manager") == []
    assert graph.split_of("big") is None


def test_p6_fan_out_join_is_matched_to_its_split() -> None:
    graph, found, _ = check(p6())
    assert found == []
    assert graph.split_of("joined") == "fan"
    assert graph.earlier_human("joined") == ["production", "invoice", "kickoff"]


def test_nested_blocks_and_rejections_inside_a_branch_are_fine() -> None:
    proc = process(
        [
            "start:start",
            "outer:parallel",
            "legal:approval",
            "inner:inclusive",
            "rush:fill",
            "normal:fill",
            "inner_join:inclusive",
            "finance:fill",
            "outer_join:parallel",
            node("done:end", outcome="approved"),
            node("refused:end", outcome="rejected"),
        ],
        [
            edge("start", "outer"),
            edge("outer", "legal"),
            edge("outer", "inner"),
            edge("legal", "outer_join"),
            edge("legal", "refused", outcome="rejected"),  # a rejection ends the whole instance
            edge("inner", "rush", condition=COND),
            edge("inner", "normal", default=True),
            edge("rush", "inner_join"),
            edge("normal", "inner_join"),
            edge("inner_join", "finance"),
            edge("finance", "outer_join"),
            edge("outer_join", "done"),
        ],
    )
    graph, found, _ = check(proc)
    assert found == []
    assert graph.split_of("inner_join") == "inner"
    assert graph.split_of("outer_join") == "outer"


def test_a_rework_loop_through_an_exclusive_gateway_is_fine() -> None:
    proc = process(
        ["start:start", "draft:fill", "review:approval", "again:exclusive", "done:end"],
        [
            edge("start", "draft"),
            edge("draft", "review"),
            edge("review", "done"),
            edge("review", "again", outcome="rejected"),
            edge("again", "draft", default=True),
        ],
    )
    graph, found, _ = check(proc)
    assert found == []
    assert graph.earlier_human("draft") == ["review"]  # reached back from review, never itself
    assert graph.earlier_human("review") == ["draft"]


SIMPLE = ["start:start", "task:fill", "done:end"]
SIMPLE_EDGES = [edge("start", "task"), edge("task", "done")]

ERROR_CASES = {
    "duplicate node id": (
        ["start:start", "task:fill", "task:service", "done:end"],
        SIMPLE_EDGES,
        [("/nodes/2/id", "duplicate")],
    ),
    "duplicate edge id": (
        SIMPLE,
        [edge("start", "task", id="f"), edge("task", "done", id="f")],
        [("/edges/1/id", "duplicate")],
    ),
    "edge naming unknown nodes": (
        SIMPLE,
        [*SIMPLE_EDGES, edge("ghost", "done"), edge("task", "nowhere")],
        [("/edges/2/from", "unknown_node"), ("/edges/3/to", "unknown_node")],
    ),
    "duplicate edge": (SIMPLE, [*SIMPLE_EDGES, edge("task", "done")], [("/edges/2", "duplicate_edge")]),
    "no start": (["task:fill", "done:end"], [edge("task", "done")], [("/nodes", "no_start")]),
    "two starts": (
        ["start:start", "again:start", "task:fill", "done:end"],
        [*SIMPLE_EDGES, edge("again", "task")],
        [("/nodes/1", "multiple_start"), ("/nodes/1", "unreachable")],
    ),
    "edge into the start": (
        ["start:start", "task:exclusive", "done:end"],
        [edge("start", "task"), edge("task", "done", default=True), edge("task", "start", condition=COND)],
        [("/edges/2/to", "start_incoming")],
    ),
    "start with two edges": (
        SIMPLE,
        [*SIMPLE_EDGES, edge("start", "done")],
        [("/nodes/0", "outgoing_count")],
    ),
    "no end": (["start:start", "task:fill"], [edge("start", "task")], [("/nodes", "end_missing"), ("/nodes/1", "dead_end")]),
    "edge out of an end": (
        ["start:start", "task:fill", "done:end", "after:end"],
        [*SIMPLE_EDGES, edge("done", "after")],
        [("/edges/2/from", "end_outgoing")],
    ),
    "unreachable node": (
        ["start:start", "task:fill", "legal:fill", "done:end"],
        [*SIMPLE_EDGES, edge("legal", "done")],
        [("/nodes/2", "unreachable")],
    ),
    "dead end": (
        ["start:start", "split:parallel", "task:fill", "stuck:fill", "done:end"],
        [edge("start", "split"), edge("split", "task"), edge("split", "stuck"), edge("task", "done")],
        [("/nodes/3", "dead_end")],
    ),
    "loop with no way out": (
        ["start:start", "gate:exclusive", "task:fill", "back:exclusive", "other:fill", "done:end"],
        [
            edge("start", "gate"),
            edge("gate", "done", condition=COND),
            edge("gate", "task", default=True),
            edge("task", "back"),
            edge("back", "other"),
            edge("other", "back"),
        ],
        [("/nodes/2", "no_end"), ("/nodes/3", "no_end"), ("/nodes/4", "no_end")],
    ),
    "condition on a task's edge": (
        SIMPLE,
        [edge("start", "task"), edge("task", "done", condition=COND, default=True)],
        [("/edges/1/condition", "condition"), ("/edges/1/default", "condition")],
    ),
    "gateway without default": (
        ["start:start", "gate:exclusive", "a:fill", "done:end"],
        [edge("start", "gate"), edge("gate", "a", condition=COND), edge("gate", "done", condition=COND), edge("a", "done")],
        [("/nodes/1", "no_default")],
    ),
    "gateway edge without condition": (
        ["start:start", "gate:inclusive", "a:fill", "b:fill", "done:end"],
        [
            edge("start", "gate"),
            edge("gate", "a", condition=COND),
            edge("gate", "b"),
            edge("gate", "done", default=True),
            edge("a", "done"),
            edge("b", "done"),
        ],
        [("/edges/2", "condition_missing")],
    ),
    "two defaults and a conditional default": (
        ["start:start", "gate:exclusive", "a:fill", "done:end"],
        [
            edge("start", "gate"),
            edge("gate", "a", default=True, condition=COND),
            edge("gate", "done", default=True),
            edge("a", "done"),
        ],
        [("/edges/2/default", "multiple_default"), ("/edges/1/condition", "condition")],
    ),
    "outcome on a fill's edge": (
        SIMPLE,
        [edge("start", "task"), edge("task", "done", outcome="approved")],
        [("/edges/1/outcome", "outcome")],
    ),
    "approval without approved path": (
        ["start:start", "boss:approval", "done:end", "no:end"],
        [edge("start", "boss"), edge("boss", "no", outcome="rejected"), edge("boss", "done", outcome="rejected")],
        [("/nodes/1", "approved_path"), ("/edges/2/outcome", "duplicate_outcome")],
    ),
    "approval with two approved paths": (
        ["start:start", "boss:approval", "done:end", "also:end"],
        [edge("start", "boss"), edge("boss", "done"), edge("boss", "also", outcome="approved")],
        [("/nodes/1", "approved_path")],
    ),
    "service with two edges": (
        ["start:start", "mail:service", "a:end", "b:end"],
        [edge("start", "mail"), edge("mail", "a"), edge("mail", "b")],
        [("/nodes/1", "outgoing_count")],
    ),
    "join after an exclusive gateway": (
        ["start:start", "gate:exclusive", "a:fill", "b:fill", "j:parallel", "done:end"],
        [
            edge("start", "gate"),
            edge("gate", "a", condition=COND),
            edge("gate", "b", default=True),
            edge("a", "j"),
            edge("b", "j"),
            edge("j", "done"),
        ],
        [("/nodes/4", "unmatched_join")],
    ),
    "inclusive join after a parallel split": (
        ["start:start", "fan:parallel", "a:fill", "b:fill", "j:inclusive", "done:end"],
        [edge("start", "fan"), edge("fan", "a"), edge("fan", "b"), edge("a", "j"), edge("b", "j"), edge("j", "done")],
        [("/nodes/4", "unmatched_join")],
    ),
    "join with no split before it": (
        ["start:start", "j:parallel", "task:fill", "gate:exclusive", "done:end"],
        [
            edge("start", "j"),
            edge("j", "task"),
            edge("task", "gate"),
            edge("gate", "j", condition=COND),
            edge("gate", "done", default=True),
        ],
        [("/nodes/1", "unmatched_join")],
    ),
    "join waiting for fewer branches than started": (
        ["start:start", "fan:parallel", "a:fill", "b:fill", "c:fill", "j:parallel", "done:end"],
        [
            edge("start", "fan"),
            edge("fan", "a"),
            edge("fan", "b"),
            edge("fan", "c"),
            edge("a", "j"),
            edge("b", "j"),
            edge("c", "done"),
            edge("j", "done"),
        ],
        [("/edges/3", "branch_not_joined"), ("/nodes/5", "join_count")],
    ),
    "path leaving a parallel block": (
        ["start:start", "fan:parallel", "a:fill", "gate:exclusive", "b:fill", "j:parallel", "done:end"],
        [
            edge("start", "fan"),
            edge("fan", "a"),
            edge("fan", "b"),
            edge("a", "gate"),
            edge("gate", "j", condition=COND),
            edge("gate", "done", default=True),
            edge("b", "j"),
            edge("j", "done"),
        ],
        [("/edges/5", "leaves_block")],
    ),
    "path entering a parallel block": (
        ["start:start", "fan:parallel", "a:fill", "b:fill", "j:parallel", "check:exclusive", "done:end"],
        [
            edge("start", "fan"),
            edge("fan", "a"),
            edge("fan", "b"),
            edge("a", "j"),
            edge("b", "j"),
            edge("j", "check"),
            edge("check", "done", default=True),
            edge("check", "b", condition=COND),
        ],
        [("/edges/7", "enters_block")],
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_each_structural_problem_is_reported_at_its_path(case: str) -> None:
    nodes, edges, expected = ERROR_CASES[case]
    _, found, errors = check(process(nodes, edges))
    assert sorted(found) == sorted(expected)
    for error in errors.errors:
        if error.path != "/nodes":  # the whole graph lacks a start or an end: no node to name
            assert "'" in error.message  # every other message names the node or edge concerned


def test_messages_name_the_node_and_explain() -> None:
    nodes, edges, _ = ERROR_CASES["join after an exclusive gateway"]
    _, _, errors = check(process(nodes, edges))
    assert errors.errors[0].message == (
        "join 'j' is reached through exclusive gateway 'gate': it would wait forever for the branches not taken; "
        "join after a parallel split"
    )
    _, _, errors = check(process(["start:start", "task:fill", "legal:fill", "done:end"], [*SIMPLE_EDGES, edge("legal", "done")]))
    assert errors.errors[0].message == "node 'legal' cannot be reached from the start"


def test_every_problem_is_reported_at_once() -> None:
    proc = process(
        ["start:start", "task:fill", "task:fill", "orphan:service", "gate:exclusive", "stuck:fill"],
        [
            edge("start", "gate"),
            edge("gate", "task", condition=COND),
            edge("gate", "stuck"),
            edge("task", "ghost"),
            edge("orphan", "task", outcome="rejected"),
        ],
    )
    _, found, _ = check(proc)
    assert sorted(found) == sorted(
        [
            ("/nodes/2/id", "duplicate"),
            ("/edges/3/to", "unknown_node"),
            ("/nodes", "end_missing"),
            ("/nodes/1", "dead_end"),
            ("/nodes/5", "dead_end"),
            ("/nodes/3", "unreachable"),
            ("/edges/4/outcome", "outcome"),
            ("/nodes/4", "no_default"),
            ("/edges/2", "condition_missing"),
        ]
    )


def test_an_unknown_node_type_is_walked_like_a_task() -> None:
    graph, found, _ = check(process(["start:start", "odd:custom", "done:end"], [edge("start", "odd"), edge("odd", "done")]))
    assert found == []
    assert graph.successors("odd") == ["done"]
