"""Browser tests: Debian's Chromium, driven by Playwright, against the real service process
(`todo-api serve`) on the integration suite's fresh, migrated PostgreSQL, emptied before
every test. A small static page, served from another port, plays the web frontend."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration import conftest as integration
from tests.integration.processes import Service, served_for_tests

# The integration suite's fixtures, made visible here: a database of this session's own,
# emptied before each test (autouse). Assigned rather than imported by name, which linters
# would take for unused imports that the fixtures' parameters then redefine.
server_url = integration.server_url
direct_database_url = integration.direct_database_url
database_url = integration.database_url
engine = integration.engine
_empty_tables = integration._empty_tables

CHROMIUM = Path("/usr/bin/chromium")
# Playwright cannot download its own browser here (no network but the package registries).
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # required as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No outside network: without these Chromium keeps trying to phone home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STATIC = Path(__file__).with_name("static")
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the browser, skip with a reason that says how to get it, before any fixture
    starts PostgreSQL. `-ra` (in addopts) prints the reason in the summary."""
    if CHROMIUM.exists():
        return
    missing = (
        f"{CHROMIUM} is missing; install Debian's packages "
        "`apt-get install chromium chromium-driver` (.ci/run does)"
    )
    if os.environ.get("CI") == "true" and any(HERE in item.path.parents for item in items):
        raise pytest.UsageError(f"browser tests cannot run on CI: {missing}")
    skip = pytest.mark.skip(reason=f"BROWSER TESTS NOT RUN: {missing}")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def frontend_origin() -> Iterator[str]:
    """The static page on a port of its own: a different origin from the API's, so every
    call the page makes is a real cross-origin request, preflights included."""
    handler = partial(_QuietHandler, directory=str(STATIC))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join()


@pytest.fixture(scope="session")
def service(
    database_url: str, frontend_origin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """`todo-api serve`, allowing the page's origin (and only it) by CORS_ORIGINS."""
    data_dir = tmp_path_factory.mktemp("e2e-service")
    extra = {"DB_POOL_SIZE": "2", "CORS_ORIGINS": frontend_origin, "LOG_LEVEL": "INFO"}
    with served_for_tests(database_url, data_dir, **extra) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A browser per test, not per session: between its sync calls Playwright marks its own
    event loop as running in this thread, and pytest-asyncio's session loop (the autouse
    table-emptying fixture) then refuses to run."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (empty localStorage), with the page's console and failed requests
    kept, so that a failing assertion can say what the browser saw."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    seen: list[str] = []
    page.on("console", lambda message: seen.append(f"console.{message.type}: {message.text}"))
    page.on("requestfailed", lambda r: seen.append(f"failed: {r.method} {r.url} {r.failure}"))
    page.seen = seen  # type: ignore[attr-defined]
    yield page
    context.close()
