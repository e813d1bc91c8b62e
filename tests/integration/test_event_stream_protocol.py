"""An event stream on the served protocol (http/server.py): it is exempt from the 5 s
keep-alive idle close and from HEADER_TIMEOUT (it stays open between heartbeats longer
than both), but counts toward MAX_CONNECTIONS; and a ticket, which travels in the query
string, never reaches a log line: the request line logs the path alone, and uvicorn's
access log (off under `todo-api serve`, on when uvicorn runs the app factory by itself)
shows it redacted."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.event_client import opened
from tests.integration.processes import served_for_tests

HEARTBEAT = 6.0  # longer than the keep-alive idle close (5 s) and HEADER_TIMEOUT below


async def _signed_in(http: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    answer = await http.post(
        "/auth/register", json={"email": "ada@example.com", "password": "long enough"}
    )
    assert answer.status_code == 201, answer.text
    token = answer.json()["access_token"]
    return {"Authorization": f"Bearer {token}"}, token


async def test_a_quiet_stream_outlives_the_idle_limits_but_counts_as_a_connection(
    database_url: str, tmp_path
):
    limits = {
        "WORKERS": "1",
        "HEADER_TIMEOUT": "1",
        "MAX_CONNECTIONS": "2",
        "STREAM_HEARTBEAT": str(HEARTBEAT),
    }
    with served_for_tests(database_url, tmp_path, **limits) as service:
        async with httpx.AsyncClient(base_url=service.base, timeout=30) as http:
            auth, _ = await _signed_in(http)
        async with (
            httpx.AsyncClient(base_url=service.base, timeout=30) as streaming,
            httpx.AsyncClient(base_url=service.base, timeout=30) as other,
            opened(streaming, auth) as stream,
        ):
            # Two heartbeats 6 s apart: nothing closed the connection in between.
            for _ in range(2):
                block = await stream.block(within=HEARTBEAT + 2)
                assert block is not None
                assert block.comments == ["ping"]
            # The stream and this request make two connections: a third is refused.
            assert (await other.get("/health/live")).status_code == 200
            async with httpx.AsyncClient(base_url=service.base) as third:
                refused = await third.get("/health/live")
                assert refused.status_code == 503
                assert refused.json()["detail"] == "Too many connections"


async def test_no_ticket_and_no_token_reaches_the_log(database_url: str, tmp_path):
    with served_for_tests(database_url, tmp_path, LOG_LEVEL="DEBUG") as service:
        async with httpx.AsyncClient(base_url=service.base, timeout=10) as http:
            auth, token = await _signed_in(http)
            ticket = (await http.post("/events/ticket", headers=auth)).json()["ticket"]
            async with opened(http, params={"ticket": ticket}) as stream:
                await http.post("/tasks", json={"title": "logged?"}, headers=auth)
                await stream.event()
            async with opened(http, params={"ticket": ticket}, status=401):
                pass
            async with opened(http, params={"ticket": "x" + ticket}, status=401):
                pass
    log = (tmp_path / "service.log").read_text()
    assert "path=/events " in log, "the requests were logged, by path"
    assert ticket not in log
    assert token not in log
    assert token.split(".")[2] not in log, "not even the token's signature"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("/events?ticket=abc", "/events?ticket=[redacted]"),
        ("/events?since=x&TICKET=abc&y=1", "/events?since=x&TICKET=[redacted]&y=1"),
        ("/tasks?title=ticket%3Dabc", "/tasks?title=ticket%3Dabc"),
    ],
)
def test_the_access_log_filter_redacts_the_ticket_parameter(target: str, shown: str):
    import logging

    from todo_api.observability.logging import _redact_secrets

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", target, "1.1", 200), None,
    )  # fmt: skip
    assert _redact_secrets(record)
    assert record.getMessage() == f'127.0.0.1:1 - "GET {shown} HTTP/1.1" 200'
