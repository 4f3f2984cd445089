"""What an expression may read besides the record: the time, the acting user, the record's state
before an update. Conditions and formulas take the same environment, so `$now` means one thing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Env:
    now: datetime  # timezone-aware; dates ("today", "this week") are read in `tz`
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    user_id: int | None = None
    user_team_id: int | None = None  # the user's primary team
    # Native values of the record before the change being judged (updates only), for changed/changed_from/to.
    before: Mapping[str, Any] | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    @classmethod
    def at(cls, now: datetime | None = None, tz: str = "UTC", **kw: Any) -> Env:
        return cls(now=now or datetime.now(UTC), tz=ZoneInfo(tz), **kw)
