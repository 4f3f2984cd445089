"""The database restarts under a running server (issue 18): a PostgreSQL cluster of the test's own is stopped
while the server runs. Requests answer 503 with Retry-After instead of hanging, nothing acknowledged is lost,
a write refused meanwhile left nothing behind, and the same server process serves again once the database is
back, without being restarted."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import _free_port, serving

BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
pytestmark = pytest.mark.skipif(
    BIN is None or not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL's server programs (the PostgreSQL run)"
)
PASSWORD = "outage-password-1"


class Cluster:
    """initdb, pg_ctl start and stop, run as the postgres user when the tests run as root (PostgreSQL
    refuses to run as root)."""

    def __init__(self, root: Path, port: int) -> None:
        self.data, self.port = root / "data", port

    def _run(self, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.data / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


@contextmanager
def own_postgres() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="tangram-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root, _free_port())
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped by the test
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def _tangram(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engine", *args], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout.strip()


def test_a_database_restart_gives_503_then_the_server_serves_again(tmp_path):
    with own_postgres() as cluster:
        env = os.environ | {
            "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/postgres",
            "VAR_DIR": str(tmp_path / "var"), "TANGRAM_SECRET_KEY": "outage-secret", "TANGRAM_ADMIN_PASSWORD": PASSWORD,
        }  # fmt: skip
        _tangram(env, "migrate")
        _tangram(env, "create-admin")
        token = _tangram(env, "create-token", "admin@example.com")
        with serving(env) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            acknowledged = [f"before{n}@example.com" for n in range(5)]
            for email in acknowledged:
                assert http.post("/api/v1/admin/users", json={"email": email}).status_code == 201

            cluster.stop()
            for method, path, body in (
                ("GET", "/api/v1/admin/users", None),
                ("POST", "/api/v1/admin/users", {"email": "during@example.com"}),
            ):
                r = http.request(method, path, json=body)  # within the client's timeout: no request hangs
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "5" and r.json()["type"] == "/problems/database-unavailable"
            assert http.get("/api/v1/health").status_code == 503

            cluster.start()
            users = _when_answered(http, "/api/v1/admin/users?limit=100")
            emails = {u["email"] for u in users["items"]}
            assert set(acknowledged) <= emails and "during@example.com" not in emails
            assert http.post("/api/v1/admin/users", json={"email": "after@example.com"}).status_code == 201


def _when_answered(http: httpx.Client, path: str) -> dict:
    """The same server process answers again once the database is back (polled: the pool reconnects)."""
    import time

    deadline = time.monotonic() + 30
    while True:
        r = http.get(path)
        if r.status_code == 200 or time.monotonic() > deadline:
            assert r.status_code == 200, r.text
            return r.json()
        time.sleep(0.2)  # polling a reconnecting pool, not waiting for an outcome
