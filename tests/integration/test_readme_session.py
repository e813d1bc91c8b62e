"""The curl session (docs/curl-session.md, linked from the README) and the README's short
taste, each run as a reader would paste it, against `todo-api serve`: every call must answer
2xx unless the text beside it announces its status (a comment on the same line or in the
comment lines just above names the code)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import served_for_tests

REPOSITORY = Path(__file__).parents[2]
README = REPOSITORY / "README.md"
SESSION = REPOSITORY / "docs" / "curl-session.md"
BASE_LINE = "B=http://127.0.0.1:8000"
# Records each call's status in order, beside what the reader sees; -D writes the response
# headers to a file of its own, whatever else the command asks of curl.
RECORDER = """
curl() {
    local headers status
    headers=$(mktemp)
    command curl -D "$headers" "$@"
    status=$(awk 'NR == 1 {print $2}' "$headers")
    rm -f "$headers"
    echo "${status:-none}" >> "$STATUS_LOG"
}
"""


def first_block(path: Path, heading: str) -> str:
    """The first sh block after `heading`."""
    text = path.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, f"no sh block under {heading!r} in {path.name}"
    return match.group(1)


def session_block() -> str:
    return first_block(SESSION, "# A first session with curl")


def announced_statuses(block: str) -> list[set[int]]:
    """For each curl call, in order, the statuses its comments name."""
    lines = block.replace("\\\n", " ").splitlines()
    calls: list[set[int]] = []
    comments: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped)
            continue
        calls.extend(
            {int(code) for code in re.findall(r"\b([1-5]\d\d)\b", " ".join([*comments, line]))}
            for _ in re.findall(r"(?:^|[\s$(])curl\s", line)
        )
        comments = []
    return calls


def run_block(block: str, service_base: str, tmp_path: Path) -> tuple[list[str], str]:
    """Run the block in bash against the service; the status of each curl call, in order,
    and what the reader would have seen."""
    bash, curl = shutil.which("bash"), shutil.which("curl")
    if not (bash and curl):
        pytest.fail("bash and curl are needed to run the documented sessions")
    log = tmp_path / "statuses"
    script = "set -euo pipefail\n" + RECORDER + block.replace(BASE_LINE, f"B={service_base}")
    result = subprocess.run(
        [bash, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "STATUS_LOG": str(log)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return log.read_text().split(), output


def unannounced(statuses: list[str], calls: list[set[int]]) -> list[tuple[int, str, list[int]]]:
    assert len(statuses) == len(calls), (statuses, calls)
    return [
        (number, status, sorted(announced))
        for number, (status, announced) in enumerate(zip(statuses, calls, strict=True), 1)
        if not status.startswith("2") and int(status) not in announced
    ]


def test_every_call_answers_as_the_session_says(database_url: str, tmp_path: Path):
    block = session_block()
    assert BASE_LINE in block
    calls = announced_statuses(block)
    assert len(calls) >= 15, calls
    with served_for_tests(database_url, tmp_path) as service:
        statuses, output = run_block(block, service.base, tmp_path)
    found = unannounced(statuses, calls)
    assert not found, f"calls (nth, status, announced) not explained: {found}\n{output}"
    assert "404" in statuses, statuses  # the calls that should fail did fail
    assert "412" in statuses, statuses
    # The reset flow's confirm call is there (refused: the token is the placeholder).
    assert "/auth/password-reset/confirm" in block
    assert "400" in statuses
    # `echo "$ETAG"` shows the value as captured: in its quotes.
    assert re.search(r'[^-]"[0-9a-f]{32}-1"$', output, re.MULTILINE), output


def test_the_readme_taste_runs_twice_as_written(database_url: str, tmp_path: Path):
    """Five calls, each succeeding, and it cleans up after itself (so a second run works)."""
    block = first_block(README, "## A taste with curl")
    assert BASE_LINE in block
    calls = announced_statuses(block)
    assert len(calls) == 5, calls
    with served_for_tests(database_url, tmp_path) as service:
        for _ in range(2):
            statuses, output = run_block(block, service.base, tmp_path)
            assert len(statuses) == 5, output
            assert all(status.startswith("2") for status in statuses), (statuses, output)
            (tmp_path / "statuses").unlink()
    assert '"is_completed":true' in output.replace(" ", ""), output
