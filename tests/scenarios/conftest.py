"""Scenario fixtures: the X2 sales organisation (tests/scenarios/crm_world.py) and the rules' sales and
service app (tests/scenarios/rules_world.py), on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from engine.api.context import Context
from tests.scenarios.crm_world import World, crm_world
from tests.scenarios.rules_world import RulesWorld, build_world


@pytest.fixture
async def crm(ctx: Context, admin: dict[str, Any]) -> AsyncIterator[World]:
    async with crm_world(ctx, admin) as world:
        yield world


@pytest.fixture
async def world(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> RulesWorld:
    return await build_world(ctx, client, int(admin["id"]))
