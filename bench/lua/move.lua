-- POST /tasks/{id}/move: a random task of the next user right after another of its tasks
-- (first, one time in five).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   local user = bench.next_user()
   local task, after = bench.random_id(user), bench.random_id(user)
   local target = '"' .. after .. '"'
   if task == after or math.random(5) == 1 then target = "null" end
   return bench.request("POST", "/tasks/" .. task .. "/move", user, '{"after": ' .. target .. "}")
end
