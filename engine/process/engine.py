"""The process engine as the rest of the product uses it: start, act, withdraw, urge, plus its jobs and
record-service subscriptions. Composed from runtime (moving tokens), acts (people's actions) and
background (auto starts, timers, deadlines, locks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.jobs.queue import JobHandlers
from engine.process.acts import ActIn, act, withdraw
from engine.process.background import Background
from engine.process.runtime import ProcessEngine, ProcessServices
from engine.process.urge import urge


class Processes(ProcessEngine):
    def __init__(self, services: ProcessServices) -> None:
        super().__init__(services)
        self.background = Background(self)
        self.after_save = self.background.after_save  # a record-service hook
        self.check_locks = self.background.check_locks  # a record-service before-save step

    def register_jobs(self, handlers: JobHandlers) -> None:
        self.background.register_jobs(handlers)

    async def act(
        self, conn: AsyncConnection, task_id: int, action: str | ActIn, actor: Access, *, comment: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """Apply an action to a task (see acts.ActIn for the fields: values, to, user, placement)."""
        body = action if isinstance(action, ActIn) else ActIn(action=action, comment=comment, **kw)  # type: ignore[arg-type]
        return await act(self, conn, task_id, body, actor)

    async def withdraw(self, conn: AsyncConnection, instance_id: int, actor: Access, comment: str | None = None) -> None:
        await withdraw(self, conn, instance_id, actor, comment)

    async def urge(self, conn: AsyncConnection, instance_id: int, actor: Access, comment: str | None = None) -> dict[str, Any]:
        """The submitter nudges the assignees of the instance's pending tasks (see engine.process.urge)."""
        return await urge(self, conn, instance_id, actor, comment)
