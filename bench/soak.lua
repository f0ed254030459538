-- wrk script of bench/soak.sh: a mixed load over the default data's area, seeded per
-- thread. Weights follow a map page in use: many cheap lookups, some walking queries, a
-- few isochrones, planner reports, tiles and small batches.
local paths = {}
-- SOAK_ONLY=name[,name…] keeps only those families (bench/mem_by_endpoint.sh measures
-- what each one leaves resident).
local only = os.getenv("SOAK_ONLY")
if only == "" then only = nil end
local function add(name, weight, f)
  if only and not string.find("," .. only .. ",", "," .. name .. ",", 1, true) then return end
  for _ = 1, weight do paths[#paths + 1] = f end
end
local function pt()
  return string.format("lon=%.6f&lat=%.6f", 106.525 + math.random() * 0.015, 29.463 + math.random() * 0.012)
end
local cats = { "elder_canteen", "pharmacy", "kindergarten", "community_health_station", "supermarket" }
local function cat() return cats[math.random(#cats)] end
add("locate", 20, function() return "GET", "/locate?" .. pt() end)
add("straight", 20, function() return "GET", "/nearest?mode=straight&k=5&category=" .. cat() .. "&" .. pt() end)
add("walking", 20, function() return "GET", "/nearest?k=5&category=" .. cat() .. "&" .. pt() end)
add("route", 5, function() return "GET", "/nearest?k=3&route=true&" .. pt() end)
add("isochrone", 8, function() return "GET", "/isochrone?minutes=5,10,15&" .. pt() end)
add("items", 5, function() return "GET", "/collections/facilities/items?limit=50&bbox=106.52,29.46,106.54,29.48" end)
add("tiles", 5, function()
  local z = math.random(12, 16)
  local n = 2 ^ z
  local x = math.floor((106.53 + 180) / 360 * n)
  local lat = math.rad(29.47)
  local y = math.floor((1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * n)
  return "GET", string.format("/tiles/WebMercatorQuad/%d/%d/%d", z, y + math.random(-1, 1), x + math.random(-1, 1))
end)
add("coverage", 2, function() return "GET", "/coverage?minutes=15&level=grid&category=" .. cat() end)
add("gaps", 1, function() return "GET", "/gaps?minutes=15&category=" .. cat() end)
add("batch", 2, function()
  local body = { "lon,lat" }
  for _ = 1, 200 do
    body[#body + 1] = string.format("%.6f,%.6f", 106.515 + math.random() * 0.03, 29.455 + math.random() * 0.03)
  end
  return "POST", "/nearest/batch?k=5&category=" .. cat(), table.concat(body, "\n") .. "\n"
end)

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(seed or 1)
end

function request()
  local method, path, body = paths[math.random(#paths)]()
  if method == "POST" then
    return wrk.format("POST", path, { ["Content-Type"] = "text/csv" }, body)
  end
  return wrk.format("GET", path)
end
