-- GET /tasks/changes: one page of the next user's change feed, after the sync token the
-- seeder minted for that user (many changes follow it), or with BENCH_FULL_SYNC=1 the
-- first page of a full sync (no since). BENCH_QUERY is the rest (default limit=100).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local query = os.getenv("BENCH_QUERY") or "limit=100"
local full_sync = os.getenv("BENCH_FULL_SYNC") == "1"

function request()
   local user = bench.next_user()
   local path = "/tasks/changes?" .. query
   if not full_sync then path = path .. "&since=" .. user.since end
   return bench.request("GET", path, user)
end
