--- bench/json_decode.lua: gofr_sim.util.json.decode against lua-cjson's decode on
-- one flat object of N keys, side by side in one process.
--
--   LUA_PATH='lua/?.lua;;' luajit bench/json_decode.lua [N ...]
--
-- N defaults to 4000 40000 400000. ROUNDS (default 5) rounds per size; each
-- round decodes the same text with both readers, one after the other. Prints
-- one line per size: the medians in seconds and their ratio, and (a check
-- that both read the same thing) the number of keys gofr_sim.util.json kept.
-- The text is {"key0000001":1,"key0000002":"v2",...}, alternating integers
-- and short strings, about 20 bytes a member.
local json = require "gofr_sim.util.json"
local cjson = require "cjson"

local rounds = tonumber(os.getenv("ROUNDS") or "5")
local sizes = {}
for i = 1, select("#", ...) do
  sizes[#sizes + 1] = assert(tonumber((select(i, ...))), "N must be a number")
end
if #sizes == 0 then sizes = { 4000, 40000, 400000 } end

local function text_of(n)
  local parts = {}
  for i = 1, n do
    parts[i] = i % 2 == 1 and ('"key%07d":%d'):format(i, i) or ('"key%07d":"v%d"'):format(i, i)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function median(xs)
  table.sort(xs)
  local n = #xs
  return n % 2 == 1 and xs[(n + 1) / 2] or (xs[n / 2] + xs[n / 2 + 1]) / 2
end

local function timed(f, text)
  collectgarbage()
  collectgarbage()
  local t0 = os.clock()
  local v = f(text)
  return os.clock() - t0, v
end

print(("%-8s %8s %12s %12s %8s"):format("keys", "bytes", "gofr_sim s", "cjson s", "ratio"))
for _, n in ipairs(sizes) do
  local text = text_of(n)
  local ours, theirs, kept = {}, {}, nil
  for r = 1, rounds do
    local doc
    ours[r], doc = timed(json.decode, text)
    kept = #json.keys(assert(doc))
    theirs[r] = timed(cjson.decode, text)
  end
  assert(kept == n, "gofr_sim.util.json kept " .. kept .. " keys of " .. n)
  local a, b = median(ours), median(theirs)
  print(("%-8d %8d %12.4f %12.4f %8.1f"):format(n, #text, a, b, a / b))
end
