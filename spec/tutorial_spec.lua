-- docs/tutorial.md cannot rot: every file it shows is written out as shown
-- (<!-- file: NAME --> before a ```lua block) and every command it shows
-- is run (<!-- run: exit N; expect: TEXT --> before a ```sh block), in one
-- scratch directory, with `gofr-sim` the built executable, and must end
-- with that status and print that text.
local support = require "support"

local DOC = support.source_dir .. "/docs/tutorial.md"

-- The tutorial's steps in order: {file=, text=} and {run=, exit=, expect=}.
local function steps(text)
  local out = {}
  for marker, body in text:gmatch("<!%-%- (.-) %-%->\n```%a+\n(.-)```") do
    local file = marker:match("^file: (%S+)$")
    if file then
      out[#out + 1] = { file = file, text = body }
    else
      local exit, expect = marker:match("^run: exit (%d+); expect: (.+)$")
      assert(exit, "docs/tutorial.md: a marker neither file nor run: " .. marker)
      out[#out + 1] = { run = body, exit = tonumber(exit), expect = expect }
    end
  end
  return out
end

describe("docs/tutorial.md", function()
  it("runs as written", function()
    local text = assert(support.read_file(DOC), "no docs/tutorial.md")
    local list = steps(text)
    local files, runs = 0, 0
    local dir = support.tmpdir()
    local bindir = support.bin:match("^(.*)/[^/]+$")
    for _, step in ipairs(list) do
      if step.file then
        support.write_file(dir .. "/" .. step.file, step.text)
        files = files + 1
      else
        runs = runs + 1
        local out = dir .. "/.out"
        local cmd = ("cd %s && PATH=%s:$PATH bash -c %s >%s 2>&1; echo $?"):format(
          support.shell_quote(dir), support.shell_quote(bindir), support.shell_quote(step.run),
          support.shell_quote(out))
        local p = assert(io.popen(cmd))
        local status = tonumber(p:read("*a"))
        p:close()
        local printed = support.read_file(out) or ""
        assert.are.equal(step.exit, status, ("`%s` printed:\n%s"):format(step.run, printed))
        assert.is_truthy(printed:find(step.expect, 1, true),
          ("`%s` did not print '%s':\n%s"):format(step.run, step.expect, printed))
      end
    end
    assert.is_true(files >= 2 and runs >= 4, ("%d files, %d runs found"):format(files, runs))
    assert.is_truthy(support.read_file(dir .. "/report.json"), "the --output step wrote no report")
    os.execute("rm -rf " .. support.shell_quote(dir))
  end)
end)
