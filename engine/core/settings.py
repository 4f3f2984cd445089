"""Process-wide settings, read from the environment (prefix-free names, as the README documents)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    # Origins (https://crm.example.com) besides the server's own host whose browser requests may write with
    # the session cookie (a reverse proxy that rewrites Host); comma-separated or a JSON list.
    tangram_trusted_origins: Annotated[list[str], NoDecode] = []
    # Host names the server answers to (engine/api/hosts.py) besides localhost and the address a
    # connection arrives at: crm.example.com, *.example.com (subdomains) or * (any); comma-separated
    # or a JSON list. Other Host headers get a 400: redirects build their Location from it.
    tangram_allowed_hosts: Annotated[list[str], NoDecode] = []
    # API rate limits (engine/api/ratelimit.py): requests a minute per API token and per user, counted in
    # each serve process (bursts of a minute's worth allowed); past them, 429 with Retry-After. 0: no limit.
    tangram_rate_limit_token: Annotated[int, Field(ge=0)] = 0
    tangram_rate_limit_user: Annotated[int, Field(ge=0)] = 0
    # Updates and deletes of records must name the version they were made from (If-Match or "version"):
    # without one, 428 (bulk updates: 422 at the item). Off by default: older clients send none.
    tangram_require_if_match: bool = False
    # Request bodies above this size are refused with 413 before they are read whole.
    max_body_bytes: int = 1024 * 1024
    # Imports (engine/imports): the upload limit of the import routes (they accept files bigger than
    # max_body_bytes), and the rows and columns a file may have.
    max_import_bytes: int = 50 * 1024 * 1024
    max_import_rows: int = 1_000_000
    max_import_columns: int = 1000
    # The business's time zone: "today", "this week" and birthdays in conditions are read in it.
    tangram_timezone: str = "UTC"
    # `tangram serve` runs one job worker in its own process (engine/jobs); turn it off when
    # separate `tangram worker` processes do the work.
    tangram_inprocess_worker: bool = True
    # Done jobs, performed effects, rule runs and read notifications older than this many days are purged
    # by a daily job (engine/jobs/retention.py); 0 keeps them. History and the audit log are never purged.
    tangram_retention_days: Annotated[float, Field(ge=0)] = 30
    # GET /api/v1/metrics (Prometheus text) answers administrators only, unless this is on (a scraper on a
    # private network; the figures name no record or person).
    tangram_metrics_public: bool = False
    # App packages that `tangram install <key>` and the catalog API find by key (engine/apps).
    tangram_catalog_dir: Path = Path(__file__).resolve().parent.parent.parent / "apps_catalog"

    # Email (engine/notify): the sender backend is a registry key: file (default: .eml files under
    # {var_dir}/mail/, so a fresh install shows what it would have sent), console or smtp.
    tangram_email_backend: str = "file"
    tangram_email_from: str = "Tangram <noreply@tangram.invalid>"
    tangram_smtp_host: str = "localhost"
    tangram_smtp_port: int = 587
    tangram_smtp_username: str | None = None
    tangram_smtp_password: SecretStr | None = None
    tangram_smtp_starttls: bool = True  # upgrade the plain connection with STARTTLS (port 587)
    tangram_smtp_ssl: bool = False  # TLS from the first byte (port 465)
    tangram_smtp_timeout: float = 30.0
    # Webhooks (engine/notify/webhook.py) refuse private, loopback and link-local targets unless the
    # host name, IP or CIDR network is listed here: comma-separated or a JSON list.
    tangram_webhook_allow_hosts: Annotated[list[str], NoDecode] = []
    tangram_webhook_timeout: float = 10.0

    # Attachments (engine/files): no file may exceed this (an attachment field's max_size_mb is capped
    # by it), and one upload request carries at most this much in total.
    tangram_max_file_mb: Annotated[int, Field(ge=1, le=200)] = 200
    # Pending uploads never saved on a record, and files taken off a record, are deleted this long after.
    tangram_file_grace_hours: Annotated[float, Field(gt=0)] = 24.0
    # Where file bytes live: local (a directory: TANGRAM_FILES_DIR, default {var_dir}/files) or s3
    # (any S3-compatible store; share it when several servers serve one database).
    tangram_file_storage: Literal["local", "s3"] = "local"
    tangram_files_dir: str | None = None
    tangram_s3_endpoint: str | None = None  # e.g. https://s3.eu-west-1.amazonaws.com or http://minio:9000
    tangram_s3_bucket: str = "tangram"
    tangram_s3_region: str | None = None
    tangram_s3_access_key_id: str | None = None
    tangram_s3_secret_access_key: SecretStr | None = None

    @field_validator("tangram_webhook_allow_hosts", "tangram_trusted_origins", "tangram_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [h.strip() for h in text.split(",") if h.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
