-- The mix: 70% read one task, 20% update one, 10% create one, users in turn; each call as
-- in its own scenario.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

function request()
   local user = bench.next_user()
   local dice = math.random(100)
   if dice <= 70 then
      return bench.get_one(user)
   elseif dice <= 90 then
      return bench.update(user)
   end
   return bench.create(user)
end
