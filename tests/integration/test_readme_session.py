"""The README's curl session, run as a reader would paste it, against `todo-api serve`:
every call must answer 2xx unless the text beside it announces its status (a comment on the
same line or in the comment lines just above names the code)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import served_for_tests

README = Path(__file__).parents[2] / "README.md"
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


def session_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A first session with curl") :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "no sh block in the README's curl section"
    return match.group(1)


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


def test_every_call_answers_as_the_readme_says(database_url: str, tmp_path: Path):
    block = session_block()
    assert BASE_LINE in block
    calls = announced_statuses(block)
    assert len(calls) >= 15, calls
    bash, curl = shutil.which("bash"), shutil.which("curl")
    if not (bash and curl):
        pytest.fail("bash and curl are needed to run the README's session")
    log = tmp_path / "statuses"
    with served_for_tests(database_url, tmp_path) as service:
        script = "set -euo pipefail\n" + RECORDER + block.replace(BASE_LINE, f"B={service.base}")
        result = subprocess.run(
            [bash, "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            env={"PATH": "/usr/bin:/bin", "STATUS_LOG": str(log)},
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    statuses = log.read_text().split()
    assert len(statuses) == len(calls), (statuses, calls, output)
    unannounced = [
        (number, status, sorted(announced))
        for number, (status, announced) in enumerate(zip(statuses, calls, strict=True), 1)
        if not status.startswith("2") and int(status) not in announced
    ]
    assert not unannounced, f"calls (nth, status, announced) not explained: {unannounced}"
    assert "404" in statuses, statuses  # the calls that should fail did fail
    assert "412" in statuses, statuses
    # `echo "$ETAG"` shows the value as captured: in its quotes.
    assert re.search(r'[^-]"[0-9a-f]{32}-1"$', output, re.MULTILINE), output
