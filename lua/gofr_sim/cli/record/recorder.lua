--- gofr_sim.cli.record.recorder: records sites into a fixture corpus that
-- load runs replay (docs/recording.md): each site is crawled
-- (gofr_sim.cli.record.crawl), every page obfuscated with one seed and date
-- shift for the whole recording, and the site put into the corpus
-- (gofr_sim.cli.record.corpus) in place of its earlier recording.
--
--   local recorder = require "gofr_sim.cli.record.recorder"
--   sim.run(function()
--     local summary = recorder.record { sites = { { url = "https://example.com/" } },
--                                       out = "corpus", depth = 1, max_pages = 5 }
--   end)
--
-- Any HTTP status is recorded with its status; a network failure fails the
-- site, which keeps its earlier recording (files and meta.json entry).
-- record() runs inside a persona (it yields on I/O); the world failing is
-- reported in the summary, misuse raises, usage errors (bad --out, bad
-- meta.json) raise cli usage errors.
local sim = require "gofr_sim"
local obf = require "gofr_sim.engine.obfuscate"
local blockpage = require "gofr_sim.engine.blockpage"
local check = require "gofr_sim.engine.check"
local crawl = require "gofr_sim.cli.record.crawl"
local corpus = require "gofr_sim.cli.record.corpus"

local ipairs, pairs, tostring, pcall = ipairs, pairs, tostring, pcall

local M = {}

M.DEFAULTS = { depth = 0, max_pages = 10, timeout = 30, concurrency = 4 }

-- The corpus files of a site's pages, obfuscated. -> files {{path=, data=,
-- content_type=, status=}}, bytes, block classes {"<path>: <class>"}
local function obfuscate_pages(pages, o)
  local links = {}
  for i, p in ipairs(pages) do links[i] = p.link end
  local paths = corpus.file_paths(links)
  local files, bytes, blocked = {}, 0, {}
  for i, p in ipairs(pages) do
    local data = obf.page(p.body, { seed = o.seed, date_shift_days = o.date_shift_days })
    files[i] = { path = paths[i], data = data, content_type = p.content_type, status = p.status }
    bytes = bytes + #data
    local class = blockpage.classify(p.status, p.content_type, p.body)
    if class then blocked[#blocked + 1] = paths[i] .. ": " .. class end
  end
  return files, bytes, blocked
end

-- Records one site into the corpus: crawl, obfuscate, put.
-- -> result {slug=, url=, name=, ok=, pages=, bytes=, status=, skipped=,
--            blocked=, error_type=, message=}
local function record_site(site, o, c)
  local slug = corpus.slug(site.url)
  local r = { slug = slug, url = site.url, name = site.name, ok = false, pages = 0, bytes = 0 }
  local pages, skipped_or_err, msg = crawl.site(site.url, o)
  if not pages then
    r.error_type, r.message = skipped_or_err, msg
    return r
  end
  local files, bytes, blocked = obfuscate_pages(pages, o)
  local ok, e, m = c:put_site(slug, site.url, files)
  if not ok then
    r.error_type, r.message = e, m
    return r
  end
  r.ok, r.pages, r.bytes, r.status = true, #pages, bytes, pages[1].status
  r.skipped, r.blocked = skipped_or_err, blocked
  return r
end

local OPTION_TYPES = {
  sites = "table", out = "string", depth = "number", max_pages = "number", timeout = "number",
  concurrency = "number", seed = "string", date_shift_days = "number", on_site = "function",
}

local function check_options(opts)
  local o = check.options("recorder.record", opts, OPTION_TYPES)
  local c = {}
  for k, v in pairs(M.DEFAULTS) do c[k] = v end
  for k, v in pairs(o) do c[k] = v end
  if not c.sites or not c.out or c.out == "" then
    error("recorder.record: options 'sites' and 'out' are required", 3)
  end
  if c.depth ~= 0 and c.depth ~= 1 then error("recorder.record: option 'depth' must be 0 or 1", 3) end
  return c
end

-- The sites to record, in order: of sites sharing a slug only the last.
-- -> sites, their slugs
local function last_of_each_slug(sites)
  local last = {}
  for i, site in ipairs(sites) do last[corpus.slug(site.url)] = i end
  local queue, slugs = {}, {}
  for i, site in ipairs(sites) do
    if last[corpus.slug(site.url)] == i then
      queue[#queue + 1] = site
      slugs[#slugs + 1] = corpus.slug(site.url)
    end
  end
  return queue, slugs
end

-- The summary of the results of the sites of queue that were attempted.
local function summarize(queue, results, o)
  local summary = { sites_attempted = 0, sites_recorded = 0, sites_failed = 0, total_bytes = 0,
                    recorded_at = o.recorded_at, out = o.out, results = {} }
  for i = 1, #queue do
    local r = results[i]
    if r then
      summary.results[#summary.results + 1] = r
      summary.sites_attempted = summary.sites_attempted + 1
      if r.ok then
        summary.sites_recorded = summary.sites_recorded + 1
        summary.total_bytes = summary.total_bytes + r.bytes
      else
        summary.sites_failed = summary.sites_failed + 1
      end
    end
  end
  return summary
end

--- recorder.record{sites=, out=, depth=0, max_pages=10, timeout=30,
--   concurrency=4, seed=, date_shift_days=, on_site=fn(result)} -> summary
-- Inside a persona. sites: array of {url=, name=}. seed (default: the
-- recording's recorded_at) and date_shift_days (default: derived from the
-- seed) are passed to obfuscate.page for every page. on_site is called
-- with each site's result as it completes. summary = {sites_attempted=,
-- sites_recorded=, sites_failed=, total_bytes=, recorded_at=, out=,
-- results = {result per site, in sites order}}. Sites sharing a slug: the
-- last one is recorded (the harness overwrote). Once the run is stopping no
-- further site is started.
function M.record(opts)
  local o = check_options(opts)
  o.recorded_at = corpus.now_iso()
  o.seed = o.seed or o.recorded_at
  local queue, slugs = last_of_each_slug(o.sites)
  local c = corpus.open(o.out, o.recorded_at, slugs)
  local results, next_i = {}, 1
  local function worker()
    while next_i <= #queue and not sim.stopping() do
      local i = next_i
      next_i = i + 1
      local done, r = pcall(record_site, queue[i], o, c)
      if not done then
        r = { slug = corpus.slug(queue[i].url), url = queue[i].url, ok = false, pages = 0, bytes = 0,
              error_type = "internal_error", message = tostring(r) }
      end
      results[i] = r
      if o.on_site then o.on_site(r) end
    end
  end
  local workers = {}
  for w = 1, math.min(o.concurrency, #queue) do workers[w] = sim.spawn(worker) end
  sim.wait(unpack(workers))
  return summarize(queue, results, o)
end

return M
