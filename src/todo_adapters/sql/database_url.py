"""Turn any PostgreSQL URL a user may paste (postgres://, postgresql://, libpq query
parameters such as Neon's sslmode and channel_binding, several hosts with
target_session_attrs for a failover pair) into what SQLAlchemy's asyncpg dialect accepts:
an asyncpg URL plus connect arguments."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import URL, make_url

_SCHEMES = {
    "postgres",
    "postgresql",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg2",
}
# libpq parameters asyncpg has no use for; passing them through would make it fail.
# (target_session_attrs it understands: with several hosts, it connects to the first that
# is, say, read-write, which is how the pool finds the primary again after a failover.)
_DROPPED = {"channel_binding", "gssencmode", "sslcompression", "krbsrvname"}


@dataclass(frozen=True)
class ConnectionTarget:
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """The host, or every host of a multi-host URL, comma-separated."""
        if self.url.host:
            return self.url.host
        hosts = self.url.query.get("host", "")
        return hosts if isinstance(hosts, str) else ",".join(hosts)


def _ssl_context(mode: str, root_cert: str | None) -> ssl.SSLContext | str | bool:
    if mode == "disable":
        return False
    if mode in {"allow", "prefer"}:
        # asyncpg's own modes keep libpq's fallback to an unencrypted connection.
        return mode
    if mode == "require" and root_cert is None:
        context = ssl.create_default_context()
        # libpq's require does not check the certificate; verify-ca and verify-full do.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cafile=root_cert)
    context.check_hostname = mode == "verify-full"
    return context


def _hosts_as_query(raw: str) -> str:
    """libpq's multi-host form (`user@h1:5432,h2:5432/db`), which SQLAlchemy's URL parser
    cannot read, as the form its asyncpg dialect takes (`user@/db?host=h1:5432&host=...`)."""
    parts = urlsplit(raw)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return raw
    listed = [_with_port(h.strip()) for h in hosts.split(",")]
    query = "&".join([*(f"host={h}" for h in listed), *([parts.query] if parts.query else [])])
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}", query=query))


def _with_port(host: str) -> str:
    # SQLAlchemy wants every port of a multi-host URL spelled out; libpq's default is 5432.
    if not host:
        raise ValueError("DATABASE_URL lists an empty host")
    if host.startswith("["):  # SQLAlchemy's multi-host parser reads no IPv6 literal
        raise ValueError("a multi-host DATABASE_URL needs host names or IPv4 addresses")
    return host if ":" in host else f"{host}:5432"


def parse_database_url(raw: str) -> ConnectionTarget:
    url = make_url(_hosts_as_query(raw.strip()))
    if url.drivername not in _SCHEMES:
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, not {url.drivername}://")
    query = dict(url.query)
    connect_args: dict[str, Any] = {}
    server_settings: dict[str, str] = {}
    mode = query.pop("sslmode", None)
    root_cert = query.pop("sslrootcert", None)
    if isinstance(mode, str):
        connect_args["ssl"] = _ssl_context(mode, root_cert if isinstance(root_cert, str) else None)
    if isinstance(timeout := query.pop("connect_timeout", None), str):
        connect_args["timeout"] = float(timeout)
    if isinstance(name := query.pop("application_name", None), str):
        server_settings["application_name"] = name
    if isinstance(options := query.pop("options", None), str):
        server_settings.update(_parse_options(options))
    for key in _DROPPED:
        query.pop(key, None)
    if server_settings:
        connect_args["server_settings"] = server_settings
    asyncpg_url = url.set(drivername="postgresql+asyncpg", query=query)
    return ConnectionTarget(asyncpg_url, connect_args)


def _parse_options(options: str) -> dict[str, str]:
    """libpq `options=-c key=value -c other=value` into server settings."""
    settings: dict[str, str] = {}
    for part in options.replace("-c ", "-c").split():
        body = part[2:] if part.startswith(("-c", "--")) else ""
        if "=" in body:
            key, _, value = body.partition("=")
            settings[key.replace("-", "_")] = value
    return settings


def direct_url(raw: str) -> str:
    """The URL of a session of one's own on the same database: a Neon pooled endpoint's
    direct host (its name without `-pooler`), any other URL as it is. LISTEN and session
    locks cannot go through transaction pooling."""
    parts = urlsplit(raw.strip())
    userinfo, at, hosts = parts.netloc.rpartition("@")
    direct = ",".join(h.replace("-pooler.", ".", 1) for h in hosts.split(","))
    return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{direct}"))
