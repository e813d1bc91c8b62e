"""The layer rules of `make lint` (import-linter, pyproject.toml) catch what they promise:
each case copies the source tree, adds one forbidden import, and expects lint-imports to
fail naming it; the tree as it is passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "__init__.py").touch()
    shutil.copy(ROOT / "tests" / "import_rules.py", tmp_path / "tests")
    return tmp_path


def test_the_tree_keeps_every_rule(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("todo_api/routers/deps.py", "import asyncpg", "Only the SQL adapter talks to asyncpg"),
        ("todo_api/http/new_rule.py", "import asyncpg", "Only the SQL adapter talks to asyncpg"),
        ("todo_core/domain.py", "import todo_adapters.clock", "The core imports nothing"),
        ("todo_core/new_use_case.py", "import pydantic", "The core imports nothing"),
        ("todo_core/task_service.py", "import todo_api.settings", "The core imports nothing"),
        (
            "todo_api/routers/tasks/routes.py",
            "from todo_adapters.sql import uow",
            "Only the composition roots",
        ),
        ("todo_adapters/clock.py", "import fastapi", "Adapters never import the HTTP layer"),
    ],
)
def test_a_forbidden_import_breaks_make_lint(
    tree: Path, module: str, line: str, broken: str
) -> None:
    path = tree / "src" / module
    path.write_text(f"{path.read_text() if path.exists() else ''}\n{line}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    verdicts = [line for line in result.stdout.splitlines() if line.startswith(broken)]
    assert verdicts, result.stdout
    assert any(v.endswith(" BROKEN") for v in verdicts), verdicts
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in result.stdout, result.stdout
