"""Shared request parameters."""

from typing import Annotated

from fastapi import Path

MAX_ID = 2**63 - 1  # ids are 64-bit: anything larger is refused before it reaches the database
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Id")]
