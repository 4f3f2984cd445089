"""Errors -> RFC 9457 problem+json, in one place. Unexpected errors never leak internals."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from engine.api.jsonio import json_response
from engine.core.errors import ErrorDetail, TangramError, pointer

log = logging.getLogger("tangram.api")


def problem(status: int, title: str, detail: str, slug: str, errors: list[ErrorDetail] | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response(body, status, media_type="application/problem+json", headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(TangramError)
    async def _domain(_: Request, exc: TangramError) -> Response:
        response = problem(exc.status, exc.title, exc.detail, exc.type_slug, exc.errors, **exc.extra)
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _params(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            ErrorDetail(pointer(*[p for p in e["loc"] if p != "body"]), e["type"], e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        return problem(422, "Validation failed", "The request parameters have errors", "validation-failed", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        response = problem(exc.status_code, str(exc.detail), str(exc.detail), slug)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110: every method of the path (Starlette names only its first route's)
            response.headers["Allow"] = allowed_methods(request)
        return response

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> Response:
        # Validation checks uniqueness first; this is the race where a concurrent writer took the
        # value between the check and the commit. The transaction was rolled back whole.
        log.info("integrity conflict: %s", exc.orig)
        detail = "a concurrent change took a unique value or removed a referenced record; nothing was saved, retry"
        return problem(409, "Conflict", detail, "conflict")

    async def _unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "Internal server error", "An unexpected error occurred; it has been logged", "internal")

    async def _away(request: Request, exc: Exception) -> Response:
        # Handled here, not by the catch-all above: Starlette re-raises what reaches Exception's handler,
        # which logs a traceback per request and drops the keep-alive connection while the database is away.
        if not database_away(exc):
            return await _unexpected(request, exc)
        log.warning("the database cannot be reached: %s", exc)
        detail = "the database cannot be reached right now; nothing was saved, try again in a few seconds"
        response = problem(503, "Service unavailable", detail, "database-unavailable")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for kind in (DBAPIError, ConnectionError, TimeoutError, SATimeoutError):
        app.add_exception_handler(kind, _away)
    app.add_exception_handler(Exception, _unexpected)


def allowed_methods(request: Request) -> str:
    """The methods the API documents at this path (its OpenAPI paths, compiled once per app)."""
    state = request.app.state
    if not hasattr(state, "path_methods"):
        state.path_methods = [
            (re.compile("^" + re.sub(r"\\{[^/}]+\\}", "[^/]+", re.escape(path)) + "$"), {m.upper() for m in item})
            for path, item in request.app.openapi().get("paths", {}).items()
        ]
    methods = set().union(*(m for pattern, m in state.path_methods if pattern.match(request.url.path)))
    return ", ".join(sorted(methods & {"GET", "PUT", "POST", "DELETE", "PATCH"}))


RETRY_AFTER_SECONDS = 5
# asyncpg's errors for a server that is shutting down, starting up or gone (by name: the engine does not
# import asyncpg on SQLite installs). SQLite's "database is locked" past its busy timeout is the same case.
AWAY = frozenset({
    "CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError", "AdminShutdownError",
    "CrashShutdownError", "OperatorInterventionError", "InterfaceError", "TooManyConnectionsError",
})  # fmt: skip


def database_away(exc: BaseException) -> bool:
    """Is this the database being unreachable (stopped, restarting, refusing connections, a pool that
    cannot hand out a connection in time) rather than a bug? Such requests answer 503 with Retry-After."""
    if isinstance(exc, ConnectionError | TimeoutError | SATimeoutError):  # refused / reset / connect or pool timeout
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or (isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)):
        return True
    causes = (exc.orig, getattr(exc.orig, "__cause__", None))  # the driver adapter's error, and asyncpg's own
    return any(type(c).__name__ in AWAY or isinstance(c, ConnectionError | TimeoutError) for c in causes if c is not None)
