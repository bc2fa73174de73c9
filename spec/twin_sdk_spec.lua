-- The gofr-dig twin (`gofr-sim twin`) seen by an independent MCP client: the
-- official MCP TypeScript SDK's Client + StreamableHTTPClientTransport
-- (test/peers/sdk-client.js, conformance mode, installed into build/test-peers
-- by scripts/install-test-peers.sh, run from here when needed).
--
-- Three child processes: the twin (gofr-sim twin --port 0 --port-file F, with
-- GOFR_DIG_ALLOW_PRIVATE_URLS=true so it may fetch from 127.0.0.1), the fixture
-- site it fetches from (gofr-sim fixtures --port 0), and the node client, which
-- runs while both serve; hence child processes, not the twin in-process. The
-- servers run under `timeout`, so they cannot outlive a crashed spec for long.
-- Without node/npm (or when the install fails) the test is pending.
local cjson = require "cjson"
local support = require "support"

local PEERS = support.peers_dir
local q = support.shell_quote
local SERVER_LIFETIME = 120 -- seconds: `timeout` stops a server child after this



local function sleep(seconds)
  os.execute("sleep " .. seconds)
end

-- True while the process runs (a zombie does not).
local function alive(pid)
  local stat = support.read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and stat:match("^%d+ %b() (%a)") ~= "Z"
end

-- Starts `env... gofr-sim args...` in the background under `timeout`, its
-- output in a log file; returns {pid=, log=, name=}.
local function start_server(name, env, args)
  local log = os.tmpname()
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  local cmd = ("exec env %s timeout -k 5 %d %s %s >%s 2>&1 </dev/null & echo $!")
    :format(env, SERVER_LIFETIME, q(support.bin), table.concat(quoted, " "), q(log))
  local p = assert(io.popen(cmd))
  local pid = tonumber(p:read("*l"))
  p:close()
  assert(pid, "could not start " .. name)
  return { pid = pid, log = log, name = name }
end

local function stop_server(child)
  if not child then return end
  if alive(child.pid) then
    os.execute("kill " .. child.pid .. " 2>/dev/null") -- timeout passes SIGTERM on
    for _ = 1, 100 do
      if not alive(child.pid) then break end
      sleep(0.05)
    end
    if alive(child.pid) then os.execute("kill -9 " .. child.pid .. " 2>/dev/null") end
  end
  os.remove(child.log)
end

-- Polls (bounded) until read() returns a value; raises with the child's log
-- if it exits or the time runs out.
local function wait_for(child, read, seconds)
  for _ = 1, seconds * 20 do
    local v = read()
    if v then return v end
    if not alive(child.pid) then break end
    sleep(0.05)
  end
  local v = read()
  if v then return v end
  error(("%s did not start: %s"):format(child.name, support.read_file(child.log) or "(no log)"))
end

-- Runs the SDK client to completion; returns status, stdout, stderr.
local function run_client(args)
  local out, err, rc = os.tmpname(), os.tmpname(), os.tmpname()
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  os.execute(("cd %s && timeout -k 5 90 node sdk-client.js %s >%s 2>%s </dev/null; echo $? >%s")
    :format(q(PEERS), table.concat(quoted, " "), q(out), q(err), q(rc)))
  local status = tonumber(support.read_file(rc))
  local stdout, stderr = support.read_file(out) or "", support.read_file(err) or ""
  os.remove(out); os.remove(err); os.remove(rc)
  return status, stdout, stderr
end

-- The <title> of a fixture page, entities decoded as an HTML parser would.
local function page_title(path)
  local html = assert(support.read_file(path), "cannot read " .. path)
  local title = assert(html:match("<title>(.-)</title>"), "no <title> in " .. path)
  local entities = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'" }
  title = title:gsub("&#(%d+);", function(n) return string.char(tonumber(n)) end)
  title = title:gsub("&(%a+);", entities)
  return (title:gsub("^%s+", ""):gsub("%s+$", ""))
end

local peers_ok, why_not = support.prepare_peers()
if not peers_ok then
  describe("the gofr-dig twin against the MCP SDK client", function()
    pending(why_not)
  end)
  return
end

describe("the gofr-dig twin against the MCP SDK client", function()
  local twin, site, status, stdout, stderr, line

  setup(function()
    local ok, err = pcall(function()
      site = start_server("gofr-sim fixtures", "",
        { "fixtures", "--root", support.fixtures_root, "--host", "127.0.0.1", "--port", "0" })
      local site_url = wait_for(site, function()
        return (support.read_file(site.log) or ""):match("(http://127%.0%.0%.1:%d+)/?\n")
      end, 15)
      local port_file = os.tmpname()
      os.remove(port_file)
      twin = start_server("gofr-sim twin", "GOFR_DIG_ALLOW_PRIVATE_URLS=true",
        { "twin", "--host", "127.0.0.1", "--port", "0", "--port-file", port_file })
      local port = wait_for(twin, function()
        return tonumber((support.read_file(port_file) or ""):match("^%s*(%d+)%s*$"))
      end, 15)
      os.remove(port_file)
      status, stdout, stderr = run_client {
        "--url", ("http://127.0.0.1:%d/mcp/"):format(port), "conformance", "--site-url", site_url,
      }
      local json_line = stdout:match("(%b{})%s*$")
      line = json_line and cjson.decode(json_line)
    end)
    if not ok then
      stop_server(twin)
      stop_server(site)
      twin, site = nil, nil
      error(err, 0)
    end
  end)

  teardown(function()
    stop_server(twin)
    stop_server(site)
  end)

  local function result()
    assert.are.equal(0, status, "sdk-client.js failed: " .. stderr .. stdout)
    assert.is_table(line, "sdk-client.js printed no JSON line: " .. stdout)
    return line
  end

  it("completes initialize, tools/list, two tools/call and DELETE with the SDK client", function()
    local r = result()
    assert.are.equal("string", type(r.protocolVersion))
    assert.matches("^%d%d%d%d%-%d%d%-%d%d$", r.protocolVersion)
  end)

  it("identifies itself as gofr-dig does", function()
    assert.are.equal("gofr-dig-service", result().serverInfo.name)
  end)

  it("lists gofr-dig's 9 tools, in gofr-dig's order", function()
    assert.are.same({
      "ping", "set_antidetection", "get_content", "get_structure", "get_session_info",
      "get_session_chunk", "list_sessions", "get_session_urls", "get_session",
    }, result().tools)
  end)

  it("answers ping", function()
    local ping = result().ping
    assert.are.equal("ok", ping.status)
    assert.are.equal("gofr-dig", ping.service)
  end)

  it("fetches a fixture page with get_content", function()
    local content = result().get_content
    assert.is_table(content)
    assert.is_true(content.success, cjson.encode(content))
    assert.are.equal(page_title(support.fixtures_root .. "/index.html"), content.title)
  end)
end)
