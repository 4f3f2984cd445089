"""A package's manifest (manifest.json) and semantic versions (semver.org 2.0.0) with their precedence."""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from engine import __version__
from engine.schema.app_style import AppColor, AppIcon
from engine.schema.definition import Help, Key, Label

SEMVER = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
SemVerText = Annotated[str, StringConstraints(pattern=SEMVER, max_length=100)]
FORMAT = 1


class Manifest(BaseModel):
    """manifest.json: which app the package builds, and which version of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = Field(description="The package format version (1)")
    key: Key = Field(description="The app key: the package's entities live in this app")
    name: Label
    version: SemVerText = Field(description="The package's version (semver, e.g. 1.2.0)")
    min_engine_version: SemVerText | None = Field(default=None, description="The oldest Tangram engine it runs on")
    description: Help | None = None
    icon: AppIcon | None = Field(default=None, description="The app's icon (a name from the app icons)")
    color: AppColor | None = Field(default=None, description='The app\'s colour, "#rrggbb"')

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


@total_ordering
class Version:
    """A parsed semantic version, ordered by semver precedence (build metadata ignored)."""

    def __init__(self, text: str) -> None:
        m = re.match(SEMVER, text)
        if m is None:
            raise ValueError(f"{text!r} is not a semantic version such as 1.2.0")
        self.text = text
        self.core = (int(m[1]), int(m[2]), int(m[3]))
        self.pre: tuple[tuple[int, int | str], ...] = tuple(
            (0, int(p)) if p.isdigit() else (1, p) for p in (m[4].split(".") if m[4] else [])
        )

    def _key(self) -> tuple[Any, ...]:
        # A release sorts after its pre-releases: (core, 1, ()) > (core, 0, pre)
        return (self.core, 0 if self.pre else 1, self.pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text


ENGINE_VERSION = Version(__version__)
