-- scenarios/session_lifecycle.lua through the executable: passes against the
-- embedded twin, and fails — naming the check — when get_session's content
-- differs from its chunks joined (--twin-faults session_content_mismatch).
-- Each page costs about 1 s (the twin's politeness delay between fetches).
local support = require "support"

local SCENARIO = support.source_dir .. "/scenarios/session_lifecycle.lua"

-- The checks made for each page, by their name after "<page>: ".
local PAGE_CHECKS = {
  "get_content(session=true) creates a session",
  "get_session_info answers",
  "get_content's reply and get_session_info agree (chunk_size as asked)",
  "the session belongs to apac and names the page's URL",
  "total_chunks = ceil(total_chars / chunk_size)",
  "every chunk can be read",
  "every chunk has at most chunk_size characters",
  "every chunk but the last has exactly chunk_size characters",
  "the chunks hold total_chars characters in all",
  "get_session_info's total_size_bytes is the content's length in bytes",
  "the content is the page as JSON",
  "get_session content equals the chunks joined",
  "get_session's total_size_bytes and total_chunks describe its content",
  "get_session_urls lists every chunk by index",
  "the session appears in list_sessions for apac",
}

-- Runs the scenario (quietly) with args; -> cli result, decoded report.
local function run(args)
  local full = { "--quiet" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  return support.run_scenario(SCENARIO, full)
end

local failed = support.failed_checks

-- The pages the report has checks for, sorted.
local function pages_of(rep)
  local seen, out = {}, {}
  for name in pairs(rep.checks) do
    local page = name:match("^([^:]+%.html): ")
    if page and not seen[page] then seen[page], out[#out + 1] = true, page end
  end
  table.sort(out)
  return out
end

describe("scenarios/session_lifecycle.lua", function()
  it("passes against the embedded twin: 3 pages, the non-ASCII ones first", function()
    local r, rep = run({})
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.same({}, failed(rep))
    assert.are.same({ "about.html", "chinese.html", "japanese.html" }, pages_of(rep))
    for _, page in ipairs { "about.html", "chinese.html", "japanese.html" } do
      for _, check in ipairs(PAGE_CHECKS) do
        local c = rep.checks[page .. ": " .. check]
        assert.is_table(c, page .. ": " .. check)
        assert.are.equal(1, c.passes)
        assert.is_string(c.observed)
      end
    end
    -- CJK text: fewer characters than bytes, chunked by characters
    for _, page in ipairs { "chinese.html", "japanese.html" } do
      assert.is_table(rep.checks[page .. ": the content keeps its non-ASCII text"])
      local n = rep.checks[page .. ": every chunk can be read"].observed:match("^(%d+) chunks$")
      assert.is_true(tonumber(n) > 1, page)
    end
    assert.is_nil(rep.checks["about.html: the content keeps its non-ASCII text"])
    assert.are.equal(500, rep.config.chunk_size)
  end)

  it("takes --pages and --chunk-size", function()
    local r, rep = run({ "--pages", "1", "--chunk-size", "64" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.same({ "chinese.html" }, pages_of(rep))
    assert.matches("chunk_size 64, total_chunks %d+$",
      rep.checks["chinese.html: total_chunks = ceil(total_chars / chunk_size)"].observed)
    assert.are.equal("longest 64 characters, chunk_size 64",
      rep.checks["chinese.html: every chunk has at most chunk_size characters"].observed)
  end)

  it("fails the integrity check when get_session is not its chunks (session_content_mismatch)", function()
    local r, rep = run({ "--pages", "2", "--twin-faults", "session_content_mismatch" })
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local want = {
      "chinese.html: get_session content equals the chunks joined",
      "japanese.html: get_session content equals the chunks joined",
    }
    assert.are.same(want, failed(rep))
    for _, name in ipairs(want) do
      assert.matches("FAIL%s+" .. name:gsub("%p", "%%%0"), r.stdout)
      assert.matches("^differs at byte %d+: content %d+ bytes, chunks joined %d+ bytes$",
        rep.checks[name].observed)
    end
  end)

  it("refuses bad flags in one line, exit 2", function()
    for _, case in ipairs {
      { { "--chunk-size", "0" }, "--chunk-size must be >= 1, got 0" },
      { { "--chunk-size", "big" }, "--chunk-size must be a whole number" },
      { { "--pages", "-1" }, "--pages must be >= 0, got -1" },
      { { "--fixtures-dir", "/nonexistent/gofr-sim" }, "--fixtures-dir: cannot list" },
      { { "--token-source", "env" }, "--token-source env: the embedded twin" },
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
