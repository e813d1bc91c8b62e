// A whole session through openapi-fetch, typed by openapi-typescript from openapi.json:
// node out/flow.mjs BASE_URL. Any failed expectation throws and exits non-zero.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import createClient from "openapi-fetch";

import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["ProblemResponse"];
type Task = components["schemas"]["TaskResponse"];

const base = process.argv[2];
assert.ok(base, "usage: node flow.mjs BASE_URL");

const anonymous = createClient<paths>({ baseUrl: base });
const signedIn = (token: string) =>
  createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });

function problem(error: Problem | undefined, status: number): Problem {
  assert.ok(error, `expected a ${status} problem`);
  assert.equal(error.status, status);
  assert.equal(typeof error.detail, "string");
  assert.ok(error.detail.length > 0);
  return error;
}

const password = "correct horse";
const email = `ada-${randomUUID().slice(0, 8)}@example.com`;

const registered = await anonymous.POST("/auth/register", { body: { email, password } });
assert.equal(registered.response.status, 201);

const login = await anonymous.POST("/auth/login", { body: { email, password } });
assert.equal(login.response.status, 200, JSON.stringify(login.error));
assert.ok(login.data);
const { access_token: accessToken, refresh_token: refreshToken } = login.data;
const ada = signedIn(accessToken);

const me = await ada.GET("/auth/me");
assert.equal(me.data?.email, email);

const created = await ada.POST("/tasks", { body: { title: "Buy milk", description: "2 litres" } });
assert.equal(created.response.status, 201);
const task: Task | undefined = created.data;
assert.ok(task);
assert.equal(created.response.headers.get("Location"), `/tasks/${task.id}`);

const listed = await ada.GET("/tasks", { params: { query: { limit: 10, sort: "-created_at" } } });
assert.deepEqual(
  listed.data?.tasks.map((t) => t.id),
  [task.id],
);
assert.equal(listed.data?.total, 1);

const path = { task_id: task.id };
const got = await ada.GET("/tasks/{task_id}", { params: { path } });
assert.equal(got.response.status, 200);
const etag = got.response.headers.get("ETag");
assert.ok(etag);
assert.match(etag, /^"[0-9a-f]{32}-1"$/, "the quotes belong to the ETag");

const patched = await ada.PATCH("/tasks/{task_id}", {
  params: { path, header: { "If-Match": etag } },
  body: { is_completed: true },
});
assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
assert.equal(patched.data?.is_completed, true);
assert.equal(patched.data?.version, task.version + 1);

const stale = await ada.PATCH("/tasks/{task_id}", {
  params: { path, header: { "If-Match": etag } },
  body: { title: "Buy oat milk" },
});
problem(stale.error, 412);

// Issue 20: the planning fields, a move, filters and search, the labels.
const planned = await ada.POST("/tasks", {
  body: { title: "Call Grace", due_at: "2026-12-24T17:00:00+01:00", priority: 3, labels: ["Family"] },
});
assert.equal(planned.response.status, 201, JSON.stringify(planned.error));
assert.ok(planned.data);
assert.equal(planned.data.due_at, "2026-12-24T16:00:00Z");
assert.deepEqual(planned.data.labels, ["Family"]);
const moved = await ada.POST("/tasks/{task_id}/move", {
  params: { path: { task_id: planned.data.id } },
  body: { after: null },
});
assert.equal(moved.response.status, 200, JSON.stringify(moved.error));
assert.equal(moved.data?.version, planned.data.version + 1);
const found = await ada.GET("/tasks", {
  params: { query: { q: "call gr", label: ["family"], sort: "position" } },
});
assert.deepEqual(
  found.data?.tasks.map((t) => t.id),
  [planned.data.id],
);
const labels = await ada.GET("/labels");
assert.deepEqual(labels.data?.labels, [{ name: "Family", count: 1 }]);
const cleared = await ada.PATCH("/tasks/{task_id}", {
  params: { path: { task_id: planned.data.id } },
  body: { due_at: null, labels: [], priority: 0 },
});
assert.equal(cleared.data?.due_at, null);

const grace = await anonymous.POST("/auth/register", {
  body: { email: `grace-${randomUUID().slice(0, 8)}@example.com`, password },
});
assert.ok(grace.data);
const denied = await signedIn(grace.data.access_token).GET("/tasks/{task_id}", { params: { path } });
assert.equal(denied.response.status, 403);
problem(denied.error, 403);

const deleted = await ada.DELETE("/tasks/{task_id}", { params: { path } });
assert.equal(deleted.response.status, 204);
const gone = await ada.GET("/tasks/{task_id}", { params: { path } });
problem(gone.error, 404);

const renewed = await anonymous.POST("/auth/refresh", { body: { refresh_token: refreshToken } });
assert.equal(renewed.response.status, 200);
assert.ok(renewed.data);
assert.notEqual(renewed.data.refresh_token, refreshToken);
const spent = await anonymous.POST("/auth/refresh", { body: { refresh_token: refreshToken } });
problem(spent.error, 401);

console.log("typescript client flow: ok");
