"""The Markdown report of a run: setup, ceilings, one row per scenario, the targets met or
missed, the 1,000-connection run; at the large scale, small against large p95."""

from __future__ import annotations

from typing import Any


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _statuses(statuses: dict[Any, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in statuses.items()) or "–"


def _setup(results: dict[str, Any]) -> str:
    meta, config = results["meta"], results["config"]
    rows = [[key, f"`{value}`"] for key, value in {**meta, **config}.items()]
    return "## Setup\n\n" + _table(["", ""], rows)


def _ceilings(ceilings: dict[str, Any]) -> str:
    fw, db, bc = ceilings["framework"], ceilings["database"], ceilings["bcrypt"]
    rows = [
        ["framework", f"{fw['rps']:,.0f} req/s",
         f"bench/ceiling_app.py (FastAPI, one constant task, no auth, no DB) under uvicorn, "
         f"same workers; wrk {fw['connections']} connections; p50 {fw['latency_ms']['p50']} ms, "
         f"p99 {fw['latency_ms']['p99']} ms, {fw['errors']['total']} errors"],
        ["database", f"{db['tps']:,.0f} tx/s",
         f"`{db['command']}` (select-only, scale 1, simple protocol); "
         f"latency avg {db['latency_avg_ms']} ms, {db['failed']} failed"],
        ["bcrypt", f"{bc['per_second']:.2f} verifications/s",
         f"bench/bcrypt_ceiling.py: cost {bc['rounds']}, {bc['processes']} processes, "
         f"{bc['verifications']} checks in {bc['seconds']} s"],
    ]  # fmt: skip
    return "## Ceilings (same machine, same run)\n\n" + _table(["ceiling", "value", "how"], rows)


def _rate(s: dict[str, Any]) -> str:
    """wrk's requests/s; where requests take long (bcrypt), the steady rate beside it;
    with several runs, every run's rate after the median one's."""
    runs = " / ".join(f"{r:,.0f}" for r in s.get("runs", [])) if len(s.get("runs", [])) > 1 else ""
    runs = f" (runs {runs})" if runs else ""
    if s["latency_ms"]["p50"] < 500:
        return f"{s['rps']:,.1f}{runs}"
    return f"{s['rps']:,.2f} (steady {s['steady_rps']:,.2f}){runs}"


def _scenario_row(s: dict[str, Any], ceilings: dict[str, Any] | None) -> list[str]:
    lat, err, rss = s["latency_ms"], s["errors"], s["rss"]
    shares = ["", ""]
    if ceilings:
        shares = [f"{100 * s['rps'] / ceilings['framework']['rps']:.1f}%",
                  f"{100 * s['rps'] / ceilings['database']['tps']:.1f}%"]  # fmt: skip
    return [
        f"{s['name']}", s["title"], str(s["connections"]), _rate(s), *shares,
        f"{lat['p50']:.1f}", f"{lat['p95']:.1f}", f"{lat['p99']:.1f}", f"{lat['max']:.0f}",
        f"{err['non_2xx']:,} / {err['socket']:,}", _statuses(s["statuses"]),
        f"{rss['peak_total_mb']:.0f}", f"{rss['peak_worker_mb']:.0f}",
        " + ".join(map(str, s["cpu"]["workers_percent"])), _cpu_per_request(s),
        str(s["cpu"].get("database_percent", "")), f"{s['cpu']['machine_percent']}",
    ]  # fmt: skip


def _cpu_per_request(s: dict[str, Any]) -> str:
    """The workers' CPU per answered request: what the service itself costs."""
    cores = sum(s["cpu"]["workers_percent"]) / 100
    return f"{1e6 * cores / s['rps']:,.0f}" if s["rps"] else ""


def _scenarios(scenarios: list[dict[str, Any]], ceilings: dict[str, Any] | None) -> str:
    header = [
        "scenario", "what", "conns", "req/s", "of framework", "of database", "p50 ms",
        "p95 ms", "p99 ms", "max ms", "non-2xx / socket errors", "statuses",
        "peak RSS all workers MB", "peak RSS per worker MB", "CPU % per worker",
        "workers' CPU µs per request", "PostgreSQL CPU %", "machine CPU %",
    ]  # fmt: skip
    rows = [_scenario_row(s, ceilings) for s in scenarios]
    return _table(header, rows)


def _targets(rows: list[dict[str, Any]]) -> str:
    met = sum(r["met"] for r in rows)
    table = _table(
        ["target", "measured", "verdict", "gap"],
        [[r["target"], r["measured"], "met" if r["met"] else "**missed**", r["gap"]] for r in rows],
    )
    return f"## Targets: {met} of {len(rows)} met\n\n{table}"


def _burst(burst: dict[str, Any]) -> str:
    lat, err = burst["latency_ms"], burst["errors"]
    return (
        f"## {burst['connections']:,} connections, get one, {burst['seconds']:.0f} s "
        f"(wrk timeout {burst['timeout_s']} s)\n\n"
        f"- statuses: {_statuses(burst['statuses'])}\n"
        f"- socket errors: {_statuses(err['socket_detail'])}\n"
        f"- {burst['rps']:,.0f} req/s; latency p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms,"
        f" p99 {lat['p99']:.0f} ms, max {lat['max']:.0f} ms\n"
        f"- peak RSS per worker {burst['rss']['peak_worker_mb']:.0f} MB\n"
        "- wrk does not count requests still in flight when the run ends."
    )


def _profile(profile: dict[str, Any]) -> str:
    return (
        f"## Profile of one worker during {profile['scenario']} (py-spy, `{profile['file']}`)\n\n"
        f"Workers' CPU per request: {profile['cpu_ms_per_request']:.2f} ms (py-spy running).\n\n"
        + str(profile["table"])
        + "\n\nPer function (the 40 with the most self time; inclusive: anywhere in the stack):"
        "\n\n" + str(profile.get("functions", ""))
    )


def _streams(streams: dict[str, Any]) -> str:
    parts = ["## Live updates (GET /events)"]
    if hold := streams.get("hold"):
        connections = " + ".join(map(str, hold["connections_per_worker"]))
        cpu = " + ".join(map(str, hold["workers_cpu_percent_holding"]))
        parts.append(
            f"### {hold['streams']:,} open streams on one instance ({hold['users']:,} users "
            f"× {hold['per_user']})\n\n"
            + _table(
                ["", ""],
                [
                    ["opened", f"{hold['opened']:,} in {hold['open_seconds']} s "
                     f"(statuses {_statuses(hold['statuses'])})"],
                    ["connections per worker (streams and pool)", connections],
                    ["workers' RSS before (after a warm-up of 100 streams, closed)",
                     f"{hold['rss_before_mb']} MB"],
                    ["with every stream open and idle",
                     f"{hold['rss_idle_mb']} MB: **{hold['kb_per_stream_idle']} KB per stream**"],
                    ["after one write per user (every stream woken, one event each)",
                     f"{hold['rss_woken_mb']} MB: **{hold['kb_per_stream_woken']} KB per stream** "
                     f"(per worker {' + '.join(map(str, hold['rss_per_worker_mb']))} MB)"],
                    ["streams that received their event", f"{hold['streams_with_event']:,}"],
                    [f"held {hold['hold_seconds']} s more", f"{hold['still_open_after_hold']:,} "
                     f"still open; workers' CPU {cpu}%"],
                ],
            )
        )  # fmt: skip
    if lat := streams.get("latency"):
        delay, write = lat["delay_ms"], lat["write_ms"]
        parts.append(
            f"### From a write's response to its event: {lat['streams']:,} streams (one per "
            f"user) on {lat['instances']} instances, {lat['rate_wanted']:g} writes/s over them"
            "\n\n"
            + _table(
                ["", ""],
                [
                    ["streams opened", f"{lat['opened']:,} in {lat['open_seconds']} s; "
                     f"{lat['still_open_at_end']:,} open at the end"],
                    ["writes (PATCH, open loop)", f"{lat['writes']:,} at {lat['write_rate']}/s, "
                     f"{lat['writes_failed']} failed; response p50 {write['p50']} ms, "
                     f"p99 {write['p99']} ms"],
                    ["**response to event**", f"**p50 {delay['p50']} ms, p99 {delay['p99']} ms**"
                     f" (p90 {delay['p90']}, p95 {delay['p95']}, p99.9 {delay['p99.9']}, "
                     f"max {delay['max']})"],
                    ["events before the write's response", f"{lat['events_before_response']:,}"
                     " (counted as negative delays)"],
                    ["events missed", f"{lat['events_missed']:,}"],
                    ["PostgreSQL / machine CPU", f"{lat['database_cpu_percent']}% / "
                     f"{lat['machine_cpu_percent']}%"],
                ],
            )
        )  # fmt: skip
    return "\n\n".join(parts)


def render_small(results: dict[str, Any]) -> str:
    parts = [
        f"# Benchmark, scale {results['scale']} ({results['meta']['date']})",
        _setup(results),
        _ceilings(results["ceilings"]),
        "## Scenarios\n\n" + _scenarios(results["scenarios"], results["ceilings"]),
        _targets(results["targets"]),
    ]
    if "burst" in results:
        parts.append(_burst(results["burst"]))
    if results.get("streams"):
        parts.append(_streams(results["streams"]))
    parts.extend(_profile(profile) for profile in results.get("profiles", []))
    parts.append("## Notes\n\n" + "\n".join(f"- {note}" for note in results["notes"]))
    return "\n\n".join(parts) + "\n"


def _comparison(small: list[dict[str, Any]], large: list[dict[str, Any]]) -> str:
    by_name = {s["name"]: s for s in small}
    rows = []
    for big in large:
        base = by_name.get(big["name"])
        if base is None:
            continue
        p95, p95_big = base["latency_ms"]["p95"], big["latency_ms"]["p95"]
        rows.append([
            big["name"], big["title"], f"{base['rps']:,.0f}", f"{big['rps']:,.0f}",
            f"{p95:.1f}", f"{p95_big:.1f}", f"{p95_big / p95:.1f} ×" if p95 else "–",
            f"{base['errors']['total']:,} / {big['errors']['total']:,}",
        ])  # fmt: skip
    header = ["scenario", "what", "small req/s", "1m req/s", "small p95 ms", "1m p95 ms",
              "p95 1m / small", "errors small / 1m"]  # fmt: skip
    return "## Small against large: p95\n\n" + _table(header, rows)


def render_large(results: dict[str, Any]) -> str:
    parts = [
        f"# Benchmark, scale {results['scale']} ({results['meta']['date']})",
        _setup(results),
        _comparison(results["small"], results["large"]),
        "## Small scale (users in turn)\n\n" + _scenarios(results["small"], None),
        "## Large scale (reads: the big user; writes: 100 users in turn)\n\n"
        + _scenarios(results["large"], None),
        _targets(results.get("targets", [])),
        "## Notes\n\n" + "\n".join(f"- {note}" for note in results["notes"]),
    ]
    return "\n\n".join(parts) + "\n"
