-- wrk's report as one JSON line (latencies in microseconds), for bench/http_load.py.
--
-- With WRK_UNIQUE set, every request asks for an address of its own (an extra query parameter),
-- so that none is answered from the page cache: what rendering a page costs.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

if os.getenv("WRK_UNIQUE") then
  local counter = 0
  request = function()
    counter = counter + 1
    local separator = string.find(wrk.path, "?", 1, true) and "&" or "?"
    return wrk.format(nil, wrk.path .. separator .. "unique=" .. thread_id .. "-" .. counter)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
