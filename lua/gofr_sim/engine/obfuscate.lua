--- gofr_sim.engine.obfuscate: a recorded page made safe to commit as a fixture (C
-- core on gumbo; docs/obfuscation.md has the rules).
--
--   obf.page(html, opts) -> obfuscated_html, stats
--
-- opts (all optional):
--   seed               string: the lorem stream (and the default shift) depend
--                      on it; use the recording's id. Default "".
--   date_shift_days    integer within +-36500: added to every date in text.
--                      Default: 1..365, derived from the seed.
--   placeholder_image  string: what image URLs become. Default
--                      "/_placeholder.png"; no white space, quotes, <, >, &,
--                      (, ), comma, backslash or backtick.
-- stats = { text_nodes=, emails=, phones=, images=, dates=, attributes= }:
-- how many of each were rewritten. The same html and opts always give the
-- same output. Misuse raises, naming the option; any html is accepted.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"

local type, floor = type, math.floor

local M = {}

--- The default placeholder for image URLs.
M.PLACEHOLDER_IMAGE = "/_placeholder.png"
--- Largest |date_shift_days| accepted.
M.MAX_SHIFT_DAYS = 36500

local OPTS = { seed = "string", date_shift_days = "number", placeholder_image = "string" }

local function check_opts(fname, opts)
  opts = check.options(fname, opts or {}, OPTS)
  local shift = opts.date_shift_days
  if shift ~= nil and (shift ~= floor(shift) or shift > M.MAX_SHIFT_DAYS
                       or shift < -M.MAX_SHIFT_DAYS) then
    check.fail(fname, ("option 'date_shift_days' must be an integer within +-%d, got %s")
                      :format(M.MAX_SHIFT_DAYS, tostring(shift)))
  end
  if opts.seed and opts.seed:find("\0", 1, true) then
    check.fail(fname, "option 'seed' must not contain NUL bytes")
  end
  local ph = opts.placeholder_image
  if ph ~= nil and (ph == "" or #ph > 2048 or ph:find("[%z\1-\32\127\"'<>&(),\\`]")) then
    check.fail(fname, "option 'placeholder_image' must be a URL of 1 to 2048 bytes without "
                      .. "white space, quotes, <, >, &, (, ), comma, backslash or backtick")
  end
  return opts
end

--- html obfuscated, and what was rewritten (see the top of this file).
function M.page(html, opts)
  local fname = "gofr_sim.engine.obfuscate.page"
  if type(html) ~= "string" then
    check.fail(fname, "html must be a string, got " .. type(html))
  end
  opts = check_opts(fname, opts)
  return core.obfuscate_page(html, opts.seed or "", opts.date_shift_days, opts.placeholder_image)
end

return M
