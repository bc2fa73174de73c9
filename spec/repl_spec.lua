-- gofr-sim repl: end to end through a pseudo-terminal (spec/pty_driver.py
-- types the lines and reads the screen), with piped input, and its pretty
-- printer and chunk compiler on their own.
local support = require "support"
local repl = require "gofr_sim.cli.repl"
local json = require "cjson"

local q = support.shell_quote
local DRIVER = support.source_dir .. "/spec/pty_driver.py"
local PROMPT = { expect = "sim> " }

local function input(line) return { send = line .. "\r" } end
local function expect(pattern, timeout) return { expect = pattern, timeout = timeout } end
local CTRL_C, CTRL_D = { send = "\3" }, { send = "\4" }
local CTRL_G, CTRL_L, CTRL_R, TAB = { send = "\7" }, { send = "\12" }, { send = "\18" }, { send = "\t" }
local function pause(s) return { sleep = s or 0.2 } end

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local temp_home = support.tmpdir

-- Runs `gofr-sim repl ARGS` under a pseudo-terminal with HOME=home through
-- the steps (each with its own timeout; the driver kills what is left).
-- -> {ok=, failed=, screen=, status=, elapsed=}
local function drive(home, steps, args)
  assert(support.sh_ok("command -v python3 >/dev/null 2>&1"),
    "python3 is needed to drive the REPL under a pseudo-terminal")
  local steps_file = os.tmpname()
  write_file(steps_file, json.encode(steps))
  local cmd = ("HOME=%s TERM=xterm timeout 120 python3 %s %s repl %s < %s"):format(
    q(home), q(DRIVER), q(support.bin), args or "", q(steps_file))
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  os.remove(steps_file)
  local result = json.decode(out)
  assert(type(result) == "table", "the pty driver printed: " .. out)
  return result
end

local function assert_ran(r)
  assert.is_true(r.ok, ("step %s failed; the screen:\n%s"):format(tostring(r.failed), r.screen))
end

-- The history file's lines (its header and vis-encoded entries).
local function history_lines(home)
  local text = support.read_file(home .. "/.gofr_sim_history")
  assert.is_string(text, "no history file under HOME")
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines, text
end

-- Fails when the history file holds a control byte (other than the line ends).
local function assert_clean_history(home)
  local _, text = history_lines(home)
  local bad = text:gsub("\n", ""):find("%c")
  assert.is_nil(bad, "a control byte in the history file:\n" .. text)
  -- libedit encodes bytes as \ooo or \^X: none of a control character but tab
  for code in text:gmatch("\\(%d%d%d)") do
    local byte = tonumber(code, 8)
    assert.is_true(byte >= 32 or byte == 9, "\\" .. code .. " in the history file:\n" .. text)
  end
  assert.is_nil(text:find("\\^", 1, true), "a \\^X control in the history file:\n" .. text)
  assert.is_nil(text:find("bck:", 1, true), "libedit's search prompt in the history file")
end

-- Runs `gofr-sim repl` with input on a pipe -> status, stdout, stderr.
local function piped(home, input_text)
  local inp, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  write_file(inp, input_text)
  local ok, _, code = os.execute(("HOME=%s timeout 60 %s repl <%s >%s 2>%s")
    :format(q(home), q(support.bin), q(inp), q(out), q(err)))
  local status = type(ok) == "number" and ok / 256 or code -- 5.1 or 5.2+
  local stdout, stderr = support.read_file(out), support.read_file(err)
  os.remove(inp); os.remove(out); os.remove(err)
  return status, stdout, stderr
end

local function count(text, plain)
  local n, at = 0, 1
  while true do
    local s, e = text:find(plain, at, true)
    if not s then return n end
    n, at = n + 1, e + 1
  end
end

-- The steps that leave with Ctrl-D and expect exit status 0.
local function leave(steps)
  steps[#steps + 1] = PROMPT
  steps[#steps + 1] = CTRL_D
  steps[#steps + 1] = { exit = 5 }
  return steps
end

describe("gofr-sim repl under a terminal", function()
  local home
  before_each(function() home = temp_home() end)
  after_each(function() support.sh_ok("rm -rf " .. q(home)) end)

  it("prints values, pretty-prints tables, continues incomplete chunks, keeps history", function()
    local r = drive(home, leave {
      PROMPT, input "1+2", expect "\r\n3\r\n",
      PROMPT, input "=\"a\" .. \"b\"", expect "\r\nab\r\n",
      PROMPT, input "t = {name = \"x\", list = {1, 2, {deep = true}}, [\"two words\"] = 2}",
      PROMPT, input "t",
      expect '\r\n\\{ list = \\{ 1, 2, \\{ deep = true \\} \\}, name = "x", \\["two words"\\] = 2 \\}\r\n',
      PROMPT, input "c = {1}; c.self = c; c.more = {back = c}",
      PROMPT, input "c", expect("\r\n\\{\r\n  1,\r\n  more = \\{ back = <cycle: table: 0x[0-9a-f]+> \\},"
        .. "\r\n  self = <cycle: table: 0x[0-9a-f]+>\r\n\\}\r\n"),
      PROMPT, input "function double(x)", expect "sim>> ",
      input "  return x * 2", expect "sim>> ",
      input "end", PROMPT,
      input "double(21)", expect "\r\n42\r\n",
      PROMPT, input "rawget(_G, \"double\")", expect "\r\nnil\r\n",
      PROMPT, input "error(\"boom\", 0)", expect "\r\nboom\r\n",
      PROMPT, input "1 +* 2", expect "\r\nstdin:1: unexpected symbol near",
    })
    assert_ran(r)
    assert.are.equal(0, r.status)
    local history = support.read_file(home .. "/.gofr_sim_history")
    assert.is_string(history, "no history file under HOME")
    assert.matches("\n1+2\n", history, 1, true)
    assert.matches("double(21)", history, 1, true)
  end)

  it("works against the embedded twin: twin(), connect(), tokens", function()
    local r = drive(home, leave {
      PROMPT, input "u, site = twin()",
      PROMPT, input "u, site, twin() == u",
      expect "\r\nhttp://127\\.0\\.0\\.1:\\d+/mcp/\\thttp://127\\.0\\.0\\.1:\\d+\\ttrue\r\n",
      PROMPT, input "s = connect()",
      PROMPT, input "s:call(\"ping\", {}).data.status", expect "\r\nok\r\n",
      PROMPT, input "a = connect(nil, tokens.token_apac)",
      PROMPT, input "r = a:call(\"get_content\", {url = site .. \"/index.html\", session = true})",
      expect("sim> ", 15),
      input "r.ok, r.data.session_id ~= nil", expect "\r\ntrue\ttrue\r\n",
      PROMPT, input "a:call(\"list_sessions\", {}).data.total", expect "\r\n1\r\n",
      PROMPT, input "x = connect(nil, tokens.token_invalid)",
      PROMPT, input "x:call(\"list_sessions\", {}).error_type", expect "\r\nauth_error\r\n",
      PROMPT, input "mcp:call(\"ping\", {}).ok", expect "\r\ntrue\r\n",
      PROMPT, input "help()", expect "connect\\(url\\?, token\\?\\)",
    })
    assert_ran(r)
    assert.are.equal(0, r.status)
  end)

  it("Ctrl-C cancels the running input, not the REPL; at the prompt it clears the line", function()
    local steps = leave {
      PROMPT, input "sim.sleep(30)", expect "sleep\\(30\\)\r\n", { sleep = 0.3 },
      CTRL_C, expect("interrupted\r\n", 2),
      PROMPT, input "site = select(2, twin())",
      PROMPT, input("slow = mcp:call(\"get_content\", {url = site .. \"/index.html?delay_ms=30000\", "
        .. "auth_token = tokens.token_apac})"),
      expect "delay_ms=30000.*\r\n", { sleep = 0.5 },
      CTRL_C, expect("interrupted\r\n", 2),
      PROMPT, input "slow", expect "\r\nnil\r\n",
      PROMPT, input "mcp:call(\"ping\", {}).data.status", expect "\r\nok\r\n",
      PROMPT, { send = "function half(" }, expect "half\\(", CTRL_C, PROMPT,
      input "1+1", expect "\r\n2\r\n",
    }
    local r = drive(home, steps)
    assert_ran(r)
    assert.are.equal(0, r.status)
    -- back at the prompt within a second or two of each Ctrl-C
    for i, step in ipairs(steps) do
      if step.expect == "interrupted\r\n" then assert.is_true(r.elapsed[i] < 2, r.screen) end
    end
  end)

  it("Tab completes globals, sim.* paths and a value's methods", function()
    local r = drive(home, leave {
      PROMPT, { send = "sim.ht" }, TAB, pause(), input "", -- the line is now sim.http
      expect "\r\n\\{\r\n  ENGINES = ", PROMPT,
      { send = "sim.http." }, TAB, TAB, -- the second Tab lists the candidates
      expect "sim\\.http\\.get ", expect "sim\\.http\\.status_error",
      CTRL_C, expect "\\^C\r\nsim> ", -- (a signal: wait for it before typing on)
      { send = "sim.http.ge" }, TAB, pause(), input " == sim.http.get", expect "\r\ntrue\r\n",
      PROMPT, input("obj = setmetatable({name = 'obj'}, {__index = {greet = function(self) "
        .. "return 'hello from ' .. self.name end}})"),
      PROMPT, { send = "obj:gr" }, TAB, pause(), input "()", expect "\r\nhello from obj\r\n",
      PROMPT, { send = "obj.na" }, TAB, pause(), input "", expect "\r\nobj\r\n",
      PROMPT, { send = "ipai" }, TAB, pause(), input " == ipairs", expect "\r\ntrue\r\n",
      PROMPT, { send = "conn" }, TAB, pause(), input " ~= nil", expect "\r\ntrue\r\n",
      -- a session from sim.mcp.connect, and one carrying a token
      PROMPT, input "s = connect()",
      PROMPT, { send = "s:pi" }, TAB, pause(), input "() ~= nil", expect "\r\ntrue\r\n",
      PROMPT, input "a = connect(nil, tokens.token_apac)",
      PROMPT, { send = "a:ca" }, TAB, pause(), input "('ping', {}).data.status", expect "\r\nok\r\n",
      PROMPT, { send = "nosuch.thi" }, TAB, pause(), input "ng", expect "attempt to index",
    })
    assert_ran(r)
    assert.are.equal(0, r.status)
    assert.is_nil(r.screen:find("Display all", 1, true), r.screen)
  end)

  it("Ctrl-R searches the history back; Enter runs the match; no control bytes are kept", function()
    -- a history file as the old REPL left it: Ctrl-R's junk on one line
    write_file(home .. "/.gofr_sim_history",
      "_HiStOrY_V2_\nold\\040=\\040'from\\040the\\040file'\nabc\\040=\\0404\\012bck:ab\\^D\n")
    local r = drive(home, leave {
      PROMPT, input "abc = 40", PROMPT, input "abd = 7", PROMPT, input "xyz = 'abxx'",
      PROMPT, CTRL_R, { send = "ab" }, expect "\\(reverse-i-search\\)`ab': xyz = 'abxx'",
      CTRL_R, expect "`ab': abd = 7", CTRL_R, expect "`ab': abc = 40", input "",
      PROMPT, input "abc + 2", expect "\r\n42\r\n", -- the match ran: abc is 40
      -- a key other than Enter leaves the match on the line to edit
      PROMPT, CTRL_R, { send = "abd" }, expect "`abd': abd = 7", { send = "\27[D" }, pause(),
      input "1", expect "\r\nsim> ", input "abd", expect "\r\n17\r\n",
      -- no match, Ctrl-G: the line as it was
      PROMPT, { send = "1 +" }, CTRL_R, { send = "zzz" },
      expect "\\(failed reverse-i-search\\)`zzz'", CTRL_G, pause(), input " 1",
      expect "\r\n2\r\n",
      -- lines from the history file are found too
      PROMPT, CTRL_R, { send = "from the" }, expect "`from the': old = 'from the file'", input "",
      PROMPT, input "old", expect "\r\nfrom the file\r\n",
    })
    assert_ran(r)
    assert.are.equal(0, r.status)
    assert_clean_history(home)
    local lines = history_lines(home)
    assert.are.equal("_HiStOrY_V2_", lines[1])
    assert.are.equal("old\\040=\\040'from\\040the\\040file'", lines[2]) -- the junk line is gone
    assert.are.equal("abc\\040=\\04040", lines[3])
    local edited = false -- the match as edited after the search
    for _, line in ipairs(lines) do edited = edited or line == "abd\\040=\\04017" end
    assert.is_true(edited, table.concat(lines, "\n"))
  end)

  it("Ctrl-L clears the screen and redraws the prompt and the line", function()
    local r = drive(home, leave {
      PROMPT, { send = "x = 5" }, expect "x = 5", CTRL_L,
      expect "\27\\[H\27\\[2Jsim> x = 5", input "", PROMPT, input "x", expect "\r\n5\r\n",
    })
    assert_ran(r)
  end)

  it("runs 'statement; expression' and prints the value; a bad line is an error, not a wait", function()
    local r = drive(home, leave {
      PROMPT, input "r = 1 + 1; r", expect "\r\n2\r\n",
      PROMPT, input "local t = {}; t[1] = 'a'; t", expect '\r\n\\{ "a" \\}\r\n',
      PROMPT, input "q = 1 q", expect "\r\nstdin:1: '=' expected near '<eof>'\r\n",
      PROMPT, input "q", expect "\r\nnil\r\n",
    })
    assert_ran(r)
    assert.is_nil(r.screen:find("sim>> ", 1, true), r.screen)
  end)

  it("prints a call's result once: data, with text and result.content elided", function()
    local r = drive(home, leave {
      PROMPT, input "s = connect()",
      PROMPT, input 's:call("ping", {})', expect 'status = "ok"',
      expect "text = <\\d+ bytes, shown decoded as data>",
      PROMPT, input "r = s:call('ping', {}); #r.result.content[1].text == #r.text",
      expect "\r\ntrue\r\n",
    })
    assert_ran(r)
    assert.are.equal(1, count(r.screen, 'status = "ok"'), r.screen)
    assert.are.equal(0, count(r.screen, '\\"status\\"'), r.screen)
    assert.matches("content = <1 text block: the text>", r.screen, 1, true)
  end)
end)

describe("gofr-sim repl with piped input", function()
  it("runs each line, prints no prompt, and ends at the end of input with status 0", function()
    local home = temp_home()
    local out = os.tmpname()
    local lines = "printf '%s\\n' '1+2' 'x = {' '1}' 'x' 'sim.sleep(0.01)'"
    local ok = support.sh_ok(("%s | HOME=%s %s repl >%s 2>&1")
      :format(lines, q(home), q(support.bin), q(out)))
    local text = support.read_file(out)
    os.remove(out)
    assert.is_true(ok, text)
    assert.are.equal("3\n{ 1 }\ntrue\n", text)
    assert.is_nil(support.read_file(home .. "/.gofr_sim_history"), "piped input is not history")
    support.sh_ok("rm -rf " .. q(home))
  end)

  it("runs every line, prints each error to stderr, and exits 1 at the end when one failed", function()
    local home = temp_home()
    local status, stdout, stderr = piped(home, table.concat({
      "x = 1", "error('first', 0)", "r = x + 1; r", "1 +* 2", "x + 10", "t = {", "",
    }, "\n"))
    support.sh_ok("rm -rf " .. q(home))
    assert.are.equal(1, status, stderr)
    assert.are.equal("2\n11\n", stdout)
    assert.matches("^first\nstdin:1: unexpected symbol near '%*'\n", stderr)
    assert.matches("the input ended inside an unfinished chunk\n", stderr, 1, true)
    local last = "gofr-sim: repl: 3 inputs failed\n"
    assert.are.equal(last, stderr:sub(-#last))
  end)

  it("exits 0 when every line ran", function()
    local home = temp_home()
    local status, stdout, stderr = piped(home, "r = 1 + 1; r\n")
    support.sh_ok("rm -rf " .. q(home))
    assert.are.equal(0, status, stderr)
    assert.are.equal("2\n", stdout)
    assert.are.equal("", stderr)
  end)
end)

describe("repl.pretty", function()
  local pretty = repl.pretty

  it("prints scalars as Lua literals and short tables on one line", function()
    assert.are.equal('"a\\nb"', pretty("a\nb"))
    assert.are.equal("3", pretty(3))
    assert.are.equal("{}", pretty({}))
    assert.are.equal('{ 1, 2, a = true, ["b c"] = "d", ["end"] = 0 }',
      pretty { 1, 2, a = true, ["b c"] = "d", ["end"] = 0 })
  end)

  it("indents nested tables that do not fit a line", function()
    local t = { name = string.rep("n", 40), inner = { list = { 1, 2, 3 }, word = string.rep("w", 50) } }
    assert.are.equal(table.concat({
      "{",
      "  inner = {",
      "    list = { 1, 2, 3 },",
      '    word = "' .. string.rep("w", 50) .. '"',
      "  },",
      '  name = "' .. string.rep("n", 40) .. '"',
      "}",
    }, "\n"), pretty(t))
  end)

  it("survives cycles, and marks only the repeat inside itself", function()
    local t = { shared = { 1 } }
    t.again = t.shared
    t.me = t
    local text = pretty(t)
    assert.matches("again = { 1 }", text, 1, true)
    assert.matches("shared = { 1 }", text, 1, true)
    assert.matches("me = <cycle: table: ", text, 1, true)
  end)

  it("bounds depth and width, and uses __tostring", function()
    local deep = {}
    local cur = deep
    for _ = 1, 20 do cur.next = {}; cur = cur.next end
    assert.matches("{...}", pretty(deep, { depth = 3 }), 1, true)
    local big = {}
    for i = 1, 300 do big[i] = i end
    assert.matches("... (100 more)", pretty(big), 1, true)
    local x = setmetatable({}, { __tostring = function() return "<X>" end })
    assert.are.equal("{ x = <X> }", pretty { x = x })
  end)

  it("prints a session:call result's payload once, saying what it elided", function()
    local text = '{"status": "ok"}'
    local r = {
      ok = true, is_error = false, expected = false, data = { status = "ok" }, text = text,
      result = { content = { { type = "text", text = text } }, isError = false },
    }
    assert.are.equal(table.concat({
      "{",
      '  data = { status = "ok" },',
      "  expected = false,",
      "  is_error = false,",
      "  ok = true,",
      "  result = { content = <1 text block: the text>, isError = false },",
      "  text = <16 bytes, shown decoded as data>",
      "}",
    }, "\n"), pretty(r))
    assert.matches('text = "{\\"status\\": \\"ok\\"}"', pretty(r, { full = true }), 1, true)
    -- a text that is not JSON is its own data
    local plain = { ok = false, is_error = true, data = "bad input", text = "bad input",
      result = { content = { { type = "text", text = "bad input" } }, isError = true } }
    assert.matches("text = <the same as data>", pretty(plain), 1, true)
    assert.are.equal(1, select(2, pretty(plain):gsub("bad input", "")))
    -- nested inside another table too
    assert.matches("<1 text block: the text>", pretty { r }, 1, true)
  end)
end)

describe("repl.compile", function()
  it("returns the values of expressions, runs statements, and spots unfinished chunks", function()
    assert.are.equal(3, repl.compile("1 + 2")())
    assert.are.equal(4, repl.compile("= 2 * 2")())
    assert.is_nil(repl.compile("local x = 1")())
    for _, src in ipairs { "function f()", "t = {", "x = [[", "if true then", "1 +" } do
      local fn, why = repl.compile(src)
      assert.is_nil(fn, src)
      assert.are.equal("incomplete", why, src)
    end
    local fn, err = repl.compile("end")
    assert.is_nil(fn)
    assert.matches("^stdin:1: ", err)
  end)

  it("runs 'statements; expression' and returns the expression's values", function()
    local env = {}
    assert.are.equal(2, setfenv(repl.compile("r = 1 + 1; r"), env)())
    assert.are.equal(2, env.r)
    local a, b = setfenv(repl.compile("x = 'a;b'; y = 2; x, y"), env)()
    assert.are.same({ "a;b", 2 }, { a, b })
    assert.are.equal(3, repl.compile("local t = {1, 2}\nt[3] = 3\n#t")())
  end)

  it("reports a statement followed by a bare expression, and a bad expression, as errors", function()
    local fn, err = repl.compile("r = 1 r")
    assert.is_nil(fn)
    assert.are.equal("stdin:1: '=' expected near '<eof>'", err)
    fn, err = repl.compile("1 +* 2")
    assert.is_nil(fn)
    assert.are.equal("stdin:1: unexpected symbol near '*'", err)
  end)
end)

describe("repl.complete", function()
  local Class = { __index = { greet = function() end, name = "class field" } }
  local env = {
    sim = require "gofr_sim",
    obj = setmetatable({ own = 1 }, Class),
    word = "text",
    lazy_not_made = nil,
  }

  it("completes globals from the environment, the lazy names and _G", function()
    assert.are.same({ "sim" }, repl.complete(env, "si"))
    assert.are.same({ "ipairs" }, repl.complete(env, "ipai"))
    assert.are.same({ "tokens" }, repl.complete(env, "tok", { "tokens", "mcp" }))
    assert.are.same({}, repl.complete(env, "nothing_like_this"))
  end)

  it("completes fields along a dotted path, and methods after ':'", function()
    assert.are.same({ "sim.http" }, repl.complete(env, "sim.ht"))
    local fields = repl.complete(env, "sim.http.")
    assert.is_true(#fields > 5)
    for _, f in ipairs(fields) do assert.matches("^sim%.http%.[%w_]+$", f) end
    assert.are.same({ "sim.mcp.connect" }, repl.complete(env, "sim.mcp.conn"))
    assert.are.same({ "obj.greet", "obj.name", "obj.own" }, repl.complete(env, "obj."))
    assert.are.same({ "obj:greet" }, repl.complete(env, "obj:"))
    assert.are.same({ "word:upper" }, repl.complete(env, "word:upp"))
    assert.are.same({}, repl.complete(env, "nosuch.x"))
    assert.are.same({}, repl.complete(env, "obj.own.x"))
  end)

  it("never calls a metamethod and returns a bounded list", function()
    local called = false
    local trap = function() called = true end
    local e = {
      lazy = setmetatable({}, { __index = trap }),
      big = {},
    }
    for i = 1, 1000 do e.big["k" .. i] = i end
    assert.are.same({}, repl.complete(e, "lazy.x"))
    assert.is_false(called)
    assert.are.equal(repl.MAX_COMPLETIONS, #repl.complete(e, "big.k"))
  end)
end)
