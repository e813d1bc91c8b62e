-- GET /tasks: one page of the next user's tasks. BENCH_QUERY is the query string
-- (default limit=50); BENCH_CURSOR=1 adds that user's deep-page cursor from the seeder.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local query = os.getenv("BENCH_QUERY") or "limit=50"
local with_cursor = os.getenv("BENCH_CURSOR") == "1"

function request()
   local user = bench.next_user()
   local path = "/tasks?" .. query
   if with_cursor then path = path .. "&cursor=" .. user.cursor end
   return bench.request("GET", path, user)
end
