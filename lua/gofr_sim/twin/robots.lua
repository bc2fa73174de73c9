--- gofr_sim.twin.robots: robots.txt as gofr-dig's RobotsParser reads it
-- (app/scraping/robots.py) and the rules it applies for user agent "*".
--
--   local robots_txt = require "gofr_sim.twin.robots"
--   local robots = robots_txt.parse(text)
--   robots_txt.path_allowed(robots, "http://host/private/x?y=1") -> boolean
--
-- Fetching and caching robots.txt is the fetcher's (twin/fetch.lua:
-- f:robots_allowed); this module only reads the text and applies it.
local urlparse = require("gofr_sim.twin.urlparse").urlparse
local utf8 = require "gofr_sim.util.utf8"
local tables = require "gofr_sim.util.tables"

local pairs = pairs
local find, lower, sub, gsub = string.find, string.lower, string.sub, string.gsub
local concat = table.concat

local M = {}

-- A rule's pattern as an anchored Lua pattern ("*" any run, a final "$" the
-- end; a "$" elsewhere is a regex end anchor too, so what follows it must
-- match nothing), or false when it can never match.
local function rule_pattern(path)
  local out, n = { "^" }, #path
  for i = 1, n do
    local c = sub(path, i, i)
    if c == "*" then
      out[#out + 1] = ".*"
    elseif c == "$" then
      if not find(sub(path, i + 1), "^[*$]*$") then return false end
      out[#out + 1] = "$"
      break
    elseif find(c, "%w") then
      out[#out + 1] = c
    else
      out[#out + 1] = "%" .. c
    end
  end
  return concat(out)
end

-- Python's len() of the pattern without its trailing "*" and "$": code points.
local function rule_length(path)
  return utf8.char_count((gsub(path, "[*$]+$", "")))
end

--- Parses robots.txt text as gofr-dig's RobotsParser does. Returns
-- {agents = {[agent] = rules}, order = {agent, ...}} where rules is an
-- array of {path=, allow=, pattern=, length=}. Groups without rules are
-- dropped; a later group for the same agent replaces the earlier one.
function M.parse(text)
  local robots = { agents = {}, order = {} }
  local agents, rules = {}, {}
  local function save()
    if #agents == 0 or #rules == 0 then return end
    for _, agent in pairs(agents) do
      if not robots.agents[agent] then robots.order[#robots.order + 1] = agent end
      robots.agents[agent] = tables.copy(rules)
    end
  end
  -- str.splitlines() boundaries (ASCII ones, plus U+0085/2028/2029 in UTF-8)
  text = gsub(text, "\194\133", "\n")
  text = gsub(text, "\226\128[\168\169]", "\n")
  text = gsub(text, "\r\n", "\n")
  for line in (gsub(text, "[\r\v\f\28\29\30]", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    line = line:match("^[^#]*")
    line = line:match("^[%s\28-\31]*(.-)[%s\28-\31]*$")
    local directive, value = line:match("^([^:]*):(.*)$")
    if directive then
      directive = lower(directive:match("^[%s\28-\31]*(.-)[%s\28-\31]*$"))
      value = value:match("^[%s\28-\31]*(.-)[%s\28-\31]*$")
      if directive == "user-agent" then
        if #rules > 0 then
          save()
          agents, rules = {}, {}
        end
        agents[#agents + 1] = value
      elseif directive == "disallow" or directive == "allow" then
        rules[#rules + 1] = { path = value, allow = directive == "allow",
          pattern = value ~= "" and rule_pattern(value), length = rule_length(value) }
      end
    end
  end
  save()
  return robots
end

-- The rules gofr-dig applies for user agent "*": the "*" group, else a
-- group whose agent is empty (a prefix of "*"), else none.
local function star_rules(robots)
  if robots.agents["*"] then return robots.agents["*"] end
  for _, agent in pairs(robots.order) do
    if agent == "" then return robots.agents[agent] end
  end
  return nil
end

--- Whether robots (from parse, or nil: allow all) lets user agent
-- "*" fetch url: the longest matching rule wins, Allow on a tie.
function M.path_allowed(robots, url)
  local rules = robots and star_rules(robots)
  if not rules then return true end
  local u = urlparse(url)
  local path = u and u.path ~= "" and u.path or "/"
  if u and u.query ~= "" then path = path .. "?" .. u.query end
  local best, best_len = nil, -1
  for _, r in pairs(rules) do
    local hit
    if r.path == "" then
      hit = r.allow -- an empty Disallow matches nothing, an empty Allow all
    else
      hit = r.pattern and find(path, r.pattern) ~= nil
    end
    if hit and (r.length > best_len or (r.length == best_len and r.allow and not best.allow)) then
      best, best_len = r, r.length
    end
  end
  if best then return best.allow end
  return true
end

return M
