--- Shared helpers for the specs: paths, running the gofr-sim executable as
-- a child process, and the end-of-test leak check.
local sim = require "gofr_sim"
local assert = require "luassert"

local M = {}

M.source_dir = os.getenv("GS_SOURCE_DIR") or "."
M.bin = os.getenv("GOFR_SIM_BIN") or (M.source_dir .. "/build/gofr-sim")
M.fixtures_root = M.source_dir .. "/fixtures/html"

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

--- The whole file, or nil when it cannot be opened.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Writes text to path (created or truncated); raises when it cannot.
function M.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- True when something (a file, a directory, a link) is at path.
function M.exists(path)
  return require("gofr_sim.core").fs_stat(path) ~= nil
end

--- A fresh path under /tmp ending in suffix, not created (the caller
-- removes what it makes there).
function M.temp_path(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. suffix
end

--- Writes contents to a new temporary file named with suffix (default
-- ".lua"); -> its path (the caller removes it).
function M.tmpfile(contents, suffix)
  local path = os.tmpname() .. (suffix or ".lua")
  local f = assert(io.open(path, "w"))
  f:write(contents)
  f:close()
  return path
end

--- Makes a new, empty temporary directory; -> its path (the caller removes it).
function M.tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(M.sh_ok("mkdir -p " .. shell_quote(dir)))
  return dir
end

--- Runs a shell command; true when it exits 0.
function M.sh_ok(cmd)
  local rc = os.execute(cmd)
  return rc == 0 or rc == true
end

--- Where scripts/install-test-peers.sh puts the npm test peers.
M.peers_dir = os.getenv("GS_TEST_PEERS") or (M.source_dir .. "/build/test-peers")

--- Installs the npm test peers (the MCP TypeScript SDK and test/peers/*.js)
-- if needed; true, or false and why not (node/npm missing, npm registry
-- unreachable). ctest runs the specs that call it one at a time.
function M.prepare_peers()
  if not M.sh_ok("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") then
    return false, "node/npm not found: install them (CI does) to run the MCP peer specs"
  end
  local script = M.source_dir .. "/scripts/install-test-peers.sh"
  if not M.sh_ok(shell_quote(script) .. " " .. shell_quote(M.peers_dir) .. " >/dev/null 2>&1") then
    return false, "scripts/install-test-peers.sh failed (npm registry unreachable?)"
  end
  if not M.read_file(M.peers_dir .. "/node_modules/@modelcontextprotocol/sdk/package.json") then
    return false, "the MCP TypeScript SDK is missing from " .. M.peers_dir
  end
  return true
end

-- Node peers ------------------------------------------------------------------

local peers_started = {} -- every peer start_peer started, for stop_peers

--- True while process pid runs (a zombie is not running: orphans are
-- reaped by init, which may take its time).
function M.pid_alive(pid)
  local stat = M.read_file("/proc/" .. pid .. "/stat")
  if stat then return stat:match("^%d+ %b() (%a)") ~= "Z" end
  return false
end

--- Starts `node script args...` from the peers directory on a free port
-- (--port-file; --parent: it exits if this process dies); -> the peer
-- {pid=, port_file=, log=, script=}, ready once wait_peer returns.
function M.start_peer(script, args)
  local port_file = os.tmpname()
  os.remove(port_file)
  local peer = { port_file = port_file, log = port_file .. ".log", script = script }
  local cmd = ("cd %s && exec node %s %s --port-file %s --parent $PPID >%s 2>&1 </dev/null & echo $!")
    :format(shell_quote(M.peers_dir), shell_quote(script), table.concat(args or {}, " "),
      shell_quote(port_file), shell_quote(peer.log))
  local p = assert(io.popen(cmd))
  peer.pid = tonumber(p:read("*l"))
  p:close()
  assert(peer.pid, "could not start " .. script)
  peers_started[#peers_started + 1] = peer
  return peer
end

--- Waits (at most `seconds`) until the peer wrote its port; sets peer.port
-- and peer.base ("http://127.0.0.1:PORT"); raises with its log otherwise.
function M.wait_peer(peer, seconds)
  local deadline = os.time() + seconds
  while true do
    local port = tonumber((M.read_file(peer.port_file) or ""):match("%d+"))
    if port then
      peer.port, peer.base = port, ("http://127.0.0.1:%d"):format(port)
      return peer
    end
    if not M.pid_alive(peer.pid) or os.time() > deadline then
      error(("%s did not start: %s"):format(peer.script, M.read_file(peer.log) or "(no log)"))
    end
    os.execute("sleep 0.02")
  end
end

--- Stops every peer start_peer started (SIGTERM, then SIGKILL after 3 s).
function M.stop_peers()
  for _, peer in ipairs(peers_started) do
    if peer.pid and M.pid_alive(peer.pid) then
      os.execute("kill " .. peer.pid .. " 2>/dev/null")
      for _ = 1, 150 do
        if not M.pid_alive(peer.pid) then break end
        os.execute("sleep 0.02")
      end
      if M.pid_alive(peer.pid) then os.execute("kill -9 " .. peer.pid .. " 2>/dev/null") end
    end
    os.remove(peer.port_file)
    os.remove(peer.log)
  end
  peers_started = {}
end

--- Runs gofr-sim with the given arguments; returns {status=, stdout=, stderr=}.
-- opts.signal = {name = "INT", after = seconds, again = seconds} sends a
-- signal after a delay, and optionally a second one later; opts.cwd runs it
-- from another directory; opts.env = {NAME = value} adds to its environment.
function M.run_cli(args, opts)
  opts = opts or {}
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = shell_quote(a) end
  local out, err, rc = os.tmpname(), os.tmpname(), os.tmpname()
  local cmd = shell_quote(M.bin) .. " " .. table.concat(quoted, " ")
  if opts.env then -- {NAME = value}: the child's environment besides ours
    local assign = {}
    for k, v in pairs(opts.env) do assign[#assign + 1] = k .. "=" .. shell_quote(v) end
    table.sort(assign)
    cmd = "env " .. table.concat(assign, " ") .. " " .. cmd
  end
  if opts.cwd then cmd = "(cd " .. shell_quote(opts.cwd) .. " && exec " .. cmd .. ")" end
  local script
  if opts.signal then
    local s = opts.signal
    local again = s.again and ("sleep %s; kill -%s $pid 2>/dev/null; "):format(s.again, s.name) or ""
    script = ("%s >%s 2>%s & pid=$!; sleep %s; kill -%s $pid; %swait $pid; echo $? >%s")
      :format(cmd, out, err, s.after, s.name, again, rc)
  else
    script = ("%s >%s 2>%s </dev/null; echo $? >%s"):format(cmd, out, err, rc)
  end
  os.execute("bash -c " .. shell_quote(script))
  local result = {
    status = tonumber(slurp(rc)),
    stdout = slurp(out),
    stderr = slurp(err),
  }
  os.remove(out); os.remove(err); os.remove(rc)
  return result
end

--- Runs a scenario file through the executable with args, plus --output to
-- a temporary report; -> run_cli's result, the decoded report (nil when the
-- run wrote none).
function M.run_scenario(path, args)
  local out = os.tmpname()
  local full = { path }
  for _, a in ipairs(args or {}) do full[#full + 1] = a end
  full[#full + 1] = "--output"
  full[#full + 1] = out
  local r = M.run_cli(full)
  local text = M.read_file(out)
  os.remove(out)
  return r, text and text ~= "" and require("cjson").decode(text) or nil
end

--- Sorted names of a report's checks that failed at least once.
function M.failed_checks(rep)
  local names = {}
  for name, c in pairs(rep.checks) do
    if c.fails > 0 then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

--- The summary's mark for a check: "ok" or "FAIL", or nil when the
-- summary (a run's stdout) does not list it.
function M.check_mark(stdout, name)
  for line in stdout:gmatch("[^\n]+") do
    local mark, rest = line:match("^  (%S+)%s+(.*)$")
    if mark and rest:sub(1, #name + 2) == name .. "  " then return mark end
  end
  return nil
end

--- Serves the fixture site from a `gofr-sim fixtures` child process (run_cli
-- blocks this process, so an in-process site could not answer the runs it
-- starts). -> the site's base URL (no trailing slash), stop().
function M.fixtures_process()
  local log, pid = os.tmpname(), os.tmpname()
  local cmd = ("%s fixtures --root %s --port 0 >%s 2>&1 </dev/null & echo $! >%s")
    :format(shell_quote(M.bin), shell_quote(M.fixtures_root), shell_quote(log), shell_quote(pid))
  os.execute("bash -c " .. shell_quote(cmd))
  local url
  for _ = 1, 200 do
    url = (M.read_file(log) or ""):match("(http://[%d.:]+)/\n")
    if url then break end
    os.execute("sleep 0.02")
  end
  local child = (M.read_file(pid) or ""):match("^%d+")
  local function stop()
    if child then os.execute("kill " .. child .. " 2>/dev/null") end
    os.remove(log)
    os.remove(pid)
  end
  if not url then
    local why = M.read_file(log)
    stop()
    error("the fixture site did not start: " .. tostring(why))
  end
  return url, stop
end

--- Asserts that no persona, transfer or I/O handle is left over.
function M.assert_clean()
  local s = sim.stats()
  assert.are.equal(0, s.live, "personas still alive")
  assert.are.equal(0, s.transfers, "HTTP transfers still in flight")
  assert.are.equal(0, s.handles, "libuv handles still active")
end

--- Closes a fixture site and lets the loop finish closing it.
function M.close_site(site)
  site.close()
  sim.run(function() sim.sleep(0.01) end)
end

--- A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
function M.closed_port()
  local site = assert(sim.fixtures.serve { root = M.fixtures_root })
  M.close_site(site)
  return site.port
end

--- A listener on 127.0.0.1 whose accept queue is full, so a connect to it
-- never completes (a peer that drops SYNs). -> url, close()
function M.stalled_listener()
  local ffi = require "ffi"
  pcall(ffi.cdef, [[
    int socket(int, int, int);
    int bind(int, const void *, unsigned int);
    int listen(int, int);
    int connect(int, const void *, unsigned int);
    int getsockname(int, void *, unsigned int *);
    int close(int);
    struct gs_spec_sin { unsigned short family; unsigned short port; unsigned int addr; char zero[8]; };
  ]])
  local C, AF_INET, SOCK_STREAM, SOCK_NONBLOCK = ffi.C, 2, 1, 2048
  local lfd = C.socket(AF_INET, SOCK_STREAM, 0)
  local sa = ffi.new("struct gs_spec_sin", { family = AF_INET, addr = 0x0100007f })
  assert.are.equal(0, C.bind(lfd, sa, ffi.sizeof(sa)))
  assert.are.equal(0, C.listen(lfd, 0))
  C.getsockname(lfd, sa, ffi.new("unsigned int[1]", ffi.sizeof(sa)))
  local fills = {}
  for i = 1, 3 do
    fills[i] = C.socket(AF_INET, SOCK_STREAM + SOCK_NONBLOCK, 0)
    C.connect(fills[i], sa, ffi.sizeof(sa))
  end
  local url = ("http://127.0.0.1:%d/"):format(bit.rshift(bit.bswap(sa.port), 16))
  return url, function()
    for _, fd in ipairs(fills) do C.close(fd) end
    C.close(lfd)
  end
end

--- Asserts that number `actual` is within 0.1% of `expected` (`what`
-- names it in the failure): percentiles of merged histograms and the like.
function M.near_ratio(expected, actual, what)
  assert.is_number(actual, what)
  assert.is_true(math.abs(actual - expected) <= math.abs(expected) * 0.001,
    ("%s: expected %s within 0.1%%, got %s"):format(what, expected, actual))
end

--- Waits up to `seconds` (polling every 20 ms) for fn() to return a value;
-- -> it, or nil.
function M.wait_for(fn, seconds)
  for _ = 1, seconds * 50 do
    local v = fn()
    if v then return v end
    os.execute("sleep 0.02")
  end
  return nil
end

--- The JSON report at path, decoded (a malformed one raises); nil when the
-- file is missing or empty.
function M.decode_report(path)
  local text = M.read_file(path)
  return text and text ~= "" and assert(require("gofr_sim.report.write").decode(text)) or nil
end

--- Ends the process whose pid file is `path` (TERM, then KILL after 5 s);
-- nothing when the file holds no pid.
function M.stop_pid_file(path)
  local pid = (M.read_file(path) or ""):match("^%d+")
  if not pid then return end
  os.execute("kill " .. pid .. " 2>/dev/null")
  local gone = M.wait_for(function() return not M.sh_ok("kill -0 " .. pid .. " 2>/dev/null") end, 5)
  if not gone then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
end

--- A standalone twin for shard processes, in directory `dir`: `gofr-sim
-- twin --port 0` (bounded to 120 s) with a JWT secret and a token store
-- there, the default mix's tokens minted with that secret and registered
-- in the store. -> its MCP URL, and the shell assignments that give the
-- shards those tokens (for `--token-source env`); its pid is in
-- dir/twin.pid (stop_pid_file), its output in dir/twin.log.
function M.start_shards_twin(dir)
  local tokens = require "gofr_sim.gofr_dig.tokens"
  local auth = require "gofr_sim.twin.auth"
  local q = M.shell_quote
  local secret, store = dir .. "/secret", dir .. "/tokens.json"
  M.write_file(secret, "shards-twin-secret-0123456789abcdef\n")
  os.execute("bash -c " .. q(("timeout -k 5 120 %s twin --port 0 --port-file %s --fetch-delay 0 "
    .. "--jwt-secret-file %s --token-store %s >%s 2>&1 </dev/null & echo $! >%s"):format(q(M.bin),
    q(dir .. "/twin.port"), q(secret), q(store), q(dir .. "/twin.log"), q(dir .. "/twin.pid"))))
  local port = M.wait_for(function()
    return (M.read_file(dir .. "/twin.port") or ""):match("^(%d+)")
  end, 10)
  assert(port, "the twin did not start: " .. tostring(M.read_file(dir .. "/twin.log")))
  local map = tokens.mint_symbolic(assert(tokens.read_secret_file(secret)))
  assert(auth.store({ file = store }):register_all(map) > 0)
  local env = {}
  for _, name in ipairs { "token_apac", "token_emea", "token_us", "token_multi" } do
    env[#env + 1] = tokens.token_env_var(name) .. "=" .. q(map[name])
  end
  return "http://127.0.0.1:" .. port .. "/mcp", env
end

return M
