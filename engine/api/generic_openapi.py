"""The engine's own OpenAPI document (/api/openapi.json), told the truth about errors: every answer other
than success is problem+json (engine.api.problems), and any operation may give the errors every route can
give (a body too large, a rate limit, a database that is away...). FastAPI's generated document lists only
its own 422 as application/json; this replaces it. Per-app documents are built in engine.api.app_openapi."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from engine.api.app_openapi import PROBLEM_SCHEMA, problems_doc

ANY_ROUTE = (400, 401, 403, 404, 405, 413, 415, 422, 429, 503)  # what the middleware and handlers give anywhere
ON_CHANGE = (409, 412, 428)  # writes: versions, uniqueness, required versions
METHODS = ("get", "put", "post", "delete", "patch")


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
            for item in doc.get("paths", {}).values():
                for method in METHODS:
                    if method in item:
                        _document_errors(item[method], method)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_errors(operation: dict[str, Any], method: str) -> None:
    responses = operation.setdefault("responses", {})
    codes = ANY_ROUTE + (ON_CHANGE if method != "get" else ())
    for code, answer in problems_doc(*codes).items():
        if code == "422" or code not in responses:  # FastAPI's own 422 says application/json: it never is
            responses[code] = answer
