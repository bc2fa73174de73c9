-- gofr_sim.util.utf8: the strict decoder (RFC 3629, Python's
-- bytes.decode("utf-8")) at the edges: surrogates, overlong forms, code
-- points above U+10FFFF, sequences cut short at every position, and the
-- boundaries of each sequence length.
local utf8 = require "gofr_sim.util.utf8"

local FFFD = "\239\191\189"

-- The bytes of a hex string ("ED A0 80").
local function bytes(hex)
  return (hex:gsub("%s*(%x%x)%s*", function(h) return string.char(tonumber(h, 16)) end))
end

describe("gofr_sim.util.utf8", function()
  describe("valid sequences at the boundaries of each length", function()
    local cases = {
      { 0x00, "00" }, { 0x7F, "7F" }, { 0x80, "C2 80" }, { 0x7FF, "DF BF" },
      { 0x800, "E0 A0 80" }, { 0xD7FF, "ED 9F BF" }, { 0xE000, "EE 80 80" },
      { 0xFFFF, "EF BF BF" }, { 0x10000, "F0 90 80 80" }, { 0x10FFFF, "F4 8F BF BF" },
    }
    for _, c in ipairs(cases) do
      local cp, hex = c[1], c[2]
      it(("decode U+%04X (%s)"):format(cp, hex), function()
        local s = bytes(hex)
        assert.are.same({ cp, #s + 1 }, { utf8.decode(s, 1) })
        assert.is_nil(utf8.first_invalid(s))
        assert.are.equal(s, utf8.replace_invalid(s))
        assert.are.equal(s, utf8.char(cp))
        assert.are.equal(1, utf8.char_count(s))
      end)
    end
  end)

  describe("invalid sequences", function()
    -- hex, problem, span (the maximal subpart Python reports at once)
    local cases = {
      surrogate_low_end = { "ED A0 80", "invalid continuation byte", 1 },    -- U+D800
      surrogate_high_end = { "ED BF BF", "invalid continuation byte", 1 },   -- U+DFFF
      overlong_2 = { "C0 AF", "invalid start byte", 1 },                     -- '/'
      overlong_2_max = { "C1 BF", "invalid start byte", 1 },
      overlong_3 = { "E0 80 AF", "invalid continuation byte", 1 },
      overlong_3_max = { "E0 9F BF", "invalid continuation byte", 1 },
      overlong_4 = { "F0 80 80 AF", "invalid continuation byte", 1 },
      overlong_4_max = { "F0 8F BF BF", "invalid continuation byte", 1 },
      above_10FFFF = { "F4 90 80 80", "invalid continuation byte", 1 },
      lead_F5 = { "F5 80 80 80", "invalid start byte", 1 },
      lead_FF = { "FF", "invalid start byte", 1 },
      lone_continuation = { "80", "invalid start byte", 1 },
      bad_third_byte = { "E6 BC 41", "invalid continuation byte", 2 },
      bad_fourth_byte = { "F0 9F 98 41", "invalid continuation byte", 3 },
    }
    for name, c in pairs(cases) do
      it(name:gsub("_", " ") .. " (" .. c[1] .. ")", function()
        local s = bytes(c[1])
        assert.are.same({ nil, 2, c[2], c[3] }, { utf8.decode(s, 1) })
        assert.are.same({ 1, c[2], c[3] }, { utf8.first_invalid(s) })
        local _, ascii = s:gsub("[%z\1-\127]", "")
        assert.are.equal(FFFD:rep(#s - ascii) .. (s:match("[%z\1-\127]+$") or ""),
          utf8.replace_invalid(s))
      end)
    end

    it("are found after valid text, at the first bad byte", function()
      assert.are.same({ 4, "invalid continuation byte", 2 },
        { utf8.first_invalid("a\195\169\230\188\237\160\128") }) -- "aé", E6 BC cut by ED
      assert.are.same({ 5, "invalid continuation byte", 1 },
        { utf8.first_invalid("ab\195\169\237\160\128z") })         -- "abé", a surrogate
    end)
  end)

  describe("surrogatepass (Python's json.loads of request bytes)", function()
    it("reads encoded surrogates as code points, and nothing else differently", function()
      assert.are.same({ 0xD800, 4 }, { utf8.decode(bytes("ED A0 80"), 1, true) })
      assert.are.same({ 0xDFFF, 4 }, { utf8.decode(bytes("ED BF BF"), 1, true) })
      assert.are.same({ 0xD7FF, 4 }, { utf8.decode(bytes("ED 9F BF"), 1, true) })
      assert.are.same({ nil, 2, "invalid continuation byte", 1 }, { utf8.decode(bytes("E0 80 AF"), 1, true) })
      assert.are.same({ nil, 2, "invalid continuation byte", 1 },
        { utf8.decode(bytes("F4 90 80 80"), 1, true) })
      assert.are.same({ nil, 2, "unexpected end of data", 2 }, { utf8.decode(bytes("ED A0"), 1, true) })
      local seen = {}
      for i, cp in utf8.codes(bytes("61 ED A0 80 FF"), true) do seen[#seen + 1] = { i, cp or false } end
      assert.are.same({ { 1, 0x61 }, { 2, 0xD800 }, { 5, false } }, seen)
    end)
  end)

  describe("sequences cut short at every position", function()
    for _, full in ipairs { "C3 A9", "E6 BC A2", "F0 9F 98 80" } do
      local s = bytes(full)
      for k = 1, #s - 1 do
        local cut = s:sub(1, k)
        it(("%s after %d byte(s)"):format(full, k), function()
          -- at the end of the text
          assert.are.same({ nil, 2, "unexpected end of data", k }, { utf8.decode(cut, 1) })
          assert.are.same({ 1, "unexpected end of data", k }, { utf8.first_invalid(cut) })
          assert.are.equal(FFFD:rep(k), utf8.replace_invalid(cut))
          -- followed by ASCII, and by another sequence
          assert.are.same({ 3, "invalid continuation byte", k }, { utf8.first_invalid("ab" .. cut .. "z") })
          assert.are.equal("ab" .. FFFD:rep(k) .. "z", utf8.replace_invalid("ab" .. cut .. "z"))
          assert.are.equal(FFFD:rep(k) .. s, utf8.replace_invalid(cut .. s))
        end)
      end
    end
  end)

  describe("replace_invalid", function()
    it("replaces each invalid byte, keeps valid sequences, returns valid text as is", function()
      local s = "plain ascii"
      assert.are.equal(s, utf8.replace_invalid(s))
      assert.are.equal("caf\195\169 \230\188\162 \240\159\152\128", utf8.replace_invalid(
        "caf\195\169 \230\188\162 \240\159\152\128"))
      assert.are.equal("x" .. FFFD .. "y" .. FFFD:rep(3), utf8.replace_invalid("x\255y\237\160\128"))
      assert.are.equal("a??b", utf8.replace_invalid("a\192\175b", "?"))
    end)
  end)

  describe("codes", function()
    it("walks the sequences, invalid bytes one at a time", function()
      local seen = {}
      for i, cp, after in utf8.codes("a\195\169\255\240\159\152\128\237\160") do
        seen[#seen + 1] = { i, cp or false, after }
      end
      assert.are.same({ { 1, 0x61, 2 }, { 2, 0xE9, 4 }, { 4, false, 5 }, { 5, 0x1F600, 9 },
                        { 9, false, 10 }, { 10, false, 11 } }, seen)
      for _ in utf8.codes("") do error("no sequences in the empty string") end
    end)
  end)

  describe("characters of valid text", function()
    it("counts and slices code points as Python's len() and slicing", function()
      local s = "a\195\169\230\188\162\240\159\152\128z" -- aé漢😀z
      assert.are.equal(5, utf8.char_count(s))
      assert.are.equal(0, utf8.char_count(""))
      assert.are.equal("\195\169\230\188\162", utf8.char_slice(s, 1, 2))
      assert.are.equal("\240\159\152\128z", utf8.char_slice(s, 3, 10))
      assert.are.equal("", utf8.char_slice(s, 5, 3))
      assert.are.equal("a", utf8.char_slice(s, 0, 1))
    end)
  end)
end)
