"""Property-based testing of the whole API from its own OpenAPI document: schemathesis
generates valid and invalid requests for every operation, signed in, alone and in
sequences that follow the document's links, and runs every check: no answer is a 500, every
answer (status, content type, headers, body) is one the document promises, valid data is
accepted and invalid data refused. Settings and the contract's own statuses are in
schemathesis.toml. It talks HTTP to the real server process, as a client would."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.processes import served_for_tests

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "60"))
CONFIG = Path(__file__).parents[2] / "schemathesis.toml"


@pytest.fixture(scope="session")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("schemathesis")
    with served_for_tests(database_url, directory) as service:
        yield service.base


# The calls that end the caller's own login: since an ended login's access token can no
# longer manage the account nor write (issue 23), running them with the run's one token
# would turn every later account call and write into a 401, and leave them untested. They
# run last, on their own, with a token of their own.
SELF_ENDING = ("logoutAll", "endSession")
# GET /events answers 200 with a stream that stays open until the token expires: every
# valid request would end in the run's request timeout, not in an answer to check. Its
# statuses and its wire format are tested over HTTP in test_events_api.py and beside it.
NEVER_ENDING = ("streamEvents",)


def _token(live_server: str) -> str:
    registered = httpx.post(
        f"{live_server}/auth/register",
        json={"email": f"{uuid.uuid4().hex}@example.com", "password": "long enough"},
    )
    assert registered.status_code == 201, registered.text
    token: str = registered.json()["access_token"]
    return token


def _schemathesis(live_server: str, tmp_path: Path, *selection: str) -> str:
    """The run's output, once it passed with the document whole."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            # Every check, valid and invalid data, every phase; the statuses the contract
            # adds to schemathesis' defaults, each with its reason, are listed there.
            f"--config-file={CONFIG}",
            "run",
            f"{live_server}/openapi.json",
            *selection,
            f"--max-examples={EXAMPLES}",
            f"--seed={os.environ.get('SCHEMATHESIS_SEED', '20261124')}",
            # One worker: with two threads, CPython 3.11 intermittently failed compiling the
            # tool's patterns ("AST constructor recursion depth mismatch").
            "--workers=1",
            f"--header=Authorization: Bearer {_token(live_server)}",
            "--request-timeout=10",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
    assert f"Configuration:    {CONFIG}" in output, "the repository's config was not used"
    # The document is whole: schemathesis resolved every reference and can read every answer.
    # As strict as the API: no operation refuses everything the document calls valid
    # (schemathesis.toml says why three are left out of that check).
    assert "schema validation mismatch" not in output.lower(), output[-20_000:]
    for warning in ("unresolvable", "missing deserializer", "could not resolve"):
        assert warning not in output.lower(), output[-20_000:]
    return output


def test_every_operation_keeps_its_documented_promises(live_server: str, tmp_path: Path):
    excluded = [f"--exclude-operation-id={name}" for name in (*SELF_ENDING, *NEVER_ENDING)]
    output = _schemathesis(live_server, tmp_path, *excluded)
    # The token lived through the run: no operation was left with nothing but 401s.
    assert "Authentication failed" not in output, output[-20_000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in output, f"the {phase} phase did not run and pass:\n{output}"
    included = [f"--include-operation-id={name}" for name in SELF_ENDING]
    # No links lead from these two to each other: no stateful phase.
    phases = "--phases=examples,coverage,fuzzing"
    output = _schemathesis(live_server, tmp_path, *included, phases)
    assert "Operations:       2 selected" in output, output[-20_000:]
