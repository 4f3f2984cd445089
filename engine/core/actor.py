"""Who is acting: every service call takes one explicitly (no ambient request state)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    token_id: int | None = None
    is_admin: bool = False
    source: str = "api"  # api | ui | import | rule | process | system
    # Ids of the rules whose actions led to this write, outermost first: how cascades are bounded
    # and cycles recognised (engine/rules).
    cause: tuple[int, ...] = ()
    # The caller's language (zh-CN or en, from Accept-Language): refusals meant for a person use it.
    locale: str = "en"


SYSTEM = Actor(user_id=None, is_admin=True, source="system")
