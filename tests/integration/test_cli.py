"""The `tangram` command as a user runs it: real processes, DATABASE_URL honoured."""

import os
import subprocess
import sys

import pytest

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


def test_worker_says_it_is_a_stub(database_url):
    helptext = _tangram(database_url, "worker", "--help")
    assert "STUB" in helptext.stdout
