"""The default senders: file (.eml under {var_dir}/mail/, what a fresh install uses) and console."""

import io
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from engine.core.clock import FrozenClock
from engine.core.registry import DuplicateKeyError, Registry
from engine.core.settings import Settings
from engine.notify.email import Email, EmailBackend, email_backends, register_builtins, sender_for
from engine.notify.senders import ConsoleSender, FileSender, SmtpSender

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
WELCOME = Email(to=["ann@example.com"], subject="Welcome aboard", text="Hello Ann", html="<p>Hello <b>Ann</b></p>")


def test_the_file_backend_is_the_default_and_each_key_picks_its_sender(tmp_path):
    assert isinstance(sender_for(Settings(var_dir=str(tmp_path))), FileSender)
    assert isinstance(sender_for(Settings(tangram_email_backend="console")), ConsoleSender)
    assert isinstance(sender_for(Settings(tangram_email_backend="smtp")), SmtpSender)
    assert email_backends().keys() == ["console", "file", "smtp"]
    with pytest.raises(ValueError, match="'carrier-pigeon' is not one of: console, file, smtp"):
        sender_for(Settings(tangram_email_backend="carrier-pigeon"))


def test_registering_a_backend_key_twice_is_refused():
    registry = register_builtins(Registry("email backend"))
    with pytest.raises(DuplicateKeyError):
        registry.register(EmailBackend("file", FileSender))


async def test_the_file_sender_writes_a_parseable_eml_and_a_resend_rewrites_the_same_file(tmp_path):
    settings = Settings(var_dir=str(tmp_path), tangram_email_from="CRM <crm@example.com>")
    sender = sender_for(settings, FrozenClock(AT))
    await sender.send(WELCOME, message_id="job:1")
    await sender.send(WELCOME, message_id="job:1")
    await sender.send(WELCOME, message_id="job:2")
    files = sorted((tmp_path / "mail").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    msgs = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert {m["Subject"] for m in msgs} == {"Welcome aboard"} and {m["To"] for m in msgs} == {"ann@example.com"}
    assert len({m["Message-ID"] for m in msgs}) == 2
    assert msgs[0].get_body(("html",)).get_content().strip() == "<p>Hello <b>Ann</b></p>"


async def test_the_console_sender_prints_the_whole_message():
    out = io.StringIO()
    await ConsoleSender(Settings(), FrozenClock(AT), out).send(WELCOME, message_id="job:1")
    printed = message_from_bytes(out.getvalue().encode(), policy=policy.default)
    assert printed["Subject"] == "Welcome aboard" and printed["Date"] == "Mon, 23 Nov 2026 09:30:00 +0000"
