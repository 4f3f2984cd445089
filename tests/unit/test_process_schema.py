"""The published process schema accepts what the engine accepts: the user guide's worked examples (P2, P4)
validate against it and pass the engine's own shape, node-settings and graph checks; documents a save
would refuse (unknown node type, edge without "to", approval without assignees...) do not validate."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.core.errors import ErrorCollector
from engine.process.definition import parse_process
from engine.process.graph import check_graph
from engine.process.jsonschema import process_schema
from engine.process.nodes import node_types
from engine.rules.actions import actions

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "user-guide" / "processes.md"
FENCED_JSON = re.compile(r"```json\n(.*?)```", re.DOTALL)


def guide_processes() -> dict[str, dict[str, Any]]:
    """Every complete process document in the guide's JSON blocks, by key."""
    found = {}
    for block in FENCED_JSON.findall(GUIDE.read_text()):
        try:
            doc = json.loads(block)
        except json.JSONDecodeError:
            continue  # fragments ("start": {...}) and several nodes in one block
        if isinstance(doc, dict) and "nodes" in doc and "edges" in doc:
            found[doc["key"]] = doc
    return found


EXAMPLES = guide_processes()


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(process_schema())


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = process_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://tangram.dev/schemas/process.schema.json"


def test_the_guide_has_both_worked_examples() -> None:
    assert {"quote_discount", "ticket_lifecycle"} <= set(EXAMPLES)


@pytest.mark.parametrize("key", ["quote_discount", "ticket_lifecycle"])
def test_guide_example_validates_against_the_schema(validator: Draft202012Validator, key: str) -> None:
    assert [e.message for e in validator.iter_errors(EXAMPLES[key])] == []


@pytest.mark.parametrize("key", ["quote_discount", "ticket_lifecycle"])
def test_guide_example_passes_the_engines_checks(key: str) -> None:
    errors = ErrorCollector()
    process = parse_process(EXAMPLES[key], errors)
    assert process is not None
    check_graph(process, errors)
    for node in process.nodes:  # each node's settings, as the compile step parses them
        node_types()[node["type"]].config.model_validate(node)
        for action in node.get("actions", []) if node["type"] == "service" else []:
            actions()[action["type"]].config.model_validate(action)
    assert [(e.path, e.message) for e in errors.errors] == []


def test_guide_node_snippets_are_valid_nodes() -> None:
    """Single nodes shown in the guide (one JSON object per line or block) are nodes the schema accepts."""
    schema = process_schema()
    node_validator = Draft202012Validator({"$defs": schema["$defs"], **schema["properties"]["nodes"]["items"]})
    snippets = []
    for block in FENCED_JSON.findall(GUIDE.read_text()):
        for line in [block, *block.splitlines()]:
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(doc, dict) and "id" in doc and "type" in doc:
                snippets.append(doc)
    assert len(snippets) >= 6
    for doc in snippets:
        assert [e.message for e in node_validator.iter_errors(doc)] == [], doc


def _p2() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES["quote_discount"])


def _node(doc: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def test_a_node_of_unknown_type_is_refused(validator: Draft202012Validator) -> None:
    doc = _p2()
    _node(doc, "manager")["type"] = "aproval"
    assert not validator.is_valid(doc)


def test_an_edge_without_to_is_refused(validator: Draft202012Validator) -> None:
    doc = _p2()
    del doc["edges"][0]["to"]
    assert not validator.is_valid(doc)


def test_edges_are_written_with_from_and_to(validator: Draft202012Validator) -> None:
    doc = _p2()
    doc["edges"][0] = {"source": "start", "target": "discount_check"}
    assert not validator.is_valid(doc)


def test_an_approval_without_assignees_is_refused(validator: Draft202012Validator) -> None:
    doc = _p2()
    del _node(doc, "manager")["assignees"]
    assert not validator.is_valid(doc)
    _node(doc, "manager")["assignees"] = []
    assert not validator.is_valid(doc)


def test_an_unknown_node_setting_is_refused(validator: Draft202012Validator) -> None:
    doc = _p2()
    _node(doc, "manager")["aproval_mode"] = "all"
    assert not validator.is_valid(doc)


@pytest.mark.parametrize(
    ("node_id", "change", "valid"),
    [
        ("directors", {"mode": "percent", "percent": 60}, True),
        ("directors", {"mode": "percent"}, False),  # percent goes with mode percent ...
        ("directors", {"mode": "all", "percent": 60}, False),  # ... and only with it
        ("manager", {"deadline": {"auto": {"amount": 2, "unit": "days"}, "auto_action": "approve"}}, True),
        ("manager", {"deadline": {"auto": {"amount": 2, "unit": "days"}}}, False),  # auto needs auto_action
        ("manager", {"deadline": {"auto_action": "approve"}}, False),
    ],
)
def test_cross_field_settings_match_the_engine(
    validator: Draft202012Validator, node_id: str, change: dict[str, Any], valid: bool
) -> None:
    doc = _p2()
    _node(doc, node_id).update(change)
    assert validator.is_valid(doc) is valid
    assert _engine_accepts_node(_node(doc, node_id)) is valid


@pytest.mark.parametrize(
    ("timer", "valid"),
    [
        ({"duration": {"amount": 3, "unit": "days"}}, True),
        ({"field": "visit_at", "offset": {"amount": 1, "unit": "days"}, "direction": "before"}, True),
        ({}, False),  # neither
        ({"duration": {"amount": 3, "unit": "days"}, "field": "visit_at"}, False),  # both
        ({"duration": {"amount": 3, "unit": "days"}, "offset": {"amount": 1, "unit": "days"}}, False),  # offset without field
    ],
)
def test_a_timer_waits_for_a_duration_or_a_date(validator: Draft202012Validator, timer: dict[str, Any], valid: bool) -> None:
    doc = copy.deepcopy(EXAMPLES["ticket_lifecycle"])
    node = _node(doc, "wait_3_days")
    del node["duration"]
    node.update(timer)
    assert validator.is_valid(doc) is valid
    assert _engine_accepts_node(node) is valid


def test_locking_fields_means_naming_them(validator: Draft202012Validator) -> None:
    doc = _p2()
    doc["lock_fields"] = []
    assert not validator.is_valid(doc)
    errors = ErrorCollector()
    parse_process(doc, errors)
    assert [e.path for e in errors.errors] == ["/lock_fields"]


def _engine_accepts_node(node: dict[str, Any]) -> bool:
    try:
        node_types()[node["type"]].config.model_validate(node)
    except ValueError:
        return False
    return True
