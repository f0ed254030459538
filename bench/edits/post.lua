-- wrk: POST a new elder canteen per request, unique ids, near facility F0001 of geodata
-- (or the fixture's first grid), so every write passes validation and is acknowledged.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/geo+json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SERVICEMAP_BENCH_TOKEN")
local lon0 = tonumber(os.getenv("BENCH_LON") or "106.531965")
local lat0 = tonumber(os.getenv("BENCH_LAT") or "29.4696041")
local n = 0
-- Each wrk thread has its own Lua state: number them so ids never collide.
local threads = 0
function setup(thread)
  thread:set("tid", tostring(threads) .. "-" .. tostring(os.time()))
  threads = threads + 1
end
request = function()
  n = n + 1
  local body = string.format(
    '{"type":"Feature","id":"wrk-%s-%d","geometry":{"type":"Point","coordinates":[%.7f,%.7f]},"properties":{"name":"bench","category":"elder_canteen"}}',
    tid, n, lon0 + (math.random() - 0.5) * 0.0004, lat0 + (math.random() - 0.5) * 0.0004)
  return wrk.format(nil, "/collections/facilities/items", nil, body)
end
