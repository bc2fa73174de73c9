--- gofr_sim.engine.html: what gofr-dig's get_content and get_structure extract from
-- a page (C core on gumbo; see docs/html.md for the details and for where it
-- differs from the real server).
--
--   html.extract(body, base_url, opts) -> page | nil, err_code, message
--   html.structure(body, base_url, opts) -> s | nil, err_code, message
--   html.select(body, selector) -> { {tag=, text=, attrs={}}, ... } | nil, "INVALID_SELECTOR", message
--   html.resolve_url(base, ref) -> absolute URL (RFC 3986 section 5)
--
-- err_code is gofr-dig's: "INVALID_SELECTOR" or "SELECTOR_NOT_FOUND"
-- ("EXTRACTION_ERROR" when out of memory). Keys the real server omits are
-- absent, and keys it reports as null are nil: the caller's serialiser
-- knows the key lists (M.PAGE_KEYS ...). Misuse (a bad option) raises.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"

local type = type
local next = next

local M = {}

--- Keys of a get_content page as the real server writes them, in its order
-- (headings, links, images and meta only when present and non-empty).
M.PAGE_KEYS = { "title", "text", "language", "headings", "links", "images", "meta" }
--- Keys of a get_structure result after success/url, in the real server's
-- order (navigation ... outline only when asked for, meta when non-empty).
M.STRUCTURE_KEYS = { "title", "language", "sections", "navigation", "internal_links",
                     "external_links", "forms", "outline", "meta" }
M.SECTION_KEYS = { "tag", "id", "classes", "heading", "links_count", "text_preview" }
M.LINK_KEYS = { "url", "text", "title", "external" }
M.FORM_KEYS = { "id", "action", "method", "fields" }
M.FIELD_KEYS = { "type", "name", "id", "required" }
M.OUTLINE_KEYS = { "level", "text", "id" }

local ERR_CODES = {
  invalid_argument = "INVALID_SELECTOR",
  not_found = "SELECTOR_NOT_FOUND",
}

local EXTRACT_OPTS = {
  selector = "string", filter_noise = "boolean", include_links = "boolean",
  include_images = "boolean", include_meta = "boolean", base_href = "boolean",
}
local STRUCTURE_OPTS = {
  selector = "string", include_navigation = "boolean", include_internal_links = "boolean",
  include_external_links = "boolean", include_forms = "boolean", include_outline = "boolean",
  base_href = "boolean",
}

local function arg_string(fname, what, v)
  if type(v) ~= "string" then
    check.fail(fname, ("%s must be a string, got %s"):format(what, type(v)))
  end
  if v:find("\0", 1, true) and what ~= "body" then
    check.fail(fname, what .. " must not contain NUL bytes")
  end
end

-- opts[k], or def when nil.
local function get(opts, k, def)
  local v = opts[k]
  if v == nil then return def end
  return v
end

local function fail(err_type, message)
  return nil, ERR_CODES[err_type] or "EXTRACTION_ERROR", message
end

--- get_content's page for body fetched from base_url. opts (all optional):
-- selector, filter_noise (true), include_links (true), include_images
-- (false), include_meta (true), base_href (false: links resolve against
-- base_url only, as gofr-dig; true: against <base href> too). An empty
-- selector counts as none, as in gofr-dig. With a selector the page has
-- title, language and text only (the text of every match).
function M.extract(body, base_url, opts)
  local fname = "gofr_sim.engine.html.extract"
  arg_string(fname, "body", body)
  arg_string(fname, "base_url", base_url)
  opts = check.options(fname, opts or {}, EXTRACT_OPTS)
  local page, err_type, message = core.html_extract(body, {
    base_url = base_url,
    selector = opts.selector,
    filter_noise = get(opts, "filter_noise", true),
    include_links = get(opts, "include_links", true),
    include_images = get(opts, "include_images", false),
    include_meta = get(opts, "include_meta", true),
    base_href = get(opts, "base_href", false),
  })
  if not page then return fail(err_type, message) end
  -- gofr-dig leaves these out when empty (and when not asked for)
  for _, k in ipairs { "headings", "links", "images" } do
    if #page[k] == 0 then page[k] = nil end
  end
  if next(page.meta) == nil then page.meta = nil end
  return page
end

--- get_structure's analysis of body fetched from base_url. opts (all
-- optional): selector (analyse the first match's descendants; title,
-- language and meta stay page-wide), include_navigation,
-- include_internal_links, include_external_links, include_forms,
-- include_outline (all true), base_href (false).
-- gofr-dig itself reports a bad or unmatched selector here as
-- EXTRACTION_ERROR with the same message; the codes returned are the
-- precise ones.
function M.structure(body, base_url, opts)
  local fname = "gofr_sim.engine.html.structure"
  arg_string(fname, "body", body)
  arg_string(fname, "base_url", base_url)
  opts = check.options(fname, opts or {}, STRUCTURE_OPTS)
  local s, err_type, message = core.html_structure(body, {
    base_url = base_url, selector = opts.selector, base_href = get(opts, "base_href", false),
  })
  if not s then return fail(err_type, message) end
  for _, k in ipairs { "navigation", "internal_links", "external_links", "forms", "outline" } do
    if not get(opts, "include_" .. k, true) then s[k] = nil end
  end
  if next(s.meta) == nil then s.meta = nil end
  return s
end

--- Every element matching selector (the subset of docs/html.md), in
-- document order; text is the element's strings joined by single spaces.
function M.select(body, selector)
  local fname = "gofr_sim.engine.html.select"
  arg_string(fname, "body", body)
  arg_string(fname, "selector", selector)
  local elements, err_type, message = core.html_select(body, selector)
  if not elements then return fail(err_type, message) end
  return elements
end

--- ref resolved against base (RFC 3986 section 5.2, dot segments removed).
function M.resolve_url(base, ref)
  local fname = "gofr_sim.engine.html.resolve_url"
  arg_string(fname, "base", base)
  arg_string(fname, "ref", ref)
  return core.html_resolve_url(base, ref)
end

return M
