"""The product's web application: the engine's REST API plus the generated end-user UI at `/`.

`tangram serve` runs `create_app` (a factory, so uvicorn imports it lazily: the engine never imports
builder_ui). Dependencies point one way: builder_ui -> engine services, never back.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from builder_ui.builder import apps as build_apps
from builder_ui.builder import charts as build_charts
from builder_ui.builder import dashboards as build_dashboards
from builder_ui.builder import entities as build_entities
from builder_ui.builder import home as build_home
from builder_ui.builder import list_defaults as build_list
from builder_ui.builder import people as build_people
from builder_ui.builder import process_simulate as build_simulate
from builder_ui.builder import processes as build_processes
from builder_ui.builder import public_forms as build_public_forms
from builder_ui.builder import roles as build_roles
from builder_ui.builder import rules as build_rules
from builder_ui.i18n import gettext
from builder_ui.pages import approvals, auth, board, dashboards, docs, home, imports, merge, notifications, public, records
from builder_ui.pages import invite as first_password
from builder_ui.render import page
from builder_ui.security import SecurityHeaders
from builder_ui.session import SignInRequired, request_locale
from engine.api.app import create_app as create_api_app
from engine.core.errors import TangramError
from engine.core.settings import Settings, get_settings

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_api_app(settings or get_settings())
    install(app)
    return app


def install(app: FastAPI) -> None:
    """Mount the UI on an engine app: static files, page routers, sign-in redirects, security headers."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    builder = (
        build_home, build_apps, build_list, build_entities, build_public_forms, build_simulate, build_processes, build_rules,
        build_charts, build_dashboards, build_roles, build_people,
    )  # fmt: skip
    pages = (docs, auth, first_password, home, *builder, merge, board, dashboards, notifications, approvals, public, imports)
    pages = (*pages, records)
    for router in [p.router for p in pages]:  # records last: its /{rid} routes would catch the others
        app.include_router(router)
    app.add_exception_handler(SignInRequired, _to_sign_in)  # type: ignore[arg-type]
    api_errors = app.exception_handlers[TangramError]

    async def errors(request: Request, exc: TangramError) -> Response:
        """Pages answer with a page; the API keeps its problem+json."""
        if request.url.path.startswith(("/api/", "/ui/")):
            return await api_errors(request, exc)  # type: ignore[no-any-return]
        _ = gettext(request_locale(request))
        titles = {403: _("You may not open this page"), 404: _("Not found")}
        title = titles.get(exc.status, _("Something went wrong"))
        return page(
            request, "pages/error.html", status=exc.status, locale=request_locale(request), title=title, detail=exc.detail
        )

    app.add_exception_handler(TangramError, errors)  # type: ignore[arg-type]
    app.add_middleware(SecurityHeaders)


async def _to_sign_in(request: Request, exc: SignInRequired) -> Response:
    target = f"/login?next={exc.next_url}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
