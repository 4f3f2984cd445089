"""Saving without automation: history loads (demo data, imports that ask for it) write records through
the record service, so validation, auto-numbers, formulas and the audit log apply, but must not fire the
rules and processes a live change would (a deal won two years ago must not create an order today).

The switch is a context variable set around such a load; the automation steps the running app wires into
the record service (rules, processes) are wrapped by `unless_paused`, so the record service itself never
knows about them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, ParamSpec

from engine.core.blocks import holding

P = ParamSpec("P")

_paused: ContextVar[bool] = ContextVar("tangram_automation_paused", default=False)


def automation_paused() -> AbstractContextManager[bool]:
    """Within this block (and the tasks it awaits), record changes run no rules and start no processes."""
    return holding(_paused, True)


def is_paused() -> bool:
    return _paused.get()


def unless_paused(step: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[None]]:
    """A record-service step (before-save or hook) that does nothing while automation is paused."""

    async def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        if not _paused.get():
            await step(*args, **kwargs)

    guarded.__name__ = getattr(step, "__name__", "automation_step")
    return guarded
