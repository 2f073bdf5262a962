-- wrk script: POST one GraphQL request (the JSON body in $BENCH_BODY, an optional bearer
-- token in $BENCH_TOKEN) and count every response that is not a 200 with data and no errors.
-- done() prints one line of JSON that bench/run.py reads.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
  thread:set("bad", 0)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true)
      or not string.find(body, '"data":{', 1, true) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
  end
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, ' ..
    '"bad_responses": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    bad_total,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
