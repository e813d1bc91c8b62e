-- DELETE /tasks/{id}: the next task of this thread's share of the delete pool, with its
-- owner's token. Each pooled task is deleted once; a pool too small shows up as 404s.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   local pooled = bench.next_pooled()
   return bench.request("DELETE", "/tasks/" .. pooled.id, pooled.user)
end
