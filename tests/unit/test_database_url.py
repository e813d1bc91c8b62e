"""parse_database_url: any PostgreSQL URL a user may paste, turned into asyncpg's terms."""

from __future__ import annotations

import ssl

import pytest

from todo_adapters.sql.database_url import parse_database_url

NEON = (
    "postgresql://alex:AbC123dEf@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
    "/dbname?sslmode=require&channel_binding=require"
)


@pytest.mark.parametrize(
    "scheme",
    ["postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2"],
)
def test_every_postgresql_scheme_becomes_asyncpg(scheme: str) -> None:
    target = parse_database_url(f"{scheme}://ada:s%40cret@db.example.com:6543/todo")
    url = target.url
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "ada",
        "s@cret",
        "db.example.com",
        6543,
        "todo",
    )
    assert target.connect_args == {}
    assert target.host == "db.example.com"


def test_surrounding_white_space_is_ignored() -> None:
    assert parse_database_url("  postgres://h/db\n").url.host == "h"


@pytest.mark.parametrize(
    "url", ["mysql://u:p@h/db", "sqlite:///todo.db", "postgresql+pg8000://h/db", "mssql://h/db"]
)
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="must be a PostgreSQL URL"):
        parse_database_url(url)


def test_sslmode_disable() -> None:
    target = parse_database_url("postgresql://h/db?sslmode=disable")
    assert target.connect_args == {"ssl": False}
    assert "sslmode" not in target.url.query


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_sslmode_that_requires_tls(mode: str) -> None:
    target = parse_database_url(f"postgresql://h/db?sslmode={mode}")
    context = target.connect_args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert "sslmode" not in target.url.query
    # libpq: require encrypts without checking the certificate; verify-ca checks the chain;
    # verify-full checks the chain and the host name.
    expected = {
        "require": (ssl.CERT_NONE, False),
        "verify-ca": (ssl.CERT_REQUIRED, False),
        "verify-full": (ssl.CERT_REQUIRED, True),
    }[mode]
    assert (context.verify_mode, context.check_hostname) == expected


@pytest.mark.parametrize("mode", ["allow", "prefer"])
def test_sslmode_allow_and_prefer_keep_the_plain_fallback(mode: str) -> None:
    target = parse_database_url(f"postgresql://h/db?sslmode={mode}")
    # asyncpg falls back without TLS only when given the mode itself, not a context.
    assert target.connect_args["ssl"] == mode
    assert "sslmode" not in target.url.query


def test_neon_connection_string_verbatim() -> None:
    target = parse_database_url(NEON)
    assert target.host == "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
    assert target.url.password == "AbC123dEf"
    assert dict(target.url.query) == {}
    assert set(target.connect_args) == {"ssl"}
    assert target.connect_args["ssl"].verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(
    "param",
    [
        "channel_binding=require",
        "channel_binding=prefer",
        "gssencmode=disable",
        "sslcompression=0",
        "krbsrvname=postgres",
    ],
)
def test_libpq_only_parameters_are_dropped(param: str) -> None:
    target = parse_database_url(f"postgresql://h/db?{param}")
    assert dict(target.url.query) == {}
    assert target.connect_args == {}


def test_connect_timeout_and_application_name() -> None:
    target = parse_database_url("postgresql://h/db?connect_timeout=10&application_name=todo%20web")
    assert target.connect_args == {
        "timeout": 10.0,
        "server_settings": {"application_name": "todo web"},
    }
    assert dict(target.url.query) == {}


@pytest.mark.parametrize(
    "options",
    [
        "-c%20search_path%3Dapp%20-c%20statement_timeout%3D1000",
        "-csearch_path=app -cstatement_timeout=1000",
    ],
)
def test_options_become_server_settings(options: str) -> None:
    target = parse_database_url(f"postgresql://h/db?options={options}&application_name=x")
    assert target.connect_args["server_settings"] == {
        "application_name": "x",
        "search_path": "app",
        "statement_timeout": "1000",
    }
    assert dict(target.url.query) == {}


def test_options_in_double_dash_form() -> None:
    target = parse_database_url("postgresql://h/db?options=--search_path%3Dapp")
    assert target.connect_args["server_settings"] == {"search_path": "app"}


def test_unix_socket_host_is_kept() -> None:
    target = parse_database_url("postgresql://postgres:@/todo?host=/var/run/postgresql")
    assert target.url.query["host"] == "/var/run/postgresql"
    assert target.url.host is None
    assert target.host == "/var/run/postgresql"
    assert target.url.database == "todo"


def test_unknown_parameters_reach_the_driver_untouched() -> None:
    target = parse_database_url("postgresql://h/db?prepared_statement_cache_size=0")
    assert dict(target.url.query) == {"prepared_statement_cache_size": "0"}


def _asyncpg_arguments(raw: str) -> dict[str, object]:
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    _, arguments = dialect().create_connect_args(parse_database_url(raw).url)
    return dict(arguments)


def test_a_multi_host_url_lists_every_host_for_asyncpg_in_order() -> None:
    raw = "postgresql://ada:s%40cret@h1:5432,10.0.0.2:6432/todo?target_session_attrs=read-write"
    target = parse_database_url(raw)
    assert target.host == "h1:5432,10.0.0.2:6432"
    assert (target.url.username, target.url.password) == ("ada", "s@cret")
    arguments = _asyncpg_arguments(raw)
    assert arguments["host"] == ["h1", "10.0.0.2"]
    assert arguments["port"] == [5432, 6432]
    # asyncpg itself goes through the hosts to the first read-write one: the primary.
    assert arguments["target_session_attrs"] == "read-write"
    assert arguments["database"] == "todo"


def test_a_host_without_a_port_in_a_multi_host_url_gets_postgresql_s_default() -> None:
    arguments = _asyncpg_arguments("postgres://u@primary,standby:5433/todo")
    assert arguments["host"] == ["primary", "standby"]
    assert arguments["port"] == [5432, 5433]


def test_a_multi_host_url_keeps_the_other_libpq_parameters() -> None:
    target = parse_database_url("postgresql://u@h1,h2/todo?sslmode=disable&application_name=x")
    assert target.connect_args == {"ssl": False, "server_settings": {"application_name": "x"}}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("postgresql://u@h1,,h2/todo", "empty host"),
        ("postgresql://u@[::1]:5432,h2/todo", "host names or IPv4"),
    ],
)
def test_a_multi_host_url_it_cannot_use_is_refused_in_one_line(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_database_url(raw)


def test_the_direct_url_of_a_neon_pooled_endpoint_drops_pooler_from_the_host():
    from todo_adapters.sql.database_url import direct_url

    pooled = (
        "postgresql://u:p-pooler.x@ep-cool-1-pooler.us-east-2.aws.neon.tech/db"
        "?sslmode=require&channel_binding=require"
    )
    assert direct_url(pooled) == (
        "postgresql://u:p-pooler.x@ep-cool-1.us-east-2.aws.neon.tech/db"
        "?sslmode=require&channel_binding=require"
    ), "the host only, the password untouched"
    plain = "postgresql://u@h1:5432,h2:5432/db?target_session_attrs=read-write"
    assert direct_url(plain) == plain


def test_the_listener_connects_with_what_the_pool_accepts():
    from todo_adapters.sql.listener import connect_arguments

    arguments = connect_arguments(
        "postgresql://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write"
        "&sslmode=require&channel_binding=require"
    )
    assert arguments["host"] == ["h1", "h2"]
    assert arguments["port"] == [5432, 5433]
    assert arguments["target_session_attrs"] == "read-write"
    assert arguments["ssl"] is not None
    assert "channel_binding" not in arguments
    assert arguments["server_settings"]["application_name"] == "todo-api-listen"
