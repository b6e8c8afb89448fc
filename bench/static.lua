-- The same request every time. bench/run.sh passes headers with wrk's -H and sets:
--   BENCH_METHOD     GET or POST (default GET)
--   BENCH_BODY_FILE  a file holding the JSON body (optional)
--   BENCH_LUA_DIR    this directory, for summary.lua

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
   local file = assert(io.open(body_file, "rb"))
   wrk.body = file:read("*a")
   file:close()
   wrk.headers["Content-Type"] = "application/json"
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/summary.lua")
