"""Turn any PostgreSQL URL a user may paste (postgres://, postgresql://, libpq query
parameters such as Neon's sslmode and channel_binding) into what SQLAlchemy's asyncpg
dialect accepts: an asyncpg URL plus connect arguments."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url

_SCHEMES = {
    "postgres",
    "postgresql",
    "postgresql+asyncpg",
    "postgresql+psycopg",
    "postgresql+psycopg2",
}
# libpq parameters asyncpg has no use for; passing them through would make it fail.
_DROPPED = {"channel_binding", "gssencmode", "target_session_attrs", "sslcompression", "krbsrvname"}


@dataclass(frozen=True)
class ConnectionTarget:
    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.url.host or str(self.url.query.get("host", ""))


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


def parse_database_url(raw: str) -> ConnectionTarget:
    url = make_url(raw.strip())
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
