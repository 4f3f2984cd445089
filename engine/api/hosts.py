"""ASGI middleware checking the request line before anything reads it: the Host header must name
this server (redirects, such as the trailing-slash one, build their Location from it), and the URL
must not carry a NUL character (no database stores one; PostgreSQL fails on it): 400, or 404 in the
path.

Allowed host names: TANGRAM_ALLOWED_HOSTS (exact names, `*.example.com` for subdomains, `*` for
any), and always localhost, 127.0.0.1, ::1 and the address the connection arrived at (so a server
reached by its IP address on the local network answers without settings)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from engine.api.jsonio import dumps

LOCAL = frozenset({"localhost", "127.0.0.1", "::1"})


def host_name(host: str) -> str:
    """`example.com:8000` -> `example.com`, `[::1]:8000` -> `::1`, lower case, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") == 1 else host.rstrip(".")


class HostGuard:
    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        names = {host_name(h) for h in allowed_hosts if h.strip()}
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("*.")) | LOCAL
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))  # ".example.com"

    def allows(self, name: str, scope: Scope) -> bool:
        if self.any or name in self.exact or name.endswith(self.suffixes or ("\0",)):
            return True
        server = scope.get("server")
        return bool(server) and name == host_name(str(server[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):  # names nothing
            await _refuse(send, "there is nothing at a path with a NUL character (%00)", 404)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _refuse(send, "the URL contains a NUL character (%00), which no value may hold")
            return
        raw = dict(scope.get("headers", [])).get(b"host")
        if raw is not None:
            name = host_name(raw.decode("latin-1"))
            if not self.allows(name, scope):
                why = f"this server does not answer to {name[:100]!r}; an operator may list it in TANGRAM_ALLOWED_HOSTS"
                await _refuse(send, why)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, detail: str, status: int = 400) -> None:
    kind, title = ("not-found", "Not found") if status == 404 else ("bad-request", "Bad request")
    body: dict[str, Any] = {"type": f"/problems/{kind}", "title": title, "status": status, "detail": detail}
    raw = dumps(body)
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
