-- POST /tasks: a new task for the next user.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local body = '{"title": "Benchmark task", "description": "Created under load by wrk."}'

function request()
   return bench.request("POST", "/tasks", bench.next_user(), body)
end
