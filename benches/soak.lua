-- wrk script for benches/soak.sh: a mix of valid and invalid requests, counted by status.
-- Usage: wrk -s benches/soak.lua URL -- FIXTURES_DIR
-- At the end it prints one line per status and one total:
--   STATUS code=200 count=N
--   SOAK requests=N rps=R p50_us=A p99_us=B alerts_accepted=M socket_errors=E

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function read(path)
   local file = assert(io.open(path, "rb"))
   local data = file:read("*a")
   file:close()
   return data
end

local json = { ["Content-Type"] = "application/json" }
local requests = {}
local next_request = 1
-- Per-thread globals, read by done(): accepted alerts and one counter per status code.
accepted = 0
local CODES = { 200, 400, 401, 404, 405, 408, 413, 415, 422, 429, 500, 502, 503, 504 }

function init(args)
   local dir = args[1]
   local valid = {
      read(dir .. "/01-am025-firing-single.json"),
      read(dir .. "/13-am025-group-3-firing-unicode-tzoffset.json"),
      read(dir .. "/14-am025-group-mixed-firing-and-resolved.json"),
      read(dir .. "/04-am025-max_alerts2-of5-firing-truncatedAlerts3.json"),
   }
   local kinds = {
      -- six valid requests out of ten
      { "POST", json, valid[1] }, { "POST", json, valid[2] }, { "PUT", json, valid[3] },
      { "POST", json, valid[4] }, { "POST", json, valid[2] }, { "POST", json, valid[3] },
      -- 422: missing fields and a bad enum; broken JSON; a Prometheus alert list
      { "POST", json, '{"receiver":"r","alerts":[{"status":"burning"}]}' },
      { "POST", json, '{"receiver":"r","alerts":[{' },
      { "POST", json, read(dir .. "/30-prometheus-to-alertmanager-POST-api-v2-alerts.json") },
      -- 415 and 405
      { "POST", { ["Content-Type"] = "text/plain" }, valid[1] },
      { "GET", {}, nil },
   }
   for _, k in ipairs(kinds) do
      table.insert(requests, wrk.format(k[1], nil, k[2], k[3]))
   end
end

function request()
   local r = requests[next_request]
   next_request = next_request % #requests + 1
   return r
end

function response(status, headers, body)
   local name = "status_" .. status
   _G[name] = (_G[name] or 0) + 1
   if status == 200 then
      accepted = accepted + tonumber(string.match(body, '"received":(%d+)'))
   end
end

function done(summary, latency, requests_)
   local alerts, counted = 0, 0
   for _, thread in ipairs(threads) do
      alerts = alerts + (thread:get("accepted") or 0)
   end
   for _, code in ipairs(CODES) do
      local n = 0
      for _, thread in ipairs(threads) do
         n = n + (thread:get("status_" .. code) or 0)
      end
      counted = counted + n
      if n > 0 then
         io.write(string.format("STATUS code=%d count=%d\n", code, n))
      end
   end
   io.write(string.format("STATUS code=other count=%d\n", summary.requests - counted))
   local e = summary.errors
   io.write(string.format(
      "SOAK requests=%d rps=%.1f p50_us=%d p99_us=%d alerts_accepted=%d socket_errors=%d\n",
      summary.requests, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99), alerts,
      e.connect + e.read + e.write + e.timeout))
end
