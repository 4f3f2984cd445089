"""Public forms: publishing them (for those who manage the layout's entity) and the anonymous endpoints a
public form page calls: its description with a form token and a challenge, the submission, the status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor, require_manage
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import IdPath
from engine.apps.public_forms import PublicFormIn, Published, public_json
from engine.apps.public_guard import Signer, check_proofs
from engine.apps.public_submit import check_shape, status, submit
from engine.auth.policy import may_manage
from engine.core.errors import Forbidden

router = APIRouter(tags=["public forms"])
ADMIN = "/api/v1/apps/{app}/public-forms"
PUBLIC = "/api/v1/public"
DIFFICULTY = 14  # leading zero bits of sha256: about 16,000 tries, well under a second in a browser


def signer(request: Request) -> Signer:
    """The app's signer (its session secret), made once."""
    found = getattr(request.app.state, "public_signer", None)
    if found is None:
        from engine.api.app import secret_key  # here, not at the top: engine.api.app mounts this router

        found = request.app.state.public_signer = Signer(secret_key(request.app.state.ctx.settings).encode())
    return found  # type: ignore[no-any-return]


def describe(request: Request, form: Published, now: Any) -> dict[str, Any]:
    """What a page needs to render and send the form: fields, a fresh form token and challenge."""
    s = signer(request)
    fields = []
    for key in form.fields():
        f = form.entity.fields[key]
        item = {"key": key, "type": f.cfg.type, "label": f.cfg.label, "required": bool(f.cfg.required)}
        if f.cfg.type in ("select", "multi_select"):
            item["options"] = [{"key": o.key, "label": o.label} for o in f.cfg.options]
        fields.append(item)
    return {"title": form.settings.title or form.layout.label, "description": form.layout.description, "fields": fields,
            "form_token": s.issue("form", form.slug, now), "challenge": s.issue("challenge", form.slug, now),
            "difficulty": DIFFICULTY}  # fmt: skip


# -- publishing --------------------------------------------------------------------------------------
@router.get(ADMIN)
async def list_public_forms(app: str, c: Ctx, actor: CurrentActor) -> Response:
    """The app's public forms whose entity the caller manages."""
    async with c.db.read() as conn:
        items = [
            p for p in await c.public_forms.list(conn, app)
            if may_manage(actor, app, await c.public_forms.entity_of(conn, app, p["form"]))
        ]  # fmt: skip
    return json_response({"items": items})


@router.post(ADMIN, status_code=201)
async def create_public_form(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    body = parse_model(PublicFormIn, await read_json(request))
    async with c.db.write() as conn:
        require_manage(actor, app, await c.public_forms.entity_of(conn, app, body.form), "public forms")
        return json_response(await c.public_forms.create(conn, app, body, c.clock.now()), 201)


@router.get(ADMIN + "/{pid}")
async def get_public_form(app: str, pid: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        row = await c.public_forms.row(conn, app, pid)
        require_manage(actor, app, await c.public_forms.entity_of(conn, app, row.form), "public forms")
        return json_response(public_json(row))


@router.put(ADMIN + "/{pid}")
async def replace_public_form(app: str, pid: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Replace the settings (the link stays); `"enabled": false` disables the form at once."""
    body = parse_model(PublicFormIn, await read_json(request))
    async with c.db.write() as conn:
        row = await c.public_forms.row(conn, app, pid)
        for form in {row.form, body.form}:
            require_manage(actor, app, await c.public_forms.entity_of(conn, app, form), "public forms")
        return json_response(await c.public_forms.replace(conn, app, pid, body, c.clock.now()))


# -- anonymous ---------------------------------------------------------------------------------------
@router.get(PUBLIC + "/forms/{slug}")
async def describe_public_form(slug: str, request: Request, c: Ctx) -> Response:
    async with c.db.read() as conn:
        form = await c.public_forms.published(conn, slug)
    return json_response(describe(request, form, c.clock.now()), headers={"Cache-Control": "no-store"})


@router.post(PUBLIC + "/forms/{slug}", status_code=201)
async def submit_public_form(slug: str, request: Request, c: Ctx) -> Response:
    """Anonymous: needs the page's form token, the solved challenge and a same-site Origin; 5 a minute per address."""
    _same_origin(request)
    now = c.clock.now()
    async with c.db.read() as conn:
        form = await c.public_forms.published(conn, slug)
    c.public_rate.hit(request.client.host if request.client else "-", slug, now)
    body = check_shape(await read_json(request))
    check_proofs(signer(request), slug, body, DIFFICULTY, now)
    async with c.db.write() as conn:
        answer = await submit(conn, c.records, form, body, now, c.settings.tangram_timezone)
    return json_response(answer, 201, headers={"Cache-Control": "no-store"})


@router.get(PUBLIC + "/status/{token}")
async def submission_status(token: str, c: Ctx) -> Response:
    async with c.db.read() as conn:
        _, shown = await status(conn, c.public_forms, token)
    return json_response(shown, headers={"Cache-Control": "no-store"})


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    host = request.headers.get("host", "")
    if not origin or origin.split("://", 1)[-1].lower() != host.lower():
        raise Forbidden("a public form is sent from its own page (the Origin header must be this site)")
