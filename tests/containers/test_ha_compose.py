"""deploy/ha/compose.yaml, the high-availability profile, checked without a Docker engine:
the Compose specification's schema, the start order (monitor, then the nodes, then the
API), and the API's URL naming both nodes so that it follows a failover."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.containers.test_compose import REPOSITORY, check_compose
from todo_adapters.sql.database_url import parse_database_url

HA_COMPOSE = REPOSITORY / "deploy" / "ha" / "compose.yaml"
HA = yaml.safe_load(HA_COMPOSE.read_text())["services"]


def test_the_ha_file_follows_the_compose_specification() -> None:
    result = check_compose(HA_COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_formation_starts_in_order_and_only_with_the_profile() -> None:
    for name in ("ha-monitor", "ha-node1", "ha-node2"):
        assert HA[name]["profiles"] == ["ha"], name
        assert HA[name]["restart"] == "unless-stopped", name
        assert HA[name]["healthcheck"]["test"], name
        assert (REPOSITORY / HA[name]["build"] / "Dockerfile").exists(), name
    assert HA["ha-node1"]["depends_on"]["ha-monitor"]["condition"] == "service_healthy"
    assert HA["ha-node2"]["depends_on"]["ha-node1"]["condition"] == "service_healthy"
    # Without the profile the API must still start on the main file's PostgreSQL.
    assert all(d["required"] is False for d in HA["api"]["depends_on"].values())


def test_the_api_url_names_both_nodes_and_asks_for_the_primary() -> None:
    default = HA["api"]["environment"]["DATABASE_URL"].removeprefix("${DATABASE_URL:-")
    target = parse_database_url(default.removesuffix("}"))
    assert target.host == "ha-node1:5432,ha-node2:5432"
    assert target.url.query["target_session_attrs"] == "read-write"


def test_each_node_joins_the_monitor_and_lets_the_api_in() -> None:
    for name in ("ha-node1", "ha-node2"):
        command = HA[name]["command"]
        assert "--monitor postgres://autoctl_node@ha-monitor:5432/pg_auto_failover" in command
        # Without --pg-hba-lan the API's container could not connect to the node.
        assert "--pg-hba-lan" in command
        assert Path(HA[name]["build"]) == Path("deploy/ha")
