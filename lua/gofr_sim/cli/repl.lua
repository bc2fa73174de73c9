--- gofr_sim.cli.repl: `gofr-sim repl`, a Lua prompt with the engine loaded
-- (docs/repl.md).
--
-- The REPL itself is a persona: it reads a line from the terminal (the C
-- binding gofr_sim.repl_core yields it until the line is complete, so the
-- loop keeps turning: an embedded twin answers requests meanwhile), compiles
-- the chunk, and runs it as a persona of its own, which it waits for. So
-- yielding calls - sim.sleep, sim.http.get, mcp:call - work at the prompt,
-- and Ctrl-C can abort that one persona (its I/O is cancelled) and leave the
-- REPL standing.
--
-- Each input is first compiled as "return <input>" so that expressions
-- print their values (like the luajit REPL; "=expr" works too), else as a
-- statement; a chunk whose only fault is an early end ("... near '<eof>'")
-- asks for more lines. Inputs run in the REPL's own environment table: user
-- assignments land there, not in _G, which it falls back to for reads.
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"

local type, tostring, pairs, rawget, rawset, select = type, tostring, pairs, rawget, rawset, select
local concat, sort = table.concat, table.sort
local getmetatable_raw = debug.getmetatable

local M = {}

M.PROMPT = "sim> "
M.CONTINUATION = "sim>> "
--- Lines kept in the history file ($HOME/.gofr_sim_history).
M.HISTORY_SIZE = 1000
M.HISTORY_FILE = ".gofr_sim_history"

-- Pretty printing -------------------------------------------------------------

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local function quote(s)
  return (("%q"):format(s):gsub("\\\n", "\\n"))
end

local function scalar(v)
  local t = type(v)
  if t == "string" then return quote(v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return nil
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. (scalar(k) or tostring(k)) .. "]"
end

local TYPE_ORDER = { number = 1, string = 2, boolean = 3 }

-- Numbers, then strings, then booleans, then the rest by type name and tostring.
local function key_before(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    local ra, rb = TYPE_ORDER[ta] or 9, TYPE_ORDER[tb] or 9
    if ra ~= rb then return ra < rb end
    return ta < tb
  end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

-- The keys of t: 1..n of its array part first, then the others sorted;
-- and n.
local function sorted_keys(t)
  local keys, n = {}, 0
  while rawget(t, n + 1) ~= nil do
    n = n + 1
    keys[n] = n
  end
  local rest = {}
  for k in next, t do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then rest[#rest + 1] = k end
  end
  sort(rest, key_before)
  for i = 1, #rest do keys[n + i] = rest[i] end
  return keys, n
end

local function render(v, indent, path, depth, opts)
  local s = scalar(v)
  if s then return s end
  if type(v) ~= "table" then return tostring(v) end
  local mt = getmetatable_raw(v)
  if mt and rawget(mt, "__tostring") then return tostring(v) end
  if path[v] then return "<cycle: " .. tostring(v) .. ">" end
  local keys, n = sorted_keys(v)
  if #keys == 0 then return "{}" end
  if depth >= opts.depth then return "{...}" end
  path[v] = true
  local items, inner = {}, indent .. "  "
  for i, k in ipairs(keys) do
    if i > opts.items then
      items[#items + 1] = ("... (%d more)"):format(#keys - opts.items)
      break
    end
    local text = render(rawget(v, k), inner, path, depth + 1, opts)
    items[i] = i <= n and text or (key_text(k) .. " = " .. text)
  end
  path[v] = nil
  local line = "{ " .. concat(items, ", ") .. " }"
  if #indent + #line <= opts.width and not line:find("\n", 1, true) then return line end
  return "{\n" .. inner .. concat(items, ",\n" .. inner) .. "\n" .. indent .. "}"
end

--- pretty(v, {depth = 8, items = 200, width = 80}) -> text: tables
-- indented and nested, keys sorted (array part first), short tables on one
-- line, strings quoted; a table met again inside itself prints as
-- <cycle: table: 0x...>; values with __tostring print as tostring shows them.
function M.pretty(v, opts)
  opts = opts or {}
  return render(v, "", {}, 0, {
    depth = opts.depth or 8, items = opts.items or 200, width = opts.width or 80,
  })
end

--- The text the REPL prints for an input's results: strings as they are
-- (like print), other values pretty-printed, separated by tabs; nil when
-- there are none.
function M.format_results(r, first, last)
  if last < first then return nil end
  local parts = {}
  for i = first, last do
    local v = r[i]
    parts[#parts + 1] = type(v) == "string" and v or M.pretty(v)
  end
  return concat(parts, "\t")
end

-- Compiling -------------------------------------------------------------------

local function at_eof(err)
  return err ~= nil and err:sub(-7) == "'<eof>'"
end

--- compile(src) -> function | nil, "incomplete" | nil, message.
-- "=expr" is "return expr"; otherwise "return <src>" is tried first.
function M.compile(src)
  local expr = src:match("^%s*=(.*)$")
  if expr then src = "return " .. expr end
  local fn, rerr = loadstring("return " .. src, "=stdin")
  if fn then return fn end
  local serr
  fn, serr = loadstring(src, "=stdin")
  if fn then return fn end
  if at_eof(serr) or at_eof(rerr) then return nil, "incomplete" end
  return nil, serr
end

-- The embedded twin, MCP sessions and tokens ---------------------------------

-- The standard token set (gofr_sim.gofr_dig.tokens; it prints redacted:
-- tokens.token_apac is the full token): every symbolic token minted for the
-- twin's secret and registered in its token store (as gofr-dig must know
-- every token it accepts).
local function twin_tokens(twin)
  local map = require("gofr_sim.gofr_dig.tokens").mint_symbolic(twin.secret)
  twin.store:register_all(map)
  return map
end

-- A session whose calls carry a token: session:call(tool, args, opts) with
-- opts.auth_token = token unless given; everything else is the session's.
local WithToken = {}

function WithToken:call(tool, args, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.auth_token == nil then o.auth_token = self.token end
  return self.session:call(tool, args, o)
end

local WITH_TOKEN_MT = {
  __index = function(w, k)
    local method = WithToken[k]
    if method then return method end
    local v = w.session[k]
    if type(v) ~= "function" then return v end
    return function(self, ...)
      if self == w then self = w.session end
      return v(self, ...)
    end
  end,
}

local Context = {}
Context.__index = Context

--- The twin, started on first use (inside the REPL's run).
function Context:twin()
  if not self.the_twin then
    local twin, err_type, msg = require("gofr_sim.twin").start {}
    if not twin then error(("twin(): %s (%s)"):format(tostring(msg), tostring(err_type)), 0) end
    self.the_twin = twin
  end
  return self.the_twin
end

--- connect(url, token) -> session | nil, err_type, message; url defaults
-- to --mcp-url, else the embedded twin (started if need be).
function Context:connect(url, token)
  if url == nil then url = self.mcp_url or self:twin().url end
  local s, err_type, msg = sim.mcp.connect(url)
  if not s then return nil, err_type, msg end
  self.sessions[#self.sessions + 1] = s
  if token == nil then return s end
  return setmetatable({ session = s, token = token }, WITH_TOKEN_MT)
end

-- For a real server: GOFR_DIG_SIM_TOKEN_<NAME> from the environment, the
-- rest minted when GOFR_DIG_JWT_SECRET is set.
function Context:tokens()
  if self.mcp_url then return require("gofr_sim.gofr_dig.tokens").available() end
  return twin_tokens(self:twin())
end

--- Ends the sessions opened at the prompt, then the twin.
function Context:close()
  for _, s in ipairs(self.sessions) do pcall(s.close, s, { timeout = 2 }) end
  self.sessions = {}
  if self.the_twin then self.the_twin:close() end
end

M.HELP = [[
gofr-sim repl: Lua with the engine loaded. Each input runs as a persona, so
calls that wait (sim.sleep, sim.http.get, MCP calls) work here.

  1 + 2                    an expression prints its value (=expr too)
  t = {a = {1, 2}}         assignments stay in the REPL's environment
  sim                      the engine: sim.http.get(url), sim.sleep(s), sim.jwt ...
  twin()                   starts the embedded gofr-dig twin and its fixture
                           site (once) -> twin URL, site URL
  connect(url?, token?)    an MCP session (default: --mcp-url, else the twin);
                           with a token, every call carries it as auth_token
  mcp                      a session opened on first use (--mcp-url: at start)
  tokens                   the standard token set (token_apac, token_emea,
                           token_us, token_multi, token_invalid, token_expired,
                           token_bad_signature, token_alg_none); reading it
                           first starts the twin and registers them there;
                           with --mcp-url: GOFR_DIG_SIM_TOKEN_* / GOFR_DIG_JWT_SECRET
  pp(v)                    pretty-prints v

  s = connect()
  s:call("ping", {}).data.status
  site = select(2, twin())
  a = connect(nil, tokens.token_apac)
  a:call("get_content", {url = site .. "/index.html", parse_results = false}).data.title
  sim.http.get(site .. "/index.html?delay_ms=30000")    -- Ctrl-C cancels it

Ctrl-C cancels the running input (or clears the line); Ctrl-D leaves.
History: ~/]] .. M.HISTORY_FILE .. "\n"

-- The REPL's environment: the preloads, `tokens` and (without --mcp-url)
-- `mcp` made on first read, then _G.
local function new_env(ctx, out)
  local lazy = {
    tokens = function() return ctx:tokens() end,
    mcp = function()
      local s, err_type, msg = ctx:connect()
      if not s then error(("mcp: %s (%s)"):format(tostring(msg), tostring(err_type)), 0) end
      return s
    end,
  }
  local env = {
    sim = sim,
    twin = function()
      local t = ctx:twin()
      return t.url, t.site_url
    end,
    connect = function(url, token) return ctx:connect(url, token) end,
    help = function() out(M.HELP) end,
    pp = function(...)
      for i = 1, select("#", ...) do out(M.pretty((select(i, ...)))) end
    end,
  }
  return setmetatable(env, {
    __index = function(t, k)
      local make = lazy[k]
      if not make then return _G[k] end
      local v = make()
      rawset(t, k, v)
      return v
    end,
  })
end

-- The loop ----------------------------------------------------------------------

local function pack(...)
  return { n = select("#", ...), ... }
end

local function on_error(e)
  return { msg = tostring(e), trace = debug.traceback("", 2) }
end

-- The error text: the message, and the traceback when it reaches beyond
-- the input itself (the frames of the REPL's own xpcall are cut).
local function error_text(e)
  local frames, beyond = {}, false
  for line in e.trace:gmatch("[^\n]+") do
    if line:find("in function 'xpcall'", 1, true) then break end
    if line:match("^%s") then
      frames[#frames + 1] = line
      local where = line:match("^%s*(.-):")
      if where ~= "stdin" and not where:match("^%[") then beyond = true end -- [C], [builtin#n]
    end
  end
  if not beyond then return e.msg end
  return e.msg .. "\nstack traceback:\n" .. concat(frames, "\n")
end

-- Runs fn as a persona that Ctrl-C aborts; prints its results or error.
local function evaluate(term, fn, out, err_out)
  local h = sim.spawn(function() return pack(xpcall(fn, on_error)) end)
  term:guard(h)
  local r = sim.wait(h)
  term:guard(nil)
  if not r then
    err_out((term:is_tty() and "\n" or "") .. "interrupted")
  elseif not r[1] then
    err_out(error_text(r[2]))
  else
    local text = M.format_results(r, 2, r.n)
    if text then out(text) end
  end
end

--- read_eval_print(term, env, out, err_out) -> "eof" | "terminate": the
-- loop, until Ctrl-D (or the end of input) or SIGTERM.
function M.read_eval_print(term, env, out, err_out)
  local chunk
  while true do
    local line, why = term:read(chunk and M.CONTINUATION or M.PROMPT)
    if line then
      term:add_history(line)
      chunk = chunk and (chunk .. "\n" .. line) or line
      local fn, err = M.compile(chunk)
      if err ~= "incomplete" then
        chunk = nil
        if fn then
          evaluate(term, setfenv(fn, env), out, err_out)
        else
          err_out(err)
        end
      end
    elseif why == "interrupt" then
      chunk = nil
    else
      return why
    end
  end
end

local function writer(f)
  return function(text)
    f:write(text, text:sub(-1) == "\n" and "" or "\n")
    f:flush()
  end
end

local function history_path()
  local home = os.getenv("HOME")
  if not home or home == "" then return nil end
  return home .. "/" .. M.HISTORY_FILE
end

--- gofr-sim repl [--mcp-url URL] -> exit status: 0 after Ctrl-D, 1 when
-- --mcp-url cannot be reached, 143 after SIGTERM.
function M.main(argv)
  local opts = cli.options(cli.parse(argv, 2), { mcp_url = { type = "string" } })
  local ok, repl_core = pcall(require, "gofr_sim.repl_core")
  if not ok then
    error("gofr-sim repl: the terminal binding is part of the gofr-sim executable", 0)
  end
  local out, err_out = writer(io.stdout), writer(io.stderr)
  local term = repl_core.open { history = history_path(), history_size = M.HISTORY_SIZE }
  local ctx = setmetatable({ mcp_url = opts.mcp_url, sessions = {} }, Context)
  local env = new_env(ctx, out)
  local status = 0
  local run_ok, run_err = pcall(sim.run, function()
    if opts.mcp_url then
      local s, err_type, msg = ctx:connect(opts.mcp_url)
      if not s then
        err_out(("gofr-sim: repl: cannot connect to %s: %s (%s)")
          :format(opts.mcp_url, tostring(msg), tostring(err_type)))
        status = 1
        return
      end
      rawset(env, "mcp", s)
    end
    if term:is_tty() then
      out(("gofr-sim %s: Lua with the engine loaded; help() for help, Ctrl-D to leave")
        :format(sim._VERSION))
    end
    local why = M.read_eval_print(term, env, out, err_out)
    if why == "terminate" then status = 143 end
    ctx:close()
    sim.stop(1) -- what the inputs left running gets a second, then is aborted
  end)
  term:close()
  if not run_ok then error(run_err, 0) end
  return status
end

return M
