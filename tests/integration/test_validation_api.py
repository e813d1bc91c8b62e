"""User story 4 and the spec's edge cases about input: field limits, control characters,
injection-looking text, malformed bodies, and the 400 problem that names every field."""

from __future__ import annotations

import pytest

from tests.integration.http import assert_problem

MALICIOUS = [
    "'; DROP TABLE tasks; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    '&lt;already escaped&gt; & "quotes" \\ backslash',
]


def fields_of(problem: dict) -> list[str]:
    return [e["field"] for e in problem["errors"]]


async def post_task(client, headers, **body):
    return await client.post("/tasks", json=body, headers=headers)


# --- limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["x" * 255, "é" * 255, "🙂" * 255, "  " + "x" * 255 + "\t "])
async def test_a_title_of_255_characters_after_trimming_is_accepted(client, alice, title):
    response = await post_task(client, alice, title=title)

    assert response.status_code == 201, response.text
    assert response.json()["title"] == title.strip()


@pytest.mark.parametrize("title", ["x" * 256, "é" * 256, "", "   ", "\t\n "])
async def test_a_title_empty_after_trimming_or_over_255_is_a_400(client, alice, title):
    response = await post_task(client, alice, title=title)

    problem = assert_problem(response, 400)
    assert fields_of(problem) == ["title"]
    assert "title" in problem["detail"]


async def test_a_description_of_10000_characters_is_accepted_and_10001_is_not(client, alice):
    ok = await post_task(client, alice, title="t", description="é" * 10_000)
    too_long = await post_task(client, alice, title="t", description="x" * 10_001)

    assert ok.status_code == 201
    assert ok.json()["description"] == "é" * 10_000
    assert fields_of(assert_problem(too_long, 400)) == ["description"]


async def test_title_and_description_limits_hold_on_update(client, alice):
    task = (await post_task(client, alice, title="t")).json()
    url = f"/tasks/{task['id']}"

    assert (await client.put(url, json={"title": "x" * 255}, headers=alice)).status_code == 200
    long_title = await client.put(url, json={"title": "x" * 256}, headers=alice)
    long_text = await client.patch(url, json={"description": "x" * 10_001}, headers=alice)

    assert fields_of(assert_problem(long_title, 400)) == ["title"]
    assert fields_of(assert_problem(long_text, 400)) == ["description"]
    assert (await client.get(url, headers=alice)).json()["version"] == 2


@pytest.mark.parametrize("title", ["nul\x00byte", "bell\x07", "esc\x1b[31m", "del\x7f", "a\tb"])
async def test_control_characters_in_a_title_are_a_400(client, alice, title):
    problem = assert_problem(await post_task(client, alice, title=title), 400)

    assert fields_of(problem) == ["title"]


@pytest.mark.parametrize("description", ["nul\x00byte", "bell\x07", "vt\x0b", "esc\x1b"])
async def test_control_characters_other_than_whitespace_in_a_description_are_a_400(
    client, alice, description
):
    problem = assert_problem(
        await post_task(client, alice, title="t", description=description), 400
    )

    assert fields_of(problem) == ["description"]


async def test_tab_newline_and_carriage_return_in_a_description_are_kept(client, alice):
    description = "line 1\r\n\tindented\nline 3\n"

    task = (await post_task(client, alice, title="t", description=description)).json()

    assert task["description"] == description
    assert (await client.get(f"/tasks/{task['id']}", headers=alice)).json()[
        "description"
    ] == description


# --- injection-looking text -----------------------------------------------------------


@pytest.mark.parametrize("text", MALICIOUS)
async def test_injection_looking_text_is_stored_and_returned_byte_for_byte(
    client, alice, bob, text
):
    await post_task(client, bob, title="bob's task")
    created = await post_task(client, alice, title=text, description=text)
    task_id = created.json()["id"]

    fetched = await client.get(f"/tasks/{task_id}", headers=alice)
    listed = await client.get("/tasks", headers=alice)

    assert created.status_code == 201
    assert (fetched.json()["title"], fetched.json()["description"]) == (text, text)
    assert fetched.headers["content-type"] == "application/json"
    assert [(t["title"], t["description"]) for t in listed.json()["tasks"]] == [(text, text)]
    assert listed.json()["total"] == 1
    assert (await client.get("/tasks", headers=bob)).json()["total"] == 1


async def test_injection_looking_query_values_are_a_400_and_leak_nothing(client, alice, bob):
    await post_task(client, bob, title="bob's secret")

    for query in ("completed=true' OR '1'='1", "limit=1 OR 1=1", "offset=0;--"):
        response = await client.get(f"/tasks?{query}", headers=alice)
        assert_problem(response, 400)
        assert "bob's secret" not in response.text


async def test_injection_looking_credentials_do_not_log_in(client, alice):
    for email in ("' OR '1'='1", "alice@example.com' --", "alice@example.com'; --"):
        response = await client.post("/auth/login", json={"email": email, "password": "' OR 1=1"})
        assert response.status_code == 401, email


# --- bodies ---------------------------------------------------------------------------


async def test_every_missing_field_is_listed_at_once(client):
    problem = assert_problem(await client.post("/auth/register", json={}), 400)

    assert sorted(fields_of(problem)) == ["email", "password"]
    assert "email" in problem["detail"]
    assert "password" in problem["detail"]


async def test_every_invalid_field_is_listed_at_once(client, alice):
    register = await client.post("/auth/register", json={"email": "nope", "password": "short"})
    task = await post_task(client, alice, title=" ", description="x" * 10_001)

    assert sorted(fields_of(assert_problem(register, 400))) == ["email", "password"]
    assert sorted(fields_of(assert_problem(task, 400))) == ["description", "title"]


async def test_a_missing_title_is_a_400_naming_title(client, alice):
    problem = assert_problem(await post_task(client, alice, description="no title"), 400)

    assert fields_of(problem) == ["title"]
    assert problem["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t", "priority": "high"}, "priority"),
        ({"title": "t", "user_id": "00000000-0000-0000-0000-000000000000"}, "user_id"),
        ({"title": 42}, "title"),
        ({"title": None}, "title"),
        ({"title": "t", "is_completed": "yes"}, "is_completed"),
        ({"title": "t", "is_completed": "true"}, "is_completed"),
        ({"title": "t", "description": 7}, "description"),
    ],
)
async def test_unknown_fields_and_wrong_types_are_a_400_naming_the_field(
    client, alice, body, field
):
    problem = assert_problem(await client.post("/tasks", json=body, headers=alice), 400)

    assert fields_of(problem) == [field]
    assert (await client.get("/tasks", headers=alice)).json()["total"] == 0


@pytest.mark.parametrize(
    ("url", "auth"), [("/tasks", True), ("/auth/register", False), ("/auth/login", False)]
)
@pytest.mark.parametrize("raw", ['{"title": "unterminated', "{'title': 'single quotes'}", "{,}"])
async def test_malformed_json_is_a_400_with_a_clear_detail(client, alice, url, auth, raw):
    headers = {"Content-Type": "application/json", **(alice if auth else {})}

    response = await client.post(url, content=raw, headers=headers)

    problem = assert_problem(response, 400)
    assert "json" in problem["detail"].lower()
    assert "malformed" in problem["detail"].lower() or "invalid" in problem["detail"].lower()


@pytest.mark.parametrize("raw", ["[]", '"title"', "42", "null"])
async def test_a_json_body_that_is_not_an_object_is_a_400(client, alice, raw):
    headers = {"Content-Type": "application/json", **alice}

    assert_problem(await client.post("/tasks", content=raw, headers=headers), 400)


async def test_an_empty_body_is_a_400(client, alice):
    headers = {"Content-Type": "application/json", **alice}

    assert_problem(await client.post("/tasks", content=b"", headers=headers), 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
async def test_a_body_that_is_not_json_is_a_415_on_every_json_endpoint(client, alice, content_type):
    task_id = (await post_task(client, alice, title="t")).json()["id"]
    headers = {**alice, "Content-Type": content_type}
    calls = [
        ("POST", "/tasks"),
        ("PUT", f"/tasks/{task_id}"),
        ("PATCH", f"/tasks/{task_id}"),
        ("POST", "/auth/register"),
    ]
    for method, url in calls:
        response = await client.request(method, url, content='{"title": "x"}', headers=headers)
        assert_problem(response, 415)
    assert (await client.get(f"/tasks/{task_id}", headers=alice)).json()["title"] == "t"


async def test_a_login_body_that_is_neither_json_nor_a_form_is_a_415(client):
    response = await client.post(
        "/auth/login", content="email=a", headers={"Content-Type": "text/plain"}
    )

    assert_problem(response, 415)


def big_task(size: int) -> bytes:
    """A task body of exactly `size` bytes."""
    frame = b'{"title": "t", "description": ""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


async def test_a_body_over_1_mib_is_a_413(client, alice):
    headers = {"Content-Type": "application/json", **alice}

    response = await client.post("/tasks", content=big_task(2**20 + 1), headers=headers)

    assert_problem(response, 413)
    assert (await client.get("/tasks", headers=alice)).json()["total"] == 0


async def test_a_streamed_body_over_1_mib_is_a_413(client, alice):
    body = big_task(2**20 + 1)

    async def chunks():
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {"Content-Type": "application/json", **alice}
    response = await client.post("/tasks", content=chunks(), headers=headers)

    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


async def test_a_body_of_exactly_1_mib_is_read_and_validated(client, alice):
    headers = {"Content-Type": "application/json", **alice}

    response = await client.post("/tasks", content=big_task(2**20), headers=headers)

    assert fields_of(assert_problem(response, 400)) == ["description"]
