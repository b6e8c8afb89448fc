-- Shared end of every route script: one machine-readable line that bench/run.sh reads.
--
-- wrk counts a response with status >= 400 in errors.status (the token routes answer nothing
-- in 1xx/3xx, so that is every non-2xx); connect, read, write and timeout are socket errors.
-- Latencies are in microseconds.

function print_result(summary, latency)
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d"
         .. " p50_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
      math.floor(latency.max)))
end

function done(summary, latency, requests)
   print_result(summary, latency)
end
