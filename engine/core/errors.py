"""Typed domain errors. The API maps each to an RFC 9457 problem+json response in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with one part of the input, located by a JSON Pointer (RFC 6901)."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


class TangramError(Exception):
    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str, *, errors: list[ErrorDetail] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class BadRequest(TangramError):
    pass


class ValidationFailed(TangramError):
    status = 422
    title = "Validation failed"
    type_slug = "validation-failed"


class NotFound(TangramError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(TangramError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PreconditionFailed(TangramError):
    status = 412
    title = "Precondition failed"
    type_slug = "precondition-failed"


class PreconditionRequired(TangramError):
    status = 428
    title = "Precondition required"
    type_slug = "precondition-required"


class Unauthorized(TangramError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(TangramError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class TooManyRequests(TangramError):
    """Pass `retry_after` (seconds): it becomes the Retry-After header and a field of the problem."""

    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"


class PayloadTooLarge(TangramError):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


@dataclass
class ErrorCollector:
    """Gathers every problem in an input before failing, so a client fixes them all in one round."""

    errors: list[ErrorDetail] = field(default_factory=list)

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.append(ErrorDetail(path, code, message))

    def extend(self, errors: list[ErrorDetail], prefix: str = "") -> None:
        self.errors.extend(ErrorDetail(prefix + e.path, e.code, e.message) for e in errors)

    def raise_if_any(self, detail: str = "The input has errors", *, lone: bool = False) -> None:
        """`lone`: when there is exactly one error, its message is the detail (what a person is shown)."""
        if self.errors:
            raise ValidationFailed(self.errors[0].message if lone and len(self.errors) == 1 else detail, errors=self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


def pointer(*parts: str | int) -> str:
    """JSON Pointer for a location, escaping '~' and '/' in keys as RFC 6901 requires."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def pydantic_errors(exc: Any, prefix: str = "") -> list[ErrorDetail]:
    """Translate a pydantic ValidationError into located details."""
    out = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        message = err["msg"].removeprefix("Value error, ")
        out.append(ErrorDetail(prefix + pointer(*loc), err["type"], message))
    return out
