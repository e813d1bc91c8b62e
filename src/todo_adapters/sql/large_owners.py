"""The users whose filtered lists are planned for their own values.

asyncpg keeps each statement prepared, and the engine has PostgreSQL plan it once for
any parameters (engine.py says why), for an average user. For a label or search filter
that plan ANDs the user's btree entries with the GIN matches and sorts every match: for a
user of 100,000 tasks 35-51 ms a page, where a plan made for that user walks the sort index and
stops after the page (16-17 ms, the exact count included). Planning costs 0.3-0.5 ms,
three times what such a page costs a user of 100 tasks, so only large users get it.
A user is known large from the counter row's total that every page of theirs carries
(bench/results/issue20.md)."""

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
    """The most recently listed users with at least LARGE_OWNER_TASKS tasks, at most
    `capacity` of them (one process's memory; each worker learns its own)."""

    def __init__(self, capacity: int = 4_096) -> None:
        self._capacity = capacity
        self._users: OrderedDict[UUID, int] = OrderedDict()

    def __contains__(self, user_id: UUID) -> bool:
        return user_id in self._users

    def walks(self, user_id: UUID, matched: int, rows: int) -> bool:
        """Whether `rows` rows of a filter that matched `matched` of the user's tasks lie,
        as the matches spread evenly, within WALKED_TASKS of the user's tasks."""
        tasks = self._users.get(user_id)
        return tasks is not None and rows * tasks <= WALKED_TASKS * matched

    def saw(self, user_id: UUID, total: int) -> None:
        """A page of this user's tasks said they have `total` tasks."""
        users = self._users
        if total < LARGE_OWNER_TASKS:
            users.pop(user_id, None)
            return
        users[user_id] = total
        users.move_to_end(user_id)
        if len(users) > self._capacity:
            users.popitem(last=False)


LARGE_OWNERS = LargeOwners()
