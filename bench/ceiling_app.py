"""The framework ceiling: the least a FastAPI app served by uvicorn can do for a JSON GET.
No middleware, no auth, no database: one route that answers one constant task. The
benchmark serves it like the service (same uvicorn, same workers, access log off) and
compares every scenario's requests/s to what this one reaches.

    python -m uvicorn ceiling_app:app --app-dir bench --workers 2 --no-access-log
"""

from __future__ import annotations

from fastapi import FastAPI

TASK = {
    "id": "0b9f3c9e-2f1e-4f6c-9a59-0d6f7c1e2a3b",
    "user_id": "6a1c2d3e-4f50-4172-8394-a5b6c7d8e9f0",
    "title": "Task number 42",
    "description": "Notes for task 42: call, buy, write.",
    "is_completed": False,
    "created_at": "2026-11-24T10:00:00.123456Z",
    "updated_at": "2026-11-24T10:00:00.123456Z",
    "version": 1,
}

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/tasks/{task_id}")
async def get_task(task_id: str) -> dict[str, object]:
    return TASK
