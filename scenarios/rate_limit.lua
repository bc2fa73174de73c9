--- rate_limit: proves gofr-dig's inbound rate limiter (contract §6).
--
--   gofr-sim scenarios/rate_limit.lua                    # embedded twin, 10 calls per 3 s
--   gofr-sim scenarios/rate_limit.lua --rate-limit-calls 60 --rate-limit-window 60 \
--     --mcp-url http://127.0.0.1:8070/mcp --token-source env
--
-- A check scenario (docs/scenarios.md): its check bursts list_sessions
-- (cheap, limited, no side effects) past the limit and checks: the first N
-- calls of a window pass and the next is
-- RATE_LIMIT_EXCEEDED with details {remaining = 0, limit = N, reset_seconds};
-- buckets are per primary group (multi, whose primary group is apac, shares
-- apac's; emea has its own); anonymous callers share one bucket, and so do
-- tokens that fail verification; ping is never limited; apac's calls pass
-- again once its first call has left the window. The time from the first
-- denial to the first call that passes again is recorded as the metric
-- `rate_limit.recovery` and checked against the window.
--
-- The embedded twin is started with GOFR_DIG_RATE_LIMIT_CALLS / _WINDOW
-- set from --rate-limit-calls / --rate-limit-window; a real server must be
-- started with the same limits, be idle, and not have seen these callers in
-- the last window. Exit 1 when a check fails (docs/scenarios.md).
local sim = require "gofr_sim"
local target = require "gofr_sim.gofr_dig.target"
local tokens = require "gofr_sim.gofr_dig.tokens"

local type, tostring = type, tostring

local TOOL = "list_sessions" -- limited, cheap, changes nothing
local POLL = 0.1             -- seconds between recovery polls

local tgt -- the gofr-dig of this run, made by prepare

-- Results ---------------------------------------------------------------------

local function denied(r) return r.error_code == "RATE_LIMIT_EXCEEDED" end

-- What a call gave, as short text for a check's observed value.
local function outcome(r)
  if r.ok then return "passed" end
  return tostring(r.error_code or r.error_type or "failed")
end

local function details_of(r)
  local d = type(r.data) == "table" and r.data.details
  return type(d) == "table" and d or {}
end

-- n calls in a row; -> how many passed, and what the first other call gave.
local function burst(client, n)
  local passes, first_other = 0, nil
  for _ = 1, n do
    local r = client:call(TOOL, {})
    if r.ok then passes = passes + 1 else first_other = first_other or outcome(r) end
  end
  return passes, first_other
end

local function passes_text(passes, n, first_other)
  local s = ("%d of %d passed"):format(passes, n)
  return first_other and (s .. ", first other: " .. first_other) or s
end

-- Checks ----------------------------------------------------------------------

-- apac's bucket: N calls pass, call N+1 is denied with the real details;
-- multi (primary group apac) is denied too. -> t_first (before apac's first
-- call), t_denied (after the first denial; nil without one), reset_seconds.
local function check_apac(c, n, window)
  local t_first = sim.now()
  local passes, other = burst(c.apac, n)
  sim.check(passes == n, ("apac's first %d calls in the window pass"):format(n),
    passes_text(passes, n, other))

  local r = c.apac:call(TOOL, {})
  local t_denied = denied(r) and sim.now() or nil
  sim.check(denied(r), ("apac's call %d in the window is RATE_LIMIT_EXCEEDED"):format(n + 1), outcome(r))

  local d = details_of(r)
  sim.check(d.remaining == 0 and d.limit == n,
    ("the denial's details say remaining 0 and limit %d"):format(n),
    ("remaining=%s limit=%s"):format(tostring(d.remaining), tostring(d.limit)))
  local reset = d.reset_seconds
  sim.check(type(reset) == "number" and reset >= 1 and reset <= window,
    ("the denial's details.reset_seconds is between 1 and the window (%ds)"):format(window),
    tostring(reset))

  r = c.multi:call(TOOL, {})
  sim.check(denied(r),
    "multi (primary group apac) shares apac's bucket: its first call is RATE_LIMIT_EXCEEDED", outcome(r))
  return t_first, t_denied, type(reset) == "number" and reset or nil
end

-- emea's bucket is its own: untouched by apac's burst, and limited too.
local function check_emea(c, n)
  local passes, other = burst(c.emea, n)
  sim.check(passes == n,
    ("emea has its own bucket: its first %d calls pass while apac's is exhausted"):format(n),
    passes_text(passes, n, other))
  local r = c.emea:call(TOOL, {})
  sim.check(denied(r), ("emea's call %d in the window is RATE_LIMIT_EXCEEDED"):format(n + 1), outcome(r))
end

-- Anonymous callers: ping never uses a slot; every anonymous client, and
-- every token that fails verification, draws on the one __anonymous__ bucket.
local function check_anonymous(c, n)
  local pings = 0
  for _ = 1, 2 * n do
    if c.anon:call("ping", {}).ok then pings = pings + 1 end
  end
  sim.check(pings == 2 * n, ("ping is exempt: %d pings in a row all pass"):format(2 * n),
    ("%d of %d passed"):format(pings, 2 * n))

  local passes, other = burst(c.anon, n)
  sim.check(passes == n, ("anonymous callers' first %d calls pass (the pings used no slot)"):format(n),
    passes_text(passes, n, other))

  local r = c.anon2:call(TOOL, {})
  sim.check(denied(r), "anonymous callers share one bucket: a second anonymous client's first call "
    .. "is RATE_LIMIT_EXCEEDED", outcome(r))
  r = c.invalid:call(TOOL, {})
  sim.check(denied(r), "a token that fails verification is limited in the anonymous bucket", outcome(r))
  r = c.anon2:call("ping", {})
  sim.check(r.ok, "ping passes while the anonymous bucket is exhausted", outcome(r))
end

-- Polls apac until a call passes; -> the time it passed, or nil by `deadline`.
local function poll_until_pass(client, deadline)
  while sim.now() < deadline do
    if client:call(TOOL, {}).ok then return sim.now() end
    if not sim.sleep(POLL) then return nil end
  end
  return nil
end

-- apac recovers once its first call leaves the window: not before, and
-- within window + slack of the first denial (and within its reset_seconds).
local function check_recovery(c, o, t_first, t_denied, reset)
  local window, slack = o.rate_limit_window, o.recovery_slack
  if not t_denied then
    sim.check(false, "apac's calls pass again after the window", "no denial to recover from")
    sim.check(false, ("time to recovery from the first denial is > 0 and <= the window + %gs"):format(slack),
      "no denial")
    return
  end
  local t_pass = poll_until_pass(c.apac, t_denied + window + slack + 1)
  sim.check(t_pass ~= nil, "apac's calls pass again after the window",
    t_pass and "passed" or ("still limited %gs after the first denial"):format(window + slack + 1))
  if not t_pass then return end

  local recovery = t_pass - t_denied
  sim.metrics.record("rate_limit.recovery", recovery, { bucket = "apac" })
  local text = ("%.2fs"):format(recovery)
  sim.check(recovery > 0 and recovery <= window + slack,
    ("time to recovery from the first denial is > 0 and <= the window + %gs"):format(slack), text)
  sim.check(reset ~= nil and recovery <= reset + POLL + 0.25,
    "apac recovers within the first denial's reset_seconds",
    ("%s, reset_seconds %s"):format(text, tostring(reset)))
  -- a sliding window: nothing comes back before the first call is a window old
  sim.check(t_pass - t_first >= window - 0.05, "apac stays limited until a window after its first call",
    ("passed %.2fs after the first call"):format(t_pass - t_first))
end

-- The clients, one MCP session each: -> map or nil, what failed.
local function connect_all()
  local t = tgt.tokens
  local c = {}
  for name, token in pairs { apac = t.token_apac, multi = t.token_multi, emea = t.token_emea,
                             anon = false, anon2 = false, invalid = t.token_invalid } do
    local s, err_type, msg = tgt:connect(token or nil)
    if not s then return nil, ("%s: %s: %s"):format(name, tostring(err_type), tostring(msg)) end
    c[name] = s
  end
  return c
end

local function run_checks(ctx)
  local o = ctx.options
  local c, why = connect_all()
  sim.check(c ~= nil, "every client connects to gofr-dig", c and "connected" or why)
  if not c then return end
  local n = o.rate_limit_calls
  local t_first, t_denied, reset = check_apac(c, n, o.rate_limit_window)
  check_emea(c, n)
  check_anonymous(c, n)
  check_recovery(c, o, t_first, t_denied, reset)
end

return {
  name = "rate_limit",
  description = "gofr-dig's inbound rate limiter: limits, buckets, ping exemption, recovery",
  tokens = tokens.resolver, -- --token-source, --jwt-secret-file, --token-store (target.new)
  flags = target.with_flags {
    rate_limit_calls = { type = "integer", min = 1, default = 10,
      help = "the server's limit per window (the embedded twin's GOFR_DIG_RATE_LIMIT_CALLS)" },
    rate_limit_window = { type = "integer", min = 1, default = 3,
      help = "the server's window in whole seconds (GOFR_DIG_RATE_LIMIT_WINDOW)" },
    recovery_slack = { type = "duration", default = 1,
      help = "how much later than the window's end recovery may come" },
    timeout = { type = "duration", default = 30, above = 0, help = "per connect and per tool call" },
  },

  prepare = function(o)
    tgt = target.new(o, {
      tokens = { "token_apac", "token_multi", "token_emea", "token_invalid" },
      twin_env = { GOFR_DIG_RATE_LIMIT_CALLS = tostring(o.rate_limit_calls),
                   GOFR_DIG_RATE_LIMIT_WINDOW = tostring(o.rate_limit_window) },
    })
    return tgt:mix_extra()
  end,

  setup = function(ctx)
    tgt:start(ctx)
    return { mcp_url = tgt.url }
  end,

  check = run_checks, -- once; a raise fails "the checks ran to the end"

  teardown = function()
    if tgt then tgt:stop() end
  end,
}
