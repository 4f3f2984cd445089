"""Published JSON Schemas of the definition formats, generated from the pydantic models so the
documents in docs/schemas can never drift from what the engine accepts (a test checks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from engine.schema.definition import SYSTEM_KEYS, EntityHeader
from engine.schema.field_types import field_types

SCHEMA_ID = "https://tangram.dev/schemas/{}.schema.json"


def entity_schema() -> dict[str, Any]:
    configs = [ft.config for ft in field_types()]
    refs, top = models_json_schema([(m, "validation") for m in [EntityHeader, *configs]], ref_template="#/$defs/{model}")
    defs = top["$defs"]
    header = defs.pop(EntityHeader.__name__)
    field_refs = [refs[(m, "validation")] for m in configs]
    header["properties"]["fields"]["items"] = {"oneOf": field_refs}
    for ref in field_refs:
        key_schema = defs[ref["$ref"].split("/")[-1]]["properties"]["key"]
        key_schema["not"] = {"enum": sorted(SYSTEM_KEYS)}
    header["title"] = "Tangram entity definition"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID.format("entity"), **header, "$defs": defs}


def published(name: str, title: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema as published: draft 2020-12, with an $id and a title."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID.format(name), **schema, "title": title}


def write_schemas(folder: str, schemas: dict[str, dict[str, Any]]) -> list[str]:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas.items():
        path = out / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        written.append(str(path))
    return written
