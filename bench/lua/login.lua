-- POST /auth/login (JSON): the next seeded user with the right password (one bcrypt check).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local password = os.getenv("BENCH_PASSWORD")

function request()
   local user = bench.next_user()
   local body = string.format('{"email": "%s", "password": "%s"}', user.email, password)
   return bench.request("POST", "/auth/login", nil, body)
end
