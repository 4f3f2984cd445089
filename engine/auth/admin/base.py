"""What the admin services share: the auth service (clock, users, tokens), the audit journal, and
the rule that only administrators, through an unnarrowed session or token, administer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from engine.auth.journal import Journal
from engine.auth.policy import Access
from engine.auth.service import AuthService
from engine.core.clock import Clock
from engine.core.errors import Forbidden

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


def require_admin(actor: Access, *, write: bool, what: str = "users, teams and roles") -> None:
    """Administrators only; a token limited to some apps administers nothing, a read-only one only reads."""
    if not actor.is_admin:
        raise Forbidden(f"only administrators may manage {what}")
    if actor.token_apps is not None:
        raise Forbidden(f"a token limited to some apps cannot administer {what}")
    if write and actor.token_read_only:
        raise Forbidden(f"a read-only token cannot change {what}")


@dataclass(frozen=True)
class AdminService:
    auth: AuthService
    journal: Journal

    @property
    def clock(self) -> Clock:
        return self.auth.clock
