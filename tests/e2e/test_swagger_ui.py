"""/docs as a developer uses it: Authorize with the OAuth2 password form, then try GET /tasks.
Swagger UI's scripts and styles must come from the service itself: this machine, like many
networks, cannot reach a CDN, and without them /docs is a blank page."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.integration.processes import Service

EMAIL = "grace@example.com"
PASSWORD = "correct horse"


def test_authorize_then_try_get_tasks(page: Page, service: Service):
    registered = httpx.post(
        f"{service.base}/auth/register", json={"email": EMAIL, "password": PASSWORD}
    )
    assert registered.status_code == 201
    token = registered.json()["access_token"]
    httpx.post(
        f"{service.base}/tasks",
        json={"title": "From the API"},
        headers={"Authorization": f"Bearer {token}"},
    ).raise_for_status()

    elsewhere: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(service.base) else elsewhere.append(r.url)
    )
    page.goto(f"{service.base}/docs")
    # Only there once swagger-ui-bundle.js loaded and rendered the document.
    expect(page.locator("button.authorize").first).to_be_visible()

    page.locator("button.authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.locator("#oauth_username").fill(EMAIL)
    dialog.locator("#oauth_password").fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/auth/token")) as login:
        dialog.locator("button.modal-btn.auth.authorize").click()
    assert login.value.status == 200, login.value.text()
    # Authorized: the dialog offers to log out instead.
    expect(dialog.locator("button.modal-btn.auth", has_text="Logout")).to_be_visible()
    dialog.locator("button.modal-btn.btn-done", has_text="Close").click()
    expect(dialog).to_have_count(0)

    # GET /tasks itself: its path is exactly "/tasks" (not /tasks/{task_id}, /tasks/changes).
    path = re.compile(r"^\s*/tasks\s*$")
    operation = page.locator(".opblock-get").filter(
        has=page.locator(".opblock-summary-path", has_text=path)
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/tasks")) as listed:
        operation.locator("button.execute").click()
    assert listed.value.status == 200
    # Swagger UI sent the token it got from the login.
    assert listed.value.request.header_value("Authorization").startswith("Bearer ")

    # What Swagger UI shows under "Server response".
    live = operation.locator(".live-responses-table tr.response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text("From the API")
    assert not elsewhere, f"/docs should load nothing from another host: {elsewhere}"
