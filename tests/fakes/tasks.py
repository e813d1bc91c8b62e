"""The in-memory task repository: filters, orders and pages as the SQL one does."""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from datetime import datetime
from uuid import UUID

from tests.fakes.sessions import session_live
from todo_core.domain import (
    UNSET,
    LoginSession,
    Task,
    TaskPatch,
    User,
    Versions,
)
from todo_core.errors import UnknownUserError
from todo_core.listing import (
    TaskCounts,
    TaskKey,
    TaskPage,
    TaskQuery,
)
from todo_core.ports import TaskRepository


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
        self._tasks[task.id] = task
        return True

    async def get(self, task_id: UUID) -> Task | None:
        return self._tasks.get(task_id)

    def _of(self, user_id: UUID) -> list[Task]:
        return [t for t in self._tasks.values() if t.user_id == user_id]

    async def list(self, user_id: UUID, query: TaskQuery) -> TaskPage:
        everything = self._of(user_id)
        counts = TaskCounts.of(len(everything), sum(t.is_completed for t in everything))
        mine = [t for t in everything if query.completed in (None, t.is_completed)]
        sort = query.sort

        def position(task: Task) -> tuple[datetime, UUID]:
            key = TaskKey.of(task, sort)
            return key.value, key.id

        mine.sort(key=position, reverse=sort.descending)
        if query.after is not None:
            after = (query.after.value, query.after.id)
            mine = [
                t for t in mine if (position(t) < after if sort.descending else position(t) > after)
            ]
        page = mine[query.offset : query.offset + query.limit + 1]
        next_key = TaskKey.of(page[query.limit - 1], sort) if len(page) > query.limit else None
        total = counts.matching(query.completed)
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
        changes = {
            name: getattr(patch, name)
            for name in ("title", "description", "is_completed")
            if getattr(patch, name) is not UNSET
        }
        updated = dataclasses.replace(task, **changes, updated_at=now, version=task.version + 1)
        self._tasks[task_id] = updated
        return updated

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
