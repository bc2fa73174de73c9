--- bench/engine.lua: prints the engine sim.http uses for http:// in this
-- build, as the benchmark scripts report it (bench/lib.sh: bench_engine).
--
--   GOFR_SIM_HTTP_ENGINE=curl gofr-sim bench/engine.lua     ->  engine: curl
--
-- A build without sim.http.engine (before issue 14's native engine) has only
-- libcurl and ignores GOFR_SIM_HTTP_ENGINE: it prints "curl" and says so.
local sim = require "gofr_sim"

local engine = type(sim.http.engine) == "function" and sim.http.engine() or nil
if engine == "auto" then
  engine = "auto (native for http://)"
elseif not engine then
  local asked = os.getenv("GOFR_SIM_HTTP_ENGINE")
  engine = "curl"
  if asked and asked ~= "" and asked ~= "curl" then
    engine = ("curl (GOFR_SIM_HTTP_ENGINE=%s ignored: this build has libcurl only)"):format(asked)
  end
end
print("engine: " .. engine)
