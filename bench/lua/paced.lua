-- wrk script for the half-load latency table: each connection waits an exponentially distributed
-- time (mean BENCH_PACE_MEAN_MS) after each answer before its next request, so the arrivals of
-- many connections are close to a Poisson stream instead of bursts of one request per connection.
-- wrk takes the delay in whole milliseconds; the random rounding keeps the mean exact.
local mean = tonumber(os.getenv("BENCH_PACE_MEAN_MS") or "20")
-- Each wrk thread has its own Lua state: seed each differently (a table's address differs).
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)

function delay()
  local d = -math.log(1 - math.random()) * mean
  return math.floor(d + math.random())
end
