"""Email for rules and processes: the Email value, the sender registry and the configured sender.

Senders are registered by key (console, file, smtp); TANGRAM_EMAIL_BACKEND picks one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from engine.core.clock import Clock
from engine.core.registry import Registry
from engine.core.settings import Settings
from engine.notify.errors import EmailDeliveryError
from engine.notify.message import Email, InvalidEmail, message_id_for
from engine.notify.senders import ConsoleSender, EmailSender, FileSender, SmtpSender


@dataclass(frozen=True)
class EmailBackend:
    key: str
    build: Callable[[Settings, Clock], EmailSender]


def register_builtins(registry: Registry[EmailBackend]) -> Registry[EmailBackend]:
    for key, cls in (("console", ConsoleSender), ("file", FileSender), ("smtp", SmtpSender)):
        registry.register(EmailBackend(key, cls))
    return registry


@lru_cache
def email_backends() -> Registry[EmailBackend]:
    """The process-wide registry of email sender backends."""
    return register_builtins(Registry("email backend"))


def sender_for(settings: Settings, clock: Clock | None = None, backends: Registry[EmailBackend] | None = None) -> EmailSender:
    """The sender TANGRAM_EMAIL_BACKEND names (default: file)."""
    registry = backends or email_backends()
    backend = registry.get(settings.tangram_email_backend)
    if backend is None:
        known = ", ".join(registry.keys())
        raise ValueError(f"TANGRAM_EMAIL_BACKEND {settings.tangram_email_backend!r} is not one of: {known}")
    return backend.build(settings, clock or Clock())


__all__ = [
    "Email",
    "EmailBackend",
    "EmailDeliveryError",
    "EmailSender",
    "InvalidEmail",
    "email_backends",
    "message_id_for",
    "sender_for",
]
