"""The FastAPI application factory."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from engine import __version__, retention
from engine.api import (
    admin,
    auth,
    delegations,
    duplicates,
    files,
    generic_openapi,
    health,
    imports,
    jobs,
    meta,
    notifications,
    openapi_route,
    packages,
    problems,
    processes,
    public_forms,
    records,
    related,
    reports,
    rules,
    shares,
    tasks,
    views,
)
from engine.api.context import Context
from engine.api.csrf import CsrfGuard
from engine.api.hosts import HostGuard
from engine.api.limits import BodyLimit
from engine.api.metrics import RequestMetrics
from engine.core.db import Database
from engine.core.settings import Settings, get_settings
from engine.jobs.worker import Worker, in_background


def secret_key(settings: Settings) -> str:
    """The session-signing key: from TANGRAM_SECRET_KEY, else generated once into ./var/."""
    if settings.tangram_secret_key:
        return settings.tangram_secret_key
    path = Path(settings.var_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(settings: Settings | None = None, context: Context | None = None) -> FastAPI:
    settings = settings or get_settings()
    ctx = context or Context(settings=settings, db=Database(settings.database_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(ctx.db, ctx.clock, ctx.job_handlers) if settings.tangram_inprocess_worker else None
        app.state.worker = worker  # health and /metrics report it
        await retention.ensure_scheduled_at_start(ctx.db, ctx.clock.now())
        async with in_background(worker) if worker else nullcontext():
            yield
        await ctx.db.dispose()

    app = FastAPI(
        title="Tangram", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    # /api/docs and /api/redoc are served by builder_ui from vendored files: no CDN, works offline.
    app.state.ctx = ctx
    problems.install(app)
    generic_openapi.install(app)
    # shares and reports before records: their /{app}/{entity}/{rid}/shares and /{app}/query, /{app}/charts/...
    # paths must win over the record routes; so must related's /{app}/{entity}/search and views' /{app}/{entity}/views
    routers = (
        health.router, auth.router, admin.router, jobs.router, meta.router, openapi_route.router, notifications.router,
        rules.router, processes.router, tasks.router, delegations.router, shares.router, reports.router, related.router,
        duplicates.router, imports.router, packages.router, files.router, views.router, public_forms.router,
        records.router,
    )  # fmt: skip
    for router in routers:
        app.include_router(router)
    app.add_middleware(CsrfGuard, trusted_origins=tuple(settings.tangram_trusted_origins))  # inside the session
    app.add_middleware(
        SessionMiddleware, secret_key=secret_key(settings), session_cookie="tangram_session",
        same_site="lax", https_only=settings.https_only, max_age=14 * 24 * 3600,
    )  # fmt: skip
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, larger=imports.UPLOAD_LIMITS(settings) + files.UPLOAD_LIMITS(settings)
    )
    app.add_middleware(duplicates.DuplicateHeader)
    app.add_middleware(HostGuard, allowed_hosts=tuple(settings.tangram_allowed_hosts))  # before anything reads Host
    app.add_middleware(RequestMetrics)  # outermost: counts every answer, refusals included
    return app
