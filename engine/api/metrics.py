"""Request counters for `/api/v1/metrics`, kept in each server process (Prometheus adds the processes up).

A plain ASGI middleware: one monotonic clock read and a few integer additions per request, no lock (one
event loop per process), no label per path (its cardinality would grow with every record id)."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # seconds, as Prometheus' defaults


@dataclass
class Requests:
    """Counts by (method, status class) and a latency histogram of every request."""

    counts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    seconds: float = 0.0
    in_flight: int = 0

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.counts[(method, f"{status // 100}xx")] += 1
        self.buckets[bisect_left(BUCKETS, seconds)] += 1
        self.seconds += seconds


REQUESTS = Requests()


class RequestMetrics:
    def __init__(self, app: ASGIApp, requests: Requests = REQUESTS) -> None:
        self.app, self.requests = app, requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.requests.in_flight += 1
        try:
            await self.app(scope, receive, sending)
        finally:
            self.requests.in_flight -= 1
            self.requests.observe(scope["method"], status, time.perf_counter() - started)


def prometheus_text(requests: Requests, depth: dict[str, Any], *, worker_alive: bool | None, uptime: float, version: str) -> str:
    cumulative = [sum(requests.buckets[: i + 1]) for i in range(len(requests.buckets))]
    histogram = [(f'_bucket{{le="{le}"}}', n) for le, n in zip((*map(str, BUCKETS), "+Inf"), cumulative, strict=True)]
    parts = [
        _metric("info", "gauge", "The running version.", [(f'{{version="{version}"}}', 1)]),
        _metric("uptime_seconds", "gauge", "Seconds since this server process started.", [("", f"{uptime:.1f}")]),
        _metric("http_requests_total", "counter", "Requests answered by this process.",
                [(f'{{method="{m}",status="{s}"}}', n) for (m, s), n in sorted(requests.counts.items())]),
        _metric("http_requests_in_flight", "gauge", "Requests being answered now.", [("", requests.in_flight)]),
        _metric("http_request_duration_seconds", "histogram", "Time to answer a request.",
                [*histogram, ("_sum", f"{requests.seconds:.6f}"), ("_count", cumulative[-1])]),
        _metric("jobs", "gauge", "Background jobs by state.", [(f'{{state="{k}"}}', n) for k, n in depth["states"].items()]),
        _metric("jobs_due", "gauge", "Jobs due now and not yet taken.", [("", depth["due"])]),
        _metric("jobs_oldest_due_seconds", "gauge", "How long the oldest due job has waited.",
                [("", f"{depth['oldest_due_seconds'] or 0.0:.1f}")]),
    ]  # fmt: skip
    if worker_alive is not None:
        parts.append(_metric("worker_up", "gauge", "Whether this process's job worker runs.", [("", int(worker_alive))]))
    return "".join(parts)


def _metric(name: str, kind: str, help_text: str, samples: list[tuple[str, object]]) -> str:
    lines = [f"# HELP tangram_{name} {help_text}", f"# TYPE tangram_{name} {kind}"]
    lines += [f"tangram_{name}{suffix} {value}" for suffix, value in samples]
    return "\n".join(lines) + "\n"
