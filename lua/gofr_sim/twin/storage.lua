--- gofr_sim.twin.storage: the twin's session store, on disk exactly as
-- gofr-common's FileStorage lays it out, so the real gofr-dig housekeeper
-- and storage_manager can read what the twin writes and the twin can read
-- what they write (docs/twin.md, "Session storage").
--
--   local storage = require "gofr_sim.twin.storage"
--   local st = assert(storage.open(dir))   -- <GOFR_DIG_DATA_DIR>/storage/sessions
--   assert(st:save(guid, bytes, { group = "apac", url = url, chunk_size = 4000,
--                                 total_chunks = 1, total_chars = 12 }))
--   local bytes = st:load(guid)            -- nil, "not_found", msg when absent
--   st:meta(guid), st:list(), st:delete(guid), st:total_size()
--   storage.utcnow_iso()
--
-- Layout of dir: metadata.json, one object keyed by GUID in insertion
-- order, rewritten whole on every change as Python's json.dump(data,
-- indent=2) writes it ("{}" when empty); one blob "<guid>.json" per session
-- holding the content bytes. The twin writes both atomically (temporary
-- file + rename), which Python does not; readers cannot tell.
--
-- Several stores (and other processes) may share a directory: before each
-- operation the store stats metadata.json and reads it again only when its
-- mtime or size changed since it last read or wrote it. There is no locking,
-- as in the real server: two writers racing each other can lose an entry.
-- A metadata.json that is missing or not valid JSON reads as empty (as in
-- Python); one that cannot be read keeps the last state read.
--
-- The world failing (I/O) returns nil, err_type, message; misuse raises.
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local check = require "gofr_sim.engine.check"
local fs = require "gofr_sim.util.fs"

local type, setmetatable, format = type, setmetatable, string.format
local concat, remove = table.concat, table.remove

local M = {}

local METADATA = "metadata.json"

--- storage.utcnow_iso() -> the UTC wall clock as Python's
-- datetime.utcnow().isoformat() prints it: "2026-11-25T20:31:02.123456"
-- (the fraction is left out when the microseconds are 0, as in Python).
function M.utcnow_iso()
  local sec, usec = core.fs_now()
  local s = os.date("!%Y-%m-%dT%H:%M:%S", sec)
  if usec > 0 then s = s .. format(".%06d", usec) end
  return s
end

local Store = {}
Store.__index = Store

-- A GUID the store will turn into a file name: letters, digits, '-', '_'.
local function is_name(guid)
  return type(guid) == "string" and guid:match("^[%w_%-]+$") ~= nil
end

local function check_guid(fname, guid)
  if type(guid) ~= "string" then
    check.fail(fname, "guid must be a string, got " .. type(guid))
  end
end

-- The entry's lines of metadata.json as json.dump(indent=2) prints a member
-- at depth 1: '"<guid>": {\n    "format": ...\n  }'.
local function member_text(guid, entry)
  local body = json.encode(entry, "pretty"):gsub("\n", "\n  ")
  return json.encode_string(guid, true) .. ": " .. body
end

-- Replaces the in-memory state with the content of metadata.json (text
-- nil: empty).
function Store:_set_state(text)
  self.guids, self.entries, self.members = {}, {}, {}
  local doc = text and json.decode(text)
  if not json.is_object(doc) then return end
  for guid, entry in json.pairs(doc) do
    if json.is_object(entry) then
      self.guids[#self.guids + 1] = guid
      self.entries[guid] = entry
    end
  end
end

-- Reads metadata.json again when it changed since this store last saw it.
function Store:_refresh()
  local st = core.fs_stat(self.metadata_path)
  local seen = self.seen
  if st and seen and st.mtime == seen.mtime and st.size == seen.size then return end
  if not st then
    if seen ~= false then self:_set_state(nil) end
    self.seen = false                               -- false: seen missing
    return
  end
  local text = fs.read_file(self.metadata_path)
  if not text then return end                       -- unreadable: keep the last state
  self:_set_state(text)
  self.seen = st
end

-- metadata.json as json.dump(indent=2) writes the current state.
function Store:_text()
  local n = #self.guids
  if n == 0 then return "{}" end
  local parts, members, entries = {}, self.members, self.entries
  for i = 1, n do
    local guid = self.guids[i]
    local m = members[guid]
    if not m then
      m = member_text(guid, entries[guid])
      members[guid] = m
    end
    parts[i] = m
  end
  return "{\n  " .. concat(parts, ",\n  ") .. "\n}"
end

-- Writes metadata.json from the current state.
function Store:_write()
  local st, err_type, msg = core.fs_write_atomic(self.metadata_path, self:_text())
  if not st then return nil, err_type, msg end
  self.seen = st
  return true
end

function Store:_index_of(guid)
  for i = 1, #self.guids do
    if self.guids[i] == guid then return i end
  end
end

function Store:_blob_path(guid, fmt)
  return self.dir .. "/" .. guid .. "." .. fmt
end

local SAVE_FIELDS = {
  group = "string", url = "string", chunk_size = "number", total_chunks = "number",
  total_chars = "number",
}

--- st:save(guid, bytes, fields) -> true | nil, err_type, message
-- Writes the blob "<guid>.json", then the metadata entry {format, size,
-- created_at, group, url, chunk_size, total_chunks, total_chars} in that
-- order (a nil field is left out, as group is in Python when it is None).
-- When the metadata cannot be written the blob is removed again. Saving an
-- existing guid replaces its entry in place.
function Store:save(guid, bytes, fields)
  if not is_name(guid) then
    check.fail("storage.save", "guid must be a non-empty string of letters, digits, '-' and '_'")
  end
  if type(bytes) ~= "string" then
    check.fail("storage.save", "bytes must be a string, got " .. type(bytes))
  end
  fields = check.options("storage.save", fields or {}, SAVE_FIELDS)
  self:_refresh()
  local blob = self:_blob_path(guid, "json")
  local ok, err_type, msg = core.fs_write_atomic(blob, bytes)
  if not ok then return nil, err_type, msg end
  local entry = json.object(
    "format", "json", "size", #bytes, "created_at", M.utcnow_iso(), "group", fields.group,
    "url", fields.url, "chunk_size", fields.chunk_size, "total_chunks", fields.total_chunks,
    "total_chars", fields.total_chars)
  local previous = self.entries[guid]
  if not previous then self.guids[#self.guids + 1] = guid end
  self.entries[guid], self.members[guid] = entry, nil
  ok, err_type, msg = self:_write()
  if not ok then
    core.fs_remove(blob)
    self.entries[guid], self.members[guid] = previous, nil
    if not previous then remove(self.guids) end
    return nil, err_type, msg
  end
  return true
end

--- st:load(guid) -> bytes | nil, "not_found"|"io_error", message
-- Only sessions with a metadata entry exist; the blob is "<guid>.<format>".
function Store:load(guid)
  check_guid("storage.load", guid)
  self:_refresh()
  local entry = is_name(guid) and self.entries[guid]
  if not entry then return nil, "not_found", "no session " .. guid end
  local fmt = entry.format
  if not is_name(fmt) then return nil, "not_found", "session " .. guid .. " has no usable format" end
  return fs.read_file(self:_blob_path(guid, fmt))
end

--- st:meta(guid) -> a copy of the metadata entry (ordered object) | nil
function Store:meta(guid)
  check_guid("storage.meta", guid)
  self:_refresh()
  local entry = self.entries[guid]
  if not entry then return nil end
  local copy = json.object()
  for k, v in json.pairs(entry) do copy[k] = v end
  return copy
end

--- st:list() -> the GUIDs of metadata.json, in its order (a new array).
function Store:list()
  self:_refresh()
  local out = {}
  for i, guid in ipairs(self.guids) do out[i] = guid end
  return out
end

--- st:total_size() -> the sum of the entries' sizes in bytes (what the
-- housekeeper measures: metadata.json itself and blobs without an entry
-- are not counted; a size that is not a number counts as 0).
function Store:total_size()
  self:_refresh()
  local total = 0
  for _, guid in ipairs(self.guids) do
    local size = self.entries[guid].size
    if type(size) == "number" then total = total + size end
  end
  return total
end

-- Removes the blobs of a guid without an entry: every "<guid>.*" (as
-- Python's FileBlobRepository.delete without a format). True if any went.
function Store:_remove_blobs_of(guid)
  local names = core.fs_list(self.dir)
  local prefix, removed = guid .. ".", false
  for _, name in ipairs(names or {}) do
    if name:sub(1, #prefix) == prefix and core.fs_remove(self.dir .. "/" .. name) then
      removed = true
    end
  end
  return removed
end

--- st:delete(guid) -> true | nil, err_type, message
-- Removes the blob, then the entry (metadata.json rewritten). As in
-- Python, a blob that cannot be removed does not stop the entry's removal;
-- "not_found" when there was neither, "io_error" when metadata.json could
-- not be written (the entry is kept then).
function Store:delete(guid)
  check_guid("storage.delete", guid)
  if not is_name(guid) then return nil, "not_found", "no session " .. guid end
  self:_refresh()
  local entry = self.entries[guid]
  local blob_deleted
  if entry and is_name(entry.format) then
    blob_deleted = core.fs_remove(self:_blob_path(guid, entry.format)) == true
  elseif not entry then
    blob_deleted = self:_remove_blobs_of(guid)
  end
  if entry then
    local i = self:_index_of(guid)
    remove(self.guids, i)
    self.entries[guid], self.members[guid] = nil, nil
    local ok, err_type, msg = self:_write()
    if not ok then
      table.insert(self.guids, i, guid)
      self.entries[guid] = entry
      return nil, err_type, msg
    end
    return true
  end
  if blob_deleted then return true end
  return nil, "not_found", "no session " .. guid
end

--- storage.open(dir) -> store | nil, err_type, message
-- Creates dir (and its parents) and an empty metadata.json ("{}") when
-- they are missing, then reads metadata.json.
function M.open(dir)
  if type(dir) ~= "string" or dir == "" then
    check.fail("storage.open", "dir must be a non-empty string, got " .. type(dir))
  end
  local ok, err_type, msg = core.fs_mkdirs(dir)
  if not ok then return nil, err_type, msg end
  local path = dir .. "/" .. METADATA
  ok, err_type, msg = core.fs_create_excl(path, "{}")
  if ok == nil then return nil, err_type, msg end
  local st = setmetatable({ dir = dir, metadata_path = path, guids = {}, entries = {},
                            members = {} }, Store)
  st:_refresh()
  return st
end

return M
