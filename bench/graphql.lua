-- wrk script: POST one GraphQL request (the JSON body in $BENCH_BODY, an optional bearer
-- token in $BENCH_TOKEN) and count every response that is not a 200 with data and no errors.
-- done() prints one line of JSON that bench/run.py reads.
--
-- With BENCH_MODE=slots every request books its own free one-hour slot instead: the query
-- (a JSON string) in $BENCH_QUERY, venue IDs (comma-separated) in $BENCH_VENUES, the first
-- slot's start (epoch seconds, UTC) in $BENCH_SLOT_BASE, wrk's thread count in $BENCH_THREADS.
-- Slot n = counter * threads + thread index: venue n mod #venues, hour n div #venues
-- (bench.scenarios.Slots computes the same), so no two requests of a run overlap.

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
  thread:set("index", #threads)
  table.insert(threads, thread)
end

if os.getenv("BENCH_MODE") == "slots" then
  local query = os.getenv("BENCH_QUERY")
  local base = tonumber(os.getenv("BENCH_SLOT_BASE"))
  local thread_count = tonumber(os.getenv("BENCH_THREADS"))
  local venues = {}
  for id in string.gmatch(os.getenv("BENCH_VENUES"), "[^,]+") do
    table.insert(venues, id)
  end
  local counter = 0

  local function iso(epoch)
    return os.date("!%Y-%m-%dT%H:%M:%S+00:00", epoch)
  end

  function request()
    local slot = counter * thread_count + index
    counter = counter + 1
    local starts = base + math.floor(slot / #venues) * 3600
    local body = string.format(
      '{"query": %s, "variables": {"input": {"venueId": "%s", "startsAt": "%s", "endsAt": "%s"}}}',
      query, venues[(slot % #venues) + 1], iso(starts), iso(starts + 3600))
    return wrk.format(nil, nil, nil, body)
  end
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true)
      or not string.find(body, '"data"%s*:%s*{') then
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
