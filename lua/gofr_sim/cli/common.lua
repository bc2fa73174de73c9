--- gofr_sim.cli.common: what the commands of gofr_sim.cli share: their
-- one-line messages, flag splitting, the port check, serving until a
-- signal stops the run, and reading a JSON report.
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local fs = require "gofr_sim.util.fs"
local write = require "gofr_sim.report.write"

local type, pairs = type, pairs

local M = {}

--- say(fmt, ...): "gofr-sim: <fmt formatted>" as one line on standard error.
function M.say(fmt, ...)
  io.stderr:write("gofr-sim: ", fmt:format(...), "\n")
end

--- A cli.parse table split: -> its words (the array part), its named flags
-- (the rest), each a new table.
function M.split(flags)
  local words, named = {}, {}
  for k, v in pairs(flags) do
    if type(k) == "number" then words[k] = v else named[k] = v end
  end
  return words, named
end

--- Raises the usage error "--port must be 0..65535" unless port is
-- (`flag`: the flag to name, default "--port"; cli.options checks the
-- lower bound).
function M.check_port(port, flag)
  if port > 65535 then cli.usage_error((flag or "--port") .. " must be 0..65535") end
end

--- The one line for a listener that could not start on the port of `flag`:
-- "--port 8070: cannot listen on 127.0.0.1:8070: address already in use
-- (address_error)"; with port 0 (any free port) the flag is not named.
function M.listen_failure(flag, port, msg, err_type)
  local head = port ~= 0 and ("%s %d: "):format(flag, port) or ""
  return ("%s%s (%s)"):format(head, tostring(msg), tostring(err_type))
end

--- Inside a persona: returns once the run is stopping (SIGINT/SIGTERM
-- after core.handle_signals, or sim.stop).
function M.sleep_until_stopped()
  while sim.sleep(3600) do end
end

--- The JSON document of the report file at path, decoded (not checked to
-- be a report); an unreadable file or bad JSON is the usage error
-- "<command>: cannot read '<path>': <why>" or "<command>: '<path>' is <why>".
function M.read_json_report(command, path)
  local text, _, err = fs.read_file(path)
  if not text then
    if err:sub(1, #path + 2) == path .. ": " then err = err:sub(#path + 3) end
    cli.usage_error(("%s: cannot read '%s': %s"):format(command, path, err))
  end
  local r, why = write.decode(text)
  if not r then cli.usage_error(("%s: '%s' is %s"):format(command, path, why)) end
  return r
end

return M
