"""Parsing the version a client expects (If-Match header: "3", W/"3" or 3)."""

from __future__ import annotations

import re

from engine.core.errors import BadRequest

_ETAG = re.compile(r'^(W/)?"?(\d{1,12})"?$')


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if match is None:
        raise BadRequest('If-Match must carry a version, e.g. If-Match: "3"')
    return int(match.group(2))
