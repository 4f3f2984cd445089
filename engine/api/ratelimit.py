"""Rate limits on the API per token and per user: token buckets held in this process (no database
round trip per request). A bucket holds `limit` requests and refills at `limit` per minute, so a
client may burst up to a minute's worth and then goes at the steady rate; past it, 429 with
Retry-After. Each `serve` process counts on its own (several behind a balancer allow that many times
the rate in total)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.auth.policy import Access
from engine.core.errors import TooManyRequests
from engine.core.settings import Settings

MAX_BUCKETS = 100_000  # beyond this, full (idle) buckets are forgotten


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass
class ApiRateLimit:
    settings: Settings
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def hit(self, actor: Access) -> None:
        """Count one request of `actor` against its token's and its user's limits (429 when over)."""
        now = self.clock()
        checks = []
        if actor.token_id is not None and self.settings.tangram_rate_limit_token > 0:
            checks.append((f"t{actor.token_id}", self.settings.tangram_rate_limit_token, "this API token"))
        if actor.user_id is not None and self.settings.tangram_rate_limit_user > 0:
            checks.append((f"u{actor.user_id}", self.settings.tangram_rate_limit_user, "this user"))
        for key, limit, who in checks:
            wait = self._wait(key, limit, now)
            if wait:
                raise TooManyRequests(
                    f"too many requests from {who} (at most {limit} a minute): try again in {wait} seconds", retry_after=wait
                )
        for key, _, _ in checks:  # only a request every limit lets through is counted
            self.buckets[key].tokens -= 1

    def _wait(self, key: str, limit: int, now: float) -> int:
        """Seconds until the bucket has a request left (0: it has one now), after refilling it."""
        rate = limit / 60.0
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._forget(now)
            bucket = self.buckets[key] = Bucket(float(limit), now)
        bucket.tokens = min(float(limit), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        return 0 if bucket.tokens >= 1 else max(1, math.ceil((1 - bucket.tokens) / rate))

    def _forget(self, now: float) -> None:
        user, token = self.settings.tangram_rate_limit_user, self.settings.tangram_rate_limit_token
        slowest = min((n for n in (user, token) if n > 0), default=1) / 60.0
        full_after = max(user, token, 1) / slowest
        self.buckets = {k: b for k, b in self.buckets.items() if now - b.at < full_after}
