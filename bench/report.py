"""The issue's targets checked against a run's results, and the run written out as JSON and
as a Markdown report (bench/results/latest*.{json,md} plus a timestamped copy of each)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TASK_SCENARIOS = ("list", "get", "create", "update", "delete", "mix")
SHARE_OF_CEILING = {"get": 25, "list": 12, "create": 15, "update": 15, "delete": 15, "mix": 15}
P95_LIMIT_MS = {"list": 100.0}  # every other task scenario: 50 ms
LOGIN_SHARE_OF_BCRYPT = 85
RSS_LIMIT_MB = 150
READS_BESIDE_LOGINS_P95_MS = 100.0
DEFAULTS_P95_MS = 200.0  # SC-002
# Issue 21's live updates and change feed.
KB_PER_STREAM = 50.0
EVENT_DELAY_P99_MS = 200.0
FEED_P95_MS = 50.0
FEED_SCENARIOS = ("changes", "changes-full")
# Issue 20's: p95 < 100 ms at 100 connections (make bench), at 1M within 1.5 times the
# small scale's.
PLANNING_SCENARIOS = ("search-1", "search-2", "list-label", "list-due", "move")
PLANNING_P95_MS = 100.0
PLANNING_SCALE_RATIO = 1.5

Row = dict[str, Any]


def _target(target: str, measured: str, met: bool, gap: str = "") -> Row:
    return {"target": target, "measured": measured, "met": met, "gap": "" if met else gap}


def _by_name(results: dict[str, Any]) -> dict[str, Row]:
    return {s["name"]: s for s in results.get("scenarios", [])}


def _share_targets(results: dict[str, Any]) -> list[Row]:
    ceiling = results["ceilings"]["framework"]["rps"]
    rows = []
    for name, scenario in _by_name(results).items():
        if name not in SHARE_OF_CEILING:
            continue
        want, rps = SHARE_OF_CEILING[name], scenario["rps"]
        share, needed = 100 * rps / ceiling, ceiling * want / 100
        rows.append(_target(
            f"{name} ≥ {want}% of the framework ceiling",
            f"{share:.1f}% ({rps:,.0f} of {ceiling:,.0f} req/s)",
            share >= want,
            f"{share - want:+.1f} points: needs ≥ {needed:,.0f} req/s ({needed - rps:+,.0f})",
        ))  # fmt: skip
    return rows


def _latency_targets(results: dict[str, Any]) -> list[Row]:
    rows = []
    for name, s in _by_name(results).items():
        if name not in TASK_SCENARIOS:
            continue
        lat, limit = s["latency_ms"], P95_LIMIT_MS.get(name, 50.0)
        rows.append(_target(
            f"{name}: p95 < {limit:g} ms", f"{lat['p95']:.1f} ms", lat["p95"] < limit,
            f"{lat['p95'] - limit:+.1f} ms over",
        ))  # fmt: skip
        ratio = lat["p99"] / lat["p50"] if lat["p50"] else float("inf")
        rows.append(_target(
            f"{name}: p99 < 3 × p50",
            f"p99 {lat['p99']:.1f} ms = {ratio:.1f} × p50 {lat['p50']:.1f} ms", ratio < 3,
            f"p99 is {lat['p99'] - 3 * lat['p50']:+.1f} ms over 3 × p50",
        ))  # fmt: skip
    return rows


def _error_targets(results: dict[str, Any]) -> list[Row]:
    rows = []
    for name, s in _by_name(results).items():
        e = s["errors"]
        measured = f"{e['total']:,} ({e['non_2xx']:,} non-2xx, {e['socket']:,} socket)"
        rows.append(_target(f"{name}: 0 errors", measured, e["total"] == 0, f"{e['total']:,}"))
    return rows


def _login_target(results: dict[str, Any]) -> list[Row]:
    login = _by_name(results).get("login")
    if login is None:
        return []
    raw, rate = results["ceilings"]["bcrypt"]["per_second"], login["steady_rps"]
    share = 100 * rate / raw
    return [_target(
        f"login ≥ {LOGIN_SHARE_OF_BCRYPT}% of raw bcrypt verifications/s",
        f"{share:.0f}% ({rate:.2f} logins/s steady of {raw:.2f}/s)",
        share >= LOGIN_SHARE_OF_BCRYPT,
        f"{share - LOGIN_SHARE_OF_BCRYPT:+.0f} points",
    )]  # fmt: skip


def _reads_beside_logins_target(results: dict[str, Any]) -> list[Row]:
    both = _by_name(results).get("login+get")
    if both is None or "beside" not in both:
        return []
    reads, limit = both["beside"], READS_BESIDE_LOGINS_P95_MS
    p95, errors = reads["latency_ms"]["p95"], reads["errors"]["total"]
    return [_target(
        f"get one beside the logins ({reads['connections']} connections): p95 < {limit:g} ms",
        f"{p95:.1f} ms ({reads['rps']:,.0f} req/s, {errors:,} errors)",
        p95 < limit and errors == 0,
        f"{p95 - limit:+.1f} ms over" if p95 >= limit else f"{errors} errors",
    )]  # fmt: skip


def _rss_target(results: dict[str, Any]) -> list[Row]:
    runs = [*results.get("scenarios", []), *([results["burst"]] if "burst" in results else [])]
    if not runs:
        return []
    peak = max(s["rss"]["peak_worker_mb"] for s in runs)
    return [_target(
        f"peak RSS per worker < {RSS_LIMIT_MB} MB", f"{peak:.0f} MB", peak < RSS_LIMIT_MB,
        f"{peak - RSS_LIMIT_MB:+.0f} MB",
    )]  # fmt: skip


def _burst_target(results: dict[str, Any]) -> list[Row]:
    burst = results.get("burst")
    if burst is None:
        return []
    unanswered = burst["errors"]["socket"]
    other = {k: v for k, v in burst["statuses"].items() if k not in (200, 503)}
    return [_target(
        f"{burst['connections']:,} connections (get one): every request answered, 200 or 503",
        _statuses(burst["statuses"]) + f"; {unanswered:,} socket errors/timeouts",
        unanswered == 0 and not other,
        f"{unanswered:,} unanswered, other statuses {other or 'none'}",
    )]  # fmt: skip


def evaluate(results: dict[str, Any]) -> list[Row]:
    checks: list[Callable[[dict[str, Any]], list[Row]]] = [
        _share_targets, _latency_targets, _error_targets, _login_target,
        _reads_beside_logins_target, _rss_target,
        _burst_target, _defaults_target, stream_targets, _feed_targets, _planning_targets,
    ]  # fmt: skip
    return [row for check in checks for row in check(results)]


def _p95_targets(results: dict[str, Any], names: tuple[str, ...], limit: float) -> list[Row]:
    rows = []
    for name, s in _by_name(results).items():
        if name in names:
            p95 = s["latency_ms"]["p95"]
            rows.append(_target(
                f"{name}: p95 < {limit:g} ms", f"{p95:.1f} ms ({s['rps']:,.0f} req/s)",
                p95 < limit, f"{p95 - limit:+.1f} ms over",
            ))  # fmt: skip
    return rows


def _feed_targets(results: dict[str, Any]) -> list[Row]:
    return _p95_targets(results, FEED_SCENARIOS, FEED_P95_MS)


def _planning_targets(results: dict[str, Any]) -> list[Row]:
    return _p95_targets(results, PLANNING_SCENARIOS, PLANNING_P95_MS)


def _scale_ratio_targets(results: dict[str, Any]) -> list[Row]:
    small = _by_name({"scenarios": results.get("small", [])})
    rows = []
    for name, big in _by_name({"scenarios": results.get("large", [])}).items():
        if name in PLANNING_SCENARIOS and name in small:
            p95, p95_big = small[name]["latency_ms"]["p95"], big["latency_ms"]["p95"]
            ratio = p95_big / p95 if p95 else float("inf")
            rows.append(_target(
                f"{name}: p95 at 1M within {PLANNING_SCALE_RATIO:g} × of the small scale's",
                f"{p95_big:.1f} / {p95:.1f} ms = {ratio:.2f} ×", ratio <= PLANNING_SCALE_RATIO,
                f"{ratio - PLANNING_SCALE_RATIO:+.2f} × over",
            ))  # fmt: skip
    return rows


def large_targets(results: dict[str, Any]) -> list[Row]:
    """At the large scale: the feed's pages as the big user, 10,000 changes after the token;
    issue 20's calls against the same at the small scale (their p95 < 100 ms is checked by
    `make bench`, the scale the ratio is taken from)."""
    large = {"scenarios": results.get("large", [])}
    return [*_feed_targets(large), *_scale_ratio_targets(results)]


def stream_targets(results: dict[str, Any]) -> list[Row]:
    rows = []
    streams = results.get("streams", {})
    if hold := streams.get("hold"):
        kb, n = hold["kb_per_stream_woken"], hold["streams"]
        rows.append(_target(
            f"{n:,} open streams on one instance, all held",
            f"{hold['opened']:,} opened, {hold['streams_with_event']:,} got their event, "
            f"{hold['still_open_after_hold']:,} still open after {hold['hold_seconds']} s",
            hold["opened"] == n == hold["still_open_after_hold"] == hold["streams_with_event"],
            f"{n - min(hold['opened'], hold['still_open_after_hold']):,} not held",
        ))  # fmt: skip
        rows.append(_target(
            f"memory per stream < {KB_PER_STREAM:g} KB (workers' RSS)",
            f"{kb:.1f} KB ({hold['rss_before_mb']} -> {hold['rss_woken_mb']} MB for {n:,})",
            kb < KB_PER_STREAM, f"{kb - KB_PER_STREAM:+.1f} KB",
        ))  # fmt: skip
    if lat := streams.get("latency"):
        p99 = lat["delay_ms"]["p99"]
        # At a rate the writer did not reach, the figure says nothing of the target's.
        rate_held = lat["write_rate"] >= 0.95 * lat["rate_wanted"]
        rows.append(_target(
            f"write's response to its event, {lat['instances']} instances, "
            f"{lat['rate_wanted']:g} writes/s: p99 < {EVENT_DELAY_P99_MS:g} ms",
            f"p50 {lat['delay_ms']['p50']} ms, p99 {p99} ms ({lat['write_rate']} writes/s)",
            p99 < EVENT_DELAY_P99_MS and rate_held,
            f"{p99 - EVENT_DELAY_P99_MS:+.1f} ms over" if rate_held else "rate not reached",
        ))  # fmt: skip
        rows.append(_target(
            "every write's event arrives", f"{lat['events_missed']:,} of {lat['writes']:,} missed",
            lat["events_missed"] == 0, f"{lat['events_missed']:,} missed",
        ))  # fmt: skip
    return rows


def _defaults_target(results: dict[str, Any]) -> list[Row]:
    defaults = _by_name(results).get("defaults")
    if defaults is None:
        return []
    p95, limit = defaults["latency_ms"]["p95"], DEFAULTS_P95_MS
    return [_target(
        f"make run's defaults, {defaults['connections']} clients creating and listing "
        f"(SC-002): p95 < {limit:g} ms",
        f"{p95:.1f} ms ({defaults['rps']:,.0f} req/s)", p95 < limit, f"{p95 - limit:+.1f} ms over",
    )]  # fmt: skip


def _statuses(statuses: dict[int, int]) -> str:
    return ", ".join(f"{status}: {count:,}" for status, count in statuses.items()) or "none"


def write(results: dict[str, Any], markdown: str, latest: bool = True) -> list[Path]:
    """A timestamped .json and .md (git-ignored) and, for a full run, latest[-<scale>]."""
    RESULTS_DIR.mkdir(exist_ok=True)
    suffix = "" if results["scale"] == "small" else f"-{results['scale']}"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    body = json.dumps(results, indent=2, default=str) + "\n"
    stems = [f"{stamp}-{results['scale']}"] + ([f"latest{suffix}"] if latest else [])
    written = []
    for stem in stems:
        (RESULTS_DIR / f"{stem}.json").write_text(body)
        (RESULTS_DIR / f"{stem}.md").write_text(markdown)
        written += [RESULTS_DIR / f"{stem}.json", RESULTS_DIR / f"{stem}.md"]
    return written
