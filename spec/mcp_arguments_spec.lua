-- session:call's arguments arrive whole: many personas send random argument
-- tables (1-40 keys of random names, values of mixed types and sizes, with
-- and without auth_token) through the real session:call to an MCP stub on
-- sim.server that echoes the arguments it decoded; every echo must
-- deep-equal what the persona passed. Long enough for the hot loops to be
-- compiled: it catches a JIT that drops keys from a pairs() loop (LuaJIT
-- #827, issue 11 section 1; see docs/architecture.md, "LuaJIT").
local sim = require "gofr_sim"
local rng = require "gofr_sim.engine.rng"
local metrics = require "gofr_sim.engine.metrics"
local cjson = require "cjson"
local support = require "support"

local PERSONAS = 50
local CALLS = tonumber(os.getenv("GS_ARGS_CALLS")) or (os.getenv("GS_SANITIZED") and 200 or 400)
local SECONDS = 25 -- personas stop early past this, so a slow machine stays bounded
local SEED = tonumber(os.getenv("GS_SEED")) or os.time()

-- The stub: initialize, notifications, and tools/call answering with the
-- decoded arguments as JSON text (application/json, no session id).
local function stub(req, res)
  local msg = cjson.decode(req.body)
  if msg.id == nil then return res:send(202, nil, "") end
  local result
  if msg.method == "initialize" then
    result = { protocolVersion = msg.params.protocolVersion, capabilities = { tools = {} },
               serverInfo = { name = "echo", version = "1" } }
  elseif msg.method == "tools/call" then
    result = { content = { { type = "text", text = cjson.encode(msg.params.arguments) } } }
  else
    return res:send(200, { ["Content-Type"] = "application/json" }, cjson.encode {
      jsonrpc = "2.0", id = msg.id, error = { code = -32601, message = "no such method" } })
  end
  res:send(200, { ["Content-Type"] = "application/json" },
    cjson.encode { jsonrpc = "2.0", id = msg.id, result = result })
end

local NAME_CHARS = "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."

local function random_string(r, lo, hi)
  local n = r:int(lo, hi)
  local c = {}
  for i = 1, n do
    local j = r:int(1, #NAME_CHARS)
    c[i] = NAME_CHARS:sub(j, j)
  end
  return table.concat(c)
end

-- A value that survives JSON both ways: strings of random sizes, integers,
-- binary fractions, booleans, and small nested objects/arrays.
local function random_value(r, depth)
  local kind = r:int(1, depth < 2 and 7 or 5)
  if kind == 1 then return random_string(r, 0, r:int(1, 8) == 1 and 3000 or 40) end
  if kind == 2 then return r:int(-1000000, 1000000) end
  if kind == 3 then return r:int(-4096, 4096) / 64 end
  if kind == 4 then return r:int(0, 1) == 1 end
  if kind == 5 then return "https://example.test/" .. random_string(r, 1, 60) end
  if kind == 6 then
    local t = {}
    for _ = 1, r:int(1, 6) do t[random_string(r, 1, 12)] = random_value(r, depth + 1) end
    return t
  end
  local a = {}
  for i = 1, r:int(1, 5) do a[i] = random_value(r, depth + 1) end
  return a
end

-- -> args, the number of keys
local function random_args(r)
  local args, n = {}, 0
  for _ = 1, r:int(1, 40) do
    local k = random_string(r, 1, 24)
    if k ~= "auth_token" and args[k] == nil then
      args[k] = random_value(r, 0)
      n = n + 1
    end
  end
  return args, n
end

-- What the stub must echo: the arguments, plus auth_token when one is given.
local function expected_of(args, token)
  local want = {}
  for k, v in pairs(args) do want[k] = v end
  if token then want.auth_token = token end
  return want
end

-- A vararg function with a loop of its own: its return goes back to the
-- interpreter. Called in the loop around the nested pairs() copy below, it
-- gives that loop the shape of LuaJIT #827 (test/jit/cases/
-- lj827_nested_pairs.lua), whose compiled form ends the outer pairs() early.
local function settle(...) -- luacheck: ignore 212
  for _ = 1, 100 do end
end

-- A request as a scenario keeps it: five tables (arguments, options, ...),
-- copied COPIES times the way a scenario rebuilds a request from a template:
-- a pairs() loop over the parts with a pairs() copy of each inside it.
-- -> the copy, or nil and why when a loop missed keys.
local COPIES = 6
local function copy_request(req, nkeys)
  local out
  for _ = 1, COPIES do
    settle()
    out = {}
    local parts, keys = 0, 0
    for name, part in pairs(req) do
      local c = {}
      for k, v in pairs(part) do
        c[k] = v
        keys = keys + 1
      end
      out[name] = c
      parts = parts + 1
    end
    if parts ~= 5 or keys ~= nkeys then
      return nil, ("the pairs() copy of the request visited %d of 5 parts, %d of %d keys")
        :format(parts, keys, nkeys)
    end
  end
  return out
end

-- nil when a and b are deeply equal, else the path where they differ.
local function differs(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a == b then return nil end
    return ("%s: %s ~= %s"):format(path, tostring(a), tostring(b))
  end
  for k, v in pairs(a) do
    local d = differs(v, b[k], path .. "." .. tostring(k))
    if d then return d end
  end
  for k in pairs(b) do
    if a[k] == nil then return ("%s.%s: missing"):format(path, tostring(k)) end
  end
  return nil
end

describe("session:call arguments under load", function()
  local saved
  before_each(function() saved = metrics.install(metrics.new()) end)
  after_each(function() metrics.install(saved) end)
  teardown(function() support.assert_clean() end)

  it("arrive whole: every echo deep-equals what the persona passed", function()
    assert.is_true(jit.status(), "the JIT must be on")
    local srv = assert(sim.server.listen { handler = stub })
    local url = srv.url .. "/mcp"
    local calls, failures, first_failure = 0, 0, nil
    local deadline = sim.now() + SECONDS
    sim.run(function()
      local hs = {}
      for p = 1, PERSONAS do
        hs[p] = sim.spawn(function()
          local r = rng.new(SEED, p)
          local s = assert(sim.mcp.connect(url, { timeout = 20 }))
          for i = 1, CALLS do
            if sim.now() > deadline then break end
            local args, n = random_args(r)
            local token = r:int(0, 1) == 1 and ("tok-" .. random_string(r, 8, 200)) or nil
            local want = expected_of(args, token)
            local req, why = copy_request({
              arguments = args,
              options = { auth_token = token, timeout = 20 },
              tags = { persona = p, tool = "get_structure", phase = "load", kind = "echo" },
              meta = { call = i, seed = SEED, stream = p, started = 0 },
              headers = { accept = "json", agent = "spec", lang = "en", trace = "off" },
            }, n + (token and 2 or 1) + 12)
            local res = req and s:call("get_structure", req.arguments, req.options)
              or { ok = true }
            calls = calls + 1
            if not why and not res.ok then
              why = "call failed: " .. tostring(res.error_type) .. ": " .. tostring(res.message)
            end
            why = why or differs(want, res.data, "arguments")
            if why then
              failures = failures + 1
              first_failure = first_failure or ("persona %d call %d: %s"):format(p, i, why)
            end
          end
          s:close()
        end)
      end
      for p = 1, PERSONAS do sim.wait(hs[p]) end
    end)
    srv.close()
    sim.run(function() sim.sleep(0.01) end)
    print(("# %d calls, %d wrong (seed %d, %s)"):format(calls, failures, SEED, jit.version))
    assert.are.equal(0, failures, ("%d of %d calls wrong (GS_SEED=%d to repeat); first: %s")
      :format(failures, calls, SEED, tostring(first_failure)))
    assert.is_true(calls >= PERSONAS * 20, "only " .. calls .. " calls in " .. SECONDS .. " s")
  end)
end)
