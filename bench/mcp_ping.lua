--- bench/mcp_ping.lua: N MCP sessions calling one tool in a closed loop, for
-- bench/mcp_ping.sh.
--
--   gofr-sim bench/mcp_ping.lua --url http://127.0.0.1:8070/mcp/ [--sessions 32]
--     [--duration 10s] [--tool ping] [--args '{"k": "v"}']
--
-- Each persona connects its own session (sim.mcp.connect: initialize +
-- initialized); once all are connected, each calls the tool with session:call
-- until the duration is over, then closes its session (DELETE). Connecting
-- and closing are not timed. Prints one line:
--
--   sessions: <n> calls: <n> errors: <e> duration: <s> calls_per_sec: <n/s>
--
-- calls counts every completed call, errors the ones that were not ok
-- (transport failures, JSON-RPC errors, isError:true, success:false).
-- Exits 1 when a session cannot connect.
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local json = require "cjson.safe"

local opts = cli.options(... or {}, {
  url = { type = "url" },
  sessions = { type = "integer", default = 32, min = 1 },
  duration = { type = "duration", default = 10, above = 0 },
  tool = { type = "string", default = "ping" },
  args = { type = "string", default = "{}" },
})
if not opts.url then
  cli.usage_error("--url is required (the MCP endpoint, e.g. http://127.0.0.1:8070/mcp/)")
end
local args = json.decode(opts.args)
if type(args) ~= "table" then cli.usage_error("--args must be a JSON object, got " .. opts.args) end

local sessions, calls, errors = {}, 0, 0

-- Connects every session side by side; the first failure ends the run.
local failed = sim.run(function()
  local handles = {}
  for i = 1, opts.sessions do
    handles[i] = sim.spawn(function()
      local s, err_type, msg = sim.mcp.connect(opts.url, { timeout = 30 })
      if not s then return ("%s: %s"):format(err_type, tostring(msg)) end
      sessions[#sessions + 1] = s
    end)
  end
  for _, h in ipairs(handles) do
    local why = sim.wait(h)
    if why then return why end
  end
end)

local started, elapsed = sim.now(), 0
if not failed then
  sim.run(function()
    local deadline = started + opts.duration
    for _, s in ipairs(sessions) do
      sim.spawn(function()
        while sim.now() < deadline and not sim.stopping() do
          local r = s:call(opts.tool, args)
          calls = calls + 1
          if not r.ok then errors = errors + 1 end
        end
      end)
    end
  end)
  elapsed = sim.now() - started
end

sim.run(function()
  for _, s in ipairs(sessions) do sim.spawn(s.close, s) end
end)

if failed then
  io.stderr:write("mcp_ping: cannot connect to ", opts.url, ": ", failed, "\n")
  return 1
end
print(("sessions: %d calls: %d errors: %d duration: %.2f calls_per_sec: %.1f")
  :format(#sessions, calls, errors, elapsed, elapsed > 0 and calls / elapsed or 0))
return 0
