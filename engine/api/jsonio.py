"""JSON in and out. Bodies parse numbers as Decimal (money stays exact) and refuse NaN, runaway
nesting, unpaired surrogates and non-JSON media types with a clear 4xx; responses write dates
and decimals as JSON."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from engine.core.errors import BadRequest, TangramError, ValidationFailed, pydantic_errors
from engine.core.jsonvalues import json_default

SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
ModelT = TypeVar("ModelT", bound=BaseModel)


class UnsupportedMediaType(TangramError):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_constant)
    except RecursionError:
        # The C parser guards its own recursion; past the interpreter's limit it raises cleanly.
        raise BadRequest("the JSON body nests too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(doc)
    return doc


def _refuse_lone_surrogates(doc: Any) -> None:
    """JSON may spell half of a UTF-16 pair (\\ud800) that is no character at all; no database can
    store it. Escaped pairs that form a real character (emoji) were joined by the parser."""
    try:
        json.dumps(doc, ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        raise BadRequest("the body contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None


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


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=json_default, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    body: Any, status: int = 200, media_type: str = "application/json", headers: dict[str, str] | None = None
) -> Response:
    return Response(dumps(body), status_code=status, media_type=media_type, headers=headers)
