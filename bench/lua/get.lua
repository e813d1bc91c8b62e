-- GET /tasks/{id}: one random task of the next user.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   local user = bench.next_user()
   return bench.request("GET", "/tasks/" .. bench.random_id(user), user)
end
