"""A client that goes away in the middle of its request body (issue 23, item 7): the served
app logs it once, at INFO, as `request.disconnected`, counts it as 499 in the metrics, and
never logs a 500, an error or a traceback, whatever the route reads the body with (the
login's own reader, FastAPI's JSON body) and also when a chunked body passes the limit."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.processes import Service, served_for_tests


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    env = {"LOG_LEVEL": "INFO", "LOG_FORMAT": "json", "WORKERS": "1"}
    with served_for_tests(database_url, tmp_path, **env) as running:
        yield running


def _log(tmp_path: Path) -> list[dict]:
    lines = (tmp_path / "service.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _send_and_vanish(service: Service, head: str, body: bytes) -> None:
    with service.connect() as sock:
        sock.sendall(head.encode("latin-1") + body)
        time.sleep(0.2)  # the app is reading the body by now


def _half_a_body(path: str, request_id: str) -> tuple[str, bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: {request_id}\r\nContent-Length: 1000\r\n\r\n"
    )
    return head, b'{"email": "ada@example.com", "password": "'


def _chunked_past_the_limit(request_id: str) -> tuple[str, bytes]:
    head = (
        "POST /auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"X-Request-ID: {request_id}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    return head, (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 20


def _disconnects_counted(service: Service, route: str) -> float:
    text = httpx.get(f"{service.base}/metrics", timeout=10).text
    for line in text.splitlines():
        ours = line.startswith("http_requests_total{") and f'route="{route}"' in line
        if ours and 'status="499"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize(
    "path", ["/auth/login", "/auth/register", "/auth/password-reset", "/tasks"]
)
def test_a_client_gone_mid_body_is_one_info_line_and_a_499(service, tmp_path, path):
    request_id = f"gone-{path.strip('/').replace('/', '-')}"
    _send_and_vanish(service, *_half_a_body(path, request_id))
    deadline = time.monotonic() + 10
    while _disconnects_counted(service, path) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)

    assert _disconnects_counted(service, path) == 1
    mine = [e for e in _log(tmp_path) if e.get("request_id") == request_id]
    assert [(e["event"], e["level"], e["status"]) for e in mine] == [
        ("request.disconnected", "info", 499)
    ], mine
    _assert_no_error_logged(tmp_path)


def test_a_chunked_body_past_the_limit_then_gone_is_no_error(service, tmp_path):
    _send_and_vanish(service, *_chunked_past_the_limit("too-big-and-gone"))
    time.sleep(0.5)
    assert httpx.get(f"{service.base}/health/live", timeout=10).status_code == 200
    mine = [e for e in _log(tmp_path) if e.get("request_id") == "too-big-and-gone"]
    assert len(mine) == 1, mine
    assert mine[0]["level"] == "info"
    assert mine[0]["status"] in (413, 499)
    _assert_no_error_logged(tmp_path)


def _assert_no_error_logged(tmp_path: Path) -> None:
    text = (tmp_path / "service.log").read_text()
    assert "Traceback" not in text
    assert "Exception in ASGI application" not in text
    assert "request.failed" not in text
    assert not [e for e in _log(tmp_path) if e.get("level") in ("error", "critical")]
