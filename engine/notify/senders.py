"""The built-in email senders: console (prints), file (.eml under {var_dir}/mail/) and SMTP."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path
from typing import Protocol, TextIO

import aiosmtplib

from engine.core.clock import Clock
from engine.core.settings import Settings
from engine.notify.errors import EmailDeliveryError
from engine.notify.message import Email, build


class EmailSender(Protocol):
    async def send(self, email: Email, *, message_id: str) -> None:
        """Send once. `message_id` is the caller's idempotency key: the Message-ID header is derived
        from it, so sending again with the same key sends a recognisably identical message."""


class ConsoleSender:
    def __init__(self, settings: Settings, clock: Clock, stream: TextIO | None = None) -> None:
        self.sender, self.clock, self.stream = settings.tangram_email_from, clock, stream

    async def send(self, email: Email, *, message_id: str) -> None:
        msg = build(email, sender=self.sender, message_id=message_id, date=self.clock.now())
        print(msg.as_string(), file=self.stream or sys.stdout, flush=True)


class FileSender:
    """One .eml file per message, named after its Message-ID: a resend rewrites the same file."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.sender, self.clock = settings.tangram_email_from, clock
        self.folder = Path(settings.var_dir) / "mail"

    async def send(self, email: Email, *, message_id: str) -> None:
        msg = build(email, sender=self.sender, message_id=message_id, date=self.clock.now())
        name = hashlib.sha256(str(msg["Message-ID"]).encode()).hexdigest()[:32] + ".eml"
        await asyncio.to_thread(self._write, self.folder / name, msg.as_bytes())

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers never see half a message


class SmtpSender:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock

    async def send(self, email: Email, *, message_id: str) -> None:
        s = self.settings
        msg = build(email, sender=s.tangram_email_from, message_id=message_id, date=self.clock.now())
        try:
            await aiosmtplib.send(
                msg, hostname=s.tangram_smtp_host, port=s.tangram_smtp_port, username=s.tangram_smtp_username,
                password=s.tangram_smtp_password.get_secret_value() if s.tangram_smtp_password else None,
                use_tls=s.tangram_smtp_ssl, start_tls=False if s.tangram_smtp_ssl else s.tangram_smtp_starttls,
                timeout=s.tangram_smtp_timeout,
            )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise EmailDeliveryError(f"the SMTP server refused every recipient ({codes})", retryable=_transient(*codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise EmailDeliveryError(f"SMTP {exc.code}: {exc.message}", retryable=_transient(exc.code)) from exc
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. STARTTLS required but not offered: configuration
            raise EmailDeliveryError(f"SMTP: {exc}", retryable=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # connect, timeout, disconnect
            raise EmailDeliveryError(f"SMTP server unreachable: {exc}", retryable=True) from exc


def _transient(*codes: int) -> bool:
    """SMTP 4xx replies mean "try again later"; 5xx mean "never"."""
    return all(400 <= c < 500 for c in codes)
