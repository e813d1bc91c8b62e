"""GET /metrics: Prometheus text with route templates, statuses, latency, pool, logins."""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families


async def _samples(client) -> dict[tuple[str, frozenset], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_requests_are_counted_by_route_template_and_status(client, alice):
    for _ in range(3):
        await client.get(f"/tasks/{uuid.uuid4()}", headers=alice)
    samples = await _samples(client)
    labels = frozenset({"method": "GET", "route": "/tasks/{task_id}", "status": "404"}.items())
    assert samples[("http_requests_total", labels)] == 3
    assert not any(dict(found).get("route", "").count("-") >= 4 for _, found in samples)
    latency = frozenset({"method": "GET", "route": "/tasks/{task_id}"}.items())
    assert samples[("http_request_duration_seconds_count", latency)] == 3


async def test_unknown_paths_share_one_label(client):
    for path in ("/a", "/b/c", "/etc/passwd"):
        await client.get(path)
    samples = await _samples(client)
    labels = frozenset({"method": "GET", "route": "unmatched", "status": "404"}.items())
    assert samples[("http_requests_total", labels)] == 3


async def test_pool_in_flight_and_login_failures(client):
    await client.post("/auth/login", json={"email": "no@example.com", "password": "whatever1"})
    await client.post("/auth/login", json={"email": "no@example.com", "password": "whatever2"})
    samples = await _samples(client)
    assert samples[("auth_login_failures_total", frozenset())] == 2
    assert samples[("db_pool_connections", frozenset())] >= 1
    assert samples[("db_pool_checked_out", frozenset())] == 0
    assert samples[("http_requests_in_flight", frozenset())] == 1  # the scrape itself
