"""Clients generated from the committed openapi.json, as a frontend team would make them,
driving the real service process (`todo-api serve`) on the integration suite's PostgreSQL.
Every user the flows make has an email of its own, so nothing needs emptying."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import conftest as integration
from tests.integration.processes import Service, served_for_tests

# The integration suite's database fixtures, made visible here (as in tests/e2e).
server_url = integration.server_url
direct_database_url = integration.direct_database_url
database_url = integration.database_url

REPOSITORY = Path(__file__).parents[2]
OPENAPI = REPOSITORY / "openapi.json"


@pytest.fixture(scope="session")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with served_for_tests(database_url, tmp_path_factory.mktemp("clients-service")) as running:
        yield running
