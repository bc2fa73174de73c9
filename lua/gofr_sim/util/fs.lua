--- gofr_sim.util.fs: files and directory trees, on the C core's file
-- primitives (core.fs_*, src/lua/lua_fs.c).
--
--   local fs = require "gofr_sim.util.fs"
--   local text, err_type, msg = fs.read_file(path)   -- err_type "not_found" | "io_error"
--   assert(fs.remove_tree(dir))                      -- rm -rf, symlinks not followed
--   fs.with_lock(path .. ".lock", 5, fn, ...)         -- fn(...) under an exclusive flock
--
-- Writing goes through core.fs_write_atomic (a temporary file renamed over
-- the target) directly; there is no Lua layer over it.
--
-- The world failing (I/O) returns nil, err_type, message; misuse raises.
local core = require "gofr_sim.core"

local type, error, ipairs, io, pcall = type, error, ipairs, io, pcall

local M = {}

--- fs.read_file(path) -> the file's bytes | nil, err_type, message
-- err_type is "not_found" when path does not exist, else "io_error";
-- message is io.open's ("<path>: No such file or directory"), or
-- "<path>: read failed" when the open succeeded but the read did not (a
-- directory, say).
function M.read_file(path)
  local f, msg, errno = io.open(path, "rb")
  if not f then return nil, errno == 2 and "not_found" or "io_error", msg end
  local data = f:read("*a")
  f:close()
  if not data then return nil, "io_error", path .. ": read failed" end
  return data
end

--- fs.remove_tree(path) -> true | nil, err_type, message
-- Removes path and everything under it, as `rm -rf` (symlinks are removed,
-- never followed); a missing path is success. path must be a non-empty
-- string other than "/" (else it raises).
function M.remove_tree(path)
  if type(path) ~= "string" or path == "" or path == "/" then
    error("fs.remove_tree: path must be a non-empty string other than '/'", 2)
  end
  local ok, err_type, msg = core.fs_remove(path)
  if ok or err_type == "not_found" then return true end
  local names = core.fs_list(path)
  if not names then return nil, err_type, msg end          -- not a directory
  for _, name in ipairs(names) do
    local done, e, m = M.remove_tree(path .. "/" .. name)
    if not done then return nil, e, m end
  end
  return core.fs_remove(path)
end

--- fs.with_lock(lock_path, timeout_seconds, fn, ...) -> fn(...)'s results
-- Calls fn(...) holding an exclusive advisory lock (flock) on lock_path,
-- a file created when missing and left in place; the lock is released
-- however fn ends, and fn's error is raised again. Processes that
-- read-modify-write one file take the lock of the same lock_path (only
-- they: it keeps out no writer that does not). The calling thread blocks
-- for the lock up to timeout_seconds; still held by another process then,
-- or not to be created, it raises "<lock_path>: <why>".
local function released(lock, ok, ...)
  lock:unlock()
  if not ok then error((...), 0) end
  return ...
end

function M.with_lock(lock_path, timeout_seconds, fn, ...)
  local lock, _, msg = core.fs_lock(lock_path, timeout_seconds)
  if not lock then error(msg, 2) end
  return released(lock, pcall(fn, ...))
end

return M
