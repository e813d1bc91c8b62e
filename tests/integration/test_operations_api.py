"""Operations: health probes, the interactive docs, and an OpenAPI document that describes
every route with its problem+json errors and never a 422."""

from __future__ import annotations

import pytest

from tests.integration.http import serving
from todo_adapters.sql.engine import PoolSettings, build_engine
from todo_adapters.sql.health import SqlReadinessProbe
from todo_api.app import create_app

DEAD_DATABASE_URL = "postgresql://nobody:nothing@127.0.0.1:1/nowhere"
PROBLEM_JSON = "application/problem+json"
TASK = "/tasks/{task_id}"
# (method, path): (success status, error statuses API.md gives it); every call that touches
# the database may also answer 500 or 503.
OPERATIONS = {
    ("post", "/auth/register"): ("201", {"400"}),
    ("post", "/auth/login"): ("200", {"400", "401"}),
    ("post", "/auth/token"): ("200", {"400", "401"}),
    ("get", "/auth/me"): ("200", {"401"}),
    ("post", "/tasks"): ("201", {"400", "401"}),
    ("get", "/tasks"): ("200", {"400", "401"}),
    ("get", TASK): ("200", {"400", "401", "403", "404"}),
    ("put", TASK): ("200", {"400", "401", "403", "404"}),
    ("patch", TASK): ("200", {"400", "401", "403", "404"}),
    ("delete", TASK): ("204", {"400", "401", "403", "404"}),
}
PUBLIC = {"/auth/register", "/auth/login", "/auth/token"}
PROTECTED = {key for key in OPERATIONS if key[1] not in PUBLIC}


@pytest.fixture
async def openapi(client) -> dict:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- health ---------------------------------------------------------------------------


async def test_live_is_200(client):
    response = await client.get("/health/live", headers={"Authorization": "Bearer stale"})

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_is_200_when_the_database_answers(client):
    response = await client.get("/health/ready", headers={"Authorization": "Bearer stale"})

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_is_503_with_retry_after_when_the_database_does_not_answer(settings):
    dead = build_engine(DEAD_DATABASE_URL, PoolSettings(size=1))
    app = create_app(settings)
    async with serving(app) as http:
        app.state.container.readiness.override(SqlReadinessProbe(dead, timeout_s=2))
        ready = await http.get("/health/ready")
        live = await http.get("/health/live")
    await dead.dispose()

    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable"}
    assert int(ready.headers["retry-after"]) > 0
    assert live.status_code == 200


# --- docs -----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
async def test_the_interactive_docs_are_served(client, path, marker):
    response = await client.get(path, headers={"Authorization": "Bearer stale"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert marker in response.text.lower()
    assert "/openapi.json" in response.text


# --- the OpenAPI document -------------------------------------------------------------


def test_every_route_is_documented_with_its_success_and_errors(openapi):
    for (method, path), (success, errors) in OPERATIONS.items():
        operation = openapi["paths"][path][method]
        responses = operation["responses"]
        assert success in responses, (method, path)
        for status in errors | {"500", "503"}:
            assert status in responses, (method, path, status)
            content = responses[status]["content"]
            assert list(content) == [PROBLEM_JSON], (method, path, status)
            assert content[PROBLEM_JSON]["schema"]["$ref"].endswith("/ProblemResponse")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/tasks"),
        ("put", TASK),
        ("patch", TASK),
        ("post", "/auth/login"),
        ("post", "/auth/token"),
        ("post", "/auth/register"),
    ],
)
def test_every_route_with_a_body_documents_413_and_415(openapi, method, path):
    responses = openapi["paths"][path][method]["responses"]

    for status in ("413", "415"):
        assert list(responses.get(status, {}).get("content", {})) == [PROBLEM_JSON], status


def test_the_health_probes_are_documented(openapi):
    assert "200" in openapi["paths"]["/health/live"]["get"]["responses"]
    assert {"200", "503"} <= set(openapi["paths"]["/health/ready"]["get"]["responses"])


def test_every_documented_error_is_problem_json(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] not in "45" or path == "/health/ready":
                    continue  # readiness answers its 503 with its own small JSON body
                assert list(response.get("content", {})) == [PROBLEM_JSON], (method, path, status)


def test_the_problem_schema_has_every_field(openapi):
    schema = openapi["components"]["schemas"]["ProblemResponse"]

    assert {"type", "title", "status", "detail", "instance", "request_id", "errors"} <= set(
        schema["properties"]
    )
    assert {"title", "status", "detail"} <= set(schema["required"])


async def test_no_validation_failure_is_documented_as_a_422(client, openapi):
    text = (await client.get("/openapi.json")).text

    assert "HTTPValidationError" not in text
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            if (method, path) == ("post", "/tasks"):  # a reused Idempotency-Key, nothing else
                assert "Idempotency-Key" in operation["responses"]["422"]["description"]
            else:
                assert "422" not in operation["responses"], (method, path)


def test_task_and_me_calls_require_the_bearer_scheme(openapi):
    schemes = openapi["components"]["securitySchemes"]
    (name, scheme), *_ = schemes.items()
    assert scheme["flows"]["password"]["tokenUrl"] == "/auth/token"

    for method, path in PROTECTED:
        assert {name: []} in openapi["paths"][path][method]["security"], (method, path)
    for path in PUBLIC:
        assert not openapi["paths"][path]["post"].get("security"), path


@pytest.mark.parametrize(
    ("path", "media_type", "fields"),
    [
        ("/auth/login", "application/json", {"email", "password"}),
        ("/auth/token", "application/x-www-form-urlencoded", {"username", "password"}),
    ],
)
def test_each_login_operation_documents_one_media_type(openapi, path, media_type, fields):
    """One request type per operation: what every client generator handles (API.md)."""
    content = openapi["paths"][path]["post"]["requestBody"]["content"]
    assert list(content) == [media_type]
    name = content[media_type]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert fields <= set(openapi["components"]["schemas"][name]["required"])


def test_the_documented_limits_match_the_enforced_ones(openapi):
    schemas = openapi["components"]["schemas"]
    create = schemas["TaskCreateRequest"]["properties"]
    query = {p["name"]: p["schema"] for p in openapi["paths"]["/tasks"]["get"]["parameters"]}

    assert create["title"]["maxLength"] == 255
    assert create["description"]["maxLength"] == 10_000
    assert (query["limit"]["minimum"], query["limit"]["maximum"]) == (1, 200)
    assert query["limit"]["default"] == 50
    assert query["offset"]["minimum"] == 0
    assert set(query["sort"]["enum"]) == {
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "due_at",
        "-due_at",
        "priority",
        "-priority",
        "position",
    }
    assert (query["priority"]["minimum"], query["priority"]["maximum"]) == (0, 3)
    assert query["q"]["maxLength"] == 200
    assert query["label"]["maxItems"] == 20
    assert (create["priority"]["minimum"], create["priority"]["maximum"]) == (0, 3)
    assert create["labels"]["maxItems"] == 20
    assert create["labels"]["items"]["maxLength"] == 50
    task_fields = {"id", "user_id", "title", "description", "is_completed", "created_at"}
    planning = {"due_at", "priority", "labels", "position"}
    assert set(schemas["TaskResponse"]["required"]) >= task_fields | {"updated_at", "version"}
    assert set(schemas["TaskResponse"]["required"]) >= planning
