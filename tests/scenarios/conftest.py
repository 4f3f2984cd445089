"""Scenario fixtures: the X2 sales organisation (tests/scenarios/crm_world.py) and the rules' sales and
service app (tests/scenarios/rules_world.py), on each database."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on loopback that records what it receives (the ERP's finance endpoint)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/finance", received
    httpd.shutdown()
    httpd.server_close()
