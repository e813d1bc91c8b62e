"""The README's first screen tells a newcomer what to type and what to open; every
relative link in it and in docs/ leads somewhere (issue 22)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

REPOSITORY = Path(__file__).parents[2]
README = REPOSITORY / "README.md"
PAGES = [README, *sorted((REPOSITORY / "docs").glob("*.md"))]


def _rendered_text(markdown: str) -> str:
    html = MarkdownIt("commonmark").render(markdown)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_first_screen_has_the_two_commands_and_the_urls():
    first_screen = _rendered_text("\n".join(README.read_text().splitlines()[:60]))
    assert "make run" in first_screen
    assert "make test" in first_screen
    for url in ("/", "/docs", "/redoc", "/health/ready"):
        assert re.search(rf"http://127\.0\.0\.1:8000{re.escape(url)}(\s|$)", first_screen), url


def test_the_readme_starts_short_and_lists_the_long_pages():
    text = README.read_text()
    assert len(text.splitlines()) <= 100
    for page in (
        "curl-session",
        "api",
        "configuration",
        "deployment",
        "testing",
        "benchmarks",
        "troubleshooting",
    ):
        assert f"(docs/{page}.md" in text, page


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"(https?:|mailto:)", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: {target}"
