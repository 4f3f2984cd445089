"""Every published definition schema (docs/schemas/*.schema.json), gathered from the layers that
own the formats; `tangram schemas` writes them and a test keeps them from drifting."""

from __future__ import annotations

from typing import Any

from engine.apps.forms import FormDefinition
from engine.apps.manifest import Manifest
from engine.apps.public_forms import PublicFormIn
from engine.auth.roles import RoleDefinition
from engine.process.jsonschema import process_schema
from engine.records.view_definition import ViewDocument
from engine.reports.jsonschema import chart_schema, dashboard_schema
from engine.schema.jsonschema import entity_schema, published


def all_schemas() -> dict[str, dict[str, Any]]:
    return {
        "chart.schema.json": chart_schema(),
        "dashboard.schema.json": dashboard_schema(),
        "entity.schema.json": entity_schema(),
        "form.schema.json": published("form", "Tangram form layout", FormDefinition.model_json_schema()),
        "manifest.schema.json": published("manifest", "Tangram app package manifest", Manifest.model_json_schema()),
        "process.schema.json": process_schema(),
        "public-form.schema.json": published("public-form", "Tangram public form settings", PublicFormIn.model_json_schema()),
        "role.schema.json": published("role", "Tangram role definition", RoleDefinition.model_json_schema()),
        "view.schema.json": published("view", "Tangram saved view of an entity's list", ViewDocument.model_json_schema()),
    }
