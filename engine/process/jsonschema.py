"""The published JSON Schema of a process definition (docs/schemas/process.schema.json), generated from the
same pydantic models the engine parses with, so an editor or a linter checks a process the way a save does
(shape and node settings; the graph and the meaning against the entity are only checked by the engine).
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from engine.process.definition import ProcessDefinition
from engine.process.nodes import node_types
from engine.schema.jsonschema import published


def process_schema() -> dict[str, Any]:
    """A process document: its header, `nodes` items one of the registered node types' settings, and
    edges written with their `from`/`to` aliases."""
    configs = list(dict.fromkeys(nt.config for nt in node_types()))  # gateways share one settings model
    refs, top = models_json_schema(
        [(m, "validation") for m in [ProcessDefinition, *configs]], ref_template="#/$defs/{model}", by_alias=True
    )
    defs = top["$defs"]
    header = defs.pop(ProcessDefinition.__name__)
    header["properties"]["nodes"]["items"] = {"oneOf": [refs[(m, "validation")] for m in configs]}
    _add_cross_field_rules(header, defs)
    return published("process", "Tangram process definition", {**header, "$defs": defs})


def _add_cross_field_rules(header: dict[str, Any], defs: dict[str, Any]) -> None:
    """What the models' validators check across fields, which a generated schema cannot know."""
    header["allOf"] = [
        {  # parse_process: locking fields means naming them
            "if": {"properties": {"lock": {"const": "fields"}}, "required": ["lock"]},
            "then": {"properties": {"lock_fields": {"minItems": 1}}, "required": ["lock_fields"]},
        }
    ]
    defs["ApprovalConfig"]["allOf"] = [  # percent is given with mode "percent", and only then
        {
            "if": {"properties": {"mode": {"const": "percent"}}, "required": ["mode"]},
            "then": _given("percent"),
            "else": {"not": _given("percent")},
        }
    ]
    defs["Deadline"]["allOf"] = [_together("auto", "auto_action")]
    defs["TimerConfig"]["allOf"] = [
        {"oneOf": [_given("duration"), _given("field")]},  # exactly one
        {"if": _given("offset"), "then": _given("field")},  # an offset shifts a field's date
    ]


def _given(key: str) -> dict[str, Any]:
    """The key is present with a value (pydantic reads an explicit null as not given)."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


def _together(a: str, b: str) -> dict[str, Any]:
    return {"if": _given(a), "then": _given(b), "else": {"not": _given(b)}}
