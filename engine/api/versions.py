"""Parsing the version a client expects (If-Match header: "3", W/"3" or 3)."""

from __future__ import annotations

import re

from engine.core.errors import BadRequest, PreconditionRequired

_ETAG = re.compile(r'^(W/)?"?(\d{1,12})"?$')


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise BadRequest('If-Match must carry a version, e.g. If-Match: "3"')
    return int(match.group(2))


def require_version(required: bool, expected: int | None) -> int | None:
    """With TANGRAM_REQUIRE_IF_MATCH on, a change must say which version it was made from: 428 otherwise, so
    that no client can overwrite someone else's edit by leaving the version out."""
    if required and expected is None:
        raise PreconditionRequired('send the version you read: an If-Match header ("3") or "version" in the body')
    return expected
