"""Actions with effects beyond the record: create a record, notify people, call a webhook, wait,
start a process. Effects that leave the database (email, webhook) are durable jobs of their own,
with dedup keys derived from the firing, so a replayed rule job never sends twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, ValidationError
from sqlalchemy import select

from engine.auth.tables import teams, user_teams
from engine.expr.fields import resolve_path
from engine.expr.paths import entities_for, load_paths
from engine.notify.inbox import notify
from engine.notify.names import record_name
from engine.notify.templates import check as check_template
from engine.notify.templates import render
from engine.rules.actions.assign import team_members
from engine.rules.actions.base import Action, ActionFailed, Check, Run
from engine.rules.definition import Strict
from engine.rules.values import Value, compile_values
from engine.schema.definition import Key

MAX_RECIPIENTS = 200


class CreateRecordConfig(Strict):
    type: Literal["create_record"]
    entity: Key  # an entity of the same app
    values: dict[Key, Any] = Field(default={}, max_length=100)
    # A relation field of the new record that should point at the triggering record.
    link: Key | None = None


class CreateRecord(Action):
    """Create a record (a to-do, a shipping task, a follow-up) with values from formulas over the
    triggering record. Its owner defaults to the triggering record's owner (R2, R5, R7)."""

    key = "create_record"
    config = CreateRecordConfig

    def prepare(self, cfg: CreateRecordConfig, check: Check) -> Any:
        target = check.entities.get(cfg.entity)
        if target is None:
            check.errors.add(check.at("entity"), "unknown_entity", f"unknown entity {cfg.entity!r} in this app")
            return None
        if cfg.link is not None:
            f = target.fields.get(cfg.link)
            if f is None or f.cfg.type != "relation" or f.cfg.target.split(".")[-1] != check.entity.key:
                check.errors.add(
                    check.at("link"), "type", f"{cfg.link!r} is not a relation of {cfg.entity!r} to {check.entity.key!r}"
                )
        return target, compile_values(cfg.values, target, check.entity, check, "values"), cfg.link

    async def run(self, prepared: Any, run: Run) -> dict[str, Any]:
        target, values, link = prepared
        data = {k: _json(v, run) for k, v in values.items()}
        data.setdefault("owner", run.record.get("owner"))
        if link is not None:
            data[link] = run.record["id"]
        created = await run.services.records.create(run.conn, target, data, run.actor)
        return {"created": {"entity": target.key, "id": created["id"]}}


def _json(value: Value, run: Run) -> Any:
    native = value.compute(run.record, run.env)
    if native is None or value.field.key == "owner":
        return native
    return value.field.type.dump(value.field.cfg, native)


class Recipient(Strict):
    user: int | None = Field(default=None, ge=1)
    team: Key | None = None
    field: Key | None = None  # a user field of the record


class NotifyConfig(Strict):
    type: Literal["notify"]
    # "owner", "manager" (the manager of the owner's primary team), or {"user": id} / {"team": key} / {"field": key}
    to: list[Literal["owner", "manager"] | Recipient] = Field(min_length=1, max_length=20)
    title: str = Field(min_length=1, max_length=500)  # a template: "Follow up {{ record.name }}"
    body: str = Field(default="", max_length=20_000)
    email: bool = False


class Notify(Action):
    """An in-app notification (the recipients' inbox) and, optionally, an email to each of them."""

    key = "notify"
    config = NotifyConfig

    def prepare(self, cfg: NotifyConfig, check: Check) -> NotifyConfig:
        for i, r in enumerate(cfg.to):
            if isinstance(r, Recipient):
                given = [k for k in ("user", "team", "field") if getattr(r, k) is not None]
                if len(given) != 1:
                    check.errors.add(check.at("to", i), "shape", "give exactly one of user, team or field")
                elif r.field is not None and getattr(check.entity.fields.get(r.field), "cfg", None) is None:
                    check.errors.add(check.at("to", i, "field"), "unknown_field", f"unknown field {r.field!r}")
                elif r.field is not None and check.entity.fields[r.field].cfg.type != "user":
                    check.errors.add(check.at("to", i, "field"), "type", f"{r.field!r} is not a user field")
        for part in ("title", "body"):
            _check_template(getattr(cfg, part), check, part)
        return cfg

    async def run(self, prepared: NotifyConfig, run: Run) -> dict[str, Any]:
        users = await _recipients(prepared, run)
        context = _context(run)
        title, body = render(prepared.title, context), render(prepared.body, context)
        now = run.services.clock.now()
        await notify(
            run.conn, now, users, title, body,
            app=run.entity.app, entity=run.entity.key, record_id=run.record.get("id"), dedup_key=f"{run.key}:{len(run.done)}",
        )  # fmt: skip
        if prepared.email:
            for uid in users:
                await run.services.enqueue(
                    run.conn, "rules.email", {"user_id": uid, "subject": title, "text": body or title},
                    dedup_key=f"{run.key}:{len(run.done)}:email:{uid}",
                )  # fmt: skip
        return {"notified": users, "title": title, "email": prepared.email}


def _context(run: Run) -> dict[str, Any]:
    """What title, subject and body templates see; `record_name` is the record's display value."""
    return {
        "record": run.record_json(), "record_name": record_name(run.entity, run.record), "entity": run.entity.key,
        "app": run.entity.app, "rule": run.rule_key,
    }  # fmt: skip


def _check_template(text: str, check: Check, part: str) -> None:
    check.errors.extend(check_template(text, path=check.at(part)))


async def _recipients(cfg: NotifyConfig, run: Run) -> list[int]:
    out: list[int] = []
    for r in cfg.to:
        if r == "owner":
            out.append(run.record.get("owner"))
        elif r == "manager":
            out.append(await _manager_of(run, run.record.get("owner")))
        elif r.user is not None:
            out.append(r.user)
        elif r.team is not None:
            out.extend(await team_members(run.conn, r.team))
        else:
            out.append(run.record.get(r.field))
    unique = list(dict.fromkeys(u for u in out if u is not None))
    return unique[:MAX_RECIPIENTS]


async def _manager_of(run: Run, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    query = (
        select(teams.c.manager_id)
        .join(user_teams, user_teams.c.team_id == teams.c.id)
        .where(user_teams.c.user_id == user_id)
        .order_by(user_teams.c.is_primary.desc(), teams.c.id)
        .limit(1)
    )
    return (await run.conn.execute(query)).scalar()


class SendEmailConfig(Strict):
    type: Literal["send_email"]
    # Email fields of the record or reached through its relations ("email", "contact.email").
    to: list[str] = Field(min_length=1, max_length=10)
    subject: str = Field(min_length=1, max_length=500)  # templates, like notify's
    body: str = Field(default="", max_length=20_000)


class SendEmail(Action):
    """Email people who are not users (a contact, a customer): R3's satisfaction mail, R8's greeting."""

    key = "send_email"
    config = SendEmailConfig

    def prepare(self, cfg: SendEmailConfig, check: Check) -> SendEmailConfig:
        for i, path in enumerate(cfg.to):
            ref = resolve_path(check.entity, path, targets=check.entities)
            if ref is None or ref.field.cfg.type != "email":
                check.errors.add(check.at("to", i), "type", f"{path[:100]!r} is not an email field of {check.entity.key!r}")
        for part in ("subject", "body"):
            _check_template(getattr(cfg, part), check, part)
        return cfg

    async def run(self, prepared: SendEmailConfig, run: Run) -> dict[str, Any]:
        missing = [p for p in prepared.to if p not in run.record]
        if missing:
            entities = await entities_for(run.services.store, run.conn, run.entity)
            await load_paths(run.conn, entities, run.entity, [run.record], set(missing))
        addresses = list(dict.fromkeys(a for p in prepared.to if (a := run.record.get(p))))
        context = _context(run)
        subject, body = render(prepared.subject, context), render(prepared.body, context)
        for address in addresses:
            await run.services.enqueue(
                run.conn, "rules.email", {"to": address, "subject": subject, "text": body},
                dedup_key=f"{run.key}:{len(run.done)}:email:{address}",
            )  # fmt: skip
        return {"emailed": addresses, "subject": subject}


class WebhookConfig(Strict):
    type: Literal["webhook"]
    url: AnyHttpUrl
    secret: str | None = Field(default=None, min_length=16, max_length=200)  # signs the body (HMAC-SHA256)
    timeout: float = Field(default=10, gt=0, le=30)
    max_attempts: int = Field(default=8, ge=1, le=20)


class Webhook(Action):
    """POST the record as JSON to a URL, signed, as a durable job retried with backoff (X1)."""

    key = "webhook"
    config = WebhookConfig

    async def run(self, prepared: WebhookConfig, run: Run) -> dict[str, Any]:
        body = {"rule": run.rule_key, "app": run.entity.app, "entity": run.entity.key, "record": run.record_json()}
        key = f"{run.key}:{len(run.done)}:webhook"
        payload = {"url": str(prepared.url), "timeout": prepared.timeout, "body": body, "id": key}
        if prepared.secret:
            # Never the secret itself: job payloads are shown to administrators (API, CLI) and kept.
            # The delivery reads it from the rule or process that queued it (`webhook_secret`).
            if run.config_origin is None:
                raise ActionFailed("a signed webhook needs a stored rule or process to read its secret from")
            payload["secret_from"] = run.config_origin
        await run.services.enqueue(run.conn, "rules.webhook", payload, dedup_key=key, max_attempts=prepared.max_attempts)
        return {"webhook": str(prepared.url)}


def webhook_secret(actions: Any, url: str) -> str | None:
    """The signing secret of the first webhook action among `actions` (stored action configs) that
    calls `url`, or None: what a queued delivery signs with, read when it runs."""
    for doc in actions if isinstance(actions, list) else []:
        if not isinstance(doc, dict) or doc.get("type") != "webhook" or not doc.get("secret"):
            continue
        try:
            cfg = WebhookConfig.model_validate(doc)
        except ValidationError:
            continue
        if str(cfg.url) == url:
            return cfg.secret
    return None


class WaitConfig(Strict):
    type: Literal["wait"]
    amount: int = Field(ge=1, le=100_000)
    unit: Literal["minutes", "hours", "days", "weeks"]
    # Check the rule's condition again when the wait is over, and stop if it no longer holds.
    recheck: bool = True


class Wait(Action):
    """Run the remaining actions later ("send the satisfaction email a week later", R3). The engine
    handles it: the rest of the list becomes a job due after the delay."""

    key = "wait"
    config = WaitConfig

    def delay(self, cfg: WaitConfig) -> timedelta:
        return timedelta(**{cfg.unit: cfg.amount})

    async def run(self, prepared: WaitConfig, run: Run) -> dict[str, Any]:
        raise AssertionError("the engine schedules waits; Wait.run is never called")


class StartProcessConfig(Strict):
    type: Literal["start_process"]
    process: Key


class StartProcess(Action):
    """Start a process instance for the record, through the hook the process engine installs."""

    key = "start_process"
    config = StartProcessConfig

    def prepare(self, cfg: StartProcessConfig, check: Check) -> StartProcessConfig:
        if not check.processes:
            check.errors.add(check.at("process"), "unavailable", "no process engine is installed to start processes")
        return cfg

    async def run(self, prepared: StartProcessConfig, run: Run) -> dict[str, Any]:
        start = run.services.start_process
        if start is None:
            raise ActionFailed("no process engine is installed to start processes")
        instance = await start(run.conn, run.entity, run.record["id"], prepared.process, run.actor)
        return {"process": prepared.process, "instance": instance}
