"""The OpenAPI 3.1 document of one app, generated from its entity definitions on each request,
so it always matches the published versions. Integrators generate typed clients from it."""

from __future__ import annotations

import hashlib
from typing import Any

from engine import __version__
from engine.schema.definition import label_text
from engine.schema.model import BoundField, CompiledEntity

PROBLEM = {"$ref": "#/components/schemas/Problem"}
SYSTEM_PROPS: dict[str, Any] = {
    "id": {"type": "integer", "readOnly": True},
    "version": {"type": "integer", "readOnly": True, "description": "Send it back on update to refuse lost updates"},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
    "created_by": {"type": ["integer", "null"], "readOnly": True},
    "updated_by": {"type": ["integer", "null"], "readOnly": True},
    "owner": {"type": ["integer", "null"], "description": "User id of the owner"},
    "deleted_at": {"type": ["string", "null"], "format": "date-time", "readOnly": True},
}


def _name(entity: CompiledEntity) -> str:
    return "".join(p.capitalize() for p in entity.key.split("_"))


def _value(f: BoundField) -> dict[str, Any]:
    schema = f.type.value_schema(f.cfg)
    described = {"title": label_text(f.cfg.label) or f.key}
    if f.cfg.help_text:
        described["description"] = label_text(f.cfg.help_text)
    return {"anyOf": [schema, {"type": "null"}]} | described if schema else described


def _schemas(e: CompiledEntity) -> dict[str, Any]:
    name = _name(e)
    props = {k: _value(f) for k, f in e.fields.items()}
    writable = {k: v for k, v in props.items() if not e.fields[k].type.generated}
    required = [k for k, f in e.fields.items() if f.cfg.required and f.cfg.default is None and not f.type.generated]
    create: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": writable | {"owner": SYSTEM_PROPS["owner"]},
    }
    if required:
        create["required"] = required
    return {
        name: {
            "type": "object",
            "title": label_text(e.label),
            "properties": {"id": SYSTEM_PROPS["id"]} | props | SYSTEM_PROPS,
            "required": ["id", "version", "created_at", "updated_at"],
        },
        f"{name}Create": create,
        f"{name}Update": {
            "type": "object",
            "additionalProperties": False,
            "properties": writable | {"owner": SYSTEM_PROPS["owner"], "version": {"type": "integer"}},
        },
        f"{name}Page": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
                "next_cursor": {"type": ["string", "null"]},
                "total": {"type": "integer"},
            },
        },
    }


def _body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _ok(ref: str, status: str = "200", description: str = "OK") -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
    }


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Bad request",
        401: "Not authenticated",
        404: "Not found",
        409: "Version conflict",
        413: "Body too large",
        422: "Validation failed",
    }
    return {str(c): {"description": text[c], "content": {"application/problem+json": {"schema": PROBLEM}}} for c in codes}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


LIST_PARAMS = [
    _query("filter", {"type": "string"}, 'JSON condition, e.g. {"field":"budget","op":"gt","value":500000}'),
    _query("sort", {"type": "string"}, "Comma-separated field keys, '-' for descending"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "Page size"),
    _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
    _query("fields", {"type": "string"}, "Comma-separated keys to return"),
    _query("expand", {"type": "string"}, "Comma-separated relation keys to replace by their records"),
    _query("count", {"type": "boolean"}, "Also return the total"),
]
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _paths(app: str, e: CompiledEntity) -> dict[str, Any]:
    name, base, tag = _name(e), f"/api/v1/apps/{app}/{e.key}", [label_text(e.label)]
    return {
        base: {
            "get": {
                "operationId": f"list{name}",
                "tags": tag,
                "parameters": LIST_PARAMS,
                "responses": _ok(f"{name}Page") | _errors(400, 401, 404, 422),
            },
            "post": {
                "operationId": f"create{name}",
                "tags": tag,
                "requestBody": _body(f"{name}Create"),
                "parameters": [
                    {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255}}
                ],
                "responses": _ok(name, "201", "Created") | _errors(400, 401, 413, 422),
            },
        },
        f"{base}/{{id}}": {
            "parameters": [ID_PARAM],
            "get": {"operationId": f"get{name}", "tags": tag, "responses": _ok(name) | _errors(401, 404)},
            "patch": {
                "operationId": f"update{name}",
                "tags": tag,
                "requestBody": _body(f"{name}Update"),
                "responses": _ok(name) | _errors(400, 401, 404, 409, 422),
            },
            "delete": {
                "operationId": f"delete{name}",
                "tags": tag,
                "responses": {"204": {"description": "Moved to the recycle bin"}} | _errors(401, 404, 409),
            },
        },
    }


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "code", "message"],
                "properties": {"path": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def app_openapi(app: dict[str, Any], entities: list[CompiledEntity]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for e in entities:
        schemas |= _schemas(e)
        paths |= _paths(app["key"], e)
    stamp = hashlib.sha1(",".join(f"{e.key}:{e.version}" for e in entities).encode()).hexdigest()[:8]  # noqa: S324
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{label_text(app['label'])} API",
            "version": f"{__version__}+{stamp}",
            "description": "Generated from the app's entity definitions by Tangram.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
