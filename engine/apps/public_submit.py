"""An anonymous visitor's submission of a public form, and the submitter's private status link.

The record is created through the record service by an actor whose source is `public_form` (the audit
shows it; form rules judge it as a person's input), with only the form's offered fields.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.public_forms import SOURCE, TOKEN, PublicForms, Published
from engine.apps.tables import public_forms, public_submissions
from engine.auth.policy import Access
from engine.core.errors import ErrorCollector, ErrorDetail, NotFound, TooManyRequests, ValidationFailed, pointer
from engine.records.serialize import record_json
from engine.records.service import RecordService

HONEYPOT = "website"  # a field people never see (hidden by CSS); robots fill it
MEMBERS = frozenset({"values", "form_token", "challenge", "answer", HONEYPOT})


def check_shape(body: Any) -> dict[str, Any]:
    """The body's members, or 422 at each unknown or mistyped one."""
    errors = ErrorCollector()
    if not isinstance(body, dict):
        raise ValidationFailed("The submission must be a JSON object", errors=[])
    for key in body:
        if key not in MEMBERS:
            errors.add(pointer(key), "unknown_member", f"unknown member {key!r}")
    if not isinstance(body.get("values"), dict):
        errors.add("/values", "type", "values must be an object of field values")
    if not isinstance(body.get(HONEYPOT, ""), str):
        errors.add(pointer(HONEYPOT), "type", f"{HONEYPOT} must be a string")
    errors.raise_if_any("The submission has errors")
    return body


def only_offered(form: Published, values: dict[str, Any]) -> dict[str, Any]:
    """The values, or 422 at every field the form does not offer (the record's owner and ids included)."""
    allowed = set(form.fields())
    errors = ErrorCollector()
    for key in values:
        if key not in allowed:
            errors.add(pointer("values", key), "unknown_field", f"this form has no field {key!r}")
    errors.raise_if_any("The submission has errors")
    return dict(values)


async def _check_cap(conn: AsyncConnection, form: Published, now: datetime, tz: str) -> None:
    cap = form.settings.daily_cap
    if cap is None:
        return
    local = now.astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.count()).where(public_submissions.c.public_form_id == form.id, public_submissions.c.submitted_at >= start)
    if ((await conn.execute(query)).scalar() or 0) >= cap:
        wait = int((start + timedelta(days=1) - local).total_seconds()) + 1
        raise TooManyRequests("this form takes no more submissions today", retry_after=wait)


async def submit(
    conn: AsyncConnection, records: RecordService, form: Published, body: dict[str, Any], now: datetime, tz: str
) -> dict[str, Any]:
    """Create the record (owner fixed, or left to the rules) and answer only the thank-you and, when the
    form shows a status, the private status link. Call after the token, challenge and rate checks."""
    values = only_offered(form, body["values"])
    thanks = form.settings.thank_you
    if body.get(HONEYPOT):  # answered like a success, so the robot learns nothing; nothing is stored
        return {"thank_you": thanks, "status_url": None}
    await _check_cap(conn, form, now, tz)
    used = select(public_submissions.c.id).where(public_submissions.c.challenge == str(body["challenge"])[-64:])
    if (await conn.execute(used)).first() is not None:
        raise ValidationFailed("The challenge was already used: reload the page", errors=[
            ErrorDetail("/challenge", "challenge", "the challenge was already used: reload the page")])  # fmt: skip
    values |= form.settings.fixed
    if form.settings.assignment == "owner":
        values["owner"] = form.settings.owner
    actor = Access.system(source=SOURCE)
    record = await records.create(conn, form.entity, values, actor)
    token = secrets.token_urlsafe(24) if form.settings.status_fields else None
    row = {"public_form_id": form.id, "record_id": record["id"], "challenge": str(body["challenge"])[-64:],
           "status_token": token, "submitted_at": now}  # fmt: skip
    await conn.execute(insert(public_submissions).values(row))
    return {"thank_you": thanks, "status_url": f"/f/status/{token}" if token else None}


async def status(conn: AsyncConnection, service: PublicForms, token: str) -> tuple[Published, dict[str, Any]]:
    """The form and what the submitter may see of their record: only the form's status fields."""
    query = (
        select(public_submissions.c.record_id, public_submissions.c.submitted_at, public_forms.c.slug)
        .join(public_forms, public_forms.c.id == public_submissions.c.public_form_id)
        .where(public_submissions.c.status_token == token)
    )
    hit = (await conn.execute(query)).first() if TOKEN.fullmatch(token) else None
    if hit is None:
        raise NotFound("no submission has this status link")
    form = await service.published(conn, hit.slug)
    keys = [k for k in form.settings.status_fields if k in form.entity.fields]
    t = form.entity.table
    row = (await conn.execute(select(t).where(t.c.id == hit.record_id, t.c.deleted_at.is_(None)))).first()
    if row is None:
        raise NotFound("this submission was removed")
    shown = record_json(form.entity, row, only=keys)
    fields = [{"key": k, "label": form.entity.fields[k].cfg.label, "value": shown.get(k)} for k in keys]
    title = form.settings.title or form.layout.label
    return form, {"title": title, "submitted_at": hit.submitted_at.isoformat(), "fields": fields}
