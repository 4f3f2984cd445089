"""Job handlers for the effects rules send out of the database: one email, one webhook call.

Each is its own durable "outside" job (retried with backoff, dead when it keeps failing), queued
under a dedup key derived from the rule firing, so a replayed rule job queues nothing twice and a
done delivery is never claimed again. The call holds no write transaction (SQLite's single writer
stays free). The one window left: a worker dying between the call and marking the job done repeats
the call; the Message-ID and the webhook-id header carry the key so receivers can drop the repeat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import users
from engine.core.clock import Clock
from engine.core.settings import Settings
from engine.jobs.queue import Job, JobHandlers, PermanentFailure
from engine.notify.email import sender_for
from engine.notify.errors import EmailDeliveryError
from engine.notify.message import Email, InvalidEmail
from engine.notify.webhook import WebhookError, deliver
from engine.rules.actions.effects import webhook_secret
from engine.rules.tables import rules

# Reads the stored action configs a job's `secret_from` names ({"rule": 3}, {"process_version": 9,
# "node": "notify_erp"}): where a webhook's signing secret is looked up when the call is made.
ActionsAt = Callable[[AsyncConnection, dict[str, Any]], Awaitable[Any]]


async def rule_actions(conn: AsyncConnection, origin: dict[str, Any]) -> Any:
    rule_id = origin.get("rule")
    if not isinstance(rule_id, int):
        return None
    definition = (await conn.execute(select(rules.c.definition).where(rules.c.id == rule_id))).scalar()
    return definition.get("actions") if isinstance(definition, dict) else None


@dataclass
class Deliveries:
    settings: Settings
    clock: Clock
    # By the key of `secret_from` that names them; the process engine adds its service tasks (engine/api/context.py).
    sources: dict[str, ActionsAt] = field(default_factory=lambda: {"rule": rule_actions})

    def register_jobs(self, handlers: JobHandlers) -> None:
        handlers.add("rules.email", self.email, outside=True)
        handlers.add("rules.webhook", self.webhook, outside=True)

    async def email(self, conn: AsyncConnection, job: Job) -> None:
        """To `to` (an address from the record) or to user `user_id` (skipped if they left)."""
        p = job.payload
        to = p.get("to")
        if to is None:
            user = (await conn.execute(select(users.c.email, users.c.active).where(users.c.id == p["user_id"]))).first()
            if user is None or not user.active:
                return
            to = user.email
        key = job.dedup_key or f"job:{job.id}"
        try:
            await sender_for(self.settings, self.clock).send(Email(to=[to], subject=p["subject"], text=p["text"]), message_id=key)
        except InvalidEmail as exc:
            raise PermanentFailure(exc.detail) from exc
        except EmailDeliveryError as exc:  # e.g. an SMTP 5xx: retrying will not help
            if not exc.retryable:
                raise PermanentFailure(str(exc)) from exc
            raise

    async def webhook(self, conn: AsyncConnection, job: Job) -> None:
        p = job.payload
        secret = p.get("secret")  # only in jobs queued before secrets left the payload
        if p.get("secret_from") is not None:
            secret = await self.secret(conn, p["secret_from"], p["url"])
        try:
            await deliver(
                p["url"], p["body"], secret=secret, timeout=p["timeout"], idempotency_key=p["id"],
                allow_hosts=self.settings.tangram_webhook_allow_hosts,
            )  # fmt: skip
        except WebhookError as exc:
            if not exc.retryable:
                raise PermanentFailure(str(exc)) from exc
            raise

    async def secret(self, conn: AsyncConnection, origin: Any, url: str) -> str:
        """The signing secret, read from the rule or process that queued the call (never the payload)."""
        # By the key that names a source (PostgreSQL's jsonb does not keep the keys' order).
        kind = next((k for k in self.sources if k in origin), None) if isinstance(origin, dict) else None
        found = webhook_secret(await self.sources[kind](conn, origin), url) if kind is not None else None
        if found is None:
            # Sending it unsigned would let the receiver take it for a forgery, or worse, accept it.
            raise PermanentFailure("the webhook's signing secret is gone (its rule or process was changed or deleted); not sent")
        return found
