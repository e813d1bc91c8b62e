"""The committed openapi.json is the contract clients generate code from: any change to
the app's schema must show up in review as a change to that file (`make openapi`)."""

from __future__ import annotations

import difflib
from pathlib import Path

from todo_api.app import openapi_document

COMMITTED = Path(__file__).parents[2] / "openapi.json"


def test_the_app_schema_matches_the_committed_openapi_json():
    current = openapi_document()
    committed = COMMITTED.read_text()
    if current != committed:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile="openapi.json (committed)",
            tofile="openapi.json (from the app)",
        )
        raise AssertionError(
            "The API schema changed; review the diff and run `make openapi`:\n" + "".join(diff)
        )
