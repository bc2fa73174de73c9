--- gofr_sim.twin.sessions: gofr-dig's session manager (app/session/manager
-- in the real server) over the FileStorage-compatible store.
--
--   local mgr = sessions.new(storage)
--   local id = mgr:create { url = u, content = text, chunk_size = 4000, group = "apac" }
--   local info, err = mgr:info(id, groups)     -- groups: nil = anonymous (reads all)
--
-- Content is stored as text; chunks are slices of whole characters (code
-- points), sizes are in bytes, as the real server. Failures return nil and
-- an error table {kind = "not_found"|"denied"|"validation", code=, message=,
-- details=} that the tools turn into gofr-dig's error shapes.
local json = require "gofr_sim.util.json"
local utf8 = require "gofr_sim.util.utf8"
local core = require "gofr_sim.core"

local ceil = math.ceil

local M = {}

local Manager = {}
Manager.__index = Manager

--- sessions.new(storage, {default_chunk_size = 4000, groups_leak=, list_all=})
-- groups_leak and list_all break the group rules on purpose (a broken twin
-- for the scenarios' specs).
function M.new(storage, opts)
  opts = opts or {}
  return setmetatable({
    storage = storage,
    default_chunk_size = opts.default_chunk_size or 4000,
    groups_leak = opts.groups_leak, list_all = opts.list_all,
  }, Manager)
end

--- mgr:create{url=, content= (string), chunk_size=, group=}
--   -> session id | nil, message (the store could not write it)
function Manager:create(s)
  local c_size = s.chunk_size
  if not c_size or c_size == 0 then c_size = self.default_chunk_size end
  local chars = utf8.char_count(s.content)
  local id = core.uuid4()
  local ok, _, msg = self.storage:save(id, s.content, {
    group = s.group, url = s.url, chunk_size = c_size,
    total_chunks = chars > 0 and ceil(chars / c_size) or 1, total_chars = chars,
  })
  if not ok then return nil, msg end
  return id
end

local function allowed(owner, groups)
  if groups == nil or owner == nil or owner == json.null then return true end
  for _, g in ipairs(groups) do
    if g == owner then return true end
  end
  return false
end

local function info_of(id, meta, default_chunk_size)
  local group = meta.group
  if group == nil then group = json.null end
  return json.object(
    "session_id", id,
    "url", meta.url or "",
    "created_at", meta.created_at,
    "total_size_bytes", meta.size,
    "total_chars", meta.total_chars or 0,
    "total_chunks", meta.total_chunks or 1,
    "chunk_size", meta.chunk_size or default_chunk_size,
    "group", group)
end

--- mgr:info(id, groups) -> info (ordered object) | nil, err
function Manager:info(id, groups)
  local meta = self.storage:meta(id)
  if not meta then
    return nil, { kind = "not_found", code = "SESSION_NOT_FOUND",
                  message = "Session not found: " .. id,
                  details = json.object("session_id", id) }
  end
  if not (self.groups_leak or allowed(meta.group, groups)) then
    return nil, { kind = "denied", message = "Access denied to session " .. id }
  end
  return info_of(id, meta, self.default_chunk_size)
end

--- mgr:chunk(id, index, groups) -> chunk text | nil, err
function Manager:chunk(id, index, groups)
  local info, err = self:info(id, groups)
  if not info then return nil, err end
  local text = self.storage:load(id)
  if not text then
    return nil, { kind = "not_found", code = "SESSION_NOT_FOUND",
                  message = "Session not found: " .. id,
                  details = json.object("session_id", id) }
  end
  local total = info.total_chunks
  if index < 0 or index >= total then
    return nil, { kind = "validation", code = "INVALID_CHUNK_INDEX",
                  message = ("Invalid chunk index %d. Valid range: 0\226\128\147%d"):format(index, total - 1),
                  details = json.object("chunk_index", index, "total_chunks", total) }
  end
  return utf8.char_slice(text, index * info.chunk_size, info.chunk_size)
end

--- mgr:list(groups) -> array of infos: all sessions for anonymous callers;
-- else those owned by each group in turn (public sessions excluded).
function Manager:list(groups)
  local out = json.array()
  local seen = {}
  local function add_owned_by(owner)
    for _, id in ipairs(self.storage:list()) do
      local meta = self.storage:meta(id)
      if meta and not seen[id] and (owner == nil or meta.group == owner) then
        seen[id] = true
        out[#out + 1] = info_of(id, meta, self.default_chunk_size)
      end
    end
  end
  if groups == nil or self.list_all then
    add_owned_by(nil)
  else
    for _, g in ipairs(groups) do add_owned_by(g) end
  end
  return out
end

return M
