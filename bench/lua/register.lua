-- POST /auth/register: a new account per request (one bcrypt hash at the server's cost).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local bench = require("common")

local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local count = 0

function request()
   count = count + 1
   local email = string.format("reg-%s-%d-%d@example.com", run, thread_id, count)
   local body = string.format('{"email": "%s", "password": "correct horse battery"}', email)
   return bench.request("POST", "/auth/register", nil, body)
end
