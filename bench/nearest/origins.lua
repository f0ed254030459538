-- wrk script: one GET per origin of a list, in turn (each thread starts at its own offset).
-- ORIGINS: file of `lon lat category` lines (origins.py); ORIGINS_PATH: the path with
-- {lon} {lat} {category} in it, e.g. /nearest?lon={lon}&lat={lat}&category={category}&k=5.
local paths = {}
local i = 0
local threads = 0

function setup(thread)
  -- `offset` becomes a global of that thread's own Lua state.
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  local template = os.getenv("ORIGINS_PATH")
  for line in io.lines(os.getenv("ORIGINS")) do
    local lon, lat, cat = line:match("(%S+) (%S+) (%S+)")
    if lon then
      -- Plain replacements: the values hold no `%` (gsub's replacement escape).
      local p = template:gsub("{lon}", lon):gsub("{lat}", lat):gsub("{category}", cat)
      paths[#paths + 1] = p
    end
  end
  if #paths == 0 then error("no origins in " .. os.getenv("ORIGINS")) end
  i = ((offset or 0) * 7919) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  -- (runs in the main Lua state, which has no list of its own)
  io.write(string.format("non-2xx answers: %d; socket errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
