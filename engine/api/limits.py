"""ASGI middleware refusing request bodies over the limit with 413, before they are read whole."""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api.jsonio import dumps


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, larger: tuple[tuple[str, int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path pattern, limit): the routes that take files (imports) accept more than JSON bodies do.
        self.larger = tuple((re.compile(pattern), n) for pattern, n in larger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for pattern, n in self.larger if pattern.fullmatch(path)), self.max_bytes)
        if limit != self.max_bytes:
            await BodyLimit(self.app, limit)(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        too_big = False

        async def limited() -> Message:
            nonlocal seen, too_big
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    raise _TooLarge
            return message

        started = False

        async def track(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, track)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body: dict[str, Any] = {
            "type": "/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request bodies are limited to {self.max_bytes} bytes",
        }
        raw = dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(raw)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": raw})


class _TooLarge(Exception):
    pass
