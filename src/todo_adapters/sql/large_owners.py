"""The users whose filtered lists are planned for their own values.

asyncpg keeps each statement prepared, and the engine has PostgreSQL plan it once for
any parameters (engine.py says why), for an average user. For a label or search filter
that plan ANDs the user's btree entries with the GIN matches and sorts every match: for a
user of 100,000 tasks 35-51 ms a page, where a plan made for that user walks the sort index and
stops after the page (16-17 ms, the exact count included). Planning costs 0.3-0.5 ms,
three times what such a page costs a user of 100 tasks, so only large users get it.
Every page of a user carries their counter row's total; a worker that has not seen one of
a user's pages yet reads that total first (one primary-key lookup), so that a large user's
first filtered page is planned for them too. On the average user's plan, a worker's first
search or label page of each of 100 users of 10,000 tasks, listed at once, made most of
PostgreSQL's 453 statements over 20 ms of the run's first 4 s (bench/results/issue20.md).
A page names its user's total anyway, so that read is a worker's first filtered page of
each user only."""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

# Where planning for the user's own values starts to pay: their generic plan sorts about
# half their tasks (0.3 µs each), a custom plan costs 0.3-0.5 ms of planning.
LARGE_OWNER_TASKS = 2_000
# A large user's page that its filter's last count says lies within this many of their
# tasks, in the sort's order, is read by walking them (task_listing.walk_statement, about
# 3 µs a task) instead of planned; the walk stops at twice as many, in case the matches
# lie thicker further on.
WALKED_TASKS = 500


class LargeOwners:
    """How many tasks the most recently listed users have, at most `capacity` of them
    (one process's memory, about 200 bytes each; each worker learns its own); `in`: at
    least LARGE_OWNER_TASKS."""

    def __init__(self, capacity: int = 16_384) -> None:
        self._capacity = capacity
        self._users: OrderedDict[UUID, int] = OrderedDict()

    def __contains__(self, user_id: UUID) -> bool:
        return self._users.get(user_id, 0) >= LARGE_OWNER_TASKS

    def knows(self, user_id: UUID) -> bool:
        return user_id in self._users

    def walks(self, user_id: UUID, matched: int, rows: int) -> bool:
        """Whether `rows` rows of a filter that matched `matched` of the user's tasks lie,
        as the matches spread evenly, within WALKED_TASKS of the user's tasks."""
        tasks = self._users.get(user_id, 0)
        return tasks >= LARGE_OWNER_TASKS and rows * tasks <= WALKED_TASKS * matched

    def saw(self, user_id: UUID, total: int) -> None:
        """A page of this user's tasks (or their counter row) said they have `total`."""
        users = self._users
        users[user_id] = total
        users.move_to_end(user_id)
        if len(users) > self._capacity:
            users.popitem(last=False)


LARGE_OWNERS = LargeOwners()
