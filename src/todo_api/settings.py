"""All configuration, read from environment variables named like the fields, and from a
`.env` file in the working directory (the environment wins over it)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    # hide_input: a rejected JWT_SECRET or DATABASE_URL must not end up in a traceback.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    APP_ENV: Literal["development", "production"] = "development"
    DATABASE_URL: str | None = None
    DATA_DIR: Path = Path(".data")
    JWT_SECRET: SecretStr | None = None
    JWT_ISSUER: str = "todo-api"
    JWT_AUDIENCE: str = "todo-api"
    ACCESS_TOKEN_TTL: int = Field(default=900, ge=1, description="seconds")
    REFRESH_TOKEN_TTL: int = Field(default=30 * 24 * 3600, ge=1, description="seconds")
    REFRESH_PURGE_INTERVAL: float = Field(default=3600.0, gt=0, description="seconds")
    IDEMPOTENCY_TTL: int = Field(default=24 * 3600, ge=1, description="seconds")
    SYNC_RETENTION: int = Field(
        default=30 * 24 * 3600,
        ge=1,
        description="seconds a deleted task is remembered for the change feed; an older "
        "sync token is a 410",
    )
    PASSWORD_RESET_URL: str = Field(
        default="http://localhost:3000/reset-password",
        description="the frontend page a reset message links to, with ?token=…",
    )
    PASSWORD_RESET_TTL: int = Field(default=1800, ge=60, description="seconds")
    PASSWORD_RESET_MAX_MAILS: int = Field(
        default=5, ge=1, description="reset messages per email within PASSWORD_RESET_TTL"
    )
    LOGIN_MAX_FAILURES: int = Field(
        default=10, ge=1, description="per email and client address, and window"
    )
    LOGIN_MAX_FAILURES_PER_EMAIL: int = Field(
        default=100, ge=1, description="per email across every address, and window"
    )
    LOGIN_MAX_FAILURES_PER_IP: int = Field(
        default=100, ge=1, description="per client address and window"
    )
    LOGIN_FAILURE_WINDOW: int = Field(default=900, ge=1, description="seconds")
    BCRYPT_ROUNDS: int = Field(default=12, ge=4, le=31)
    CORS_ORIGINS: str = "http://localhost:3000,http://127.0.0.1:3000"
    # Proxies whose X-Forwarded-For is believed: none unless configured (uvicorn's own
    # default trusts 127.0.0.1, which lets any local program choose its client address).
    FORWARDED_ALLOW_IPS: str = ""
    HOST: str = "127.0.0.1"
    PORT: int = Field(default=8000, ge=0, le=65535)
    # WEB_CONCURRENCY is uvicorn's, gunicorn's and hosting platforms' name for it.
    WORKERS: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        validation_alias=AliasChoices("WORKERS", "WEB_CONCURRENCY"),
    )
    MAX_HEADER_BYTES: int = Field(
        default=64 * 1024, ge=1024, description="request line and headers, bytes"
    )
    HEADER_TIMEOUT: float = Field(
        default=10.0, gt=0, description="seconds to send a request head, or for a body to stall"
    )
    MAX_CONNECTIONS: int = Field(default=1024, ge=1, description="open connections per worker")
    SHUTDOWN_DRAIN_SECONDS: float = Field(
        default=5.0, ge=0, le=300, description="seconds of 503 readiness before stopping"
    )
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["auto", "json", "console"] = "auto"
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=5, ge=0)
    DB_POOL_TIMEOUT: float = Field(default=5.0, gt=0, description="seconds")
    DB_POOL_MAX_WAITING: int = Field(
        default=1000, ge=0, description="requests per worker waiting for a connection"
    )
    DB_CONNECT_TIMEOUT: float = Field(default=30.0, ge=0, description="seconds of startup retries")
    DB_PGBOUNCER: bool = Field(
        default=False, description="behind PgBouncer in transaction mode (auto for Neon -pooler)"
    )
    DB_STATEMENT_TIMEOUT: int = Field(default=5000, ge=0, description="milliseconds")
    # A direct connection (not through a transaction-mode pooler) for LISTEN and the stream
    # slots' session locks; unset: DATABASE_URL (for a Neon -pooler host, its direct host).
    LISTEN_DATABASE_URL: str | None = None
    MAX_STREAMS_PER_USER: int = Field(
        default=10, ge=1, le=1000, description="open event streams per user, all instances"
    )
    STREAM_HEARTBEAT: float = Field(
        default=15.0, gt=0, le=3600, description="seconds between an event stream's heartbeats"
    )
    # smtp://host:25 (local relay), smtp://user:password@host:587 (STARTTLS required),
    # smtps://user:password@host:465 (implicit TLS). Unset: mail is written to the log.
    SMTP_URL: SecretStr | None = None
    MAIL_FROM: str = "Todo <no-reply@localhost>"

    @model_validator(mode="before")
    @classmethod
    def _upper_case_log_level(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("LOG_LEVEL"), str):
            data["LOG_LEVEL"] = data["LOG_LEVEL"].upper()
        return data

    @field_validator("CORS_ORIGINS")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",")):
            if origin and _origin_problem(origin):
                raise ValueError(f"{origin!r} is not an origin: {_origin_problem(origin)}")
        return value

    @field_validator("FORWARDED_ALLOW_IPS")
    @classmethod
    def _addresses_or_networks(cls, raw: str) -> str:
        for entry in _entries(raw):
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (comma-separated, or *)"
                ) from None
        return raw

    @model_validator(mode="after")
    def _strong_secret_in_production(self) -> Self:
        if self.APP_ENV == "production":
            secret = self.JWT_SECRET.get_secret_value() if self.JWT_SECRET else ""
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"JWT_SECRET must be set to at least {MIN_SECRET_BYTES} bytes when "
                    "APP_ENV=production (generate one with: openssl rand -hex 32)"
                )
        return self

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.CORS_ORIGINS.split(",") if o.strip()]

    @property
    def forwarded_allow_ips(self) -> list[str]:
        return _entries(self.FORWARDED_ALLOW_IPS)

    @property
    def json_logs(self) -> bool:
        return self.LOG_FORMAT == "json" or (self.LOG_FORMAT == "auto" and self.is_production)

    def jwt_secret(self) -> str:
        """The configured secret; in development, one generated once and kept under
        DATA_DIR so that tokens survive a restart."""
        if self.JWT_SECRET is not None:
            return self.JWT_SECRET.get_secret_value()
        return _persisted_dev_secret(self.DATA_DIR / "jwt_secret")


def _entries(raw: str) -> list[str]:
    return [entry.strip() for entry in raw.split(",") if entry.strip()]


def _origin_problem(origin: str) -> str | None:
    """Why `origin` is not what a browser sends in Origin (scheme://host[:port]), or None."""
    try:
        parts = urlsplit(origin)
        _ = parts.port
    except ValueError:
        return "malformed port"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected scheme://host[:port], e.g. http://localhost:3000"
    if parts.path or parts.query or parts.fragment or parts.username:
        return "an origin has no path, query or user, e.g. https://app.example.com"
    return None


def _persisted_dev_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(secrets.token_urlsafe(48))
    draft.chmod(0o600)
    try:
        # link() is atomic and refuses to overwrite: when several workers start together,
        # exactly one secret wins and every worker reads that one.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
