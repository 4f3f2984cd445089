"""The OpenAPI 3.1 document of one app, generated from its entity definitions on each request,
so it always matches the published versions. Integrators generate typed clients from it."""

from __future__ import annotations

import hashlib
from typing import Any

from engine import __version__
from engine.schema.definition import label_text
from engine.schema.model import BoundField, CompiledEntity

PROBLEM = {"$ref": "#/components/schemas/Problem"}
Section = tuple[str, str, str]  # a lines section: payload key, child entity key, the child's link field
LINE_ID: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1, "description": "An existing line to update; absent for a new line"},
    "version": {"type": "integer", "minimum": 1, "description": "The line's version, checked when sent"},
}
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


def _name(entity: CompiledEntity | str) -> str:
    key = entity if isinstance(entity, str) else entity.key
    return "".join(p.capitalize() for p in key.split("_"))


def _value(f: BoundField) -> dict[str, Any]:
    schema = f.type.value_schema(f.cfg)
    described = {"title": label_text(f.cfg.label) or f.key}
    if f.cfg.help_text:
        described["description"] = label_text(f.cfg.help_text)
    return {"anyOf": [schema, {"type": "null"}]} | described if schema else described


def _schemas(e: CompiledEntity, hidden: frozenset[str], locked: frozenset[str]) -> dict[str, Any]:
    name = _name(e)
    props = {k: _value(f) for k, f in e.fields.items() if k not in hidden}
    # What this client may send: not server-assigned numbers, not fields read-only for everyone or for them.
    server_set = {k for k, f in e.fields.items() if f.type.generated or f.type.computed}  # auto numbers, formulas
    writable = {k: v for k, v in props.items() if not (k in server_set or e.fields[k].cfg.read_only or k in locked)}
    required = [k for k in writable if e.fields[k].cfg.required and e.fields[k].cfg.default is None]
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


def _ok(ref: str, status: str = "200", description: str = "OK", headers: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}
    return {status: {"description": description, "content": content} | ({"headers": headers} if headers else {})}


def _op(op_id: str, tag: list[str], responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "tags": tag, "responses": responses, **extra}


ERROR_TEXTS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed (the Allow header lists the methods that are)",
    409: "Conflict: stale version (current_version says the newest), a value taken meanwhile, or a referring record",
    412: "Precondition failed: the If-Match version is not the current one",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    428: "Precondition required: send the version you read (when TANGRAM_REQUIRE_IF_MATCH is on)",
    429: "Too many requests (Retry-After says when to try again)",
    503: "The database cannot be reached right now (Retry-After says when to try again)",
}


def problems_doc(*codes: int) -> dict[str, Any]:
    """Error answers as problem+json (engine.api.problems), for the OpenAPI documents."""
    return {str(c): {"description": ERROR_TEXTS[c], "content": {"application/problem+json": {"schema": PROBLEM}}} for c in codes}


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
TRASH_PARAMS = [p for p in LIST_PARAMS if p["name"] in ("filter", "sort", "limit", "cursor", "count")]
ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The version you read, e.g. "3" (the ETag); a stale one is refused with 409',
}
ETAG = {"ETag": {"description": "The record's version", "schema": {"type": "string"}}}
BULK = {
    "type": "object",
    "required": ["op", "items"],
    "additionalProperties": False,
    "properties": {
        "op": {"enum": ["create", "update", "upsert"]},
        "items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "object"}},
        "match_on": {"type": "string", "description": "The unique field an upsert matches on"},
    },
}


def _paths(app: str, e: CompiledEntity) -> dict[str, Any]:
    name, base, tag = _name(e), f"/api/v1/apps/{app}/{e.key}", [label_text(e.label)]
    idem = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255}}
    gone = {"204": {"description": "Done"}}
    page = {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}}}
    bulk_ok = {"200": {"description": "All items saved", "content": {"application/json": {"schema": page}}}}
    return {
        base: {
            "get": _op(f"list{name}", tag, _ok(f"{name}Page") | problems_doc(400, 401, 404, 422), parameters=LIST_PARAMS),
            "post": _op(
                f"create{name}",
                tag,
                _ok(name, "201", "Created", ETAG) | problems_doc(400, 401, 413, 422),
                requestBody=_body(f"{name}Create"),
                parameters=[idem],
            ),
        },
        f"{base}/bulk": {
            "post": _op(
                f"bulk{name}",
                tag,
                bulk_ok | problems_doc(400, 401, 409, 413, 422),
                requestBody={"required": True, "content": {"application/json": {"schema": BULK}}},
                description="Create, update (items carry id, optionally version) or upsert up to 1000 records, all or nothing.",
            )
        },
        f"{base}/{{id}}": {
            "parameters": [ID_PARAM],
            "get": _op(f"get{name}", tag, _ok(name, headers=ETAG) | problems_doc(401, 404)),
            "patch": _op(
                f"update{name}",
                tag,
                _ok(name, headers=ETAG) | problems_doc(400, 401, 404, 409, 422),
                requestBody=_body(f"{name}Update"),
                parameters=[IF_MATCH],
            ),
            "delete": _op(
                f"delete{name}",
                tag,
                gone | problems_doc(401, 404, 409, 428),
                parameters=[IF_MATCH],
                description="Move to the recycle bin.",
            ),
        },
        f"{base}/trash": {
            "get": _op(
                f"listDeleted{name}",
                tag,
                _ok(f"{name}Page") | problems_doc(400, 401, 404, 422),
                parameters=TRASH_PARAMS,
            ),
        },
        f"{base}/trash/{{id}}": {
            "parameters": [ID_PARAM],
            "delete": _op(
                f"purge{name}", tag, gone | problems_doc(401, 404, 409), description="Delete a binned record for good."
            ),
        },
        f"{base}/trash/{{id}}/restore": {
            "parameters": [ID_PARAM],
            "post": _op(f"restore{name}", tag, _ok(name, headers=ETAG) | problems_doc(401, 404, 409)),
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


LINES_PARAM = _query("lines", {"type": "boolean"}, "Also return the line items of the record form's lines sections")


def _lines(schemas: dict[str, Any], paths: dict[str, Any], app: str, e: CompiledEntity, sections: list[Section]) -> None:
    """Each lines section (payload key, child entity key, link field) of `e` whose child the caller may
    read: an array of line items in its create and update bodies, and in the record (with ?lines=true)."""
    name = _name(e)
    for key, child_key, link in sections:
        child = _name(child_key)
        if f"{child}Update" not in schemas:
            continue
        writable = {k: v for k, v in schemas[f"{child}Update"]["properties"].items() if k != link}
        line = {"type": "object", "additionalProperties": False, "properties": writable | LINE_ID}
        schemas[f"{child}Line"] = line
        items = {"type": "array", "maxItems": 1000, "items": {"$ref": f"#/components/schemas/{child}Line"}}
        schemas[f"{name}Create"]["properties"][key] = items
        schemas[f"{name}Update"]["properties"][key] = items
        schemas[name]["properties"][key] = {"type": "array", "items": {"$ref": f"#/components/schemas/{child}"}}
        paths[f"/api/v1/apps/{app}/{e.key}/{{id}}"]["get"]["parameters"] = [LINES_PARAM]


def app_openapi(
    app: dict[str, Any], entities: list[tuple[CompiledEntity, frozenset[str], frozenset[str]]],
    lines: dict[str, list[Section]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The document for one caller: the entities they may read, without the fields hidden from them,
    and with the fields read-only for them left out of what they may send; `lines`: entity key -> its
    record form's lines sections."""
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}
    for e, hidden, locked in entities:
        schemas |= _schemas(e, hidden, locked)
        paths |= _paths(app["key"], e)
    for e, _, _ in entities:
        _lines(schemas, paths, app["key"], e, (lines or {}).get(e.key, []))
    seen = ",".join(f"{e.key}:{e.version}:{sorted(h)}:{sorted(r)}" for e, h, r in entities) + repr(sorted((lines or {}).items()))
    stamp = hashlib.sha1(seen.encode()).hexdigest()[:8]  # noqa: S324 - a version tag, not a secret
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
