"""The in-memory task repository: filters, orders and pages as the SQL one does."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any
from uuid import UUID

from tests.fakes.sessions import session_live
from todo_core.domain import (
    LoginSession,
    Task,
    User,
    Versions,
)
from todo_core.errors import OrderChangedError, PositionTakenError, UnknownUserError
from todo_core.listing import (
    LabelCount,
    LabelCounts,
    TaskCounts,
    TaskKey,
    TaskPage,
    TaskQuery,
)
from todo_core.ordering import OrderWindow
from todo_core.ports import PlaceInGap, TaskRepository
from todo_core.task_rules import (
    TaskPatch,
    label_key,
)


class InMemoryTaskRepository(TaskRepository):
    def __init__(
        self,
        tasks: MutableMapping[UUID, Task],
        users: MutableMapping[UUID, User],
        sessions: MutableMapping[UUID, LoginSession],
    ) -> None:
        self._tasks = tasks
        self._users = users
        self._sessions = sessions

    def _live(self, session_id: UUID | None, user_id: UUID) -> bool:
        return session_live(self._sessions, session_id, user_id)

    async def add(self, task: Task, session_id: UUID | None = None) -> bool:
        if not self._live(session_id, task.user_id):
            return False
        if task.user_id not in self._users:
            raise UnknownUserError()
        self._check_position_free(task.user_id, task.position, task.id)
        self._tasks[task.id] = task
        return True

    def _check_position_free(self, user_id: UUID, position: str, task_id: UUID) -> None:
        if any(t.position == position and t.id != task_id for t in self._of(user_id)):
            raise PositionTakenError()

    async def get(self, task_id: UUID) -> Task | None:
        return self._tasks.get(task_id)

    def _of(self, user_id: UUID) -> list[Task]:
        return [t for t in self._tasks.values() if t.user_id == user_id]

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        everything = self._of(user_id)
        counts = TaskCounts.of(len(everything), sum(t.is_completed for t in everything))
        mine = [
            t
            for t in everything
            if query.completed in (None, t.is_completed) and query.filter.matches(t)
        ]
        sort = query.sort

        def position(task: Task) -> tuple[Any, UUID]:
            key = TaskKey.of(task, sort)
            return key.value, key.id

        mine.sort(key=position, reverse=sort.descending)
        total = len(mine)
        if query.after is not None:
            after: tuple[Any, UUID] = (query.after.value, query.after.id)
            if sort.unique:  # no tie: the value alone places a task
                mine = [t for t in mine if (position(t)[0] > after[0])]
            else:
                mine = [
                    t
                    for t in mine
                    if (position(t) < after if sort.descending else position(t) > after)
                ]
        page = mine[query.offset : query.offset + query.limit + 1]
        next_key = TaskKey.of(page[query.limit - 1], sort) if len(page) > query.limit else None
        return TaskPage(page[: query.limit], total, query.limit, query.offset, next_key, counts)

    def _matching(self, task_id: UUID, user_id: UUID, if_version: Versions) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None or task.user_id != user_id:
            return None
        if if_version is not None and task.version not in if_version:
            return None
        return task

    async def update(
        self,
        task_id: UUID,
        user_id: UUID,
        patch: TaskPatch,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        task = self._matching(task_id, user_id, if_version)
        if task is None or not self._live(session_id, user_id):
            return None
        changes = patch.changes()
        updated = dataclasses.replace(task, **changes, updated_at=now, version=task.version + 1)  # type: ignore[arg-type]
        self._tasks[task_id] = updated
        return updated

    async def lock_order(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        # One event loop, no await between reading and writing: nothing races.
        return await self.neighbours(user_id, moving, after)

    async def neighbours(
        self, user_id: UUID, moving: UUID, after: UUID | None
    ) -> tuple[str | None, str | None] | None:
        others = sorted(t.position for t in self._of(user_id) if t.id != moving)
        if after is None:
            return None, others[0] if others else None
        anchor = self._tasks.get(after)
        if anchor is None or anchor.user_id != user_id:
            return None
        later = [p for p in others if p > anchor.position]
        return anchor.position, later[0] if later else None

    async def set_position(
        self,
        task_id: UUID,
        user_id: UUID,
        position: str,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        task = self._matching(task_id, user_id, if_version)
        if task is None or not self._live(session_id, user_id):
            return None
        self._check_position_free(user_id, position, task_id)
        updated = dataclasses.replace(
            task, position=position, updated_at=now, version=task.version + 1
        )
        self._tasks[task_id] = updated
        return updated

    async def set_position_in_gap(
        self,
        task_id: UUID,
        user_id: UUID,
        after: UUID | None,
        place: PlaceInGap,
        now: datetime,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> Task | None:
        gap = await self.neighbours(user_id, task_id, after)
        position = None if gap is None else await place(*gap)
        if gap is None or position is None:
            return None
        if self._matching(task_id, user_id, if_version) is None or not self._live(
            session_id, user_id
        ):
            return None
        if await self.neighbours(user_id, task_id, after) != gap:
            raise OrderChangedError()
        return await self.set_position(task_id, user_id, position, now, if_version, session_id)

    async def hold_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> None:
        return None  # one event loop, no await between reading and writing: nothing races

    async def order_window(
        self, user_id: UUID, moving: UUID, gap: str | None, each_side: int
    ) -> OrderWindow:
        others = sorted((t.position, t.id) for t in self._of(user_id) if t.id != moving)
        split = sum(1 for position, _ in others if gap is None or position < gap)
        first, end = max(split - each_side, 0), min(split + each_side, len(others))
        return OrderWindow(
            low=others[first - 1][0] if first else None,
            tasks=tuple(task_id for _, task_id in others[first:end]),
            before=split - first,
            high=others[end][0] if end < len(others) else None,
        )

    async def respace(
        self,
        user_id: UUID,
        positions: Mapping[UUID, str],
        now: datetime,
        moving: UUID,
        position: str,
    ) -> int:
        mine = {t.id: t for t in self._of(user_id)}
        changed = 0
        for task_id, new in positions.items():
            if (task := mine.get(task_id)) is not None:
                self._tasks[task_id] = dataclasses.replace(
                    task, position=new, updated_at=now, version=task.version + 1
                )
                changed += 1
        if moving in mine:
            self._tasks[moving] = dataclasses.replace(mine[moving], position=position)
        if len({t.position for t in self._of(user_id)}) < len(mine):
            raise AssertionError("two tasks of the user share a position")
        return changed

    async def labels(self, user_id: UUID) -> LabelCounts:
        first: dict[str, str] = {}
        count: dict[str, int] = {}
        for task in sorted(self._of(user_id), key=lambda t: (t.created_at, t.id)):
            for label in task.labels:
                key = label_key(label)
                first.setdefault(key, label)
                count[key] = count.get(key, 0) + 1
        shown = [LabelCount(first[key], n) for key, n in count.items()]
        return sorted(shown, key=lambda c: (c.name.lower(), c.name))

    async def delete(
        self,
        task_id: UUID,
        user_id: UUID,
        if_version: Versions = None,
        session_id: UUID | None = None,
    ) -> bool:
        if self._matching(task_id, user_id, if_version) is None:
            return False
        if not self._live(session_id, user_id):
            return False
        del self._tasks[task_id]
        return True

    async def owner_of(self, task_id: UUID) -> UUID | None:
        task = self._tasks.get(task_id)
        return task.user_id if task else None

    async def set_completed(
        self, user_id: UUID, is_completed: bool, now: datetime, session_id: UUID | None = None
    ) -> int:
        if not self._live(session_id, user_id):
            return 0
        changing = [t for t in self._of(user_id) if t.is_completed != is_completed]
        for task in changing:
            self._tasks[task.id] = dataclasses.replace(
                task, is_completed=is_completed, updated_at=now, version=task.version + 1
            )
        return len(changing)

    async def delete_all(
        self, user_id: UUID, completed: bool, session_id: UUID | None = None
    ) -> int:
        if not self._live(session_id, user_id):
            return 0
        doomed = [t.id for t in self._of(user_id) if t.is_completed == completed]
        for task_id in doomed:
            del self._tasks[task_id]
        return len(doomed)
