"""Emails are checked before they are built: addresses, header injection, sizes, a stable Message-ID."""

from datetime import UTC, datetime

import pytest

from engine.notify.email import Email, InvalidEmail
from engine.notify.message import MAX_RECIPIENTS, build, message_id_for

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
FROM = "CRM <crm@example.com>"


def paths(email, sender=FROM):
    with pytest.raises(InvalidEmail) as caught:
        build(email, sender=sender, message_id="k", date=AT)
    assert caught.value.status == 422
    return sorted((e.path, e.code) for e in caught.value.errors)


def test_line_breaks_in_subject_addresses_or_headers_are_refused_as_header_injection():
    email = Email(
        to=["ann@example.com\r\nBcc: all@example.com", "bob@example.com"],
        subject="Hello\nBcc: all@example.com",
        text="body",
        headers={"X-Ref": "1\r\nBcc: all@example.com"},
    )
    assert paths(email) == [
        ("/headers/X-Ref", "header_injection"),
        ("/subject", "header_injection"),
        ("/to/0", "header_injection"),
    ]


def test_every_bad_address_is_reported_with_its_index():
    email = Email(to=["ann@example.com", "not-an-address", "a@x.com, b@y.com", "Bob <bob@example>"], subject="s", text="t")
    assert paths(email) == [("/to/1", "invalid_address"), ("/to/2", "invalid_address"), ("/to/3", "invalid_address")]
    assert paths(Email(to=[], subject="s", text="t")) == [("/to", "required")]
    assert paths(Email(to=["a@example.com"] * (MAX_RECIPIENTS + 1), subject="s", text="t")) == [("/to", "too_many")]
    assert paths(Email(to=["a@example.com"], subject="s", text="t"), sender="nobody") == [("/from", "invalid_address")]


def test_callers_may_add_headers_but_not_forge_the_senders_own():
    email = Email(to=["a@example.com"], subject="s", text="t", headers={"From": "ceo@example.com", "Bad Name": "x", "a/b": "y"})
    assert paths(email) == [("/headers/Bad Name", "invalid_header"), ("/headers/From", "reserved_header")]


def test_oversized_subject_and_body_are_refused():
    email = Email(to=["a@example.com"], subject="s" * 999, text="t" * (1024 * 1024 + 1))
    assert paths(email) == [("/subject", "too_long"), ("/text", "too_long")]


def test_a_valid_email_becomes_a_text_message_with_an_html_alternative():
    msg = build(
        Email(to=["Ann <ann@example.com>"], subject="Hi", text="plain", html="<p>rich</p>"), sender=FROM, message_id="k", date=AT
    )
    assert (msg["From"], msg["To"], msg["Subject"]) == (FROM, "Ann <ann@example.com>", "Hi")
    assert msg.get_body(("plain",)).get_content().strip() == "plain"
    assert msg.get_body(("html",)).get_content().strip() == "<p>rich</p>"


def test_the_message_id_is_stable_per_idempotency_key_and_uses_the_senders_domain():
    one = message_id_for("rule:3:job:77", FROM)
    assert one == message_id_for("rule:3:job:77", FROM) != message_id_for("rule:3:job:78", FROM)
    assert one.startswith("<") and one.endswith("@example.com>")
    assert (
        build(Email(to=["a@example.com"], subject="s", text="t"), sender=FROM, message_id="rule:3:job:77", date=AT)["Message-ID"]
        == one
    )


@pytest.mark.parametrize("subject", ["a\rb", "a\nb", "a\x00b", "a\x1bb"])
def test_any_line_break_or_control_character_in_the_subject_is_refused(subject):
    assert paths(Email(to=["a@example.com"], subject=subject, text="t")) == [("/subject", "header_injection")]


def test_the_problem_detail_repeats_every_error_for_job_logs():
    with pytest.raises(InvalidEmail) as caught:
        build(Email(to=["nope"], subject="a\nb", text="t"), sender=FROM, message_id="k", date=AT)
    assert caught.value.detail == (
        "the email cannot be sent: /to/0: 'nope' is not a valid email address; "
        "/subject: the subject may not contain a line break or control character"
    )
