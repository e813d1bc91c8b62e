"""A throwaway CA (trustme) for the test SMTP server's TLS certificate (the server itself
is in tests/smtp_server.py). These tests use no database."""

from __future__ import annotations

import ssl

import pytest
import trustme


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """Overrides the integration suite's table cleanup: nothing here touches PostgreSQL."""


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    """What a client that trusts the test CA uses (production: the system's CAs)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context
