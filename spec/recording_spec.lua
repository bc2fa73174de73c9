-- gofr_sim.gofr_dig.recording: the harness's sites.json (what is kept,
-- what is skipped, what is an error) and a recording's meta.json (absent,
-- valid, not a recording's).
local recording = require "gofr_sim.gofr_dig.recording"
local support = require "support"

describe("gofr_sim.gofr_dig.recording", function()
  local made = {}
  local function file(text)
    local path = support.tmpfile(text, ".json")
    made[#made + 1] = path
    return path
  end
  after_each(function()
    for _, p in ipairs(made) do os.execute("rm -rf " .. support.shell_quote(p)) end
    made = {}
  end)

  describe("read_sites", function()
    it("keeps the sites with a url, in file order, url trimmed, name defaulting to it", function()
      local sites = assert(recording.read_sites(file([[{
        "uk": [{"name": "BBC", "url": "  https://bbc.example/ "}, "not an object",
               {"url": ""}, {"url": 7}, {"url": "https://b.example/", "name": ""}],
        "jp": {"not": "an array"},
        "fr": [{"url": "https://c.example/", "languages": ["fr"]}]
      }]])))
      assert.are.same({
        { country = "uk", name = "BBC", url = "https://bbc.example/" },
        { country = "uk", name = "https://b.example/", url = "https://b.example/" },
        { country = "fr", name = "https://c.example/", url = "https://c.example/" },
      }, sites)
    end)

    it("names the file when it is missing, not JSON, or has no valid site", function()
      local sites, why = recording.read_sites("/nonexistent/sites.json")
      assert.is_nil(sites)
      local _
      assert.matches("^cannot read '/nonexistent/sites%.json': /nonexistent/sites%.json: ", why)
      local bad = file("{nope")
      _, why = recording.read_sites(bad)
      assert.are.equal(bad .. ": ", why:sub(1, #bad + 2))
      local empty = file('{"uk": [{"name": "no url"}]}')
      _, why = recording.read_sites(empty)
      assert.are.equal("no valid sites found in " .. empty, why)
    end)
  end)

  describe("read_meta", function()
    it("tells a missing meta.json from one that is not a recording's", function()
      local root = support.tmpdir()
      made[#made + 1] = root
      local doc, kind = recording.read_meta(root)
      assert.is_nil(doc)
      assert.are.equal("not_found", kind)

      local meta = root .. "/" .. recording.META
      local f = assert(io.open(meta, "wb"))
      f:write('{"sites": {"not": "an array"}}')
      f:close()
      local why
      doc, kind, why = recording.read_meta(root)
      assert.is_nil(doc)
      assert.are.equal("invalid", kind)
      assert.are.equal(meta .. ' is not a recording\'s meta.json (no "sites" array)', why)

      f = assert(io.open(meta, "wb"))
      f:write('{"sites": [{"slug": "a", "files": []}]}')
      f:close()
      doc = assert(recording.read_meta(root))
      assert.are.equal("a", doc.sites[1].slug)
    end)

    it("calls a meta.json it cannot read invalid, naming it", function()
      local root = support.tmpdir()
      made[#made + 1] = root
      assert(support.sh_ok("mkdir " .. support.shell_quote(root .. "/meta.json")))
      local doc, kind, why = recording.read_meta(root)
      assert.is_nil(doc)
      assert.are.equal("invalid", kind)
      assert.are.equal(root .. "/meta.json: read failed", why)
    end)
  end)
end)
