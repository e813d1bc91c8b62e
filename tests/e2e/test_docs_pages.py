"""/docs (Swagger UI) and /redoc render the whole document as a new user opens them: no
resolver or rendering error box, no console error, and POST /auth/login shows a JSON
example with email and password."""

from __future__ import annotations

import json

import httpx
from playwright.sync_api import Page, expect

from tests.integration.processes import Service

# What each page shows when a reference cannot be resolved or rendering fails.
ERROR_TEXTS = (
    "Resolver error",
    "Could not resolve reference",
    "Something went wrong",
    "Invalid reference",
)
# ReDoc's sidebar credit shows a logo from its makers' CDN, unconditionally; without a
# network it hides it again. The browser reports that failed fetch as a console error.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOAD_FAILED = "Failed to load resource"


class BrowserErrors:
    """Console errors, uncaught exceptions and failed requests of a page, less ReDoc's logo
    fetch and the one console line each such fetch causes; nothing else is allowed."""

    def __init__(self, page: Page) -> None:
        self.console: list[str] = []
        self.failed: list[str] = []
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda m: self.console.append(m.text) if m.type == "error" else None,
        )
        page.on("requestfailed", lambda r: self.failed.append(r.url))

    def unexpected(self) -> list[str]:
        console = list(self.console)
        for _ in range(self.failed.count(REDOC_LOGO)):
            lines = [line for line in console if line.startswith(LOAD_FAILED)]
            if lines:
                console.remove(lines[0])
        return console + [f"request failed: {url}" for url in self.failed if url != REDOC_LOGO]


def _assert_no_error_text(page: Page) -> None:
    text = page.locator("body").inner_text()
    for error in ERROR_TEXTS:
        assert error not in text, f"the page says {error!r}:\n{text[:3000]}"


def test_swagger_ui_renders_every_operation_and_the_json_login_example(
    page: Page, service: Service
):
    errors = BrowserErrors(page)
    page.goto(f"{service.base}/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    document = httpx.get(f"{service.base}/openapi.json").json()
    assert operations.count() == sum(len(path) for path in document["paths"].values())

    login = page.locator(".opblock-post").filter(
        has=page.locator(".opblock-summary-path", has_text="/auth/login")
    )
    login.locator(".opblock-summary").click()
    # Each operation is resolved when opened: the place where a dangling $ref shows.
    expect(login.locator(".opblock-section-request-body")).to_be_visible()
    expect(login.locator("select.content-type").first).to_have_value("application/json")
    example = login.locator(".body-param__example").first
    expect(example).to_be_visible()
    body = json.loads(example.inner_text())
    # device_token is optional (a device that signed in before sends it back).
    assert set(body) == {"email", "password", "device_token"}, body
    assert body["email"] == "ada@example.com"
    expect(page.locator(".errors-wrapper")).to_have_count(0)
    _assert_no_error_text(page)
    assert not errors.unexpected(), errors.unexpected()


def test_redoc_renders_the_document(page: Page, service: Service):
    errors = BrowserErrors(page)
    page.goto(f"{service.base}/redoc")
    expect(page.locator("h1").first).to_contain_text("Todo API")
    # ReDoc lists every operation in its menu once the document is resolved.
    expect(page.get_by_text("Login", exact=True).first).to_be_attached()
    login = page.locator("[data-section-id='tag/auth/operation/login']")
    expect(login).to_be_attached()
    # Its body: the JSON credentials only, resolved to their fields; the form is the token
    # operation's.
    expect(login).to_contain_text("application/json")
    expect(login).not_to_contain_text("application/x-www-form-urlencoded")
    body = login.locator("table").first
    expect(body).to_contain_text("email")
    expect(body).to_contain_text("password")
    token = page.locator("[data-section-id='tag/auth/operation/loginForm']")
    expect(token).to_contain_text("application/x-www-form-urlencoded")
    expect(token.locator("table").first).to_contain_text("username")
    _assert_no_error_text(page)
    assert not errors.unexpected(), errors.unexpected()
