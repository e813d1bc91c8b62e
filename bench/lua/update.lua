-- PATCH /tasks/{id}: toggle completion and rename a random task of the next user.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   return bench.update(bench.next_user())
end
