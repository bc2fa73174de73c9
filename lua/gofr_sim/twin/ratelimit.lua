--- gofr_sim.twin.ratelimit: gofr-dig's inbound limiter — a sliding-window
-- log per identity (the caller's primary group, or "__anonymous__").
--
--   local limiter = ratelimit.new { calls = 60, window = 60 }
--   local allowed, info = limiter:check("apac")   -- info = {remaining, limit, reset_seconds}
--
-- Denied calls are not recorded; allowed ones record `now`. reset_seconds
-- is int(oldest - (now - window) + 1), 0 for an empty bucket, as the real
-- server computes it. Each bucket is a queue with a head index, so pruning
-- is amortised O(1) even with a limit of 100,000 calls per window.
local core = require "gofr_sim.core"

local floor = math.floor

local M = {}

local ANONYMOUS = "__anonymous__"
M.ANONYMOUS = ANONYMOUS

local Limiter = {}
Limiter.__index = Limiter

--- ratelimit.new{calls = 60, window = 60 (seconds), now = clock function,
-- unlimited = false (a broken twin: everything allowed)}
function M.new(opts)
  return setmetatable({
    unlimited = opts.unlimited,
    calls = opts.calls or 60,
    window = opts.window or 60,
    now = opts.now or core.now,
    buckets = {},
  }, Limiter)
end

-- Drops the timestamps at or before the cutoff; compacts now and then.
local function prune(b, cutoff)
  local head, tail = b.head, b.tail
  while head <= tail and b[head] <= cutoff do
    b[head] = nil
    head = head + 1
  end
  if head > tail then head, tail = 1, 0 end
  b.head, b.tail = head, tail
end

--- limiter:check(identity) -> allowed, {remaining=, limit=, reset_seconds=}
function Limiter:check(identity)
  if self.unlimited then return true, { remaining = self.calls, limit = self.calls, reset_seconds = 0 } end
  local key = identity or ANONYMOUS
  local b = self.buckets[key]
  if not b then
    b = { head = 1, tail = 0 }
    self.buckets[key] = b
  end
  local now = self.now()
  local cutoff = now - self.window
  prune(b, cutoff)
  local used = b.tail - b.head + 1
  local remaining = self.calls - used
  local reset = used > 0 and floor(b[b.head] - cutoff + 1) or 0
  if remaining <= 0 then
    return false, { remaining = 0, limit = self.calls, reset_seconds = reset }
  end
  b.tail = b.tail + 1
  b[b.tail] = now
  return true, { remaining = remaining - 1, limit = self.calls, reset_seconds = reset }
end

return M
