-- wrk script: request the tiles of a list in turn (each thread starts at its own offset).
-- TILES_LIST: file of `z x y` lines; TILES_PATH: path template with {z} {x} {y}
-- (servicemap: /tiles/WebMercatorQuad/{z}/{y}/{x}; Martin: /layer1,layer2/{z}/{x}/{y}).
local paths = {}
local i = 0
local threads = 0

function setup(thread)
  -- `offset` becomes a global of that thread's own Lua state.
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  local template = os.getenv("TILES_PATH")
  for line in io.lines(os.getenv("TILES_LIST")) do
    local z, x, y = line:match("(%d+) (%d+) (%d+)")
    if z then
      local p = template:gsub("{z}", z):gsub("{x}", x):gsub("{y}", y)
      paths[#paths + 1] = p
    end
  end
  if #paths == 0 then error("no tiles in " .. os.getenv("TILES_LIST")) end
  i = ((offset or 0) * 7919) % #paths
  local gzip = os.getenv("TILES_GZIP") == "1"
  wrk.headers["Accept-Encoding"] = gzip and "gzip" or "identity"
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  -- (runs in the main Lua state, which has no tile list of its own)
  io.write(string.format("non-2xx answers: %d; socket errors: %d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
