-- The dependency rule of lua/gofr_sim (docs/architecture.md, "Layers"),
-- checked on every `require` with a literal name in lua/ and scenarios/:
--
--   util/     requires util/ and the C core only
--   engine/   requires engine/, util/ and the C core
--   runner/, report/   never require twin/ or gofr_dig/
--   only gofr_dig/target, cli/ and the twin itself require the twin's
--     entry point (gofr_sim.twin), the one that starts it
--   every module sits in a layer folder (init.lua is the facade), and the
--   module graph has no cycles
--
-- A broken rule is reported as "file:line: module -> required (rule)".
local support = require "support"

local LAYERS = { engine = true, util = true, runner = true, report = true, gofr_dig = true,
  twin = true, cli = true }
local CORE = { ["gofr_sim.core"] = true, ["gofr_sim.repl_core"] = true }

-- The layer of a module name: "facade", "core", a LAYERS folder, "outside"
-- (a gofr_sim module in no layer) or nil (not ours: cjson, bit, ...).
local function layer_of(name)
  if name == "gofr_sim" then return "facade" end
  if CORE[name] then return "core" end
  if name == "gofr_sim.twin" then return "twin" end
  local folder = name:match("^gofr_sim%.([%w_]+)%.")
  if folder and LAYERS[folder] then return folder end
  if name:match("^gofr_sim%.") then return "outside" end
  return nil
end

-- The module name of a file under root/lua/, or "scenario:<file>".
local function module_of(root, file)
  local rel = file:sub(#root + 2)
  local lua_rel = rel:match("^lua/(.+)%.lua$")
  if not lua_rel then return "scenario:" .. rel end
  return (lua_rel:gsub("/init$", ""):gsub("/", "."))
end

-- May a module of layer `from` (named `from_name`) require `to_name`? nil,
-- or the rule it breaks.
local UPWARD = { facade = true, runner = true, report = true, gofr_dig = true, twin = true, cli = true,
  outside = true }
local function broken_rule(from, from_name, to_name)
  local to = layer_of(to_name)
  if to == nil or to == "core" then return nil end
  if to == "outside" then return "a module outside the layer folders" end
  if from == "util" and to ~= "util" then return "util/ requires util/ and the core only" end
  if from == "engine" and UPWARD[to] then return "engine/ requires engine/, util/ and the core only" end
  if (from == "runner" or from == "report") and (to == "twin" or to == "gofr_dig") then
    return from .. "/ never requires twin/ or gofr_dig/"
  end
  if to_name == "gofr_sim.twin" and from ~= "cli" and from ~= "twin"
    and from_name ~= "gofr_sim.gofr_dig.target" then
    return "only gofr_dig/target and cli/ start the twin"
  end
  return nil
end

-- Every `require "name"` / `require("name")` of a file: {name=, line=}.
local function requires_of(text)
  local out, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local code = line:gsub("%-%-.*$", "")
    for name in code:gmatch("require%s*%(?%s*[\"']([%w_%.]+)[\"']") do
      out[#out + 1] = { name = name, line = n }
    end
    for name in code:gmatch("pcall%(%s*require%s*,%s*[\"']([%w_%.]+)[\"']") do
      out[#out + 1] = { name = name, line = n }
    end
  end
  return out
end

local function lua_files(root)
  local p = assert(io.popen("cd " .. support.shell_quote(root)
    .. " && find lua scenarios -name '*.lua' 2>/dev/null | sort"))
  local files = {}
  for f in p:lines() do files[#files + 1] = root .. "/" .. f end
  p:close()
  return files
end

-- A cycle in graph (module -> {required module -> "file:line"}) as
-- "a -> b (file:line) -> ... -> a", or nil.
local function find_cycle(graph)
  local state, stack = {}, {}
  local function visit(m)
    state[m] = "open"
    stack[#stack + 1] = m
    local edges = graph[m] or {}
    local targets = {}
    for to in pairs(edges) do targets[#targets + 1] = to end
    table.sort(targets)
    for _, to in ipairs(targets) do
      local where = edges[to]
      if state[to] == "open" then
        local i = #stack
        while stack[i] ~= to do i = i - 1 end
        local parts = {}
        for j = i, #stack do parts[#parts + 1] = stack[j] end
        return table.concat(parts, " -> ") .. " -> " .. to .. " (" .. where .. ")"
      end
      if state[to] == nil then
        local c = visit(to)
        if c then return c end
      end
    end
    stack[#stack] = nil
    state[m] = "done"
  end
  local names = {}
  for m in pairs(graph) do names[#names + 1] = m end
  table.sort(names)
  for _, m in ipairs(names) do
    if state[m] == nil then
      local c = visit(m)
      if c then return c end
    end
  end
end

-- Every broken rule of the tree at root, as sorted lines.
local function violations(root)
  local out, graph = {}, {}
  for _, file in ipairs(lua_files(root)) do
    local rel = file:sub(#root + 2)
    local name = module_of(root, file)
    local from = name:match("^scenario:") and "scenario" or layer_of(name)
    if from == "outside" then out[#out + 1] = rel .. ":1: " .. name .. " (not in a layer folder)" end
    local text = assert(support.read_file(file))
    for _, r in ipairs(requires_of(text)) do
      local rule = broken_rule(from, name, r.name)
      if rule then
        out[#out + 1] = ("%s:%d: %s -> %s (%s)"):format(rel, r.line, name, r.name, rule)
      end
      if layer_of(r.name) and layer_of(r.name) ~= "core" and r.name ~= name then
        graph[name] = graph[name] or {}
        graph[name][r.name] = graph[name][r.name] or (rel .. ":" .. r.line)
      end
    end
  end
  table.sort(out)
  local cycle = find_cycle(graph)
  if cycle then out[#out + 1] = "cycle: " .. cycle end
  return out
end

local function write(root, rel, text)
  local dir = (root .. "/" .. rel):match("^(.*)/[^/]+$")
  assert(support.sh_ok("mkdir -p " .. support.shell_quote(dir)))
  local f = assert(io.open(root .. "/" .. rel, "w"))
  f:write(text)
  f:close()
end

describe("the layers of lua/gofr_sim", function()
  it("hold in the tree: no require breaks the dependency rule, no cycle", function()
    local found = violations(support.source_dir)
    assert(#found == 0, "dependency rule broken:\n  " .. table.concat(found, "\n  "))
  end)

  it("are checked: each kind of broken edge is reported by file and line", function()
    local root = support.tmpdir()
    write(root, "lua/gofr_sim/init.lua", 'local http = require "gofr_sim.engine.http"\n')
    write(root, "lua/gofr_sim/util/json.lua", '-- require "gofr_sim.engine.http" (a comment)\n'
      .. 'local x = require("gofr_sim.engine.http")\n')
    write(root, "lua/gofr_sim/engine/http.lua", 'local a = require "gofr_sim.util.tables"\n'
      .. 'local sim = require "gofr_sim"\n')
    write(root, "lua/gofr_sim/runner/scenario.lua", 'local t = require "gofr_sim.gofr_dig.target"\n')
    write(root, "lua/gofr_sim/report/write.lua", "local ok, t = pcall(require, 'gofr_sim.twin.storage')\n")
    write(root, "lua/gofr_sim/gofr_dig/target.lua", 'local twin = require "gofr_sim.twin"\n')
    write(root, "lua/gofr_sim/gofr_dig/tokens.lua", 'local twin = require "gofr_sim.twin"\n')
    write(root, "lua/gofr_sim/twin/init.lua", 'local t = require "gofr_sim.twin.auth"\n')
    write(root, "lua/gofr_sim/twin/auth.lua", 'local t = require "gofr_sim.util.json"\n')
    write(root, "lua/gofr_sim/cli/twin.lua", 'local twin = require "gofr_sim.twin"\n')
    write(root, "lua/gofr_sim/flat.lua", 'local core = require "gofr_sim.core"\n')
    write(root, "scenarios/s.lua",
      'local twin = require "gofr_sim.twin"\nlocal f = require "gofr_sim.flat"\n')
    local found = violations(root)
    assert(support.sh_ok("rm -rf " .. support.shell_quote(root)))
    assert.are.same({
      "lua/gofr_sim/engine/http.lua:2: gofr_sim.engine.http -> gofr_sim "
        .. "(engine/ requires engine/, util/ and the core only)",
      "lua/gofr_sim/flat.lua:1: gofr_sim.flat (not in a layer folder)",
      "lua/gofr_sim/gofr_dig/tokens.lua:1: gofr_sim.gofr_dig.tokens -> gofr_sim.twin "
        .. "(only gofr_dig/target and cli/ start the twin)",
      "lua/gofr_sim/report/write.lua:1: gofr_sim.report.write -> gofr_sim.twin.storage "
        .. "(report/ never requires twin/ or gofr_dig/)",
      "lua/gofr_sim/runner/scenario.lua:1: gofr_sim.runner.scenario -> gofr_sim.gofr_dig.target "
        .. "(runner/ never requires twin/ or gofr_dig/)",
      "lua/gofr_sim/util/json.lua:2: gofr_sim.util.json -> gofr_sim.engine.http "
        .. "(util/ requires util/ and the core only)",
      "scenarios/s.lua:1: scenario:scenarios/s.lua -> gofr_sim.twin "
        .. "(only gofr_dig/target and cli/ start the twin)",
      "scenarios/s.lua:2: scenario:scenarios/s.lua -> gofr_sim.flat (a module outside the layer folders)",
      "cycle: gofr_sim -> gofr_sim.engine.http -> gofr_sim (lua/gofr_sim/engine/http.lua:2)",
    }, found)
  end)
end)
