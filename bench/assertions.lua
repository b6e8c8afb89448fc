-- POST /v0/sign_in/token with a different assertion every time. Assertions are single-use (a
-- replayed jti is refused with 400), so bench/run.sh signs enough of them beforehand and each wrk
-- thread walks its own slice of the file (line i goes to thread i mod threads). bench/run.sh sets:
--   BENCH_ASSERTIONS  the file, one assertion a line
--   BENCH_THREADS     wrk's -t
--   BENCH_LUA_DIR     this directory, for summary.lua
-- A thread that runs out starts its slice again; those replays fail, and done() says how many
-- requests were replays so the error count can be read for what it is.

dofile(os.getenv("BENCH_LUA_DIR") .. "/summary.lua")

local GRANT = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local count = tonumber(os.getenv("BENCH_THREADS"))
   local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
   requests_ready = {}
   local line_number = 0
   for line in io.lines(os.getenv("BENCH_ASSERTIONS")) do
      if line_number % count == id then
         local request = wrk.format("POST", wrk.path, headers, GRANT .. line)
         requests_ready[#requests_ready + 1] = request
      end
      line_number = line_number + 1
   end
   assert(#requests_ready > 0, "no assertion for thread " .. id)
   sent = 0
   replayed = 0
end

function request()
   sent = sent + 1
   local index = sent
   if index > #requests_ready then
      replayed = replayed + 1
      index = (index - 1) % #requests_ready + 1
   end
   return requests_ready[index]
end

function done(summary, latency, requests)
   print_result(summary, latency)
   local sent_total, replayed_total = 0, 0
   for _, thread in ipairs(threads) do
      sent_total = sent_total + thread:get("sent")
      replayed_total = replayed_total + thread:get("replayed")
   end
   io.write(string.format("BENCH_ASSERTIONS sent=%d replayed=%d\n", sent_total, replayed_total))
end
