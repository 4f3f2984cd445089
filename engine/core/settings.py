"""Process-wide settings, read from the environment (prefix-free names, as the README documents)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = Field(default="sqlite+aiosqlite:///./var/tangram.db")
    host: str = "127.0.0.1"
    port: int = 8000
    tangram_admin_email: str | None = None
    tangram_admin_password: str | None = None
    tangram_secret_key: str | None = None
    var_dir: str = "./var"
    # Mark the session cookie Secure (set it when serving behind HTTPS).
    https_only: bool = False
    # Request bodies above this size are refused with 413 before they are read whole.
    max_body_bytes: int = 1024 * 1024
    # The business's time zone: "today", "this week" and birthdays in conditions are read in it.
    tangram_timezone: str = "UTC"


@lru_cache
def get_settings() -> Settings:
    return Settings()
