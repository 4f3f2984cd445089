"""The SMTP sender against a real SMTP server (aiosmtpd) on 127.0.0.1 (R3 satisfaction email, R8 birthday
greeting): the message arrives whole, credentials are used, and refusals are retryable or not by their code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from aiosmtpd.smtp import SMTP, AuthResult

from engine.core.clock import FrozenClock
from engine.core.settings import Settings
from engine.notify.email import Email, EmailDeliveryError, InvalidEmail, sender_for
from engine.notify.message import message_id_for

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class Mailbox:
    """An aiosmtpd handler that keeps what it receives; recipients on `refuse` get the given reply."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("mailer", "s3cret"), handled=False)


@pytest.fixture
async def smtp():
    box = Mailbox()
    loop = asyncio.get_running_loop()

    def protocol():
        options = {"authenticator": box.authenticate, "auth_require_tls": False, "auth_exclude_mechanism": ["LOGIN"]}
        return SMTP(box, hostname="mail.test", **options)

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()
    await server.wait_closed()


def settings(tmp_path, port, **extra):
    base = {"tangram_email_backend": "smtp", "tangram_smtp_host": "127.0.0.1", "tangram_smtp_port": port,
            "tangram_smtp_starttls": False, "tangram_smtp_timeout": 5, "tangram_email_from": "CRM <crm@example.com>",
            "var_dir": str(tmp_path)}  # fmt: skip
    return Settings(**base | extra)


GREETING = Email(
    to=["Ann Lee <ann@example.com>", "bob@example.com"],
    subject="Happy birthday, Ann 🎂",
    text="Dear Ann,\nall the best from all of us.",
    html="<p>Dear Ann,<br>all the best from <b>all of us</b>.</p>",
    headers={"X-Tangram-Rule": "birthday-greeting"},
)


async def test_the_smtp_sender_delivers_a_multipart_message_the_server_can_read(smtp, tmp_path):
    sender = sender_for(settings(tmp_path, smtp.port), FrozenClock(AT))
    await sender.send(GREETING, message_id="rule:8:record:41:2026")
    [(mail_from, rcpt, raw)] = smtp.received
    assert mail_from == "crm@example.com" and rcpt == ["ann@example.com", "bob@example.com"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Happy birthday, Ann 🎂" and msg["From"] == "CRM <crm@example.com>"
    assert msg["To"] == "Ann Lee <ann@example.com>, bob@example.com" and msg["X-Tangram-Rule"] == "birthday-greeting"
    assert msg["Message-ID"] == message_id_for("rule:8:record:41:2026", "crm@example.com")
    assert msg["Date"] == "Mon, 23 Nov 2026 09:30:00 +0000"
    assert msg.get_body(("plain",)).get_content().splitlines() == ["Dear Ann,", "all the best from all of us."]
    assert "<b>all of us</b>" in msg.get_body(("html",)).get_content()


async def test_a_resend_with_the_same_key_carries_the_same_message_id(smtp, tmp_path):
    sender = sender_for(settings(tmp_path, smtp.port))
    for key in ("job:9", "job:9", "job:10"):
        await sender.send(GREETING, message_id=key)
    ids = [message_from_bytes(raw, policy=policy.default)["Message-ID"] for _, _, raw in smtp.received]
    assert ids[0] == ids[1] != ids[2] and ids[0].endswith("@example.com>")


async def test_credentials_from_the_settings_are_used(smtp, tmp_path):
    good = settings(tmp_path, smtp.port, tangram_smtp_username="mailer", tangram_smtp_password="s3cret")
    await sender_for(good).send(GREETING, message_id="k1")
    assert smtp.logins == [("mailer", "s3cret")] and len(smtp.received) == 1
    bad = settings(tmp_path, smtp.port, tangram_smtp_username="mailer", tangram_smtp_password="wrong")
    with pytest.raises(EmailDeliveryError) as caught:
        await sender_for(bad).send(GREETING, message_id="k2")
    assert not caught.value.retryable and len(smtp.received) == 1


@pytest.mark.parametrize(("reply", "retryable"), [("451 4.3.0 mailbox busy, try later", True), ("550 5.1.1 no such user", False)])
async def test_refused_recipients_are_retryable_only_for_4xx_replies(smtp, tmp_path, reply, retryable):
    smtp.refuse = {"ann@example.com": reply, "bob@example.com": reply}
    with pytest.raises(EmailDeliveryError) as caught:
        await sender_for(settings(tmp_path, smtp.port)).send(GREETING, message_id="k")
    assert caught.value.retryable is retryable and smtp.received == []


async def test_one_refused_recipient_does_not_stop_the_others(smtp, tmp_path):
    smtp.refuse = {"bob@example.com": "550 5.1.1 no such user"}
    await sender_for(settings(tmp_path, smtp.port)).send(GREETING, message_id="k")
    assert [rcpt for _, rcpt, _ in smtp.received] == [["ann@example.com"]]


async def test_an_unreachable_server_is_retryable(smtp, tmp_path):
    with pytest.raises(EmailDeliveryError) as caught:
        await sender_for(settings(tmp_path, 9, tangram_smtp_timeout=2)).send(GREETING, message_id="k")
    assert caught.value.retryable


async def test_an_injected_header_never_reaches_the_server(smtp, tmp_path):
    evil = Email(to=["ann@example.com"], subject="Hi\r\nBcc: everyone@example.com", text="x")
    with pytest.raises(InvalidEmail) as caught:
        await sender_for(settings(tmp_path, smtp.port)).send(evil, message_id="k")
    assert [e.path for e in caught.value.errors] == ["/subject"] and smtp.received == []
