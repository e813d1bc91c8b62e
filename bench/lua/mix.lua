-- The mix: 70% read one task, 20% update one, 10% create one, users in turn.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local create = '{"title": "Benchmark task", "description": "Created under load by wrk."}'
local update = '{"is_completed": true}'

function request()
   local user = bench.next_user()
   local dice = math.random(100)
   if dice <= 70 then
      return bench.request("GET", "/tasks/" .. bench.random_id(user), user)
   elseif dice <= 90 then
      return bench.request("PATCH", "/tasks/" .. bench.random_id(user), user, update)
   end
   return bench.request("POST", "/tasks", user, create)
end
