--- auth_cross_group: gofr-dig's group boundaries on sessions, checked one by one.
--
--   gofr-sim scenarios/auth_cross_group.lua                       # against the embedded twin
--   gofr-sim scenarios/auth_cross_group.lua --mcp-url http://127.0.0.1:8070/mcp --token-source env
--   gofr-sim scenarios/auth_cross_group.lua --expect-anonymous-read denied  # a stricter rule
--
-- The apac, emea and us tokens each create a session (get_content
-- session=true), and the multi-group token (apac, emea, us; apac primary)
-- creates one too. Then, with every read tool (get_session_info,
-- get_session_chunk, get_session, get_session_urls), the scenario checks
-- (contract §5.4):
--   * writes are owned by the token's primary group;
--   * each single-group token reads its own group's session and is denied
--     (PERMISSION_DENIED) the other groups' sessions;
--   * the multi token reads all three groups' sessions;
--   * list_sessions shows a single-group token its group's sessions only,
--     the multi token those of its three groups, anonymous callers all;
--   * invalid, expired, bad-signature and alg-none tokens get AUTH_ERROR on
--     every session tool.
-- Two behaviours of the real server that users should know about are
-- findings: checks named "finding: ..." whose expected outcome a flag sets
-- (the defaults are what gofr-dig does): anonymous callers can read any
-- group's session by id (--expect-anonymous-read allowed|denied), and
-- get_structure never looks at the token (--expect-structure-ignores-token).
--
-- A check scenario (docs/scenarios.md): one persona runs every check once,
-- in order. Each check records what it saw (an error code, a group, a
-- count); a failed check exits 1.
local sim = require "gofr_sim"
local target = require "gofr_sim.gofr_dig.target"
local tokens = require "gofr_sim.gofr_dig.tokens"
local mcp = require "gofr_sim.engine.mcp"

local GROUPS = { "apac", "emea", "us" }
local PRIMARY = "apac" -- token_multi's groups are apac, emea, us: apac first
local READ_TOOLS = { "get_session_info", "get_session_chunk", "get_session", "get_session_urls" }
-- Tokens gofr-dig must refuse, with the words the check names use.
local BAD_TOKENS = {
  { "invalid", "token_invalid" },
  { "expired", "token_expired" },
  { "bad-signature", "token_bad_signature" },
  { "alg-none", "token_alg_none" },
}

local tgt -- the gofr-dig of this run, made by prepare

-- Calls ----------------------------------------------------------------------

-- What a call came to: "allowed", or gofr-dig's error code (else the
-- transport's error type).
local function outcome(r)
  if r.ok then return "allowed" end
  return r.error_code or r.error_type or "failed"
end

-- The outcome with gofr-dig's message, for refusals worth reading.
local function outcome_with_message(r)
  local o = outcome(r)
  if not r.ok and r.message then o = o .. " (" .. r.message .. ")" end
  return o
end

local function read(conn, tool, sid)
  local args = { session_id = sid }
  if tool == "get_session_chunk" then args.chunk_index = 0 end
  return conn:call(tool, args)
end

-- True when a read tool's reply is the session asked for (not just any
-- success): info, get_session and urls name the session; a chunk is a string.
local function read_ok(tool, r, sid)
  if not r.ok then return false end
  if tool == "get_session_chunk" then return type(r.data) == "string" end
  return type(r.data) == "table" and r.data.session_id == sid
end

-- list_sessions -> set of session ids, array of their owner groups ("public"
-- for none), and the outcome text; nil set when the call failed.
local function list_of(conn)
  local r = conn:call("list_sessions", {})
  local sessions = r.ok and type(r.data) == "table" and r.data.sessions
  if type(sessions) ~= "table" then return nil, {}, outcome_with_message(r) end
  local ids, owners = {}, {}
  for _, s in ipairs(sessions) do
    if type(s) == "table" and type(s.session_id) == "string" then
      ids[s.session_id] = true
      owners[#owners + 1] = type(s.group) == "string" and s.group or "public"
    end
  end
  return ids, owners, #sessions .. " listed"
end

-- "apac, emea" from an array of groups, each once, sorted.
local function distinct(list)
  local seen, out = {}, {}
  for _, g in ipairs(list) do
    if not seen[g] then seen[g], out[#out + 1] = true, g end
  end
  table.sort(out)
  return #out > 0 and table.concat(out, ", ") or "none"
end

-- Steps ---------------------------------------------------------------------

-- One MCP session per persona: apac, emea, us, multi, anonymous and each
-- bad token. -> map name -> session, or nil when one cannot connect.
local function connect_all()
  local personas = { { "multi", tgt.tokens.token_multi }, { "anonymous", nil } }
  for _, g in ipairs(GROUPS) do personas[#personas + 1] = { g, tgt.tokens["token_" .. g] } end
  for _, bad in ipairs(BAD_TOKENS) do personas[#personas + 1] = { bad[1] .. " token", tgt.tokens[bad[2]] } end
  local conns = {}
  for _, p in ipairs(personas) do
    local s, err_type, msg = tgt:connect(p[2])
    if not s then
      sim.check(false, "every persona connects to gofr-dig",
        ("%s: %s: %s"):format(p[1], err_type, tostring(msg)))
      return nil
    end
    conns[p[1]] = s
  end
  sim.check(true, "every persona connects to gofr-dig", #personas .. " connected")
  return conns
end

-- The creators, and how the checks name them.
local CREATORS = { "apac", "emea", "us", "multi", "anonymous" }
local function creator_name(who)
  return who == "anonymous" and "anonymous caller" or who .. " token"
end

-- Each creator makes a session of the same page. -> map creator -> session
-- id, or nil when a creation failed (the failed check says why; the other
-- checks would only repeat it).
local function create_sessions(conns, url)
  local sids, all = {}, true
  for _, who in ipairs(CREATORS) do
    local r = conns[who]:call("get_content", { url = url, session = true, parse_results = false })
    local sid = r.ok and type(r.data) == "table" and r.data.session_id
    sid = type(sid) == "string" and sid ~= "" and sid or nil
    sim.check(sid ~= nil, creator_name(who) .. " creates a session with get_content(session=true)",
      sid or outcome_with_message(r))
    sids[who] = sid
    all = all and sid ~= nil
  end
  return all and sids or nil
end

-- Writes: a session belongs to its creator's primary group — so the multi
-- token's session is apac's, and emea (one of multi's groups, not the
-- primary) is denied it; an anonymous caller's session has no owner (public).
local function check_owners(conns, sids)
  for _, who in ipairs(CREATORS) do
    local r = conns[who]:call("get_session_info", { session_id = sids[who] })
    local group = r.ok and type(r.data) == "table" and r.data.group
    if group == mcp.null then group = "null" end
    local want = who == "multi" and PRIMARY or who == "anonymous" and "null" or who
    local name = who == "multi" and "multi token's session is owned by its primary group, apac"
      or who == "anonymous" and "anonymous caller's session has no owner group (public)"
      or ("%s token's session is owned by %s"):format(who, who)
    sim.check(group == want, name, type(group) == "string" and group or outcome_with_message(r))
  end
  local r = conns.emea:call("get_session_info", { session_id = sids.multi })
  sim.check(r.error_code == "PERMISSION_DENIED",
    "emea token is denied the multi token's session (owned by apac alone)", outcome(r))
end

-- A public session (no owner) is readable by every token.
local function check_public_reads(conns, sids)
  for _, who in ipairs { "apac", "emea", "us", "multi" } do
    local r = read(conns[who], "get_session_info", sids.anonymous)
    sim.check(read_ok("get_session_info", r, sids.anonymous),
      who .. " token reads the public session via get_session_info", outcome(r))
  end
end

-- Reads: every read tool, every group's session, by the multi token and by
-- each single-group token (its own: read; the others': PERMISSION_DENIED).
local function check_reads(conns, sids)
  for _, owner in ipairs(GROUPS) do
    for _, tool in ipairs(READ_TOOLS) do
      local r = read(conns.multi, tool, sids[owner])
      sim.check(read_ok(tool, r, sids[owner]),
        ("multi token reads %s's session via %s"):format(owner, tool), outcome(r))
      for _, reader in ipairs(GROUPS) do
        r = read(conns[reader], tool, sids[owner])
        if reader == owner then
          sim.check(read_ok(tool, r, sids[owner]),
            ("%s token reads its own session via %s"):format(reader, tool), outcome(r))
        else
          sim.check(r.error_code == "PERMISSION_DENIED",
            ("%s token is denied %s's session via %s"):format(reader, owner, tool), outcome(r))
        end
      end
    end
  end
end

-- How many of `want` (session ids) the listed set holds: "3 of 4".
local function held(ids, want)
  local n = 0
  for _, sid in ipairs(want) do
    if ids[sid] then n = n + 1 end
  end
  return n, ("%d of %d ours"):format(n, #want)
end

-- One caller's list_sessions: it must hold every id of `want` (check
-- `shows`) and, when `only` is given, nothing whose owner fails allowed(owner)
-- (check `only`). Against a real server other runs' sessions may be listed
-- too, so "only" is checked on the owners, not on a count.
local function check_list(conn, want, shows, only, allowed)
  local ids, owners, what = list_of(conn)
  local n, text = held(ids or {}, want)
  sim.check(ids ~= nil and n == #want, shows,
    ids and ("%s, %s, owners: %s"):format(text, what, distinct(owners)) or what)
  if not only then return end
  local ok = ids ~= nil
  for _, owner in ipairs(owners) do ok = ok and allowed(owner) end
  sim.check(ok, only, ids and ("owners: " .. distinct(owners)) or what)
end

-- list_sessions: a single-group token sees its group's sessions (apac's
-- include the multi token's) and no other group's; the multi token its
-- three groups' and nothing else; public sessions are left out of both;
-- anonymous callers see every session.
local function check_lists(conns, sids)
  for _, g in ipairs(GROUPS) do
    local own = { sids[g], g == PRIMARY and sids.multi or nil }
    check_list(conns[g], own, ("%s token's list_sessions shows %s's sessions"):format(g, g),
      ("%s token's list_sessions shows only %s's sessions"):format(g, g),
      function(owner) return owner == g end)
  end
  local groups = { sids.apac, sids.emea, sids.us, sids.multi }
  check_list(conns.multi, groups, "multi token's list_sessions shows apac's, emea's and us's sessions",
    "multi token's list_sessions shows only sessions of apac, emea and us",
    function(owner) return owner == "apac" or owner == "emea" or owner == "us" end)
  check_list(conns.anonymous, { sids.apac, sids.emea, sids.us, sids.multi, sids.anonymous },
    "anonymous list_sessions shows every session, public ones too")
end

-- Tokens that fail verification are refused with AUTH_ERROR by every
-- session tool (the expired, bad-signature and alg-none tokens claim apac,
-- so accepting one would also read apac's session).
local function check_bad_tokens(conns, sids)
  for _, bad in ipairs(BAD_TOKENS) do
    local conn = conns[bad[1] .. " token"]
    for _, tool in ipairs(READ_TOOLS) do
      local r = read(conn, tool, sids.apac)
      sim.check(r.error_code == "AUTH_ERROR", ("%s token gets AUTH_ERROR from %s"):format(bad[1], tool),
        outcome_with_message(r))
    end
    local r = conn:call("list_sessions", {})
    sim.check(r.error_code == "AUTH_ERROR", ("%s token gets AUTH_ERROR from list_sessions"):format(bad[1]),
      outcome_with_message(r))
  end
end

-- Finding: gofr-dig lets anonymous callers read any session whose id they
-- know (contract §5.4). "allowed" when every read tool gave apac's session
-- to an anonymous caller, "denied" when every one refused it.
local function finding_anonymous_read(conns, sids, expect)
  local allowed, denied, each = 0, 0, {}
  for _, tool in ipairs(READ_TOOLS) do
    local r = read(conns.anonymous, tool, sids.apac)
    if read_ok(tool, r, sids.apac) then
      allowed = allowed + 1
    elseif r.error_code == "PERMISSION_DENIED" or r.error_code == "AUTH_ERROR" then
      denied = denied + 1
    end
    each[#each + 1] = tool .. "=" .. outcome(r)
  end
  local seen = allowed == #READ_TOOLS and "allowed" or denied == #READ_TOOLS and "denied" or "mixed"
  local detail = seen == "allowed" and "by all 4 read tools" or "(" .. table.concat(each, ", ") .. ")"
  sim.check(seen == expect, "finding: anonymous callers can read a group's session",
    ("%s %s; expected %s"):format(seen, detail, expect))
end

-- Finding: get_structure never verifies the token (contract §4.4): an
-- invalid token fetches the page's structure like any other.
local function finding_structure_token(conns, url, expect)
  local r = conns["invalid token"]:call("get_structure", { url = url })
  local seen = r.ok and "accepted" or outcome_with_message(r)
  local ok = (expect and r.ok) or (not expect and r.error_code == "AUTH_ERROR")
  sim.check(ok, "finding: get_structure ignores the token (an invalid one is accepted)",
    ("%s; expected %s"):format(seen, expect and "accepted" or "AUTH_ERROR"))
end

-- The page the sessions hold: the site's index.html (not robots-blocked),
-- else its first page.
local function page_url(urls)
  for _, u in ipairs(urls) do
    if u:match("/index%.html$") and not u:match("/[^/]+/index%.html$") then return u end
  end
  return urls[1]
end

local function run_checks(ctx)
  local o = ctx.options
  local conns = connect_all()
  if not conns then return end
  local url = page_url(ctx.urls)
  local sids = create_sessions(conns, url)
  if not sids then return end
  check_owners(conns, sids)
  check_reads(conns, sids)
  check_public_reads(conns, sids)
  check_lists(conns, sids)
  check_bad_tokens(conns, sids)
  finding_anonymous_read(conns, sids, o.expect_anonymous_read)
  finding_structure_token(conns, url, o.expect_structure_ignores_token)
end

-- The scenario ---------------------------------------------------------------

return {
  name = "auth_cross_group",
  description = "gofr-dig's group rules on sessions: reads, denials, lists, bad tokens, findings",
  tokens = tokens.resolver, -- --token-source, --jwt-secret-file, --token-store (target.new)
  flags = target.with_flags {
    fixtures_port = target.FIXTURES_PORT_FLAG,
    fixtures_dir = { type = "string",
      help = "the site whose page the sessions hold (default fixtures/html)" },
    timeout = { type = "duration", default = 30, above = 0, help = "per connect and per tool call" },
    expect_anonymous_read = { type = "enum", values = { "allowed", "denied" }, default = "allowed",
      help = "the expected outcome of the anonymous-read finding" },
    expect_structure_ignores_token = { type = "boolean", default = true,
      help = "the expected outcome of the get_structure finding (it ignores the token)" },
  },

  prepare = function(o)
    local names = { "token_apac", "token_emea", "token_us", "token_multi" }
    for _, bad in ipairs(BAD_TOKENS) do names[#names + 1] = bad[2] end
    tgt = target.new(o, { tokens = names })
    return tgt:mix_extra()
  end,

  setup = function(ctx)
    local site, urls = target.serve_fixtures(ctx.options.fixtures_dir,
      { port = ctx.options.fixtures_port })
    tgt:start(ctx)
    return { site = site, urls = urls }
  end,

  check = run_checks, -- once; a raise fails the completion check
  completion_check = "every step of the scenario ran",

  teardown = function(ctx)
    if tgt then tgt:stop() end
    if ctx.site then ctx.site.close() end
  end,
}
