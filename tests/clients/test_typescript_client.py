"""A TypeScript client as a frontend team would make it: openapi-typescript types from
openapi.json, calls through openapi-fetch, the flow type-checked by `tsc --noEmit --strict`
and run by Node against the real service (register, JSON login, me, create, list, get,
patch with If-Match and a stale one, another user's 403 as a problem, delete, 404, refresh).
`make test` installs the pinned npm packages into .node/ (tests/clients/typescript/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import OPENAPI, REPOSITORY
from tests.integration.processes import Service

SOURCES = Path(__file__).with_name("typescript")
NODE_MODULES = REPOSITORY / ".node" / "node_modules"
TOOLS = NODE_MODULES / ".bin"


def _run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    said = result.stdout + result.stderr
    assert result.returncode == 0, f"{command[0]} failed:\n{said}"
    return said


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flow beside types generated from openapi.json, with no warning."""
    node = shutil.which("node")
    if node is None or not (TOOLS / "tsc").exists():
        pytest.fail(
            "Node and the npm packages are needed: `make test` installs the packages into "
            ".node/ (npm ci); Node is Debian's nodejs package (.ci/run installs it)"
        )
    work = tmp_path_factory.mktemp("typescript-client")
    (work / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    for name in ("flow.mts", "tsconfig.json"):
        shutil.copy(SOURCES / name, work / name)
    # Without --default-non-nullable false, a request property with a default (a new task's
    # is_completed) would be typed as required, and every create would have to send it.
    said = _run(
        TOOLS / "openapi-typescript",
        OPENAPI,
        "--default-non-nullable",
        "false",
        "--output",
        "schema.d.ts",
        cwd=work,
    )
    assert "🚀" in said, said
    assert not [line for line in said.lower().splitlines() if "warn" in line or "⚠" in line], said
    return work


def test_the_flow_type_checks_strictly(workdir: Path):
    _run(TOOLS / "tsc", "--noEmit", "--strict", "-p", "tsconfig.json", cwd=workdir)


def test_a_whole_session_through_openapi_fetch(workdir: Path, service: Service):
    _run(TOOLS / "tsc", "-p", "tsconfig.json", cwd=workdir)
    said = _run(shutil.which("node") or "node", "out/flow.mjs", service.base, cwd=workdir)
    assert "typescript client flow: ok" in said, said
