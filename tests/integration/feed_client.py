"""A client of the change feed as API.md describes one: it keeps a copy of the caller's
tasks built only from GET /tasks/changes, and compares it with what GET /tasks shows."""

from __future__ import annotations

import httpx


class FeedFollower:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], limit: int = 100):
        self.client, self.headers, self.limit = client, headers, limit
        self.tasks: dict[str, dict] = {}
        self.since: str | None = None
        self.pages = 0

    async def page(self) -> dict:
        params: dict[str, str | int] = {"limit": self.limit}
        if self.since is not None:
            params["since"] = self.since
        response = await self.client.get("/tasks/changes", params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        for task in body["changes"]:
            self.tasks[task["id"]] = task
        for task_id in body["deleted"]:
            self.tasks.pop(task_id, None)
        self.since = body["next"]
        self.pages += 1
        return body

    async def sync(self) -> None:
        """Pages until has_more is false."""
        while (await self.page())["has_more"]:
            pass


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict]:
    """Every task GET /tasks shows, by id, through its cursors."""
    found: dict[str, dict] = {}
    params: dict[str, str | int] = {"limit": 200}
    while True:
        response = await client.get("/tasks", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        found.update((t["id"], t) for t in body["tasks"])
        if body["next_cursor"] is None:
            return found
        params["cursor"] = body["next_cursor"]
