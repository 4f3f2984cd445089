"""JSON in and out. Bodies parse numbers as Decimal (money stays exact) and refuse NaN, deep
nesting and non-JSON media types with a clear 4xx; responses write dates and decimals as JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from engine.core.errors import BadRequest, TangramError, ValidationFailed, pydantic_errors
from engine.schema.field_types.temporal import iso_utc

MAX_DEPTH = 64
ModelT = TypeVar("ModelT", bound=BaseModel)


class UnsupportedMediaType(TangramError):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth_ok(text: str) -> bool:
    """Cheap pre-scan so a pathological nesting is refused before the parser recurses into it."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    if not _depth_ok(text):
        raise BadRequest(f"the JSON body nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_constant)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


async def read_json(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    return loads(await request.body())


def parse_model(model: type[ModelT], doc: Any) -> ModelT:
    """Validate a parsed body against a request model; errors carry JSON paths."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise ValidationFailed("The request body has errors", errors=pydantic_errors(exc)) from None


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    body: Any, status: int = 200, media_type: str = "application/json", headers: dict[str, str] | None = None
) -> Response:
    return Response(dumps(body), status_code=status, media_type=media_type, headers=headers)
