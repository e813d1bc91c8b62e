"""Migration 0012: the search and label functions move to PL/pgSQL and give exactly what
0007's SQL functions gave (the indexes built on them stay valid), and back on downgrade."""

from __future__ import annotations

import uuid

from tests.integration.test_migration_change_feed import migrated_with_a_user
from tests.integration.test_migration_planning import _execute, _run

_OWNER = uuid.UUID("0b7c2a8e-3f9d-4c41-9a65-2d1e8f7b6c50")
_TEXTS = [
    ("Buy milk", None),
    ("Landingpages für Ärzte", "Ein Entwurf, 2. Fassung; siehe https://example.com/x?y=1"),
    ("", ""),
    ("It's a \\ back\\slash and 'quotes'", "tabs\tand\nnewlines"),
    ("long " + "w" * 2100, "x" * 1999 + " " + "y" * 2000),
]
_QUERIES = ["buy mil", "LAND", "", "   ", "it's \\", "Ärz fü", "a & b | !c <-> d:*"]
_LABELS = [[], ["Home"], ["work", "WORK", "Émile"], ["a b", "it's"]]
_RESULTS = (
    "SELECT (SELECT array_agg(task_search_vector(:owner, t.title, t.description)::text"
    "        ORDER BY t.n) FROM unnest(CAST(:titles AS text[]), CAST(:descriptions AS text[]))"
    "        WITH ORDINALITY AS t(title, description, n)),"
    " (SELECT array_agg(task_search_query(:owner, q)::text ORDER BY n)"
    "        FROM unnest(CAST(:queries AS text[])) WITH ORDINALITY AS x(q, n))"
)
_LANGUAGES = (
    "SELECT p.proname, l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
    " WHERE p.proname IN ('task_search_vector', 'task_search_query', 'task_label_keys')"
    " ORDER BY p.proname"
)


async def _results(url: str) -> list[tuple]:
    texts = await _execute(
        url,
        _RESULTS,
        {
            "owner": _OWNER,
            "titles": [title for title, _ in _TEXTS],
            "descriptions": [description for _, description in _TEXTS],
            "queries": _QUERIES,
        },
    )
    labels = [
        await _execute(
            url, "SELECT task_label_keys(:owner, :labels)", {"owner": _OWNER, "labels": x}
        )
        for x in _LABELS
    ]
    return [*texts, *labels]


async def _languages(url: str) -> set[str]:
    return {language for _, language in await _execute(url, _LANGUAGES)}


async def test_the_functions_answer_as_before_in_plpgsql_and_back(empty_database):
    url = {"DATABASE_URL": empty_database}
    await migrated_with_a_user(empty_database, "0011")
    assert await _languages(empty_database) == {"sql"}
    before = await _results(empty_database)
    assert before[0][0][1] is not None  # the texts gave vectors (checked, not assumed)

    assert "revision 0012" in _run("migrate", "upgrade", "0012", **url).stdout
    assert await _languages(empty_database) == {"plpgsql"}
    assert await _results(empty_database) == before

    assert "revision 0011" in _run("migrate", "downgrade", "0011", "--yes", **url).stdout
    assert await _languages(empty_database) == {"sql"}
    assert await _results(empty_database) == before
