-- Help and errors through the executable: SCENARIO --help, gofr-sim --help,
-- suggestions for unknown names, bounds, and scripts that cannot be run.
local support = require "support"
local suggest = require "gofr_sim.util.suggest"

local run = support.run_cli
local tmpfile = support.tmpfile
local LOAD = support.source_dir .. "/scenarios/load.lua"

local function one_line(s)
  return select(2, s:gsub("\n", "")) == 1
end

-- The line after the one that starts with "  --<flag> " (its help), and that line.
local function flag_lines(text, flag)
  local head, help = text:match("\n(  %-%-" .. flag:gsub("%-", "%%-") .. " [^\n]*)\n([^\n]*)")
  return head, help
end

-- A scenario whose files the specs write: a marker shows whether it ran.
local function scenario_file(marker)
  return tmpfile(([[
    local sim = require "gofr_sim"
    return {
      name = "helped",
      description = "a scenario to be asked for help",
      flags = {
        pages = { type = "integer", min = 1, default = 3, help = "how many pages each persona reads" },
      },
      setup = function() io.open(%q, "w"):close() end,
      iteration = function() sim.sleep(0.001) end,
    }
  ]]):format(marker))
end

describe("gofr-sim SCENARIO --help", function()
  it("prints the description and every flag with its type, default and help; nothing runs", function()
    local marker = os.tmpname()
    os.remove(marker)
    local path = scenario_file(marker)
    for _, flag in ipairs({ "--help", "-h" }) do
      local r = run({ path, flag })
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal("", r.stderr)
      assert.matches("^helped: a scenario to be asked for help\n", r.stdout)
      local head, help = flag_lines(r.stdout, "pages")
      assert.are.equal("  --pages N  (integer >= 1; default 3)", head)
      assert.are.equal("      how many pages each persona reads", help)
      head, help = flag_lines(r.stdout, "duration")
      assert.are.equal("  --duration D  (duration > 0; no default)", head)
      assert.matches("how long the workload runs", help, 1, true)
      head = flag_lines(r.stdout, "grace")
      assert.are.equal("  --grace D  (duration >= 0; default 5s)", head)
      assert.matches("Common flags", r.stdout, 1, true)
    end
    assert.is_false(support.exists(marker), "setup ran")
    os.remove(path)
  end)

  it("wins over other flags, even bad ones", function()
    local marker = os.tmpname()
    os.remove(marker)
    local path = scenario_file(marker)
    local r = run({ path, "--bogus", "1", "--help" })
    os.remove(path)
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("--pages N", r.stdout, 1, true)
  end)

  it("gives every flag of the shipped scenarios a help line", function()
    for _, name in ipairs({ "load", "auth_cross_group", "housekeeping", "rate_limit",
                            "session_lifecycle" }) do
      local r = run({ support.source_dir .. "/scenarios/" .. name .. ".lua", "--help" })
      assert.are.equal(0, r.status, r.stderr)
      local flags = 0
      for head, help in r.stdout:gmatch("\n(  %-%-[^\n]*)\n([^\n]*)") do
        flags = flags + 1
        assert.matches("^      %S", help, nil, false, name .. ": no help for " .. head)
      end
      assert.is_true(flags > 10, name)
    end
  end)

  it("shows load.lua's own flags, its defaults from options, and starts no twin", function()
    local r = run({ LOAD, "--help" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^load: ", r.stdout)
    assert.are.equal("  --duration D  (duration > 0; default 10s)", (flag_lines(r.stdout, "duration")))
    assert.are.equal("  --protocol http|mcp  (enum; default mcp)", (flag_lines(r.stdout, "protocol")))
    assert.are.equal("", r.stderr)
  end)

  it("refuses a flag whose help is not a string, naming the flag", function()
    local path = tmpfile([[
      return { flags = { pages = { type = "integer", help = 3 } }, iteration = function() end }
    ]])
    local r = run({ path, "--help" })
    os.remove(path)
    assert.are.equal(2, r.status)
    assert.is_true(one_line(r.stderr), r.stderr)
    assert.matches("flag 'pages': help must be a string, got number", r.stderr, 1, true)
  end)

  it("refuses an unknown field of a flag with the nearest name", function()
    local path = tmpfile([[
      return { flags = { pages = { type = "integer", hlep = "x" } }, iteration = function() end }
    ]])
    local r = run({ path, "--total-requests", "1" })
    os.remove(path)
    assert.are.equal(2, r.status)
    assert.matches("flag 'pages': unknown field 'hlep' (did you mean 'help'?)", r.stderr, 1, true)
  end)
end)

describe("gofr-sim --help", function()
  it("lists the commands and the common scenario flags", function()
    local r = run({ "--help" })
    assert.are.equal(0, r.status)
    assert.matches("usage: gofr-sim SCRIPT.lua", r.stdout, 1, true)
    assert.matches("Common scenario flags", r.stdout, 1, true)
    local head, help = flag_lines(r.stdout, "consumers")
    assert.are.equal("  --consumers N  (integer >= 1; default 4)", head)
    assert.matches("personas", help, 1, true)
    assert.matches("\n  --workload closed|constant-arrival-rate|ramping-arrival-rate ", r.stdout, 1, true)
  end)
end)

describe("plain scripts and commands", function()
  it("answer --help from their flag specs", function()
    local path = tmpfile([[
      local cli = require "gofr_sim.util.flags"
      cli.options(..., { n = { type = "integer", default = 2, help = "how many" } }, "counts things")
      print("ran")
    ]])
    local r = run({ path, "--help" })
    os.remove(path)
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("counts things\n\nflags:\n  --n N  (integer; default 2)\n      how many\n", r.stdout)
  end)
end)

describe("unknown names", function()
  it("suggests the nearest flag", function()
    local r = run({ LOAD, "--duraton", "5s" })
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: unknown flag --duraton (did you mean --duration?)\n", r.stderr)
    r = run({ LOAD, "--max-persona", "5" })
    assert.are.equal("gofr-sim: unknown flag --max-persona (did you mean --max-personas?)\n", r.stderr)
  end)

  it("points at --help instead of listing every flag when none is near", function()
    local r = run({ LOAD, "--zzzzzz", "1" })
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: unknown flag --zzzzzz (see --help)\n", r.stderr)
  end)

  it("suggests the nearest scenario key", function()
    local path = tmpfile("return { iteraton = function() end }\n")
    local r = run({ path, "--total-requests", "1" })
    os.remove(path)
    assert.are.equal(2, r.status)
    assert.is_true(one_line(r.stderr))
    assert.are.equal(("gofr-sim: %s: unknown scenario key 'iteraton' (did you mean 'iteration'?)\n")
      :format(path), r.stderr)
  end)

  it("suggests the nearest key of a mix file", function()
    local mix = tmpfile('{"groups": {"a": {"count": 1, "tokn": "token_apac"}}}', ".json")
    local path = tmpfile("return { iteration = function() end }\n")
    local r = run({ path, "--total-requests", "1", "--mix-file", mix })
    os.remove(path)
    os.remove(mix)
    assert.are.equal(2, r.status)
    assert.matches('groups.a.tokn: unknown key (did you mean "token"? accepted: ', r.stderr, 1, true)
  end)

  it("uses one edit-distance rule (suggest.nearest)", function()
    assert.are.equal("duration", suggest.nearest("duraton", { "duration", "rate" }))
    assert.are.equal("ttl", suggest.nearest("tll", { "ttl", "aud" }))     -- a swap is one edit
    assert.are.equal("max_personas", suggest.nearest("max-persona", { max_personas = true }))
    assert.is_nil(suggest.nearest("xyz", { "rate", "seed" }))
    assert.is_nil(suggest.nearest("dur", { "duration" }))                 -- too far for its length
  end)
end)

describe("bounds", function()
  it("says a negative or zero duration must be positive", function()
    for _, v in ipairs({ "-5s", "0s" }) do
      local r = run({ LOAD, "--duration", v })
      assert.are.equal(2, r.status)
      assert.are.equal(("gofr-sim: --duration must be positive, got '%s'\n"):format(v), r.stderr)
    end
  end)

  it("says a negative duration where zero is fine must not be negative", function()
    local r = run({ LOAD, "--grace", "-1s" })
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: --grace must not be negative, got '-1s'\n", r.stderr)
  end)

  it("says a zero rate must be positive and a zero count is below its minimum", function()
    local r = run({ LOAD, "--rate", "0" })
    assert.are.equal("gofr-sim: --rate must be positive, got '0'\n", r.stderr)
    r = run({ LOAD, "--consumers", "0" })
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: --consumers must be >= 1, got 0\n", r.stderr)
  end)
end)

describe("the script argument", function()
  it("says a directory is not a Lua script, exit 2", function()
    local r = run({ "scenarios" }, { cwd = support.source_dir })
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: scenarios is a directory, not a Lua script\n", r.stderr)
  end)

  it("says a missing file does not exist, exit 2", function()
    local r = run({ "/nonexistent/x.lua" })
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: cannot open script '/nonexistent/x.lua': it does not exist\n", r.stderr)
  end)
end)
