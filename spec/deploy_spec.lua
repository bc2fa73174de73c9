-- deploy/: the Kubernetes manifests, the Dockerfile and the GitHub Actions
-- shard workflow, read as their consumers read them. The YAML is parsed by
-- python3-yaml; the manifests must agree with each other (the shard count,
-- the shard index wired into the report path, the report volume, the
-- ports the scrape annotations name); `kubectl kustomize` (when kubectl is
-- there) renders the kustomization offline. Then the shard Job's command
-- line runs as a pod would run it (Kubernetes' $(VAR) expansion, three
-- shards side by side against a standalone twin, on 127.0.0.1) and the
-- merge Job's script merges their reports; the script's other exits are
-- driven with a stub gofr-sim.
local cjson = require "cjson"
local support = require "support"
local personas = require "gofr_sim.runner.personas"
local tokens = require "gofr_sim.gofr_dig.tokens"

local q = support.shell_quote
local SRC = support.source_dir
if SRC:sub(1, 1) ~= "/" then SRC = assert(io.popen("pwd")):read("*l") .. "/" .. SRC end
local KDIR = SRC .. "/deploy/kubernetes"
local WORKFLOW = SRC .. "/.github/workflows/shards.yml"
local PYTHON = "/usr/bin/python3"

-- Runs a shell command without the sanitizer preload (children of an ASan
-- spec run misbehave with it); env: {NAME = value} added. -> status, stdout, stderr.
local function sh(cmd, env)
  local out, err, rc = os.tmpname(), os.tmpname(), os.tmpname()
  local assign = {}
  for k, v in pairs(env or {}) do assign[#assign + 1] = k .. "=" .. q(v) end
  table.sort(assign)
  os.execute(("env -u LD_PRELOAD %s bash -c %s >%s 2>%s </dev/null; echo $? >%s"):format(
    table.concat(assign, " "), q(cmd), out, err, rc))
  local status = tonumber(support.read_file(rc))
  local o, e = support.read_file(out), support.read_file(err)
  os.remove(out); os.remove(err); os.remove(rc)
  return status, o, e
end

-- Every document of the YAML files, as JSON values: {path = {doc, ...}}.
-- Keys are strings: YAML 1.1 reads a workflow's `on` as true, which is
-- given back as "on".
local YAML_TO_JSON = [[
import json, sys
import yaml
def plain(x):
    if isinstance(x, dict):
        return {("on" if k is True else str(k)): plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x
out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        out[path] = [plain(d) for d in yaml.safe_load_all(f) if d is not None]
print(json.dumps(out))
]]

local function parse_yaml(paths)
  local script = support.tmpfile(YAML_TO_JSON, ".py")
  local quoted = {}
  for i, p in ipairs(paths) do quoted[i] = q(p) end
  local status, out, err = sh(("%s %s %s"):format(PYTHON, q(script), table.concat(quoted, " ")))
  os.remove(script)
  assert(status == 0, "python3-yaml could not parse the YAML (Debian packages python3, python3-yaml): "
    .. tostring(err))
  return cjson.decode(out)
end

local function files_in(dir)
  local p = assert(io.popen("ls -A " .. q(dir)))
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

local function sorted(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  return copy
end

local function is_integer(v) return type(v) == "number" and v == math.floor(v) end

-- The value after `flag` in argv (nil when absent; fails when it is last).
local function flag_value(argv, flag)
  for i, a in ipairs(argv) do
    if a == flag then
      assert(argv[i + 1] ~= nil, flag .. " is the last argument")
      return argv[i + 1]
    end
  end
  return nil
end

-- Kubernetes' expansion of command and args: $(NAME) of a defined
-- variable is its value, $$ is $, anything else is kept as written.
local function k8s_expand(s, vars)
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c == "$" and i < #s then
      local nxt = s:sub(i + 1, i + 1)
      if nxt == "$" then
        out[#out + 1] = "$"; i = i + 2
      elseif nxt == "(" then
        local close = s:find(")", i + 2, true)
        if close then
          local name = s:sub(i + 2, close - 1)
          out[#out + 1] = vars[name] or ("$(" .. name .. ")")
          i = close + 1
        else
          out[#out + 1] = "$("; i = i + 2
        end
      else
        out[#out + 1] = "$" .. nxt; i = i + 2
      end
    else
      out[#out + 1] = c; i = i + 1
    end
  end
  return table.concat(out)
end

-- The $(NAME) references of a string.
local function references(s)
  local names = {}
  for name in s:gmatch("%$%(([%w_]+)%)") do names[#names + 1] = name end
  return names
end

-- The deployment, parsed once ----------------------------------------------------

local D -- {files=, kustomization=, objects = {kind/name = obj}, shards=, merge=, ...}

local function container_of(job)
  local containers = job.spec.template.spec.containers
  assert.are.equal(1, #containers, job.metadata.name .. ": one container")
  return containers[1]
end

local function env_of(container)
  local env = {}
  for _, e in ipairs(container.env or {}) do env[e.name] = e end
  return env
end

local function volume_at(job, path)
  local c = container_of(job)
  for _, m in ipairs(c.volumeMounts or {}) do
    if m.mountPath == path then
      for _, v in ipairs(job.spec.template.spec.volumes or {}) do
        if v.name == m.name then return v, m end
      end
      error(("%s: volumeMount %s names no volume"):format(job.metadata.name, m.name))
    end
  end
  return nil
end

-- After tini's options and "--": the program's argv, and the exit statuses
-- tini turns into 0.
local function under_tini(command)
  assert.are.equal("/usr/bin/tini", command[1], "the container runs under tini")
  local remapped, i = {}, 2
  while command[i] ~= "--" do
    assert(command[i], "tini's options end with --")
    if command[i] == "-e" then
      remapped[#remapped + 1] = assert(tonumber(command[i + 1]), "tini -e takes a status")
      i = i + 2
    else
      i = i + 1
    end
  end
  local argv = {}
  for j = i + 1, #command do argv[#argv + 1] = command[j] end
  table.sort(remapped)
  return argv, remapped
end

local function load_deployment()
  if D then return D end
  D = { files = files_in(KDIR), objects = {} }
  local yaml_paths = {}
  for _, f in ipairs(D.files) do
    if f:match("%.ya?ml$") then yaml_paths[#yaml_paths + 1] = KDIR .. "/" .. f end
  end
  yaml_paths[#yaml_paths + 1] = WORKFLOW
  local parsed = parse_yaml(yaml_paths)
  D.parsed = parsed
  D.kustomization = assert(parsed[KDIR .. "/kustomization.yaml"], "no kustomization.yaml")[1]
  D.workflow = parsed[WORKFLOW][1]
  for _, f in ipairs(D.files) do
    if f:match("%.ya?ml$") and f ~= "kustomization.yaml" then
      for _, obj in ipairs(parsed[KDIR .. "/" .. f]) do
        obj._file = f
        local key = tostring(obj.kind) .. "/" .. tostring(obj.metadata and obj.metadata.name)
        assert(D.objects[key] == nil, "defined twice: " .. key)
        D.objects[key] = obj
      end
    end
  end
  for key, obj in pairs(D.objects) do
    if obj.kind == "Job" then
      if obj.spec.completionMode == "Indexed" then
        assert(D.shards == nil, "two Indexed Jobs: " .. key)
        D.shards = obj
      else
        assert(D.merge == nil, "two Jobs that are not Indexed: " .. key)
        D.merge = obj
      end
    end
  end
  assert(D.shards, "no Indexed Job (the shards)")
  assert(D.merge, "no merge Job")
  D.generated = {} -- ConfigMap name -> {key = file}
  for _, g in ipairs(D.kustomization.configMapGenerator or {}) do
    local keys = {}
    for _, spec in ipairs(g.files or {}) do
      local key, file = spec:match("^([^=]+)=(.+)$")
      if not key then key, file = spec:match("([^/]+)$"), spec end
      keys[key] = file
    end
    D.generated[g.name] = keys
  end
  -- the shard's command line, before and after Kubernetes' expansion
  local c = container_of(D.shards)
  local argv, remapped = under_tini(c.command)
  for _, a in ipairs(c.args or {}) do argv[#argv + 1] = a end
  D.shard_argv, D.shard_remapped = argv, remapped
  D.shard_count = D.shards.spec.completions
  return D
end

-- The names the shard container's environment defines (env, and the keys of
-- the ConfigMaps it takes whole); -> set, and the ConfigMap objects.
local function shard_env_names()
  local d = load_deployment()
  local c = container_of(d.shards)
  local names, maps = {}, {}
  for name in pairs(env_of(c)) do names[name] = true end
  for _, from in ipairs(c.envFrom or {}) do
    if from.configMapRef then
      local cm = assert(d.objects["ConfigMap/" .. from.configMapRef.name],
        "envFrom names ConfigMap " .. from.configMapRef.name .. ", not in the manifests")
      maps[#maps + 1] = cm
      for key in pairs(cm.data or {}) do names[key] = true end
    end
  end
  return names, maps
end

-- The merge Job's script and its environment.
local function merge_script()
  local c = container_of(load_deployment().merge)
  local argv = under_tini(c.command)
  assert.are.same({ "/bin/sh", "-c" }, argv)
  assert.are.equal(1, #c.args, "the script is the one argument of sh -c")
  local env = {}
  for name, e in pairs(env_of(c)) do env[name] = e.value end
  return c.args[1], env
end

-- Tests -------------------------------------------------------------------------

describe("deploy/kubernetes manifests", function()
  it("are objects with apiVersion, kind and a valid metadata.name", function()
    local d = load_deployment()
    local api = { Job = "batch/v1", ConfigMap = "v1", PersistentVolumeClaim = "v1" }
    local n = 0
    for key, obj in pairs(d.objects) do
      n = n + 1
      assert(api[obj.kind], key .. ": an unexpected kind")
      assert.are.equal(api[obj.kind], obj.apiVersion, key)
      assert.is_string(obj.metadata.name, key)
      assert.truthy(obj.metadata.name:match("^[a-z0-9][-a-z0-9]*[a-z0-9]$") and #obj.metadata.name <= 63,
        key .. ": not a DNS label")
    end
    assert.are.equal(4, n) -- the target ConfigMap, the claim, two Jobs
    assert.are.equal("Kustomization", d.kustomization.kind)
    assert.are.equal("kustomize.config.k8s.io/v1beta1", d.kustomization.apiVersion)
  end)

  it("use only Job, pod and container fields Kubernetes knows", function()
    local d = load_deployment()
    local function set(s) local t = {}; for w in s:gmatch("%S+") do t[w] = true end; return t end
    local JOB = set [[activeDeadlineSeconds backoffLimit backoffLimitPerIndex completionMode completions
      managedBy manualSelector maxFailedIndexes parallelism podFailurePolicy podReplacementPolicy selector
      successPolicy suspend template ttlSecondsAfterFinished]]
    local POD = set [[affinity automountServiceAccountToken containers dnsPolicy enableServiceLinks
      hostname imagePullSecrets initContainers nodeSelector priorityClassName restartPolicy
      schedulerName securityContext serviceAccountName shareProcessNamespace terminationGracePeriodSeconds
      tolerations topologySpreadConstraints volumes]]
    local CONTAINER = set [[args command env envFrom image imagePullPolicy lifecycle livenessProbe name
      ports readinessProbe resizePolicy resources restartPolicy securityContext startupProbe stdin
      stdinOnce terminationMessagePath terminationMessagePolicy tty volumeDevices volumeMounts workingDir]]
    for _, job in ipairs { d.shards, d.merge } do
      local name = job.metadata.name
      for k in pairs(job.spec) do assert(JOB[k], name .. ": unknown Job field spec." .. k) end
      local pod = job.spec.template.spec
      for k in pairs(pod) do assert(POD[k], name .. ": unknown pod field " .. k) end
      assert.are.equal("Never", pod.restartPolicy, name)
      assert.are.equal(0, job.spec.backoffLimit, name .. ": a shard or a verdict is not retried")
      for _, c in ipairs(pod.containers) do
        for k in pairs(c) do assert(CONTAINER[k], name .. ": unknown container field " .. k) end
        assert.are.equal("gofr-sim", c.image, name .. ": the image kustomize sets")
      end
    end
  end)

  it("are every file of the directory, listed in kustomization.yaml", function()
    local d = load_deployment()
    local listed = { ["kustomization.yaml"] = true }
    for _, r in ipairs(d.kustomization.resources or {}) do
      assert.is_nil(listed[r], "listed twice: " .. r)
      listed[r] = true
      assert(support.exists(KDIR .. "/" .. r), "kustomization.yaml lists a missing file: " .. r)
    end
    for _, keys in pairs(d.generated) do
      for _, file in pairs(keys) do
        listed[file] = true
        assert(support.exists(KDIR .. "/" .. file), "configMapGenerator lists a missing file: " .. file)
      end
    end
    for _, f in ipairs(d.files) do assert(listed[f], "not in kustomization.yaml: " .. f) end
    local images = {}
    for _, img in ipairs(d.kustomization.images or {}) do images[img.name] = img end
    assert(images["gofr-sim"], "kustomization.yaml sets the image gofr-sim")
    assert.is_true(d.kustomization.generatorOptions.disableNameSuffixHash)
  end)

  it("run N shards as an Indexed Job: completions == parallelism == --shards N", function()
    local d = load_deployment()
    local spec = d.shards.spec
    assert.are.equal("Indexed", spec.completionMode)
    assert(is_integer(spec.completions) and spec.completions >= 2, "completions: an integer >= 2")
    assert.are.equal(spec.completions, spec.parallelism, "all shards side by side")
    local argv = d.shard_argv
    assert.are.equal("gofr-sim", argv[1])
    assert.are.equal(tostring(spec.completions), flag_value(argv, "--shards"))
    assert.is_nil(flag_value(argv, "--shard"), "--shards takes K from JOB_COMPLETION_INDEX")
    local quiet = false
    for _, a in ipairs(argv) do quiet = quiet or a == "--quiet" end
    assert.is_true(quiet, "--quiet: no progress line in the pods' logs")
    -- the index Kubernetes gives the pod reaches gofr-sim
    local env = env_of(container_of(d.shards))
    assert.are.equal("metadata.annotations['batch.kubernetes.io/job-completion-index']",
      env.JOB_COMPLETION_INDEX.valueFrom.fieldRef.fieldPath)
  end)

  it("tini keeps a shard's verdict (1, 99) from failing its pod, not a usage error", function()
    local d = load_deployment()
    assert.are.same({ 1, 99 }, d.shard_remapped)
  end)

  it("write each shard's report to its own path from JOB_COMPLETION_INDEX, on the shared claim", function()
    local d = load_deployment()
    local out = assert(flag_value(d.shard_argv, "--output"), "--output")
    assert.truthy(out:find("$(JOB_COMPLETION_INDEX)", 1, true), out)
    local seen, dir = {}, nil
    for i = 0, d.shard_count - 1 do
      local path = k8s_expand(out, { JOB_COMPLETION_INDEX = tostring(i) })
      local this_dir, base = path:match("^(.*)/([^/]+)$")
      assert.are.equal(("shard-%d.json"):format(i), base)
      assert(dir == nil or dir == this_dir, "one directory")
      dir = this_dir
      assert.is_nil(seen[path]); seen[path] = true
    end
    local vol = assert(volume_at(d.shards, dir), "no volume mounted at " .. dir)
    local claim = assert(vol.persistentVolumeClaim, dir .. " is not a claim").claimName
    local pvc = assert(d.objects["PersistentVolumeClaim/" .. claim], "no PersistentVolumeClaim " .. claim)
    local rwx = false
    for _, m in ipairs(pvc.spec.accessModes) do rwx = rwx or m == "ReadWriteMany" end
    assert.is_true(rwx, claim .. ": pods on several nodes write it at once")
    assert.truthy(pvc.spec.resources.requests.storage)
  end)

  it("merge over the same directory and claim, expecting the same shard count", function()
    local d = load_deployment()
    local out = flag_value(d.shard_argv, "--output")
    local dir = k8s_expand(out, { JOB_COMPLETION_INDEX = "0" }):match("^(.*)/")
    local script, env = merge_script()
    assert.are.equal(dir, env.GOFR_SIM_REPORTS)
    assert.are.equal(tostring(d.shard_count), env.GOFR_SIM_SHARDS)
    local vol = assert(volume_at(d.merge, dir), "the merge Job mounts nothing at " .. dir)
    local shard_vol = volume_at(d.shards, dir)
    assert.are.equal(shard_vol.persistentVolumeClaim.claimName, vol.persistentVolumeClaim.claimName)
    assert.truthy(script:find('set -- "$dir"/shard-*.json', 1, true), "merges the shards' files")
    assert.truthy(script:find('gofr-sim merge "$@" -o "$dir/merged.json"', 1, true))
    assert.truthy(script:find('gofr-sim report "$dir/merged.json" --html "$dir/report.html"', 1, true))
    assert(tonumber(d.merge.spec.activeDeadlineSeconds) > tonumber(env.GOFR_SIM_MERGE_TIMEOUT),
      "the Job's deadline is a backstop over the script's own timeout")
    assert.is_nil(d.merge.spec.completionMode)
  end)

  it("have no $(VAR) Kubernetes would leave unexpanded, and scripts it would not touch", function()
    local d = load_deployment()
    local names = shard_env_names()
    for _, a in ipairs(d.shard_argv) do
      for _, name in ipairs(references(a)) do
        assert(names[name], ("shard arg %q: $(%s) is not in the container's environment"):format(a, name))
      end
    end
    local script, env = merge_script()
    assert.is_nil(script:find("$$", 1, true), "Kubernetes turns $$ into $")
    for _, name in ipairs(references(script)) do
      assert.is_nil(env[name], "Kubernetes would expand $(" .. name .. ") in the script")
    end
    assert.are.equal(script, k8s_expand(script, env))
  end)

  it("serve metrics on the port the scrape annotations and the container name", function()
    local d = load_deployment()
    local ann = d.shards.spec.template.metadata.annotations
    assert.are.equal("true", ann["prometheus.io/scrape"])
    assert.are.equal("/metrics", ann["prometheus.io/path"])
    local listen = assert(flag_value(d.shard_argv, "--metrics-listen"))
    local host, port = listen:match("^(.+):(%d+)$")
    assert.are.equal("0.0.0.0", host, "Prometheus scrapes the pod's IP")
    assert.are.equal(port, ann["prometheus.io/port"])
    local ports = {}
    for _, p in ipairs(container_of(d.shards).ports) do ports[p.containerPort] = p.name end
    assert.are.equal("metrics", ports[tonumber(port)])
    -- the fixture site gofr-dig fetches from, on the pod's IP
    local fport = tonumber(assert(flag_value(d.shard_argv, "--fixtures-port")))
    assert.are.equal("fixtures", ports[fport])
    local env = env_of(container_of(d.shards))
    assert.are.equal("0.0.0.0", env.GOFR_DIG_FIXTURE_HOST.value)
    assert.are.equal("status.podIP", env.GOFR_DIG_FIXTURE_EXTERNAL_HOST.valueFrom.fieldRef.fieldPath)
  end)

  it("drive the target URL of a ConfigMap the shards take whole", function()
    local d = load_deployment()
    assert.are.equal("$(GOFR_DIG_MCP_URL)", flag_value(d.shard_argv, "--mcp-url"))
    local _, maps = shard_env_names()
    local url
    for _, cm in ipairs(maps) do url = url or (cm.data or {}).GOFR_DIG_MCP_URL end
    assert.is_string(url, "no ConfigMap of envFrom has GOFR_DIG_MCP_URL")
    assert.truthy(url:match("^https?://[^/]+/mcp$"), url)
  end)

  it("mount the scenario file the shards run from the generated ConfigMap", function()
    local d = load_deployment()
    local scenario = d.shard_argv[2]
    local dir, key = scenario:match("^(.*)/([^/]+%.lua)$")
    local vol, mount = volume_at(d.shards, dir)
    assert(vol and vol.configMap, scenario .. ": no ConfigMap mounted at " .. tostring(dir))
    assert.is_true(mount.readOnly)
    local keys = assert(d.generated[vol.configMap.name], "no configMapGenerator " .. vol.configMap.name)
    local file = assert(keys[key], vol.configMap.name .. " has no key " .. key)
    assert(support.exists(KDIR .. "/" .. file))
    -- its mix loads, with tokens gofr-sim knows
    local mix = assert(personas.load_mix(KDIR .. "/" .. assert(keys["mix.json"]),
      { tokens = tokens.SYMBOLIC_TOKENS }))
    assert(mix.total > 0)
  end)

  it("render with kubectl kustomize, offline", function()
    if not support.sh_ok("command -v kubectl >/dev/null 2>&1") then
      pending("kubectl not found: the kustomization is not rendered")
      return
    end
    local status, out, err = sh("kubectl kustomize " .. q(KDIR))
    assert.are.equal(0, status, err)
    local rendered = support.tmpfile(out, ".yaml")
    local docs = parse_yaml({ rendered })[rendered]
    os.remove(rendered)
    local d = load_deployment()
    local by_key = {}
    for _, obj in ipairs(docs) do
      by_key[obj.kind .. "/" .. obj.metadata.name] = obj
      assert.are.equal("gofr-sim", obj.metadata.labels["app.kubernetes.io/part-of"])
    end
    local expected = 0
    for key in pairs(d.objects) do
      assert(by_key[key], "kustomize did not render " .. key); expected = expected + 1
    end
    for name, keys in pairs(d.generated) do
      local cm = assert(by_key["ConfigMap/" .. name], "no generated ConfigMap " .. name)
      for key, file in pairs(keys) do
        assert.are.equal(support.read_file(KDIR .. "/" .. file), cm.data[key], name .. "." .. key)
      end
      expected = expected + 1
    end
    assert.are.equal(expected, #docs)
    local img = d.kustomization.images[1]
    for _, key in ipairs { "Job/" .. d.shards.metadata.name, "Job/" .. d.merge.metadata.name } do
      local template = by_key[key].spec.template
      assert.are.equal(img.newName .. ":" .. img.newTag, template.spec.containers[1].image)
      assert.are.equal("gofr-sim", template.metadata.labels["app.kubernetes.io/part-of"], key .. "'s pods")
    end
  end)
end)

describe("deploy/Dockerfile", function()
  local text = support.read_file(SRC .. "/deploy/Dockerfile") or ""

  -- the packages of each `apt-get install` (one list per stage)
  local function installs()
    local lists = {}
    local joined = text:gsub("\\\n", " ")
    for line in joined:gmatch("[^\n]+") do
      local pkgs = line:match("apt%-get install (.-)%s*&&") or line:match("apt%-get install (.*)$")
      if pkgs then
        local set = {}
        for w in pkgs:gmatch("%S+") do if w:sub(1, 1) ~= "-" then set[w] = true end end
        lists[#lists + 1] = set
      end
    end
    return lists
  end

  it("installs scripts/install-deps.sh's build packages and builds from the source tree", function()
    local deps = assert(support.read_file(SRC .. "/scripts/install-deps.sh"))
    local build_pkgs = assert(deps:match("BUILD_PKGS=%((.-)%)"), "BUILD_PKGS in install-deps.sh")
    local lists = installs()
    assert.are.equal(2, #lists, "one install per stage")
    local n = 0
    for pkg in build_pkgs:gmatch("%S+") do
      n = n + 1
      assert(lists[1][pkg], "the build stage lacks " .. pkg)
    end
    assert(n >= 10)
    for src in text:gmatch("\nCOPY ([%w._-]+) ") do
      assert(support.exists(SRC .. "/" .. src), "COPY of a missing path: " .. src)
    end
  end)

  it("runs as the user the manifests name, with the tini and the Lua tree they expect", function()
    local lists = installs()
    assert(lists[2].tini, "tini in the run stage")
    assert.truthy(text:find("ENV GOFR_SIM_LUA_DIR=/opt/gofr-sim/lua", 1, true))
    for _, dir in ipairs { "lua", "scenarios", "fixtures" } do
      local copy = ("COPY --from=build /opt/gofr-sim/%s /opt/gofr-sim/%s"):format(dir, dir)
      assert.truthy(text:find(copy, 1, true), copy)
    end
    local uid = tonumber(text:match("\nUSER (%d+)"))
    local d = load_deployment()
    for _, job in ipairs { d.shards, d.merge } do
      assert.are.equal(uid, job.spec.template.spec.securityContext.runAsUser)
    end
  end)
end)

describe(".github/workflows/shards.yml", function()
  local function shard_job()
    local w = load_deployment().workflow
    for id, job in pairs(w.jobs) do
      if job.strategy and job.strategy.matrix and job.strategy.matrix.shard then return id, job end
    end
    error("no job with a strategy.matrix.shard")
  end

  local function steps_running(job, pattern)
    local found = {}
    for _, step in ipairs(job.steps) do
      if step.run and step.run:find(pattern) then found[#found + 1] = step end
    end
    return found
  end

  it("runs each of N shards once, N the matrix's length and --shard K/N's", function()
    local _, job = shard_job()
    local shards = job.strategy.matrix.shard
    local expect = {}
    for i = 1, #shards do expect[i] = i end
    assert.are.same(expect, sorted(shards))
    assert.is_false(job.strategy["fail-fast"])
    local runs = steps_running(job, "gofr%-sim ")
    assert.are.equal(1, #runs)
    local n = runs[1].run:match("%-%-shard %${{ matrix%.shard }}/(%d+)")
    assert.are.equal(#shards, tonumber(n))
    assert.are.equal("debian:12", job.container)
    assert.are.equal(1, #steps_running(job, "^scripts/install%-deps%.sh"))
    assert.are.equal(1, #steps_running(job, "^make build"))
  end)

  it("merges after every shard the reports they upload, and fails on its verdict", function()
    local w = load_deployment().workflow
    local shard_id, job = shard_job()
    local K = "%${{ matrix%.shard }}"
    local run = steps_running(job, "gofr%-sim ")[1].run:gsub(K, "@K@")
    local output = assert(run:match("%-%-output (%S+)"), "--output")
    local upload
    for _, step in ipairs(job.steps) do
      if step.uses and step.uses:match("^actions/upload%-artifact@") then upload = step end
    end
    assert.are.equal(output, (upload.with.path:gsub(K, "@K@")))
    assert.are.equal("always()", upload["if"])
    local merge_id, merge
    for id, j in pairs(w.jobs) do
      if #steps_running(j, "gofr%-sim merge") > 0 then merge_id, merge = id, j end
    end
    assert(merge, "no job runs gofr-sim merge")
    assert.are_not.equal(shard_id, merge_id)
    local needs = type(merge.needs) == "string" and { merge.needs } or merge.needs
    assert.are.same({ shard_id }, needs)
    assert.is_nil(merge["if"], "a merge only when every shard ran")
    local download
    for _, step in ipairs(merge.steps) do
      if step.uses and step.uses:match("^actions/download%-artifact@") then download = step end
    end
    -- the artifact names match the pattern, and the merge reads where they land
    local artifact = upload.with.name:gsub(K, "1")
    local pattern = "^" .. download.with.pattern:gsub("%-", "%%-"):gsub("%*", ".*") .. "$"
    assert.truthy(artifact:match(pattern), artifact .. " vs " .. download.with.pattern)
    assert.is_true(download.with["merge-multiple"])
    local merge_run = steps_running(merge, "gofr%-sim merge")[1]
    assert.is_nil(merge_run["continue-on-error"])
    local inputs = merge_run.run:match("gofr%-sim merge (%S+)")
    local base = output:match("([^/]+)$"):gsub("@K@", "*")
    assert.are.equal(download.with.path .. "/" .. base, inputs)
  end)

  it("is started by hand with the target, which reaches the shell through the environment", function()
    local w = load_deployment().workflow
    local inputs = w.on.workflow_dispatch.inputs
    assert.is_true(inputs.mcp_url.required)
    local _, job = shard_job()
    local step = steps_running(job, "gofr%-sim ")[1]
    assert.is_nil(step.run:find("inputs%."), "inputs pasted into the script")
    assert.are.equal("${{ inputs.mcp_url }}", step.env.GOFR_DIG_MCP_URL)
    -- every token the mix may need has its secret
    local mix = assert(personas.load_mix(KDIR .. "/mix.json", { tokens = tokens.SYMBOLIC_TOKENS }))
    for _, g in ipairs(mix.groups) do
      local var = g.token and tokens.token_env_var(g.token)
      if var then assert(step.env[var], "no " .. var .. " for group " .. g.name) end
    end
  end)
end)

-- Running them --------------------------------------------------------------------

-- A stub gofr-sim for the merge script: logs its argv, writes the file
-- after -o / --html, exits $STUB_MERGE_STATUS for merge.
local STUB = [[#!/bin/sh
echo "$*" >>"$STUB_LOG"
cmd=$1
out=""
while [ $# -gt 0 ]; do
  case "$1" in -o|--html) out=$2; shift ;; esac
  shift
done
if [ "$cmd" = merge ]; then
  [ "$STUB_MERGE_STATUS" = 2 ] || echo '{}' >"$out"
  exit "$STUB_MERGE_STATUS"
fi
echo html >"$out"
]]

local function bin_dir(target)
  local dir = support.tmpdir()
  if target then
    assert(support.sh_ok(("ln -s %s %s/gofr-sim"):format(q(target), q(dir))))
  else
    support.write_file(dir .. "/gofr-sim", STUB)
    assert(support.sh_ok("chmod +x " .. q(dir .. "/gofr-sim")))
  end
  return dir
end

-- Runs the merge Job's script over reports in dir, gofr-sim from bin.
local function run_merge(dir, bin, env)
  local script, job_env = merge_script()
  local e = { GOFR_SIM_REPORTS = dir, GOFR_SIM_SHARDS = job_env.GOFR_SIM_SHARDS,
              GOFR_SIM_MERGE_TIMEOUT = "0", PATH = bin .. ":" .. os.getenv("PATH") }
  for k, v in pairs(env or {}) do e[k] = v end
  return sh("exec /bin/sh -c " .. q(script), e)
end

describe("the merge Job's script", function()
  local dirs = {}
  local function reports(n)
    local dir = support.tmpdir()
    dirs[#dirs + 1] = dir
    for i = 0, n - 1 do support.write_file(("%s/shard-%d.json"):format(dir, i), "{}") end
    return dir
  end
  local stub
  before_each(function() stub = bin_dir(); dirs[#dirs + 1] = stub end)
  after_each(function()
    for _, dir in ipairs(dirs) do os.execute("rm -rf " .. q(dir)) end
    dirs = {}
  end)

  it("merges the N reports, writes the HTML report, and exits with the merge's status", function()
    local n = load_deployment().shard_count
    local dir = reports(n)
    local log = dir .. "/stub.log"
    local status = run_merge(dir, stub, { STUB_LOG = log, STUB_MERGE_STATUS = "99" })
    assert.are.equal(99, status)
    local inputs = {}
    for i = 0, n - 1 do inputs[#inputs + 1] = ("%s/shard-%d.json"):format(dir, i) end
    assert.are.equal(("merge %s -o %s/merged.json\nreport %s/merged.json --html %s/report.html\n")
      :format(table.concat(inputs, " "), dir, dir, dir), support.read_file(log))
    assert.are.equal("html\n", support.read_file(dir .. "/report.html"))
    -- a second try finds the verdict of the first and refuses
    local again, _, err = run_merge(dir, stub, { STUB_LOG = log, STUB_MERGE_STATUS = "0" })
    assert.are.equal(2, again)
    assert.matches("merged.json is there already", err)
  end)

  it("writes no HTML report when the merge wrote nothing", function()
    local dir = reports(load_deployment().shard_count)
    local log = dir .. "/stub.log"
    assert.are.equal(2, (run_merge(dir, stub, { STUB_LOG = log, STUB_MERGE_STATUS = "2" })))
    assert.are.equal(1, select(2, support.read_file(log):gsub("\n", "")))
    assert.is_false(support.exists(dir .. "/report.html"))
  end)

  it("names the shards whose reports are missing when its time is up", function()
    local dir = reports(1)
    local log = dir .. "/stub.log"
    local status, _, err = run_merge(dir, stub, { STUB_LOG = log, STUB_MERGE_STATUS = "0" })
    assert.are.equal(1, status)
    local missing = {}
    for i = 1, load_deployment().shard_count - 1 do missing[#missing + 1] = ("shard-%d.json"):format(i) end
    assert.truthy(err:find("from " .. table.concat(missing, " ") .. " after 0s", 1, true), err)
    assert.is_nil(support.read_file(log), "nothing merged")
  end)

  it("refuses a report more than the shard count (an earlier run's)", function()
    local n = load_deployment().shard_count
    local dir = reports(n + 1)
    local status, _, err = run_merge(dir, stub, { STUB_LOG = dir .. "/stub.log", STUB_MERGE_STATUS = "0" })
    assert.are.equal(2, status)
    assert.matches(("%d shard reports in .*, expected %d"):format(n + 1, n), err)
  end)
end)

describe("the shard Job's command line, run as its pods run it", function()
  it("gives N shard reports of one run that the merge Job's script merges", function()
    local d = load_deployment()
    local n = d.shard_count
    local work = support.tmpdir()
    -- a standalone twin on 127.0.0.1 stands in for gofr-dig
    local port_file = work .. "/twin.port"
    local p = assert(io.popen(("env -u LD_PRELOAD timeout -k 2 60 %s twin --host 127.0.0.1 --port 0 "
      .. "--port-file %s --fetch-delay 0 --data-dir %s/twin >%s/twin.log 2>&1 </dev/null & echo $!")
      :format(q(support.bin), q(port_file), q(work), q(work))))
    local twin_pid = tonumber(p:read("*l"))
    p:close()
    finally(function()
      os.execute("kill " .. twin_pid .. " 2>/dev/null")
      os.execute("rm -rf " .. q(work))
    end)
    local port = support.wait_for(function()
      return tonumber((support.read_file(port_file) or ""):match("%d+"))
    end, 10)
    assert(port, support.read_file(work .. "/twin.log"))

    -- the pod's paths and listeners moved here: the scenario mount to its
    -- files, the reports to a directory, the listeners to 127.0.0.1
    local reports_dir = work .. "/reports"
    os.execute("mkdir -p " .. q(reports_dir))
    local report_dir = k8s_expand(flag_value(d.shard_argv, "--output"), { JOB_COMPLETION_INDEX = "0" })
      :match("^(.*)/")
    local scenario_dir = d.shard_argv[2]:match("^(.*)/")
    local lines = {}
    for i = 0, n - 1 do
      local vars = { JOB_COMPLETION_INDEX = tostring(i),
                     GOFR_DIG_MCP_URL = ("http://127.0.0.1:%d/mcp"):format(port) }
      local argv = { q(support.bin) }
      for j = 2, #d.shard_argv do
        local a = k8s_expand(d.shard_argv[j], vars)
        local prev = d.shard_argv[j - 1]
        if prev == "--metrics-listen" then a = "127.0.0.1:0"
        elseif prev == "--metrics-linger" then a = "1s" -- the pods' final scrape: not waited for here
        elseif prev == "--fixtures-port" then a = "0"
        elseif a:sub(1, #report_dir + 1) == report_dir .. "/" then a = reports_dir .. a:sub(#report_dir + 1)
        elseif a:sub(1, #scenario_dir + 1) == scenario_dir .. "/" then a = KDIR .. a:sub(#scenario_dir + 1)
        end
        argv[#argv + 1] = q(a)
      end
      -- a short run: the scenario's rate and duration are the deployment's
      argv[#argv + 1] = "--duration 1s --rate 6"
      lines[#lines + 1] = ("(env JOB_COMPLETION_INDEX=%d GOFR_DIG_FIXTURE_HOST=127.0.0.1 "
        .. "GOFR_DIG_FIXTURE_EXTERNAL_HOST=127.0.0.1 %s >%s/out.%d 2>&1; echo $? >%s/rc.%d) &")
        :format(i, table.concat(argv, " "), q(work), i, q(work), i)
    end
    lines[#lines + 1] = "wait"
    sh(table.concat(lines, "\n"))

    local iterations = 0
    for i = 0, n - 1 do
      local rc = tonumber(support.read_file(("%s/rc.%d"):format(work, i)))
      local out = support.read_file(("%s/out.%d"):format(work, i))
      assert.are.equal(0, rc, out)
      local text = support.read_file(("%s/shard-%d.json"):format(reports_dir, i))
      assert(text, out)
      local rep = cjson.decode(text)
      assert.are.same({ index = i + 1, count = n }, rep.config.shard)
      iterations = iterations + rep.result.iterations
    end
    assert(iterations > 0)

    -- the direct merge's status is the script's
    local direct = sh(("%s merge %s/shard-*.json --print >/dev/null"):format(q(support.bin), q(reports_dir)))
    local bin = bin_dir(support.bin)
    finally(function() os.execute("rm -rf " .. q(bin)) end)
    local status, out, err = run_merge(reports_dir, bin)
    assert.are.equal(direct, status, out .. err)
    local merged = cjson.decode((assert(support.read_file(reports_dir .. "/merged.json"), out .. err)))
    assert.are.equal(n, merged.merged_from)
    assert.are.equal(iterations, merged.result.iterations)
    assert.truthy((support.read_file(reports_dir .. "/report.html") or ""):find("<html", 1, true))
  end)
end)
