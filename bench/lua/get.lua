-- GET /tasks/{id}: one random task of the next user.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   return bench.get_one(bench.next_user())
end
