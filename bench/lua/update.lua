-- PATCH /tasks/{id}: toggle completion and rename a random task of the next user.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local bodies = {
   '{"is_completed": true, "title": "Updated under load"}',
   '{"is_completed": false, "title": "Updated under load again"}',
}

function request()
   local user = bench.next_user()
   local body = bodies[math.random(#bodies)]
   return bench.request("PATCH", "/tasks/" .. bench.random_id(user), user, body)
end
