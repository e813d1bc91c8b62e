-- Shared by every scenario script: numbers the wrk threads, loads the seeded users (and
-- the delete pool) in each thread, hands out users in turn so that consecutive requests
-- carry tokens of different users, counts response statuses per thread, and at the end
-- writes one JSON object (latency percentiles, errors, status counts) to BENCH_OUT.
--
-- Environment: BENCH_USERS (users file: "email token cursor id,id,... since" per line),
-- BENCH_POOL (delete pool: "user_line task_id" per line), BENCH_THREADS, BENCH_OUT.

local M = {}

-- A monotonic clock (LuaJIT's ffi), for the steady rate: responses between a thread's
-- first and last one, per second, so that neither the ramp-up nor the requests cut off
-- at the end count (it matters where requests take seconds, as bcrypt's do).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local next_thread_id = 0

function setup(thread)
   thread:set("thread_id", next_thread_id)
   next_thread_id = next_thread_id + 1
   table.insert(threads, thread)
end

local function split_ids(text)
   local ids = {}
   for id in text:gmatch("[^,]+") do
      if id ~= "-" then ids[#ids + 1] = id end
   end
   return ids
end

local function load_users(path)
   local users = {}
   for line in io.lines(path) do
      local email, token, cursor, ids, since = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+)$")
      if email then
         users[#users + 1] = {
            email = email, token = token, cursor = cursor, ids = split_ids(ids),
            since = since, auth = "Bearer " .. token,
         }
      end
   end
   return users
end

-- This thread's share of the delete pool: every n-th line, so no two threads collide.
local function load_pool(path, users)
   local pool, n = {}, 0
   for line in io.lines(path) do
      local user_line, id = line:match("^(%d+) (%S+)$")
      if user_line and n % M.thread_count == thread_id then
         pool[#pool + 1] = { user = users[tonumber(user_line)], id = id }
      end
      n = n + 1
   end
   return pool
end

function init(args)
   statuses, first_response, last_response = {}, nil, nil
   M.thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
   math.randomseed(os.time() * 1000 + thread_id * 7919)
   local users_file = os.getenv("BENCH_USERS")
   M.users = users_file and load_users(users_file) or {}
   local pool_file = os.getenv("BENCH_POOL")
   M.pool = pool_file and load_pool(pool_file, M.users) or {}
   M.turn = thread_id
   M.pool_next = 0
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   last_response = now()
   first_response = first_response or last_response
end

-- Users in turn: thread t takes t, t + threads, t + 2 * threads, ... (1-based, wrapping).
function M.next_user()
   M.turn = M.turn + M.thread_count
   return M.users[M.turn % #M.users + 1]
end

function M.random_id(user)
   return user.ids[math.random(#user.ids)]
end

-- The next task of this thread's delete pool (wrapping: a too small pool shows as 404s).
function M.next_pooled()
   M.pool_next = M.pool_next % #M.pool + 1
   return M.pool[M.pool_next]
end

function M.request(method, path, user, body)
   local headers = { ["Authorization"] = user and user.auth or nil }
   if body then headers["Content-Type"] = "application/json" end
   return wrk.format(method, path, headers, body)
end

-- The task calls, one place for each: their scenarios and the mix send the same requests.
local new_task = '{"title": "Benchmark task", "description": "Created under load by wrk."}'
local patches = {
   '{"is_completed": true, "title": "Updated under load"}',
   '{"is_completed": false, "title": "Updated under load again"}',
}

function M.get_one(user)
   return M.request("GET", "/tasks/" .. M.random_id(user), user)
end

function M.create(user)
   return M.request("POST", "/tasks", user, new_task)
end

function M.update(user)
   return M.request("PATCH", "/tasks/" .. M.random_id(user), user, patches[math.random(#patches)])
end

local function json_statuses(totals)
   local parts = {}
   for status, count in pairs(totals) do
      parts[#parts + 1] = string.format('"%d": %d', status, count)
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

local function steady_rate()
   local rate = 0
   for _, thread in ipairs(threads) do
      local count = 0
      for _, n in pairs(thread:get("statuses") or {}) do count = count + n end
      local first, last = thread:get("first_response"), thread:get("last_response")
      if count > 1 and last > first then rate = rate + (count - 1) / (last - first) end
   end
   return rate
end

local function status_totals()
   local totals = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses") or {}) do
         totals[status] = (totals[status] or 0) + count
      end
   end
   return totals
end

function done(summary, latency, requests)
   local e = summary.errors
   local p = function(q) return latency:percentile(q) end
   local out = io.open(os.getenv("BENCH_OUT"), "w")
   out:write(string.format(
      '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"min": %.0f, "mean": %.1f, "stdev": %.1f, "max": %.0f, ' ..
      '"p50": %.0f, "p75": %.0f, "p90": %.0f, "p95": %.0f, "p99": %.0f, "p99.9": %.0f}, ' ..
      '"steady_rps": %.3f, "statuses": %s}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.stdev, latency.max,
      p(50), p(75), p(90), p(95), p(99), p(99.9),
      steady_rate(), json_statuses(status_totals())))
   out:close()
end

return M
