"""Command options checked before anything runs: `worker --as-of` (a drill of deadlines on an injected clock)
only with --once; `serve --workers N` only on PostgreSQL."""

from __future__ import annotations

from typer.testing import CliRunner

from engine.cli import app


def test_as_of_without_once_is_refused_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["worker", "--as-of", "2026-12-08T10:00:00"])
    assert result.exit_code == 2
    assert "--once" in result.output


def test_as_of_must_be_a_date_and_time() -> None:
    result = CliRunner().invoke(app, ["worker", "--once", "--as-of", "tomorrow"])
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_several_server_processes_are_refused_on_sqlite(monkeypatch) -> None:
    from engine.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///./never-created.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output
