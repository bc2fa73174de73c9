--- gofr_sim.twin.urlparse: Python's urllib.parse.urlparse as gofr-dig reads
-- URLs (its SSRF guard, its robots.txt checker, aiohttp's error texts).
--
--   local urlparse = require("gofr_sim.twin.urlparse").urlparse
--   local u = urlparse("HTTP://user@Example.COM:8080/a;p?q=1#f")
--   -- u.scheme "http", u.netloc "user@Example.COM:8080", u.path "/a",
--   -- u.query "q=1", u.hostname "example.com"
local byte, find, lower, sub, gsub = string.byte, string.find, string.lower, string.sub, string.gsub

local M = {}

--- Python's urllib.parse.urlparse, for what gofr-dig reads of it: returns
-- {scheme= (lower-case), netloc=, path= (without ;params), query=, hostname=
-- (lower-case, brackets removed, or nil)} or nil, "Invalid IPv6 URL".
function M.urlparse(url)
  url = gsub(url, "^[%z\1- ]+", "")
  url = gsub(url, "[%z\1- ]+$", "")
  url = gsub(url, "[\t\r\n]", "")
  local u = { scheme = "", netloc = "", path = "", query = "" }
  local colon = find(url, ":", 1, true)
  if colon and colon > 1 and find(sub(url, 1, colon - 1), "^%a[%w+.-]*$") then
    u.scheme = lower(sub(url, 1, colon - 1))
    url = sub(url, colon + 1)
  end
  if sub(url, 1, 2) == "//" then
    local stop = find(url, "[/?#]", 3) or #url + 1
    u.netloc = sub(url, 3, stop - 1)
    url = sub(url, stop)
    local open, close = find(u.netloc, "[", 1, true), find(u.netloc, "]", 1, true)
    if (open and not close) or (close and not open) then return nil, "Invalid IPv6 URL" end
  end
  url = gsub(url, "#.*$", "")
  local q = find(url, "?", 1, true)
  if q then
    u.query = sub(url, q + 1)
    url = sub(url, 1, q - 1)
  end
  -- ;params of the last segment are not part of the path (http uses params)
  local last_slash = 0
  for i = #url, 1, -1 do
    if byte(url, i) == 47 then last_slash = i; break end
  end
  local semi = find(url, ";", last_slash + 1, true)
  u.path = semi and sub(url, 1, semi - 1) or url
  local hostport = u.netloc:match("^.*@(.*)$") or u.netloc
  local host
  if find(hostport, "[", 1, true) then
    host = hostport:match("%[([^%]]*)") or ""
  else
    host = hostport:match("^[^:]*")
  end
  u.hostname = host ~= "" and lower(host) or nil
  return u
end

return M
