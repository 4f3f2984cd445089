"""What an operator watches. `/api/v1/health` (the one unauthenticated API route): the database reachable,
the in-process worker alive, the age of the oldest due job. `/api/v1/metrics`: the same and the requests
served, in Prometheus' text format, for administrators (or anyone, with TANGRAM_METRICS_PUBLIC=true)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from engine import __version__
from engine.api.deps import Ctx, current_actor
from engine.api.jsonio import json_response
from engine.api.metrics import REQUESTS, prometheus_text
from engine.auth.admin import require_admin
from engine.jobs.admin import queue_depth

router = APIRouter(prefix="/api/v1", tags=["health"])
STARTED = time.monotonic()
BEHIND_SECONDS = 300  # a due job older than this: the workers are not keeping up (or not running)


@router.get("/health")
async def health(request: Request, c: Ctx) -> Response:
    """200 {"status": "ok" | "degraded", ...}; 503 when the database cannot be reached (see
    engine.api.problems: every route answers so while it is away)."""
    started = time.perf_counter()
    async with c.db.read() as conn:
        await conn.execute(text("SELECT 1"))
        depth = await queue_depth(conn, c.clock.now())
    latency = round((time.perf_counter() - started) * 1000, 1)
    worker = _worker(request)
    behind = (depth["oldest_due_seconds"] or 0) > BEHIND_SECONDS
    degraded = behind or (worker["in_process"] and not worker["alive"])
    return json_response({
        "status": "degraded" if degraded else "ok",
        "version": __version__,
        "database": {"dialect": c.db.dialect, "reachable": True, "ms": latency},
        "worker": worker,
        "jobs": {"due": depth["due"], "oldest_due_seconds": _rounded(depth["oldest_due_seconds"])},
    })  # fmt: skip


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, c: Ctx) -> Response:
    if not c.settings.tangram_metrics_public:
        require_admin(await current_actor(request, c), write=False, what="the metrics")
    async with c.db.read() as conn:
        depth = await queue_depth(conn, c.clock.now())
    worker = _worker(request)
    body = prometheus_text(REQUESTS, depth, worker_alive=worker["alive"], uptime=time.monotonic() - STARTED, version=__version__)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _worker(request: Request) -> dict[str, Any]:
    worker = getattr(request.app.state, "worker", None)
    if worker is None:
        return {"in_process": False, "alive": None, "last_look_seconds": None}
    seen = None if worker.last_look is None else _rounded(time.monotonic() - worker.last_look)
    return {"in_process": True, "alive": worker.running, "last_look_seconds": seen}


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
