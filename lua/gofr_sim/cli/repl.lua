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
-- statement, else as "statements; return <last expression>" (`r = f(); r`);
-- a chunk whose only fault is an early end ("... near '<eof>'") asks for
-- more lines. Inputs run in the REPL's own environment table: user
-- assignments land there, not in _G, which it falls back to for reads.
--
-- Tab completion (M.complete) runs inside the terminal's key handler: it
-- only reads tables (rawget, and __index chains that are tables), never
-- calls a metamethod or a lazy global, and returns a bounded list.
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"

local type, tostring, pairs, rawget, rawset, select = type, tostring, pairs, rawget, rawset, select
local next, setmetatable = next, setmetatable
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

-- A value printed as the text given.
local function shown_as(text)
  return setmetatable({}, { __tostring = function() return text end })
end

-- A session:call result (sim.mcp's decode_result: ok, is_error, result,
-- text, data) whose text was decoded as data.
local function is_call_result(v)
  return type(rawget(v, "ok")) == "boolean" and type(rawget(v, "is_error")) == "boolean"
    and type(rawget(v, "result")) == "table" and type(rawget(v, "text")) == "string"
    and rawget(v, "data") ~= nil
end

-- The call result printed once: data as it is; text, and the one text block
-- of result.content holding that same text, elided with a note saying so.
local function compact_call_result(v)
  local text, c = rawget(v, "text"), {}
  for k, x in next, v do c[k] = x end
  if rawget(v, "data") == text then
    c.text = shown_as("<the same as data>")
  else
    c.text = shown_as(("<%d bytes, shown decoded as data>"):format(#text))
  end
  local result, content = rawget(v, "result"), rawget(rawget(v, "result"), "content")
  local block = type(content) == "table" and rawget(content, 1)
  if type(block) == "table" and rawget(content, 2) == nil and rawget(block, "type") == "text"
    and rawget(block, "text") == text then
    local rc = {}
    for k, x in next, result do rc[k] = x end
    rc.content = shown_as("<1 text block: the text>")
    c.result = rc
  end
  return c
end

local function render(v, indent, path, depth, opts)
  local s = scalar(v)
  if s then return s end
  if type(v) ~= "table" then return tostring(v) end
  local mt = getmetatable_raw(v)
  if mt and rawget(mt, "__tostring") then return tostring(v) end
  if not opts.full and not path[v] and is_call_result(v) then
    return render(compact_call_result(v), indent, path, depth, opts)
  end
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

--- pretty(v, {depth = 8, items = 200, width = 80, full = false}) -> text:
-- tables indented and nested, keys sorted (array part first), short tables
-- on one line, strings quoted; a table met again inside itself prints as
-- <cycle: table: 0x...>; values with __tostring print as tostring shows them.
-- A session:call result shows its payload once (data); its text and the
-- text block of result.content are elided, saying so (unless full).
function M.pretty(v, opts)
  opts = opts or {}
  return render(v, "", {}, 0, {
    depth = opts.depth or 8, items = opts.items or 200, width = opts.width or 80,
    full = opts.full,
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

-- Whether a compile error says the chunk ended too early (an open block,
-- bracket or string). "'=' expected near '<eof>'" is not one: it is what a
-- statement followed by a bare expression gives (`r = 1 r`).
local function at_eof(err)
  return err ~= nil and err:sub(-7) == "'<eof>'" and not err:find("'=' expected near '<eof>'$")
end

-- How many ';' or line ends M.compile tries as the end of the statements.
local MAX_SPLITS = 64

-- "statements; expression" as a chunk that runs the statements and returns
-- the expression's values: tried at each ';' or line end, the last first.
local function compile_statements_then_expression(src)
  local tries = 0
  for p = #src, 1, -1 do
    local c = src:byte(p)
    if c == 59 or c == 10 then -- ';', '\n'
      local tail = src:sub(p + 1)
      if tail:find("%S") then
        local fn = loadstring(src:sub(1, p) .. " return " .. tail, "=stdin")
        if fn then return fn end
      end
      tries = tries + 1
      if tries >= MAX_SPLITS then return nil end
    end
  end
  return nil
end

--- compile(src) -> function | nil, "incomplete" | nil, message.
-- "=expr" is "return expr"; otherwise "return <src>" is tried first, then
-- the statement, then "statements; return <last expression>".
function M.compile(src)
  local expr = src:match("^%s*=(.*)$")
  if expr then src = "return " .. expr end
  local fn, rerr = loadstring("return " .. src, "=stdin")
  if fn then return fn end
  local serr
  fn, serr = loadstring(src, "=stdin")
  if fn then return fn end
  fn = compile_statements_then_expression(src)
  if fn then return fn end
  if at_eof(serr) or at_eof(rerr) then return nil, "incomplete" end
  -- a statement that fails at its first token was meant as an expression
  local near = serr:match("unexpected symbol near '(.*)'$")
  if near and near ~= "" and src:match("^%s*(.*)$"):sub(1, #near) == near then return nil, rerr end
  return nil, serr
end

-- Completion -------------------------------------------------------------------

--- At most this many candidates for one Tab (the terminal takes 200).
M.MAX_COMPLETIONS = 200
-- Keys looked at per table, and __index tables followed, at most.
local MAX_KEYS, MAX_CHAIN = 5000, 8

local IDENT = "^[%a_][%w_]*$"

-- The fields of v that completion shows, into `into` (name -> value): a
-- table's own, then those of its metatable's __index tables; a string's are
-- the string library's. Never calls a metamethod.
local function fields(v, into)
  local seen = 0
  for _ = 1, MAX_CHAIN do
    local t = v
    if type(v) == "string" then t = string end
    if type(t) ~= "table" then return into end
    for k, x in next, t do
      seen = seen + 1
      if seen > MAX_KEYS then return into end
      if type(k) == "string" and into[k] == nil then into[k] = x end
    end
    local mt = getmetatable_raw(t)
    local index = mt and rawget(mt, "__index")
    if mt and rawget(mt, "__complete") then index = rawget(mt, "__complete")(t) end
    if type(index) ~= "table" or index == t then return into end
    v = index
  end
  return into
end

-- v's field k as completion sees it (fields' rules).
local function field(v, k)
  return fields(v, {})[k]
end

--- complete(env, word, names) -> list of replacements for word: the
-- globals (env, `names`: lazy globals not made yet, _G) starting with it,
-- or the fields after the last '.' or ':' of a dotted path (`sim.http.ge`,
-- `s:ca`: methods only after ':'). Sorted, at most M.MAX_COMPLETIONS.
function M.complete(env, word, names)
  local path, sep, partial = word:match("^(.-)([%.:])([%w_]*)$")
  local candidates, found = {}, {}
  if not path then
    if word ~= "" and not word:match(IDENT) then return {} end
    partial, sep = word, ""
    fields(_G, found)
    for k, x in next, env do if type(k) == "string" then found[k] = x end end
    for _, k in ipairs(names or {}) do found[k] = found[k] or true end
  else
    local v
    for part in (path .. "."):gmatch("(.-)%.") do
      if not part:match(IDENT) then return {} end
      if v == nil then
        v = rawget(env, part)
        if v == nil then v = rawget(_G, part) end
      else
        v = field(v, part)
      end
      if v == nil then return {} end
    end
    fields(v, found)
  end
  for k, x in next, found do
    if k:sub(1, #partial) == partial and k:match(IDENT) and not KEYWORDS[k]
      and not k:match("^__") and (sep ~= ":" or type(x) == "function") then
      candidates[#candidates + 1] = k
    end
  end
  sort(candidates)
  local out = {}
  for i = 1, math.min(#candidates, M.MAX_COMPLETIONS) do
    out[i] = (path or "") .. sep .. candidates[i]
  end
  return out
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
  -- what completion lists (M.complete): the session's fields and :call
  __complete = function(w)
    local t = fields(rawget(w, "session"), {})
    for k, v in pairs(WithToken) do t[k] = v end
    return t
  end,
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

Tab completes names, sim.* paths and methods (s:ca -> s:call); Ctrl-R
searches the history back; Ctrl-L clears the screen. `r = expr; r` runs the
statement and prints r.
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
  local lazy_names = {}
  for k in pairs(lazy) do lazy_names[#lazy_names + 1] = k end
  return setmetatable(env, {
    __index = function(t, k)
      local make = lazy[k]
      if not make then return _G[k] end
      local v = make()
      rawset(t, k, v)
      return v
    end,
  }), lazy_names
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
-- -> whether it ran to the end without an error.
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
    return true
  end
  return false
end

--- read_eval_print(term, env, out, err_out) -> "eof" | "terminate", the
-- number of inputs that failed (a compile error, an error raised, an
-- interrupt, or a chunk left unfinished at the end of input): the loop,
-- until Ctrl-D (or the end of input) or SIGTERM.
function M.read_eval_print(term, env, out, err_out)
  local chunk
  local failed = 0
  while true do
    local line, why = term:read(chunk and M.CONTINUATION or M.PROMPT)
    if line then
      term:add_history(line)
      chunk = chunk and (chunk .. "\n" .. line) or line
      local fn, err = M.compile(chunk)
      if err ~= "incomplete" then
        chunk = nil
        if not fn then
          err_out(err)
          failed = failed + 1
        elseif not evaluate(term, setfenv(fn, env), out, err_out) then
          failed = failed + 1
        end
      end
    elseif why == "interrupt" then
      chunk = nil
    else
      if chunk and why == "eof" and not term:is_tty() then
        err_out("stdin: the input ended inside an unfinished chunk")
        failed = failed + 1
      end
      return why, failed
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
-- --mcp-url cannot be reached, 143 after SIGTERM; with standard input not
-- a terminal, 1 at the end of input when any input failed (each error was
-- printed to stderr as it happened; the rest of the input still ran).
function M.main(argv)
  local opts = cli.options(cli.parse(argv, 2), { mcp_url = { type = "string" } })
  local ok, repl_core = pcall(require, "gofr_sim.repl_core")
  if not ok then
    error("gofr-sim repl: the terminal binding is part of the gofr-sim executable", 0)
  end
  local out, err_out = writer(io.stdout), writer(io.stderr)
  local term = repl_core.open { history = history_path(), history_size = M.HISTORY_SIZE }
  local ctx = setmetatable({ mcp_url = opts.mcp_url, sessions = {} }, Context)
  local env, lazy_names = new_env(ctx, out)
  term:set_completer(function(word) return M.complete(env, word, lazy_names) end)
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
    local why, failed = M.read_eval_print(term, env, out, err_out)
    if why == "terminate" then
      status = 143
    elseif failed > 0 and not term:is_tty() then
      err_out(("gofr-sim: repl: %d input%s failed"):format(failed, failed == 1 and "" or "s"))
      status = 1
    end
    ctx:close()
    sim.stop(1) -- what the inputs left running gets a second, then is aborted
  end)
  term:close()
  if not run_ok then error(run_err, 0) end
  return status
end

return M
