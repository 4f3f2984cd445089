"""A real Tangram server for browser tests: its own SQLite database with the CRM and its demo data,
served by uvicorn in a subprocess on a free loopback port (one per test module)."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

PASSWORD = "tangram-demo-2024"  # the demo users' password (engine/apps/demo.py)
ADMIN = ("admin@example.com", "admin-password-1")  # the installation's administrator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ENVIRONMENTS: dict[str, dict[str, str]] = {}  # base URL -> the environment its server runs with


def _tangram(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "engine", *args], env=env, check=True, capture_output=True)


def run_due_jobs(base: str, as_of: datetime) -> None:
    """`tangram worker --once --as-of`: the jobs due at `as_of` run against that server's database now
    (deadlines, reminders, escalations on an injected clock; the server itself keeps the real one)."""
    _tangram(ENVIRONMENTS[base], "worker", "--once", "--as-of", as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"))


_CRM_TEMPLATE: list[Path] = []  # the CRM with its demo, set up once per test session and copied per module


def _crm_template() -> Path:
    """A database with the CRM and its demo organisation, made by the CLI once per session (the four setup
    steps take about half a minute; a copy takes milliseconds)."""
    if not _CRM_TEMPLATE:
        workdir = Path(tempfile.mkdtemp(prefix="tangram-e2e-crm-"))
        atexit.register(shutil.rmtree, workdir, ignore_errors=True)
        env = _environment(workdir)
        for args in (("migrate",), ("create-admin", "--if-missing"), ("install", "crm"), ("demo", "crm")):
            _tangram(env, *args)
        _CRM_TEMPLATE.append(workdir)
    return _CRM_TEMPLATE[0]


def _environment(workdir: Path) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'tangram.db'}",
        "VAR_DIR": str(workdir / "var"),
        "TANGRAM_SECRET_KEY": "e2e-secret",
        "TANGRAM_ADMIN_PASSWORD": ADMIN[1],
    }


@contextmanager
def crm_server(workdir: Path) -> Iterator[str]:
    """The base URL of a server with the CRM and its demo organisation installed, on a database of its own."""
    template = _crm_template()
    for file in template.glob("tangram.db*"):
        shutil.copy(file, workdir / file.name)
    if (template / "var").exists():
        shutil.copytree(template / "var", workdir / "var")
    with serving(_environment(workdir)) as base:
        yield base


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """`tangram serve`'s app under uvicorn in a subprocess with `env` (its DATABASE_URL...), on a free port."""
    port = _free_port()
    command = ["-m", "uvicorn", "builder_ui.app:create_app", "--factory", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen([sys.executable, *command], env=env)
    base = f"http://127.0.0.1:{port}"
    ENVIRONMENTS[base] = env
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the test server did not start") from None
                time.sleep(0.1)  # polling a starting process, not waiting for an outcome
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
