"""An email to send, checked before it becomes a MIME message: valid addresses, no header injection,
bounded sizes, and a Message-ID derived from the caller's idempotency key."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, parseaddr

from engine.core.errors import ErrorCollector, ValidationFailed, pointer
from engine.schema.field_types.text import EMAIL_RE

MAX_RECIPIENTS = 100
MAX_SUBJECT = 998  # RFC 5322's line limit
MAX_BODY = 1024 * 1024
# A line break would start a new header (injection); other control characters have no business there either.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # printable ASCII except ':' (RFC 5322 field-name)
# Headers the message itself sets: a caller may add headers, never forge these.
RESERVED = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version", "content-type",
            "content-transfer-encoding", "sender", "return-path"}  # fmt: skip


class InvalidEmail(ValidationFailed):
    """The email cannot be sent as given (it never will be: do not retry)."""


@dataclass(frozen=True)
class Email:
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def address(value: str, path: str, errors: ErrorCollector) -> str | None:
    """`user@example.com` or `Name <user@example.com>`, normalised; None (and an error) if invalid."""
    if CONTROL.search(value):
        errors.add(path, "header_injection", "an address may not contain a line break or control character")
        return None
    pairs = getaddresses([value])  # exactly one address: "a@x.com, b@y.com" is not one recipient
    name, addr = pairs[0] if len(pairs) == 1 else ("", "")
    if not EMAIL_RE.match(addr) or len(value) > 320:
        errors.add(path, "invalid_address", f"{value[:100]!r} is not a valid email address")
        return None
    return formataddr((name, addr)) if name else addr


def check(email: Email, sender: str) -> list[str]:
    """The normalised recipients, or InvalidEmail listing every problem with its JSON path."""
    errors = ErrorCollector()
    address(sender, "/from", errors)
    if not email.to:
        errors.add("/to", "required", "an email needs at least one recipient")
    elif len(email.to) > MAX_RECIPIENTS:
        errors.add("/to", "too_many", f"at most {MAX_RECIPIENTS} recipients per email")
    to = [a for i, v in enumerate(email.to[:MAX_RECIPIENTS]) if (a := address(v, f"/to/{i}", errors))]
    if CONTROL.search(email.subject):
        errors.add("/subject", "header_injection", "the subject may not contain a line break or control character")
    elif len(email.subject) > MAX_SUBJECT:
        errors.add("/subject", "too_long", f"the subject is longer than {MAX_SUBJECT} characters")
    for key, text in (("text", email.text), ("html", email.html or "")):
        if len(text) > MAX_BODY:
            errors.add(f"/{key}", "too_long", f"the {key} body is longer than {MAX_BODY} characters")
    for name, value in email.headers.items():
        _check_header(name, value, errors)
    if errors:  # the detail repeats the problems: a failed job's log shows only the detail
        found = "; ".join(f"{e.path}: {e.message}" for e in errors.errors)
        raise InvalidEmail(f"the email cannot be sent: {found}", errors=errors.errors)
    return to


def _check_header(name: str, value: str, errors: ErrorCollector) -> None:
    path = pointer("headers", name)
    if not HEADER_NAME.match(name):
        errors.add(path, "invalid_header", "a header name is printable ASCII without ':' or spaces")
    elif name.lower() in RESERVED:
        errors.add(path, "reserved_header", f"{name} is set by the sender, not by the caller")
    if CONTROL.search(value):
        errors.add(path, "header_injection", "a header value may not contain a line break or control character")


def message_id_for(idempotency_key: str, sender: str) -> str:
    """The same key always gives the same Message-ID, so a resent email is recognisably the same one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tangram.invalid"
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


def build(email: Email, *, sender: str, message_id: str, date: datetime) -> EmailMessage:
    """The MIME message (text, plus an HTML alternative when given). Raises InvalidEmail first."""
    to = check(email, sender)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id_for(message_id, sender)
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.text)
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    return msg
