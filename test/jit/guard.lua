--- The LuaJIT guard: reduced cases of known JIT miscompilations, each
-- asserting the right result with the JIT on (test/jit/cases/*.lua, one per
-- file). ctest runs it through the gofr-sim executable (the libluajit it
-- links) and through the luajit interpreter the specs run under:
--
--   gofr-sim test/jit/guard.lua [--runs N] [--case NAME]
--   luajit   test/jit/guard.lua [--runs N] [--case NAME]
--
-- Each case runs in a child process of the same executable (so traces and
-- hot counters of one case do not steer another, and a crash is a failure
-- rather than the end of the guard), N times (default 1). It prints one line
-- per case: PASS, FAIL, XFAIL (a known failure of the LuaJIT we build on:
-- see KNOWN_FAILURES and docs/architecture.md) or XPASS (a known failure
-- that passed: the list is out of date, said loudly). Exit status 1 when a
-- case that must pass failed, else 0.

-- The cases, in order: bugs fixed upstream after Debian bookworm's snapshot
-- (2.1.0~beta3+git20220320) and before OpenResty's 2.1-20230119, which
-- therefore must pass; then bugs fixed upstream after 2023-01-19.
local CASES = {
  "lj827_nested_pairs",
  "itern_jloop_stack_exit",
  "table_len_alias",
  "lj839_concat_mm",
  "lj859_ceil_sign",
  "lj864_varg_offset",
  "lj1069_nan_key",
  "lj1082_min_max_zero",
  "lj1083_select_string",
  "lj1133_href_hrefk_alias",
}

-- Cases OpenResty's luajit2 2.1-20230119 (the Debian package luajit2 we
-- build on) still fails: reported, not fatal. Keep each construct out of the
-- hot paths (docs/architecture.md, "LuaJIT").
local KNOWN_FAILURES = {
  lj1069_nan_key = "fixed upstream 2023-09-09 (7f9907b4)",
  lj1082_min_max_zero = "fixed upstream 2023-09-17 (7a2b83a0)",
  lj1083_select_string = "fixed upstream 2023-09-21 (92b89d00)",
  lj1133_href_hrefk_alias = "fixed upstream 2023-12-23 (65853056)",
}

local ffi = require "ffi"

pcall(ffi.cdef, [[
  long readlink(const char *path, char *buf, unsigned long size);
]])

-- This process's executable (gofr-sim or luajit), to run the cases with.
local function self_exe()
  local buf = ffi.new("char[4096]")
  local n = tonumber(ffi.C.readlink("/proc/self/exe", buf, 4096))
  assert(n and n > 0, "cannot read /proc/self/exe")
  return ffi.string(buf, n)
end

-- Which libluajit this process runs: its path in /proc/self/maps (nil when
-- LuaJIT is linked statically), and whether it is OpenResty's branch.
local function which_luajit()
  local lib
  local f = io.open("/proc/self/maps", "r")
  if f then
    for line in f:lines() do
      lib = line:match("(/%S*libluajit%S*)$")
      if lib then break end
    end
    f:close()
  end
  local openresty = pcall(require, "table.nkeys")
  return ("%s (%s%s)"):format(jit.version, openresty and "OpenResty luajit2" or "not OpenResty's branch",
    lib and (", " .. lib) or ", static")
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function script_dir()
  local path = arg and arg[0] or "test/jit/guard.lua"
  return path:match("^(.*)/[^/]*$") or "."
end

local function parse_args()
  local opts = { runs = 1 }
  local i = 1
  while arg and arg[i] do
    local a, v = arg[i], arg[i + 1]
    if a == "--runs" and tonumber(v) then
      opts.runs = math.floor(tonumber(v))
      i = i + 2
    elseif a == "--case" and v then
      opts.case = v
      i = i + 2
    else
      io.stderr:write("usage: guard.lua [--runs N] [--case NAME]\n")
      os.exit(2)
    end
  end
  return opts
end

-- Child mode: runs one case once; exit 0 on the right result, 1 on a wrong
-- one (with the reason on stdout), 3 when the JIT is off.
local function run_one(name)
  local case = dofile(script_dir() .. "/cases/" .. name .. ".lua")
  assert(case.name == name, "case file " .. name .. " names itself " .. tostring(case.name))
  if not jit.status() then
    print("the JIT is off")
    os.exit(3)
  end
  jit.flush()
  if case.hotloop then jit.opt.start("hotloop=" .. case.hotloop) end
  local ok, detail = case.run()
  if not jit.status() then
    print("the JIT was turned off")
    os.exit(3)
  end
  if not ok then
    print(detail or "wrong result")
    os.exit(1)
  end
  os.exit(0)
end

local function main()
  local opts = parse_args()
  if opts.case and opts.runs == 1 and os.getenv("GS_JIT_GUARD_CHILD") then
    return run_one(opts.case)
  end
  local exe, dir = self_exe(), script_dir()
  print(("LuaJIT guard: %s, JIT %s; %d run(s) per case"):format(which_luajit(),
    jit.status() and "on" or "OFF", opts.runs))
  if not jit.status() then
    print("FAIL: the JIT is off")
    return 1
  end
  local failed, xpassed = 0, 0
  for _, name in ipairs(CASES) do
    if not opts.case or opts.case == name then
      local case = dofile(dir .. "/cases/" .. name .. ".lua")
      local fails, why = 0, nil
      for _ = 1, opts.runs do
        local log = os.tmpname()
        local cmd = ("GS_JIT_GUARD_CHILD=1 %s %s --case %s >%s 2>&1"):format(shell_quote(exe),
          shell_quote(dir .. "/guard.lua"), shell_quote(name), shell_quote(log))
        local code = os.execute(cmd) -- Lua 5.1: the wait status, 0 on success
        local f = io.open(log, "rb")
        local out = f and f:read("*a") or ""
        if f then f:close() end
        os.remove(log)
        if code ~= 0 and code ~= true then
          fails = fails + 1
          why = why or (out:gsub("%s+$", ""):gsub("\n", " | "))
          if why == "" then why = "wait status " .. tostring(code) end
        end
      end
      local known = KNOWN_FAILURES[name]
      local mark
      if fails == 0 then
        mark = known and "XPASS" or "PASS"
        if known then xpassed = xpassed + 1 end
      else
        mark = known and "XFAIL" or "FAIL"
        if not known then failed = failed + 1 end
      end
      local line = ("%-5s %-26s %-22s %d/%d runs failed  %s"):format(mark, name, case.issue,
        fails, opts.runs, case.what)
      print(line)
      if fails > 0 then print("      " .. why) end
      if mark == "XPASS" then
        print(("      !!! %s is listed as a known failure (%s) but passed: this LuaJIT fixes it;"
          .. " update KNOWN_FAILURES in test/jit/guard.lua and docs/architecture.md"):format(name, known))
      end
    end
  end
  print(("LuaJIT guard: %d case(s) that must pass failed, %d known failure(s) passed"):format(failed,
    xpassed))
  return failed == 0 and 0 or 1
end

os.exit(main())
