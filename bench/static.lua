-- The same request every time. bench/run.sh passes headers with wrk's -H and sets:
--   BENCH_METHOD     GET or POST (default GET)
--   BENCH_BODY_FILE  a file holding the body (optional)
--   BENCH_CONTENT_TYPE  its media type (default application/json)
--   BENCH_LUA_DIR    this directory, for summary.lua

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
   local file = assert(io.open(body_file, "rb"))
   wrk.body = file:read("*a")
   file:close()
   local content_type = os.getenv("BENCH_CONTENT_TYPE")
   if not content_type or content_type == "" then
      content_type = "application/json"
   end
   wrk.headers["Content-Type"] = content_type
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/summary.lua")
