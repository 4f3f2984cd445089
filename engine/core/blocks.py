"""Values that hold within one block of code (and the tasks it awaits): a context variable set and reset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")


@contextmanager
def holding(var: ContextVar[Any], value: T) -> Iterator[T]:
    """Set `var` to `value` for the block, then restore what it was."""
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)
