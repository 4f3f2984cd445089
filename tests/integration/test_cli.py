"""The `tangram` command as a user runs it: real processes, DATABASE_URL honoured."""

import asyncio
import json
import os
import subprocess
import sys
import uuid

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from engine.core.migrate import alembic_config, current_revision, head_revision
from tests.conftest import _pg

pytestmark = pytest.mark.usefixtures("database_url")


def _tangram(database_url, *args, env=None):
    full_env = os.environ | {"DATABASE_URL": database_url} | (env or {})
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=full_env, timeout=120)


def test_migrate_create_admin_and_token(database_url):
    assert _tangram(database_url, "migrate").returncode == 0
    made = _tangram(database_url, "create-admin", "--if-missing", env={"TANGRAM_ADMIN_EMAIL": "boss@example.com"})
    assert made.returncode == 0 and "boss@example.com created with password:" in made.stdout
    again = _tangram(database_url, "create-admin", "--if-missing")
    assert again.returncode == 0 and again.stdout == ""  # an admin exists: nothing printed, nothing made
    token = _tangram(database_url, "create-token", "boss@example.com")
    assert token.returncode == 0
    assert token.stdout.strip().startswith("tgm_") and token.stdout.count("\n") == 1  # only the token
    unknown = _tangram(database_url, "create-token", "nobody@example.com")
    assert unknown.returncode == 1 and "no user with email" in unknown.stderr and unknown.stdout == ""


def test_operating_the_job_queue(database_url):
    """An operator enqueues jobs, runs a worker until idle, finds the dead job and sends it back."""
    good = _tangram(database_url, "jobs", "enqueue", "jobs.touch", '{"key": "ping"}', "--dedup-key", "ping")
    assert good.returncode == 0 and good.stdout.strip().isdigit()
    again = _tangram(database_url, "jobs", "enqueue", "jobs.touch", '{"key": "ping"}', "--dedup-key", "ping")
    assert again.returncode == 0 and again.stdout == "" and "already exists" in again.stderr
    bad = _tangram(database_url, "jobs", "enqueue", "jobs.touch", '{"key": ""}')  # jobs.touch refuses it when run
    unknown = _tangram(database_url, "jobs", "enqueue", "no.such.kind", "{}")
    assert unknown.returncode == 1 and "no handler is registered for job kind 'no.such.kind'" in unknown.stderr
    not_json = _tangram(database_url, "jobs", "enqueue", "jobs.touch", "[1]")
    assert not_json.returncode == 1 and "the payload must be a JSON object" in not_json.stderr

    ran = _tangram(database_url, "worker", "--once")
    assert ran.returncode == 0 and "2 job run(s)" in ran.stderr
    dead = [json.loads(line) for line in _tangram(database_url, "jobs", "list", "--state", "dead").stdout.splitlines()]
    assert [(j["id"], j["state"]) for j in dead] == [(int(bad.stdout), "dead")]
    assert dead[0]["last_error"].startswith("PermanentFailure: jobs.touch needs a payload")

    assert _tangram(database_url, "jobs", "retry", bad.stdout.strip()).returncode == 0
    listed = [json.loads(line) for line in _tangram(database_url, "jobs", "list").stdout.splitlines()]
    expected = [(int(bad.stdout), "pending", 0), (int(good.stdout), "done", 1)]
    assert [(j["id"], j["state"], j["attempts"]) for j in listed] == expected
    refused = _tangram(database_url, "jobs", "retry", good.stdout.strip())
    assert refused.returncode == 1 and "only a dead job can be retried" in refused.stderr


@pytest.fixture
def empty_url(database_url, tmp_path):
    """A database with no schema at all, on the backend `database_url` is on."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
        return
    name = f"tangram_new_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrate_says_what_it_did(empty_url):
    head = head_revision()
    created = _tangram(empty_url, "migrate")
    assert created.returncode == 0 and f"created the schema at revision {head}" in created.stderr
    again = _tangram(empty_url, "migrate")
    assert again.returncode == 0 and f"already at the newest revision {head}" in again.stderr


def test_migrate_says_which_revisions_it_upgraded(empty_url):
    command.upgrade(alembic_config(empty_url), "0010")  # a database an older version left
    assert current_revision(empty_url) == "0010"
    upgraded = _tangram(empty_url, "migrate")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded the schema from revision 0010 to {head_revision()}" in upgraded.stderr
    assert current_revision(empty_url) == head_revision()


def test_run_sets_up_what_is_missing_then_serves_in_one_process(database_url, tmp_path):
    """`make run`'s command: a new database gets its tables, an administrator and the CRM, then the server
    answers; a second start finds everything there and sets nothing up again."""
    from tests.e2e.server import _free_port

    def start() -> tuple[str, list[str]]:
        port = _free_port()
        env = os.environ | {"DATABASE_URL": database_url, "VAR_DIR": str(tmp_path), "TANGRAM_ADMIN_PASSWORD": "run-password-1"}
        server = subprocess.Popen(
            [sys.executable, "-m", "engine", "run", "crm", "--no-demo", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        setup = []
        try:
            for line in server.stdout:  # the URL is printed once setup is done; then the server starts
                setup.append(line)
                if f"http://127.0.0.1:{port}/" in line:
                    break
            assert _answers(f"http://127.0.0.1:{port}/api/v1/health"), "the server never answered"
            apps = _signed_in_apps(f"http://127.0.0.1:{port}")
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=30)
        return "".join(setup) + output, apps

    first, apps = start()
    assert apps == ["crm"]
    assert "administrator admin@example.com is ready" in first and "was installed" in first
    again, apps = start()
    assert apps == ["crm"]
    assert "already at the newest revision" in again and "an administrator already exists" in again
    assert "this version is already installed; nothing to do" in again


def _answers(url: str) -> bool:
    import time

    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            time.sleep(0.1)  # polling a starting process, not waiting for an outcome
    return False


def _signed_in_apps(base: str) -> list[str]:
    import httpx

    with httpx.Client(base_url=base) as http:
        token = http.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": "run-password-1"})
        assert token.status_code == 200, token.text
        return [a["key"] for a in http.get("/api/v1/meta/apps").json()["items"]]
