-- wrk script for benches/http.sh: POST one body file as application/json.
-- Usage: wrk -s benches/post.lua URL -- BODY_FILE
-- At the end it prints one machine-readable line:
--   RESULT requests=N rps=R p50_us=A p99_us=B non2xx=C socket_errors=D

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init(args)
   local path = args[1]
   if path == nil then
      error("usage: wrk -s post.lua URL -- BODY_FILE")
   end
   local file = assert(io.open(path, "rb"))
   wrk.body = file:read("*a")
   file:close()
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests,
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50),
      latency:percentile(99),
      e.status,
      e.connect + e.read + e.write + e.timeout))
end
