"""Job-queue tests run on a real database (both dialects) with a frozen clock: time moves only
when a test says so, so backoff and leases are tested without sleeping."""

from collections.abc import AsyncIterator

import pytest

from engine.core.clock import FrozenClock
from engine.core.db import Database
from engine.jobs.builtin import register_builtins
from engine.jobs.queue import JobHandlers
from tests.unit.jobs.support import T0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def handlers() -> JobHandlers:
    registry = JobHandlers()
    register_builtins(registry)
    return registry
