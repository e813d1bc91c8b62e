"""The API as the web frontend of API.md meets it: a page on another origin calling it with
fetch (credentials included, Bearer token from localStorage), in a real Chromium."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.integration.processes import Service

EMAIL = "ada@example.com"
PASSWORD = "correct horse"


def _open(page: Page, frontend_origin: str, service: Service) -> None:
    page.goto(f"{frontend_origin}/index.html?api={service.base}")
    expect(page.locator("#who")).to_have_text("signed out")


def _sign_up(page: Page) -> None:
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/auth/register")) as registered:
        page.click("#register")
    assert registered.value.status == 201, page.seen  # type: ignore[attr-defined]
    expect(page.locator("#who")).to_have_text(EMAIL)


def _token(page: Page) -> str | None:
    return page.evaluate("localStorage.getItem('token')")


def test_the_whole_frontend_flow(page: Page, frontend_origin: str, service: Service):
    _open(page, frontend_origin, service)
    _sign_up(page)
    token = _token(page)
    assert token, "the page should keep the access token in localStorage"
    api = httpx.Client(base_url=service.base, headers={"Authorization": f"Bearer {token}"})

    # Create two tasks; the second title is markup, which must come back and show as text.
    for title, description in (("Buy milk", "2 litres"), ("<b>Call</b> mum", "")):
        page.fill("#title", title)
        page.fill("#description", description)
        with page.expect_response(lambda r: r.request.method == "POST") as created:
            page.click("#create")
        assert created.value.status == 201
        # Exposed by CORS, or the page could not read them.
        assert created.value.header_value("Location")
        assert page.evaluate("window.lastRequestId")
    items = page.locator("#tasks li")
    expect(items).to_have_count(2)
    expect(page.locator("#total")).to_have_text("2 tasks")
    expect(items.nth(0).locator(".title")).to_have_text("<b>Call</b> mum")  # newest first
    milk = page.locator("#tasks li", has_text="Buy milk")
    milk_id = milk.get_attribute("data-id")
    listed = api.get("/tasks").json()
    assert listed["total"] == 2
    assert {t["title"] for t in listed["tasks"]} == {"Buy milk", "<b>Call</b> mum"}

    # Toggle: the checkbox sends only {"is_completed": true}.
    with page.expect_response(lambda r: r.request.method == "PUT") as toggled:
        milk.locator("input.done").check()
    assert toggled.value.status == 200
    assert toggled.value.request.post_data_json == {"is_completed": True}
    expect(page.locator(f"li[data-id='{milk_id}'] input.done")).to_be_checked()
    task = api.get(f"/tasks/{milk_id}").json()
    assert (task["is_completed"], task["description"], task["version"]) == (True, "2 litres", 2)

    # Edit: a new title, the description emptied, which the frontend sends as null.
    page.locator(f"li[data-id='{milk_id}'] button.edit").click()
    expect(page.locator("#title")).to_have_value("Buy milk")
    page.fill("#title", "Buy oat milk")
    page.fill("#description", "")
    with page.expect_response(lambda r: r.request.method == "PUT") as edited:
        page.click("#save")
    assert edited.value.status == 200
    assert edited.value.request.post_data_json == {"title": "Buy oat milk", "description": None}
    edited_item = page.locator(f"li[data-id='{milk_id}']")
    expect(edited_item.locator(".title")).to_have_text("Buy oat milk")
    expect(edited_item.locator(".description")).to_have_text("")
    task = api.get(f"/tasks/{milk_id}").json()
    assert (task["title"], task["description"], task["is_completed"]) == (
        "Buy oat milk",
        None,
        True,
    )

    # Delete.
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        edited_item.locator("button.delete").click()
    assert deleted.value.status == 204
    expect(items).to_have_count(1)
    expect(page.locator("#total")).to_have_text("1 tasks")
    assert api.get(f"/tasks/{milk_id}").status_code == 404

    # Log out and back in: the login call carries no token, and the list comes back.
    page.click("#logout")
    expect(page.locator("#tasks li")).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith("/auth/login")) as logged_in:
        page.click("#login")
    assert logged_in.value.status == 200
    expect(page.locator("#who")).to_have_text(EMAIL)
    expect(items).to_have_count(1)
    expect(page.locator("#error")).to_have_text("")
    assert not page.seen, page.seen  # type: ignore[attr-defined]


def test_error_details_are_shown_and_a_401_drops_the_token(
    page: Page, frontend_origin: str, service: Service
):
    _open(page, frontend_origin, service)
    _sign_up(page)

    # The same email again: a 400 whose detail the page shows as is.
    with page.expect_response(lambda r: r.url.endswith("/auth/register")) as again:
        page.click("#register")
    assert again.value.status == 400
    expect(page.locator("#error")).to_have_text("Email already registered")

    # Validation failures read as one sentence too.
    page.fill("#title", "   ")
    page.click("#create")
    expect(page.locator("#error")).to_contain_text("Validation failed: title")

    # A wrong password while a (valid) token is stored: still a plain 401 with its detail.
    page.fill("#password", "wrong password")
    with page.expect_response(lambda r: r.url.endswith("/auth/login")) as refused:
        page.click("#login")
    assert refused.value.status == 401
    expect(page.locator("#error")).to_have_text("Incorrect email or password")
    # The frontend's rule: any 401 drops the token, the session is over.
    assert _token(page) is None
    expect(page.locator("#who")).to_have_text("signed out")

    # A bad stored token: the list call answers 401, readable cross-origin, token dropped.
    page.fill("#password", PASSWORD)
    # Wait for the list the login loads, or its answer would be taken for the next one's.
    with page.expect_response(lambda r: r.url.endswith("/tasks")) as reloaded:
        page.click("#login")
    assert reloaded.value.status == 200
    expect(page.locator("#who")).to_have_text(EMAIL)
    page.evaluate("localStorage.setItem('token', 'not-a-jwt')")
    with page.expect_response(lambda r: r.url.endswith("/tasks")) as listed:
        page.click("#reload")
    assert listed.value.status == 401
    assert "Bearer" in (listed.value.header_value("WWW-Authenticate") or "")
    expect(page.locator("#error")).to_have_text("Not authenticated: malformed token")
    expect(page.locator("#who")).to_have_text("signed out")
    assert _token(page) is None


def test_an_origin_not_in_cors_origins_is_refused(
    page: Page, frontend_origin: str, service: Service
):
    """The same page from `localhost` instead of `127.0.0.1` is another origin, which
    CORS_ORIGINS does not list: the browser refuses to hand over the answer."""
    other = frontend_origin.replace("127.0.0.1", "localhost")
    page.goto(f"{other}/index.html?api={service.base}")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#register")
    expect(page.locator("#error")).to_contain_text("Network error")
    expect(page.locator("#who")).to_have_text("signed out")
    # The preflight was refused, so the registration itself was never sent.
    assert (
        httpx.post(
            f"{service.base}/auth/login", json={"email": EMAIL, "password": PASSWORD}
        ).status_code
        == 401
    )
