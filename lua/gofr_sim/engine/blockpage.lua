--- gofr_sim.engine.blockpage: tells a real page from a 200 that is not one — a
-- bot block, a CAPTCHA or a paywall interstitial (docs/blockpages.md has
-- the heuristics and why each is there).
--
--   local blockpage = require "gofr_sim.engine.blockpage"
--   blockpage.classify(200, res.headers["content-type"], res.body)
--     -> nil | "block_page" | "captcha" | "paywall"
--   blockpage.classify_text(text, title)   -- page text, as gofr-dig returns it
--   blockpage.classify_result(r)           -- a sim.mcp call result (get_content, chunks)
--   blockpage.count_result(tool, r)        -- classify_result, counted in sim.metrics
--
-- Only 200 responses with an HTML content type (or none) are looked at.
-- The rules look for markers in the lower-cased page; most of them only
-- count on a small page (block and CAPTCHA pages are small; an article that
-- mentions "captcha" in its prose is not one). The checks are ordered
-- captcha, block_page, paywall; the first that matches wins. Each rule is
-- guarded by a cheap anchor search, so an ordinary page costs one
-- lower-casing and a handful of plain searches. Never raises on any input.
local metrics = require "gofr_sim.engine.metrics"

local type, find, lower, sub, match = type, string.find, string.lower, string.sub, string.match

local M = {}

--- Phrase and title rules for block and CAPTCHA pages apply only to an HTML
-- page of at most this many bytes (vendors' pages are a few KB).
M.SMALL_HTML = 32 * 1024
--- Page text (MCP) longer than this is never a block or CAPTCHA page.
M.SMALL_TEXT = 5000
--- Bytes of a page that are looked at (paywall markers beyond are missed).
M.SCAN_LIMIT = 512 * 1024

-- Markers (lower case) ------------------------------------------------------------
--
-- Each group of markers sits behind an anchor: a short string that every
-- marker of the group contains, picked to start with a rare letter where
-- possible, so that an ordinary page costs one search per anchor.

-- CAPTCHA vendors' pages, whatever the page's size (anchor "ptcha").
local CAPTCHA_STRUCTURAL = { "px-captcha", "captcha-delivery.com" }

-- CAPTCHA widgets: also embedded in ordinary contact and comment forms, so
-- they count only on a small page whose title is a block title (anchor "ptcha").
local CAPTCHA_WIDGETS = {
  "g-recaptcha", "recaptcha/api", "h-captcha", "hcaptcha.com", "funcaptcha", "captcha-container",
  "validatecaptcha",
}

-- What a challenge page says: {anchor, phrases...} (small pages, page text).
local CHALLENGE = {
  { "bot", "are you a robot", "not a robot", "robot check" },
  { "uman", "are you human", "verify you are human", "verify you are a human",
    "verify that you are human", "confirm you are human", "prove you are human",
    "prove you're human", "human verification" },
  { "ptcha", "solve the captcha", "complete the captcha", "enter the captcha" },
  { "ffic from", "unusual traffic from your computer" },
  { "y check", "complete the security check" },
  { "you see", "enter the characters you see" },
}

-- Anti-bot vendors' block and challenge pages, whatever the page's size:
-- {anchor, markers...}.
local BLOCK_STRUCTURAL = {
  { "_chl_", "cf_chl_opt" },                      -- Cloudflare challenge script
  { "flare", "cf-error-details" },                -- Cloudflare error/block page
  { "psula", "incapsula incident id" },           -- Imperva
  { "permission", "errors.edgesuite.net" },       -- Akamai
  { "_sec/", "/_sec/cp_challenge/" },             -- Akamai bot manager
}

-- What a block page says: {anchor, phrases...} (small pages, page text).
local BLOCK_PHRASES = {
  { "flare", "attention required! | cloudflare", "sorry, you have been blocked",
    "you are unable to access", "checking your browser before accessing",
    "checking if the site connection is secure", "enable javascript and cookies to continue",
    "error 1020", "performance & security by cloudflare" },
  { "blocke", "sorry, you have been blocked", "your request has been blocked",
    "this request was blocked by", "please enable js and disable any ad blocker" },
  { "psula", "request unsuccessful. incapsula" },
  { "pardon", "pardon our interruption" },
  { "permission", "you don't have permission to access", "you do not have permission to access" },
  { "denied", "access to this page has been denied" },
  { "jected", "the requested url was rejected" },
  { "been limited", "your access to this site has been limited" },
}

-- Titles of a small page that mean "blocked" on their own (the title, trimmed).
local BLOCK_TITLES = {
  ["access denied"] = true, ["just a moment..."] = true, ["just a moment\226\128\166"] = true,
  ["attention required! | cloudflare"] = true, ["forbidden"] = true, ["403 forbidden"] = true,
  ["blocked"] = true, ["request rejected"] = true, ["you have been blocked"] = true,
  ["access to this page has been denied."] = true, ["access to this page has been denied"] = true,
  ["pardon our interruption"] = true, ["security check"] = true, ["bot verification"] = true,
}

-- Paywall phrases, whatever the page's size: {anchor, phrases...}.
local PAYWALL_PHRASES = {
  { "bscri", "subscribe to continue", "subscription required", "to continue reading, subscribe",
    "this content is for subscribers only", "this article is for subscribers only",
    "available to subscribers only", "subscribe to unlock this article",
    "subscribe now to continue", "become a subscriber to continue" },
  { "free article", "reached your free article limit", "reached your limit of free articles",
    "you have read all your free articles" },
}

-- A paywall component (HTML) counts together with one of the prompts below.
local PAYWALL_COMPONENTS = {
  "paywall", "tp-modal", "tp-backdrop", "tinypass", "piano.io", "poool", "laterpay",
  "meteredcontent", "metered-content", "regwall",
}
local PAYWALL_PROMPTS = {
  "already a subscriber", "subscribe to read", "sign in to continue reading",
  "log in to continue reading", "register to continue reading", "subscribers only",
  "to keep reading", "create a free account to continue", "subscribe for full access",
}

-- Helpers ------------------------------------------------------------------------

local function any(s, list, first)
  for i = first or 1, #list do
    if find(s, list[i], 1, true) then return true end
  end
  return false
end

-- True when s holds a marker of a group whose anchor it holds.
local function any_group(s, groups)
  for i = 1, #groups do
    local g = groups[i]
    if find(s, g[1], 1, true) and any(s, g, 2) then return true end
  end
  return false
end

-- The first <title>'s text, trimmed, with white space runs as one space.
local function title_of(lc)
  local i = find(lc, "<title", 1, true)
  if not i then return nil end
  local open_end = find(lc, ">", i, true)
  local close = open_end and find(lc, "</title", open_end, true)
  if not close then return nil end
  return (sub(lc, open_end + 1, close - 1):gsub("%s+", " "):match("^ ?(.-) ?$"))
end

-- JSON-LD / microdata: the page itself says its content is not free.
local function not_free(lc)
  local i = find(lc, "isaccessibleforfree", 1, true)
  while i do
    if match(lc, "^isaccessibleforfree[\"']?%s*:%s*[\"']?false", i) then return true end
    if match(lc, "^isaccessibleforfree[\"']?[^>]-content=[\"']?false", i) then return true end
    i = find(lc, "isaccessibleforfree", i + 1, true)
  end
  return false
end

local function is_html(content_type)
  if content_type == nil or content_type == "" then return true end
  return find(lower(content_type), "html", 1, true) ~= nil
end

local function captcha_html(lc, title, small)
  if find(lc, "ptcha", 1, true) then
    if any(lc, CAPTCHA_STRUCTURAL) then return true end
    -- a challenge page (block title, or captcha in the title) showing a widget
    if small and title and (find(title, "captcha", 1, true) or BLOCK_TITLES[title])
       and any(lc, CAPTCHA_WIDGETS) then
      return true
    end
  end
  return small and any_group(lc, CHALLENGE)
end

local function block_html(lc, title, small)
  if any_group(lc, BLOCK_STRUCTURAL) then return true end
  if not small then return false end
  if title and BLOCK_TITLES[title] then return true end
  return any_group(lc, BLOCK_PHRASES)
end

local function paywall_html(lc)
  if any_group(lc, PAYWALL_PHRASES) then return true end
  if find(lc, "bscri", 1, true) or find(lc, "wall", 1, true) then
    if any(lc, PAYWALL_COMPONENTS) and any(lc, PAYWALL_PROMPTS) then return true end
  end
  return find(lc, "forfree", 1, true) ~= nil and not_free(lc)
end

-- The API ------------------------------------------------------------------------------

--- classify(status, content_type, body) -> nil | "block_page" | "captcha" |
-- "paywall". nil unless status is 200, the content type is HTML (or absent)
-- and body a non-empty string.
function M.classify(status, content_type, body)
  if status ~= 200 or type(body) ~= "string" or body == "" then return nil end
  if type(content_type) ~= "string" and content_type ~= nil then return nil end
  if not is_html(content_type) then return nil end
  local small = #body <= M.SMALL_HTML
  local lc = lower(#body > M.SCAN_LIMIT and sub(body, 1, M.SCAN_LIMIT) or body)
  local title = title_of(lc)
  if captcha_html(lc, title, small) then return "captcha" end
  if block_html(lc, title, small) then return "block_page" end
  if paywall_html(lc) then return "paywall" end
  return nil
end

--- classify_text(text, title) -> nil | class: the same decision on a page's
-- text (and title) as gofr-dig returns them — no markup, so only phrases
-- count. Block and CAPTCHA phrases count only in short text (M.SMALL_TEXT
-- bytes, title included); paywall phrases in text of any length.
function M.classify_text(text, title)
  if type(text) ~= "string" then text = "" end
  if type(title) ~= "string" then title = "" end
  if text == "" and title == "" then return nil end
  local lt = lower(title):gsub("%s+", " "):match("^ ?(.-) ?$")
  local lc = lower(#text > M.SCAN_LIMIT and sub(text, 1, M.SCAN_LIMIT) or text)
  if #text + #title <= M.SMALL_TEXT then
    if find(lt, "captcha", 1, true) or any_group(lt, CHALLENGE) or any_group(lc, CHALLENGE) then
      return "captcha"
    end
    if BLOCK_TITLES[lt] or any_group(lt, BLOCK_PHRASES) or any_group(lc, BLOCK_PHRASES) then
      return "block_page"
    end
  end
  if any_group(lc, PAYWALL_PHRASES) then return "paywall" end
  return nil
end

--- classify_result(r) -> nil | class, for a sim.mcp call result: a
-- successful result whose data is a page ({text=, title=}: get_content), a
-- string (get_session_chunk) or has a content string (get_session) is
-- classified with classify_text; anything else is nil.
function M.classify_result(r)
  if type(r) ~= "table" or not r.ok then return nil end
  local d = r.data
  if type(d) == "string" then return M.classify_text(d) end
  if type(d) ~= "table" then return nil end
  if type(d.text) == "string" then return M.classify_text(d.text, d.title) end
  if type(d.content) == "string" then return M.classify_text(d.content) end -- get_session
  return nil
end

-- Tools whose results carry page content.
local CONTENT_TOOLS = { get_content = true, get_session_chunk = true, get_session = true }

--- count_result(tool, r) -> class | nil: for a result of a tool that returns
-- page content (get_content, get_session_chunk, get_session), classifies it
-- and counts a class found as counter `mcp.block_pages{class=,tool=mcp.<tool>}`
-- (with the persona's tags). Other tools cost one table lookup.
function M.count_result(tool, r)
  if not CONTENT_TOOLS[tool] then return nil end
  local class = M.classify_result(r)
  if class then
    metrics.current:count("mcp.block_pages", 1,
      metrics.with_persona_tags { class = class, tool = "mcp." .. tool })
  end
  return class
end

return M
