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
end)
