"""Prometheus metrics: requests by route template (never the raw path, whose ids would
explode the label space) and status, latency, requests in flight, the database pool,
failed and throttled logins, and reset mails. With several workers
(PROMETHEUS_MULTIPROC_DIR set by `todo-api serve`) every worker writes its samples to that
directory and a scrape of any worker sums them."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.types import Scope

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self,
        pool_status: Callable[[], tuple[int, int]] | None = None,
        routes: Callable[[], Sequence[Any]] = tuple,
    ) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        self._pool_status = pool_status
        self._routes = routes
        # Each (method, route template, status)'s children, found once: labels() validated
        # and looked them up again on every request. Bounded by the routes' templates.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        r = self.registry
        self.requests = Counter(
            "http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "Requests being answered",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_size = Gauge(
            "db_pool_connections",
            "Connections the pool holds",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.pool_checked_out = Gauge(
            "db_pool_checked_out",
            "Pooled connections in use",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.login_failures = Counter(
            "auth_login_failures", "Logins refused for bad credentials", registry=r
        )
        self.logins_throttled = Counter(
            "auth_logins_throttled",
            "Logins refused with 429 after too many failures, by what was over its limit",
            ["scope"],
            registry=r,
        )
        self.reset_mails = Counter(
            "auth_password_reset_mails",
            "Password reset messages: sent, or failed (given up after retries, or dropped)",
            ["outcome"],
            registry=r,
        )
        # Every series from the start, at zero: an alert on a rate needs one to exist.
        for scope in ("email", "email_all_addresses", "address"):
            self.logins_throttled.labels(scope)
        for outcome in ("sent", "failed"):
            self.reset_mails.labels(outcome)

    def observe(self, scope: Scope, status: int, seconds: float, method: str) -> None:
        """One answered request (the request envelope calls this, with the time it took)."""
        key = (method, self._route_of(scope), status)
        series = self._series.get(key)
        if series is None:
            _, route, _ = key
            series = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._series[key] = series
        count, latency = series
        count.inc()
        latency.observe(seconds)

    def _route_of(self, scope: Scope) -> str:
        """The matched route's template; for requests refused before routing (413, 415,
        preflight), the template their path fits; else one shared label."""
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        path = scope["path"]
        return next((r.path for r in self._routes() if r.path_regex.fullmatch(path)), "unmatched")

    def set_pool_status(self, pool_status: Callable[[], tuple[int, int]]) -> None:
        self._pool_status = pool_status

    def close(self) -> None:
        """Forget this process's live gauges (multi-worker mode) when it stops."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def render(self) -> bytes:
        if self._pool_status is not None:
            size, checked_out = self._pool_status()
            self.pool_size.set(size)
            self.pool_checked_out.set(checked_out)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
