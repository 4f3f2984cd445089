"""SIGTERM drains (issue 18): `tangram serve` told to stop while its in-process worker is in the middle of a
job and writers' requests are in flight (queued behind that job's write lock) answers those requests, lets the
job finish, then exits; every write it acknowledged is stored and the job ran once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.server import _free_port

WRITERS = 4


def _tangram(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "engine", *args], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return done.stdout.strip()


def _until(check, what: str, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling another process, not waiting for an outcome


def test_sigterm_finishes_requests_and_the_job_in_hand_then_exits(tmp_path: Path) -> None:
    db = tmp_path / "tangram.db"
    env = os.environ | {"DATABASE_URL": f"sqlite+aiosqlite:///{db}", "VAR_DIR": str(tmp_path / "var"),
                        "TANGRAM_SECRET_KEY": "drain-secret", "TANGRAM_ADMIN_PASSWORD": "drain-password-1",
                        "TANGRAM_METRICS_PUBLIC": "true"}  # fmt: skip
    _tangram(env, "migrate")
    _tangram(env, "create-admin")
    token = _tangram(env, "create-token", "admin@example.com")
    _tangram(env, "jobs", "enqueue", "jobs.touch", '{"key": "slow", "sleep": 6}')
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "engine", "serve", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    refused: list[str] = []
    failed: list[str] = []  # any other answer (a 5xx, a half answer): the threads cannot fail the test themselves
    try:
        _until(lambda: _answers(base), "the server")

        def job_running() -> bool:  # read from the file: an API call would wait for the job's write lock
            with sqlite3.connect(db) as conn:
                states = [row[0] for row in conn.execute("SELECT state FROM tg_jobs WHERE kind = 'jobs.touch'")]
            assert states != ["done"], "the slow job finished before the test could stop the server"
            return states == ["running"]

        _until(job_running, "the in-process worker to take the slow job")

        def write(n: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                for i in range(10_000):
                    email = f"w{n}-{i}@example.com"
                    try:
                        r = http.post("/api/v1/admin/users", json={"email": email})
                    except httpx.TransportError:
                        refused.append(email)  # the server no longer takes connections
                        return
                    (acknowledged if r.status_code == 201 else failed).append(email)

        writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        for w in writers:
            w.start()
        _until(lambda: _in_flight(base) > WRITERS, "every writer's request in flight (behind the job's write lock)")
        assert job_running()  # still in the job's sleep
        server.send_signal(signal.SIGTERM)
        # uvicorn drains, shuts the app down, then re-raises the signal it caught: the exit status is the signal's
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
        for w in writers:
            w.join(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()

    assert failed == []
    assert len(refused) == WRITERS  # each writer went on until the server closed
    with sqlite3.connect(db) as conn:
        stored = {row[0] for row in conn.execute("SELECT email FROM tg_users")}
        job = conn.execute("SELECT state FROM tg_jobs WHERE kind = 'jobs.touch'").fetchone()
        touched = conn.execute("SELECT count(*) FROM tg_job_touches WHERE key = 'slow'").fetchone()
    assert len(acknowledged) >= WRITERS  # the requests in flight at SIGTERM were answered, not dropped
    assert set(acknowledged) <= stored
    assert job == ("done",) and touched == (1,)  # the job in hand finished, once


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _in_flight(base: str) -> int:
    """Requests the server is answering now, this one included (its /metrics: a read, no lock to wait for)."""
    text = httpx.get(f"{base}/api/v1/metrics", timeout=10).text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("tangram_http_requests_in_flight ")))
