"""What keeps a public form usable by people and costly for robots: signed tokens (the anonymous form's
CSRF token and its proof-of-work challenge) and the per-address rate limit. No outside service."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from engine.core.errors import ErrorCollector, TooManyRequests

TOKEN_AGE = 2 * 3600  # seconds a page's form token and challenge stay valid


@dataclass(frozen=True)
class Signer:
    """HMAC signatures over `purpose.slug.issued.nonce`, so a token of one form or purpose fits no other."""

    secret: bytes

    def sign(self, purpose: str, slug: str, issued: int, nonce: str) -> str:
        body = f"{slug}.{issued}.{nonce}"
        mac = hmac.new(self.secret, f"{purpose}.{body}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{body}.{mac}"

    def issue(self, purpose: str, slug: str, now: datetime) -> str:
        return self.sign(purpose, slug, int(now.timestamp()), secrets.token_hex(8))

    def verify(self, purpose: str, slug: str, token: object, now: datetime) -> str | None:
        """Why the token is refused, or None."""
        if not isinstance(token, str) or token.count(".") < 3 or len(token) > 200:
            return "missing or malformed"
        body, _, _mac = token.rpartition(".")
        got_slug, issued, nonce = body.rsplit(".", 2)
        if not issued.isdigit() or not hmac.compare_digest(self.sign(purpose, got_slug, int(issued), nonce), token):
            return "not issued by this server"
        age = now.timestamp() - int(issued)
        if got_slug != slug:
            return "issued for another form"
        return "expired: reload the page" if age > TOKEN_AGE else None


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solves(challenge: str, answer: object, difficulty: int) -> bool:
    """Does sha256(`challenge:answer`) start with `difficulty` zero bits? The page's JS searches the answer."""
    if not isinstance(answer, str) or not answer.isdigit() or len(answer) > 12:
        return False
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{answer}".encode()).digest()) >= difficulty


def check_proofs(signer: Signer, slug: str, body: dict[str, object], difficulty: int, now: datetime) -> None:
    """Refuse (422, at the member's path) a submission without this form's valid token and solved challenge."""
    errors = ErrorCollector()
    if why := signer.verify("form", slug, body.get("form_token"), now):
        errors.add("/form_token", "form_token", f"the form token is {why}")
    if why := signer.verify("challenge", slug, body.get("challenge"), now):
        errors.add("/challenge", "challenge", f"the challenge is {why}")
    elif not solves(str(body["challenge"]), body.get("answer"), difficulty):
        errors.add("/answer", "challenge", "the answer does not solve the challenge")
    errors.raise_if_any("The submission was refused", lone=True)


@dataclass
class RateLimit:
    """At most `limit` attempts per `window` seconds per (address, form), counted in this process."""

    limit: int = 5
    window: int = 60
    _seen: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def hit(self, address: str, slug: str, now: datetime) -> None:
        t = now.timestamp()
        if len(self._seen) > 10_000:  # forget quiet addresses rather than grow without bound
            self._seen = {k: q for k, q in self._seen.items() if q and q[-1] > t - self.window}
        times = self._seen.setdefault((address, slug), deque())
        while times and times[0] <= t - self.window:
            times.popleft()
        if len(times) >= self.limit:
            wait = max(1, int(times[0] + self.window - t) + 1)
            raise TooManyRequests(f"too many submissions: try again in {wait} seconds", retry_after=wait)
        times.append(t)
