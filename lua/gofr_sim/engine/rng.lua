--- Seedable random numbers, one independent stream per object, so a run's
-- random choices repeat for a given --seed however personas interleave.
-- A 32-bit xorshift generator; seeds are scrambled so that neighbouring
-- seeds and streams give unrelated sequences. Not for cryptography.
local bit = require "bit"

local bxor, lshift, rshift, tobit = bit.bxor, bit.lshift, bit.rshift, bit.tobit
local floor = math.floor

local M = {}
local Rng = {}
Rng.__index = Rng

local function scramble(x)
  x = tobit(x)
  x = bxor(x, rshift(x, 16))
  x = tobit(x * 0x45d9f3b)
  x = bxor(x, rshift(x, 16))
  x = tobit(x * 0x45d9f3b)
  x = bxor(x, rshift(x, 16))
  if x == 0 then x = 0x2545F491 end
  return x
end

--- A new stream. `seed` is any number; `stream` (optional) separates
-- several streams derived from one seed (e.g. one per persona).
function M.new(seed, stream)
  if type(seed) ~= "number" then
    error("rng.new: seed must be a number, got " .. type(seed), 2)
  end
  local lo = floor(seed) % 4294967296
  local s = scramble(lo + (stream or 0) * 0x9E3779B9)
  return setmetatable({ state = s }, Rng)
end

local function next32(self)
  local x = self.state
  x = bxor(x, lshift(x, 13))
  x = bxor(x, rshift(x, 17))
  x = bxor(x, lshift(x, 5))
  self.state = x
  return x % 4294967296
end

--- A float in [0, 1).
function Rng:float()
  return next32(self) / 4294967296
end

--- An integer in [lo, hi] (one argument: [1, lo]).
function Rng:int(lo, hi)
  if not hi then lo, hi = 1, lo end
  return lo + floor(self:float() * (hi - lo + 1))
end

--- A uniformly chosen element of the array t.
function Rng:pick(t)
  return t[self:int(1, #t)]
end

return M
