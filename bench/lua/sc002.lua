-- SC-002/SC-003 as a user tries it: clients that each create a task, then list 20 of their
-- tasks three times, over and over (per thread: create, list, list, list, next user).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local step, user = 0, nil

function request()
   step = step % 4
   if step == 0 then user = bench.next_user() end
   step = step + 1
   if step == 1 then return bench.create(user) end
   return bench.request("GET", "/tasks?limit=20", user)
end
