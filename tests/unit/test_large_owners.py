"""Which users' filtered pages are planned for them: those whose last page said they have
at least LARGE_OWNER_TASKS tasks, of the most recent `capacity` users listed."""

from __future__ import annotations

import uuid

from todo_adapters.sql.large_owners import LARGE_OWNER_TASKS, WALKED_TASKS, LargeOwners


def test_a_user_is_large_from_the_threshold_until_a_page_says_otherwise():
    owners, user = LargeOwners(), uuid.uuid4()
    owners.saw(user, LARGE_OWNER_TASKS - 1)
    assert user not in owners
    owners.saw(user, LARGE_OWNER_TASKS)
    assert user in owners
    owners.saw(user, 0)
    assert user not in owners


def test_small_users_are_known_too():
    owners, small, unseen = LargeOwners(), uuid.uuid4(), uuid.uuid4()
    owners.saw(small, 0)
    assert owners.knows(small)
    assert small not in owners
    assert not owners.knows(unseen)
    assert unseen not in owners


def test_the_least_recently_listed_user_goes_first_when_full():
    owners = LargeOwners(capacity=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    for user in (first, second):
        owners.saw(user, LARGE_OWNER_TASKS)
    owners.saw(first, LARGE_OWNER_TASKS)  # listed again: now the most recent
    owners.saw(third, 0)
    assert (first in owners, second in owners) == (True, False)
    assert (owners.knows(first), owners.knows(second), owners.knows(third)) == (True, False, True)


def test_a_page_is_walked_where_the_matches_put_it_within_the_walk():
    owners, user, small = LargeOwners(), uuid.uuid4(), uuid.uuid4()
    owners.saw(user, 100_000)
    # 51 rows of a filter matching a tenth: about 510 tasks in; a fifth: about 255.
    assert not owners.walks(user, matched=10_000, rows=51)
    assert owners.walks(user, matched=20_000, rows=51)
    assert owners.walks(user, matched=100_000, rows=WALKED_TASKS)
    assert not owners.walks(user, matched=100_000, rows=WALKED_TASKS + 1)
    assert not owners.walks(user, matched=0, rows=1)
    # Not known large: never walked.
    owners.saw(small, LARGE_OWNER_TASKS - 1)
    assert not owners.walks(small, matched=LARGE_OWNER_TASKS - 1, rows=1)
