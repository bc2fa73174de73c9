-- sim.mcp: a call that times out sends notifications/cancelled, and it
-- reaches the server before the session's DELETE when the caller closes at
-- once; none is sent for a session already closed.
local sim = require "gofr_sim"
local cjson = require "cjson"
local support = require "support"

local VERSION = "2025-06-18"

-- A server that answers the handshake, holds tools/call for `hold` seconds
-- and logs every notification and DELETE it receives, in order.
local function slow_server(log, hold)
  return assert(sim.server.listen { port = 0, handler = function(req, res)
    if req.method == "DELETE" then
      log[#log + 1] = "DELETE"
      return res:send(200, nil, "")
    end
    local msg = cjson.decode(req.body)
    if msg.id == nil then
      log[#log + 1] = msg.method
      return res:send(202, nil, "")
    end
    if msg.method == "tools/call" then sim.sleep(hold) end
    if res.closed then return end
    res:send(200, { ["Content-Type"] = "application/json", ["Mcp-Session-Id"] = "s-1" },
      cjson.encode { jsonrpc = "2.0", id = msg.id, result = msg.method == "initialize"
        and { protocolVersion = VERSION, capabilities = {}, serverInfo = { name = "slow", version = "0" } }
        or { content = { { type = "text", text = "{}" } } } })
  end })
end

describe("sim.mcp cancellation", function()
  it("sends notifications/cancelled before the DELETE of a session closed at once", function()
    for round = 1, 5 do -- the old order lost this race every time; check it is no race now
      local log = {}
      sim.run(function()
        local srv = slow_server(log, 1)
        local s = assert(sim.mcp.connect(srv.url .. "/mcp/", { protocol_version = VERSION }))
        local r = s:call("slow", {}, { timeout = 0.1 })
        assert.are.equal("network_timeout", r.error_type)
        assert.is_true(s:close())
        srv.close()
      end)
      assert.are.same({ "notifications/initialized", "notifications/cancelled", "DELETE" }, log,
        "round " .. round)
    end
    support.assert_clean()
  end)

  it("sends none once the session is closed", function()
    local log = {}
    sim.run(function()
      local srv = slow_server(log, 1)
      local s = assert(sim.mcp.connect(srv.url .. "/mcp/", { protocol_version = VERSION }))
      -- another persona's call is in flight when this one closes the session
      local h = sim.spawn(function() return s:call("slow", {}, { timeout = 0.3 }) end)
      sim.sleep(0.05)
      assert.is_true(s:close())
      local r = sim.wait(h)
      assert.are.equal("network_timeout", r.error_type)
      sim.sleep(0.2)
      srv.close()
    end)
    assert.are.same({ "notifications/initialized", "DELETE" }, log)
    support.assert_clean()
  end)
end)
