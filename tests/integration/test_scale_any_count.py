"""The compose scale profile's balancer (deploy/haproxy.cfg with deploy/haproxy-dns.cfg)
finds every instance through DNS, however many there are: here a DNS server answering for
one name with N loopback addresses stands in for Docker's, as `--scale api=N` would
answer, and N real instances listen on them."""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.integration.dns_stub import dns_server
from tests.integration.processes import TEST_JWT_SECRET, served
from tests.integration.test_scale_out import DEPLOY, haproxy, haproxy_binary
from tests.postgres import free_port

DNS_CONFIG = [DEPLOY / "haproxy.cfg", DEPLOY / "haproxy-dns.cfg"]


def test_both_configurations_are_valid_for_haproxy():
    env = {"HAPROXY_BIND": "127.0.0.1:8080", "API1": "a:1", "API2": "b:1", "API3": "c:1"}
    for second in ("haproxy-servers.cfg", "haproxy-dns.cfg"):
        checked = subprocess.run(
            [haproxy_binary(), "-c", "-f", str(DEPLOY / "haproxy.cfg"), "-f", str(DEPLOY / second)],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Configuration file is valid" in checked.stdout


@pytest.mark.parametrize("count", [1, 4])
def test_the_balancer_spreads_over_every_instance_dns_names(
    direct_database_url: str, tmp_path: Path, count: int
):
    port = free_port()
    hosts = [f"127.0.0.{n}" for n in range(1, count + 1)]
    logs = [tmp_path / f"api-{host}.log" for host in hosts]
    env = {
        "DATABASE_URL": direct_database_url,
        "JWT_SECRET": TEST_JWT_SECRET,
        "WORKERS": "1",
        "LOG_LEVEL": "INFO",
        "DATA_DIR": str(tmp_path),
    }
    with ExitStack() as stack:
        for host, log in zip(hosts, logs, strict=True):
            stack.enter_context(served(env, log, port=port, host=host))
        nameserver = stack.enter_context(dns_server("api.scale.test", hosts))
        balancer = stack.enter_context(
            haproxy(
                [],
                tmp_path,
                DNS_CONFIG,
                DNS_SERVER=nameserver,
                API_INSTANCES=f"api.scale.test:{port}",
            )
        )
        # In rotation once checked twice (rise 2): every address found through DNS.
        deadline = time.monotonic() + 15
        while min(log.read_text().count("path=/health/ready") for log in logs) < 3:
            assert time.monotonic() < deadline, "an instance was never checked"
            time.sleep(0.1)
        for _ in range(4 * count):
            assert httpx.get(f"{balancer}/health/live", timeout=5).status_code == 200
    served_by = [log.read_text().count("path=/health/live") for log in logs]
    assert served_by == [4] * count, served_by
