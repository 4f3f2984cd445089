"""Webhook calls: a signed JSON POST (the Standard Webhooks convention) through the SSRF guard.

Retries belong to the job queue: deliver() raises WebhookError with `retryable` set for network
errors, timeouts, 408, 429 and 5xx, and unset for other 4xx, refused targets and redirect loops."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore

from engine import __version__
from engine.core.clock import Clock
from engine.core.jsonvalues import json_default
from engine.notify.errors import DeliveryError
from engine.notify.ssrf import GuardedBackend, HostPolicy, TargetRefused

MAX_REDIRECTS = 3
MAX_EXCERPT_BYTES = 4096  # the response is read up to here, never further
REDIRECTS = {301, 302, 303, 307, 308}
RETRYABLE = {408, 425, 429}
WEBHOOK_ID = re.compile(r"^[\x21-\x7e]{1,255}$")  # it travels in a header


class WebhookError(DeliveryError):
    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 retry_after: float | None = None, excerpt: str = "") -> None:  # fmt: skip
        super().__init__(message, retryable=retryable, status=status, retry_after=retry_after)
        self.excerpt = excerpt


@dataclass(frozen=True)
class Delivery:
    status: int
    elapsed: float  # seconds, redirects included
    excerpt: str  # the head of the response body, for the execution log


def sign(secret: str, webhook_id: str, timestamp: int, payload: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over "{id}.{timestamp}.{body}". A `whsec_`-prefixed secret is the
    base64 key Standard Webhooks libraries use; any other secret is used as UTF-8 bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    signed = f"{webhook_id}.{timestamp}.".encode() + payload
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def encode(body: dict[str, Any]) -> bytes:
    """The JSON body, written as the records API writes values (dates ISO 8601 UTC, decimals as numbers)."""
    try:
        return json.dumps(body, default=json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise WebhookError(f"the webhook body is not JSON: {exc}", retryable=False) from None


def target(url: str) -> str:
    """The URL if webhooks may call it at all (http or https with a host), else a permanent error."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise WebhookError(f"the webhook URL is not valid: {exc}", retryable=False) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError("a webhook URL must be http:// or https:// with a host", retryable=False)
    return url


async def deliver(
    url: str,
    body: dict[str, Any],
    *,
    secret: str | None,
    timeout: float,
    idempotency_key: str,
    allow_hosts: Iterable[str] = (),
    clock: Clock | None = None,
) -> Delivery:
    """POST `body` to `url` once. `idempotency_key` is the webhook-id header, the same on every retry so
    the receiver can drop duplicates; `timeout` bounds the whole call, redirects (at most 3) included."""
    if not WEBHOOK_ID.match(idempotency_key):
        raise WebhookError("the idempotency key must be 1-255 printable ASCII characters", retryable=False)
    payload = encode(body)
    timestamp = int((clock or Clock()).now().timestamp())
    headers = [("content-type", "application/json"), ("user-agent", f"Tangram-Webhooks/{__version__}"),
               ("webhook-id", idempotency_key), ("webhook-timestamp", str(timestamp))]  # fmt: skip
    if secret:
        headers.append(("webhook-signature", sign(secret, idempotency_key, timestamp, payload)))
    backend = GuardedBackend(HostPolicy(allow_hosts))
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            async with httpcore.AsyncConnectionPool(ssl_context=_tls(), network_backend=backend) as pool:
                status, excerpt, retry_after = await _post(pool, target(url), headers, payload, timeout)
    except TargetRefused as exc:
        raise WebhookError(str(exc), retryable=False) from None
    except (TimeoutError, httpcore.TimeoutException):
        raise WebhookError(f"no answer within {timeout:g} s", retryable=True) from None
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise WebhookError(f"the call failed: {exc or type(exc).__name__}", retryable=True) from None
    return _outcome(status, time.monotonic() - started, excerpt, retry_after)


async def _post(
    pool: httpcore.AsyncConnectionPool, url: str, headers: list[tuple[str, str]], payload: bytes, timeout: float
) -> tuple[int, str, float | None]:
    """Follow redirects by hand, re-posting the same signed body: each hop goes through the guard again."""
    limits = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}}
    for _ in range(MAX_REDIRECTS + 1):
        async with pool.stream("POST", url, headers=headers, content=payload, extensions=limits) as response:
            location = _header(response, "location")
            if response.status in REDIRECTS and location:
                url = target(urljoin(url, location))
                continue
            excerpt = await _head(response)
            return response.status, excerpt, _seconds(_header(response, "retry-after"))
    raise WebhookError(f"more than {MAX_REDIRECTS} redirects", retryable=False)


def _outcome(status: int, elapsed: float, excerpt: str, retry_after: float | None) -> Delivery:
    if 200 <= status < 300:
        return Delivery(status, elapsed, excerpt)
    retryable = status >= 500 or status in RETRYABLE
    raise WebhookError(
        f"the receiver answered {status}", retryable=retryable, status=status, retry_after=retry_after, excerpt=excerpt
    )


async def _head(response: httpcore.Response) -> str:
    data = b""
    async for chunk in response.aiter_stream():
        data += chunk
        if len(data) >= MAX_EXCERPT_BYTES:
            break
    return data[:MAX_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _header(response: httpcore.Response, name: str) -> str | None:
    wanted = name.encode()
    return next((v.decode("latin-1") for k, v in response.headers if k.lower() == wanted), None)


def _seconds(value: str | None) -> float | None:
    return float(value) if value is not None and value.strip().isdigit() else None


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()
