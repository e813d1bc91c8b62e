"""Settings: read from the environment, strict about secrets in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pydantic
import pytest

from todo_api.settings import Settings

STRONG = "0123456789abcdef0123456789abcdef"  # exactly 32 bytes


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The developer's own shell must not leak into these tests.
    for name in (*Settings.model_fields, "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("secret", [None, "", "too short", STRONG[:-1], "é" * 15 + "x"])
def test_production_refuses_a_missing_or_short_secret(secret: str | None) -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        Settings(APP_ENV="production", JWT_SECRET=secret)
    message = str(exc.value)
    assert "JWT_SECRET must be set to at least 32 bytes" in message
    assert "APP_ENV=production" in message


def test_production_refuses_a_missing_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(pydantic.ValidationError, match="JWT_SECRET"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value", "secret_part"),
    [
        ("DATABASE_URL", "postgresql://todo:hunter2pw@db/todo", "hunter2pw"),
        ("JWT_SECRET", "a-real-but-short-secret", "short-secret"),
    ],
)
def test_the_refusal_does_not_echo_secrets(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, secret_part: str
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv(variable, value)
    with pytest.raises(pydantic.ValidationError) as exc:
        Settings()
    assert secret_part not in str(exc.value)


@pytest.mark.parametrize("secret", [STRONG, "é" * 16, "x" * 128])
def test_production_accepts_32_bytes_or_more(secret: str) -> None:
    settings = Settings(APP_ENV="production", JWT_SECRET=secret)
    assert settings.is_production
    assert settings.jwt_secret() == secret


def test_production_reads_the_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", STRONG)
    settings = Settings()
    assert settings.jwt_secret() == STRONG
    assert STRONG not in repr(settings)


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    first = Settings(DATA_DIR=data_dir).jwt_secret()
    assert len(first.encode()) >= 32
    assert Settings(DATA_DIR=data_dir).jwt_secret() == first
    stored = data_dir / "jwt_secret"
    assert stored.read_text().strip() == first
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert [p.name for p in data_dir.iterdir()] == ["jwt_secret"]


def test_development_secrets_differ_between_data_dirs(tmp_path: Path) -> None:
    one = Settings(DATA_DIR=tmp_path / "one").jwt_secret()
    assert Settings(DATA_DIR=tmp_path / "two").jwt_secret() != one


def test_a_configured_secret_wins_in_development(tmp_path: Path) -> None:
    assert Settings(DATA_DIR=tmp_path, JWT_SECRET="short is fine here").jwt_secret() == (
        "short is fine here"
    )
    assert not (tmp_path / "jwt_secret").exists()


def test_cors_origins_default_is_the_frontend_dev_server() -> None:
    assert Settings().cors_origins == ["http://localhost:3000", "http://127.0.0.1:3000"]


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("https://app.example.com", ["https://app.example.com"]),
        (
            " https://a.example.com , http://localhost:5173,,",
            ["https://a.example.com", "http://localhost:5173"],
        ),
        ("", []),
    ],
)
def test_cors_origins_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)
    assert Settings().cors_origins == origins


@pytest.mark.parametrize(("raw", "level"), [("debug", "DEBUG"), ("Warning", "WARNING")])
def test_log_level_is_case_insensitive(
    monkeypatch: pytest.MonkeyPatch, raw: str, level: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", raw)
    assert level == Settings().LOG_LEVEL
    assert level == Settings(LOG_LEVEL=raw.lower()).LOG_LEVEL


def test_unknown_log_level_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="LOG_LEVEL"):
        Settings(LOG_LEVEL="verbose")


def test_defaults_for_local_use() -> None:
    settings = Settings()
    assert not settings.is_production
    assert (settings.ACCESS_TOKEN_TTL, settings.BCRYPT_ROUNDS) == (900, 12)
    assert settings.DATABASE_URL is None


@pytest.mark.parametrize(
    ("environment", "workers"),
    [
        ({}, 7),  # the cores, below
        ({"WEB_CONCURRENCY": "3"}, 3),
        ({"WEB_CONCURRENCY": "3", "WORKERS": "5"}, 5),
        ({"WORKERS": "1"}, 1),
    ],
)
def test_workers_default_to_web_concurrency_then_the_cores(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], workers: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 7)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert workers == settings.WORKERS


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_worker_count_below_one_or_not_a_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", value)
    with pytest.raises(pydantic.ValidationError, match=r"WEB_CONCURRENCY|WORKERS"):
        Settings()


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings().forwarded_allow_ips == []


@pytest.mark.parametrize(
    ("raw", "entries"),
    [
        ("172.28.0.10", ["172.28.0.10"]),
        (" 10.0.0.0/8 , ::1,", ["10.0.0.0/8", "::1"]),
        ("*", ["*"]),
    ],
)
def test_forwarded_allow_ips_are_addresses_or_networks(
    monkeypatch: pytest.MonkeyPatch, raw: str, entries: list[str]
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", raw)
    assert Settings().forwarded_allow_ips == entries


@pytest.mark.parametrize("raw", ["localhost", "10.0.0.300", "10.0.0.0/33", "1.2.3.4;5.6.7.8"])
def test_a_forwarded_allow_ips_entry_that_is_no_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", raw)
    with pytest.raises(pydantic.ValidationError, match="FORWARDED_ALLOW_IPS"):
        Settings()


@pytest.mark.parametrize(
    "origins",
    [
        "http://localhost:3000",
        "https://app.example.com, http://127.0.0.1:5173",
        "http://[::1]:8080",
        "",
    ],
)
def test_cors_origins_accepts_origins(origins: str) -> None:
    assert origins == Settings(CORS_ORIGINS=origins).CORS_ORIGINS


@pytest.mark.parametrize(
    "origins", ["notaurl", "*", "localhost:3000", "https://app.example.com/", "ftp://x.example"]
)
def test_cors_origins_refuses_what_is_not_an_origin(origins: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="is not an origin"):
        Settings(CORS_ORIGINS=origins)


def test_a_start_behind_pgbouncer_needs_a_direct_listen_url() -> None:
    from todo_api.composition.preflight import StartupError, check_urls

    pooled = Settings(DATABASE_URL="postgresql://u@pgbouncer:6432/db", DB_PGBOUNCER=True)
    with pytest.raises(StartupError) as refused:
        check_urls(pooled)
    assert refused.value.setting == "LISTEN_DATABASE_URL"
    check_urls(pooled.model_copy(update={"LISTEN_DATABASE_URL": "postgresql://u@db:5432/db"}))
    with pytest.raises(StartupError, match=r"^LISTEN_DATABASE_URL: not a URL"):
        check_urls(pooled.model_copy(update={"LISTEN_DATABASE_URL": "not a url at all"}))
