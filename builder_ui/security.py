"""Response headers for every page: a CSP with a per-request nonce (no 'unsafe-inline', no eval), frames
refused, no MIME sniffing, no referrer leaks. Templates read the nonce from request.state.csp_nonce.
A page that may be framed (a public form) names the sites in request.state.frame_ancestors, for that response only."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# /api/docs and /api/redoc: Swagger UI and ReDoc need inline styles of their own (they set style
# attributes from JS); their scripts still need the nonce.
RELAXED_STYLE = ("/api/docs", "/api/redoc")


def policy(nonce: str, path: str, ancestors: tuple[str, ...] = ()) -> str:
    """`ancestors`: validated origins that may frame this response (none: no one may)."""
    frames = " ".join(ancestors) if ancestors else "'none'"
    style = "'self' 'unsafe-inline'" if path in RELAXED_STYLE else f"'self' 'nonce-{nonce}'"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src {style}",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frames}",
        )
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-frame-options"]
                ancestors = tuple(scope["state"].get("frame_ancestors", ()))
                headers += [
                    (b"content-security-policy", policy(nonce, scope["path"], ancestors).encode()),
                    *([] if ancestors else [(b"x-frame-options", b"DENY")]),  # XFO cannot name sites: CSP alone then
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
