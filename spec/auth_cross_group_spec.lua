-- scenarios/auth_cross_group.lua through the executable: passes against the
-- embedded twin, and fails — naming the checks — against a twin broken on
-- purpose (--twin-faults). Each run takes about 5 s (the twin's 1 s
-- politeness delay between the page fetches).
local support = require "support"

local SCENARIO = support.source_dir .. "/scenarios/auth_cross_group.lua"
local GROUPS = { "apac", "emea", "us" }
local READ_TOOLS = { "get_session_info", "get_session_chunk", "get_session", "get_session_urls" }

-- Runs the scenario (quietly) with args; -> cli result, decoded report.
local function run(args)
  local full = { "--quiet" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  return support.run_scenario(SCENARIO, full)
end

local failed = support.failed_checks

local function sorted(list)
  table.sort(list)
  return list
end

-- Every failing check is FAIL in the summary, with an observed value in the
-- report.
local function assert_reported(r, rep, names)
  for _, name in ipairs(names) do
    assert.matches("FAIL%s+" .. name:gsub("%p", "%%%0"), r.stdout)
    assert.is_string(rep.checks[name].observed, name)
  end
end

describe("scenarios/auth_cross_group.lua", function()
  it("passes against the embedded twin, every check named and observed", function()
    local r, rep = run({})
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.same({}, failed(rep))
    local want = {
      "every persona connects to gofr-dig", "every step of the scenario ran",
      "multi token's session is owned by its primary group, apac",
      "emea token is denied the multi token's session (owned by apac alone)",
      "anonymous caller's session has no owner group (public)",
      "apac token's list_sessions shows only apac's sessions",
      "multi token's list_sessions shows only sessions of apac, emea and us",
      "anonymous list_sessions shows every session, public ones too",
      "finding: anonymous callers can read a group's session",
      "finding: get_structure ignores the token (an invalid one is accepted)",
    }
    for _, owner in ipairs(GROUPS) do
      want[#want + 1] = owner .. " token's session is owned by " .. owner
      for _, tool in ipairs(READ_TOOLS) do
        want[#want + 1] = ("multi token reads %s's session via %s"):format(owner, tool)
        want[#want + 1] = ("%s token reads its own session via %s"):format(owner, tool)
      end
    end
    for _, bad in ipairs { "invalid", "expired", "bad-signature", "alg-none" } do
      want[#want + 1] = bad .. " token gets AUTH_ERROR from list_sessions"
      for _, tool in ipairs(READ_TOOLS) do
        want[#want + 1] = ("%s token gets AUTH_ERROR from %s"):format(bad, tool)
      end
    end
    for _, name in ipairs(want) do
      assert.is_table(rep.checks[name], name)
      assert.are.equal(1, rep.checks[name].passes, name)
    end
    local denied = rep.checks["apac token is denied emea's session via get_session"]
    assert.are.equal("PERMISSION_DENIED", denied.observed)
    assert.matches("^AUTH_ERROR %(Token has expired%)",
      rep.checks["expired token gets AUTH_ERROR from get_session_info"].observed)
    assert.are.equal("allowed by all 4 read tools; expected allowed",
      rep.checks["finding: anonymous callers can read a group's session"].observed)
  end)

  it("fails every PERMISSION_DENIED check when any token reads any group's session (groups_leak)", function()
    local r, rep = run({ "--twin-faults", "groups_leak" })
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local want = { "emea token is denied the multi token's session (owned by apac alone)" }
    for _, owner in ipairs(GROUPS) do
      for _, reader in ipairs(GROUPS) do
        for _, tool in ipairs(READ_TOOLS) do
          if reader ~= owner then
            want[#want + 1] = ("%s token is denied %s's session via %s"):format(reader, owner, tool)
          end
        end
      end
    end
    assert.are.same(sorted(want), failed(rep))
    assert_reported(r, rep, want)
    local leaked = rep.checks["apac token is denied emea's session via get_session_chunk"]
    assert.are.equal("allowed", leaked.observed)
  end)

  it("fails the list checks when list_sessions returns everything (list_all)", function()
    local r, rep = run({ "--twin-faults", "list_all" })
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local want = {
      "apac token's list_sessions shows only apac's sessions",
      "emea token's list_sessions shows only emea's sessions",
      "us token's list_sessions shows only us's sessions",
      "multi token's list_sessions shows only sessions of apac, emea and us",
    }
    assert.are.same(sorted(want), failed(rep))
    assert_reported(r, rep, want)
    assert.are.equal("owners: apac, emea, public, us",
      rep.checks["apac token's list_sessions shows only apac's sessions"].observed)
  end)

  it("fails the expired-token checks (accept_expired) and the findings expected otherwise", function()
    local r, rep = run({ "--twin-faults", "accept_expired", "--expect-anonymous-read", "denied",
                         "--expect-structure-ignores-token", "false" })
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local want = {
      "finding: anonymous callers can read a group's session",
      "finding: get_structure ignores the token (an invalid one is accepted)",
      "expired token gets AUTH_ERROR from list_sessions",
    }
    for _, tool in ipairs(READ_TOOLS) do
      want[#want + 1] = "expired token gets AUTH_ERROR from " .. tool
    end
    assert.are.same(sorted(want), failed(rep))
    assert_reported(r, rep, want)
    assert.are.equal("allowed", rep.checks["expired token gets AUTH_ERROR from get_session"].observed)
    assert.are.equal("allowed by all 4 read tools; expected denied",
      rep.checks["finding: anonymous callers can read a group's session"].observed)
    assert.are.equal("accepted; expected AUTH_ERROR",
      rep.checks["finding: get_structure ignores the token (an invalid one is accepted)"].observed)
  end)

  it("refuses bad flags in one line, exit 2", function()
    for _, case in ipairs {
      { { "--expect-anonymous-read", "maybe" }, "--expect-anonymous-read must be one of allowed, denied" },
      { { "--expect-structure-ignores-token", "perhaps" },
        "--expect-structure-ignores-token must be true or false" },
      { { "--fixtures-dir", "/nonexistent/gofr-sim" }, "--fixtures-dir: cannot list" },
      { { "--twin-faults", "groups_leak", "--mcp-url", "http://127.0.0.1:1/mcp" },
        "--twin-faults: only the embedded" },
    } do
      local args = { SCENARIO }
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local r = support.run_cli(args)
      assert.are.equal(2, r.status, r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
    end
  end)
end)
