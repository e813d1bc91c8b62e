-- POST /tasks: a new task for the next user.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   return bench.create(bench.next_user())
end
