-- Shared by text.lua and image.lua (loaded with dofile): counts responses per thread and
-- prints one machine-readable line when wrk is done.
--
--   RESULT requests=N ok=N non2xx=N status5xx=N connect=N read=N write=N timeout=N
--          duration_s=F rps=F p50_ms=F p90_ms=F p99_ms=F max_ms=F
--
-- `ok` counts 2xx responses as seen by response(); `non2xx` everything else (wrk's own
-- "Non-2xx or 3xx" count treats 3xx as success; the server never redirects).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

ok, non2xx, status5xx = 0, 0, 0

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    if status >= 500 then
      status5xx = status5xx + 1
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_bad, total_5xx = 0, 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_bad = total_bad + t:get("non2xx")
    total_5xx = total_5xx + t:get("status5xx")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d ok=%d non2xx=%d status5xx=%d connect=%d read=%d write=%d timeout=%d " ..
    "duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, total_ok, total_bad, total_5xx, e.connect, e.read, e.write, e.timeout,
    secs, summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
