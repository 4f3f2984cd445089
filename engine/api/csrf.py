"""Cross-site request forgery: every unsafe request authenticated by the session cookie must carry the
session's token (header X-CSRF-Token, or form field csrf_token) and come from this site (Origin /
Sec-Fetch-Site). Bearer-token requests carry no ambient credential and pass untouched."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.jsonio import dumps

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = b"x-csrf-token"
FIELD = "csrf_token"
# Signing in is checked for its origin only: no session token exists before it (login CSRF is an origin matter).
TOKEN_EXEMPT = frozenset({"/api/v1/auth/login", "/login"})


def csrf_token(session: dict[str, Any]) -> str:
    """The session's synchronizer token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


class CsrfGuard:
    """Must sit inside SessionMiddleware (it reads scope["session"])."""

    def __init__(self, app: ASGIApp, trusted_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted = frozenset(o.rstrip("/").lower() for o in trusted_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"authorization", b"").lower().startswith(b"bearer "):
            await self.app(scope, receive, send)
            return
        if why := self._foreign(scope, headers):
            await _refuse(send, why)
            return
        session = scope.get("session") or {}
        if session.get("user_id") is None or scope["path"] in TOKEN_EXEMPT:
            await self.app(scope, receive, send)
            return
        sent, receive = await _sent_token(headers, receive)
        expected = session.get("csrf")
        if not (isinstance(expected, str) and sent and hmac.compare_digest(sent, expected)):
            await _refuse(send, "the CSRF token is missing or wrong: reload the page and try again")
            return
        await self.app(scope, receive, send)

    def _foreign(self, scope: Scope, headers: dict[bytes, bytes]) -> str | None:
        """Why the request comes from another site, or None."""
        site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        if site in ("cross-site", "same-site"):
            return f"cross-site requests are refused (Sec-Fetch-Site: {site})"
        origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
        if not origin:
            return None
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if origin == "null" or (urlsplit(origin).netloc != host and origin.rstrip("/") not in self.trusted):
            return f"requests from origin {origin!r} are refused"
        return None


async def _sent_token(headers: dict[bytes, bytes], receive: Receive) -> tuple[str | None, Receive]:
    """The token from the header, else from a url-encoded form body (which is then replayed)."""
    if HEADER in headers:
        return headers[HEADER].decode("latin-1"), receive
    if not headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
        return None, receive
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        body += message.get("body", b"")
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    values = parse_qs(body.decode("utf-8", "replace")).get(FIELD, [])

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return (values[0] if values else None), replay


async def _refuse(send: Send, detail: str) -> None:
    body = dumps({"type": "/problems/forbidden", "title": "Forbidden", "status": 403, "detail": detail})
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})
