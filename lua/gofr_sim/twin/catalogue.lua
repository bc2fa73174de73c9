--- gofr_sim.twin.catalogue: the twin's tools/list answer.
--
--   local catalogue = require "gofr_sim.twin.catalogue"
--   catalogue.tools            -- the 9 tools, in the real server's order
--   catalogue.by_name.get_content.inputSchema
--
-- Each tool is { name, description, inputSchema, annotations } as plain
-- Lua tables ready for gofr_sim.util.json (a plain table with t[1] ~= nil is an
-- array, any other plain table, empty included, is an object; so ping's
-- `properties = {}` encodes as {}).
--
-- The schemas are wire contract and match gofr-dig's `handle_list_tools`
-- (app/mcp_server/mcp_server.py @88cc304) keyword for keyword: property
-- names, types, enum, minimum/maximum, default, required, and
-- additionalProperties on custom_headers. No schema sets
-- additionalProperties:false, so unknown arguments are accepted. Annotations
-- list only the hints the real server sets (unset ones are omitted on the
-- wire, e.g. ping has no destructiveHint). No tool has an outputSchema.
--
-- The descriptions (tool and property) are our own prose, not the server's.
-- Treat the tables as read-only: they are shared by every twin.
local M = {}

-- Every tool except ping accepts an optional token argument.
local function auth_token()
  return {
    type = "string",
    description = "JWT for group-scoped session access; omit for anonymous use (never send null).",
  }
end

local function str(description) return { type = "string", description = description } end
local function bool(description) return { type = "boolean", description = description } end

local function timeout_seconds(description)
  return { type = "number", description = description, minimum = 1, default = 60 }
end

local function max_bytes(description)
  return { type = "integer", description = description, default = 5242880 }
end

local function session_id()
  return str("Session id returned by get_content with session=true.")
end

M.tools = {
  {
    name = "ping",
    description = "Health check: answers with status 'ok', the service name, build and time. "
      .. "Needs no token and is not rate limited.",
    inputSchema = { type = "object", properties = {} },
    annotations = { title = "Ping", readOnlyHint = true, idempotentHint = true, openWorldHint = false },
  },
  {
    name = "set_antidetection",
    description = "Choose the request profile (headers, User-Agent, TLS), the politeness delay "
      .. "between fetches and the response size cap used by later get_content and "
      .. "get_structure calls.",
    inputSchema = {
      type = "object",
      properties = {
        profile = {
          type = "string",
          enum = { "stealth", "balanced", "none", "custom", "browser_tls" },
          description = "Profile to use; 'custom' takes custom_headers and custom_user_agent.",
        },
        custom_headers = {
          type = "object",
          description = "Extra HTTP headers (name to value) for the 'custom' profile.",
          additionalProperties = { type = "string" },
        },
        custom_user_agent = str("User-Agent for the 'custom' profile."),
        rate_limit_delay = {
          type = "number",
          description = "Seconds to wait between fetches to the same host (default 1.0).",
          minimum = 0,
        },
        max_response_chars = {
          type = "integer",
          description = "Cap on returned text, in characters.",
          minimum = 4000,
          maximum = 4000000,
          default = 400000,
        },
        auth_token = auth_token(),
      },
      required = { "profile" },
    },
    annotations = {
      title = "Set Anti-Detection", readOnlyHint = false, destructiveHint = false,
      idempotentHint = true, openWorldHint = false,
    },
  },
  {
    name = "get_content",
    description = "Fetch a page (and, with depth > 1, the same-site pages it links to) and "
      .. "extract its text. Returns the result inline, or stores it and returns a "
      .. "session_id when session=true.",
    inputSchema = {
      type = "object",
      properties = {
        url = str("Absolute http(s) URL to fetch."),
        depth = {
          type = "integer",
          description = "Crawl depth: 1 is the page alone.",
          minimum = 1,
          maximum = 3,
          default = 1,
        },
        max_pages_per_level = {
          type = "integer",
          description = "Pages fetched per crawl level.",
          minimum = 1,
          maximum = 20,
          default = 5,
        },
        selector = str("CSS selector limiting extraction to the matching elements."),
        include_links = bool("Return the page's links."),
        include_images = bool("Return image URLs and alt text."),
        include_meta = bool("Return page metadata."),
        session = {
          type = "boolean",
          description = "Store the result server-side and return a session_id.",
          default = false,
        },
        filter_noise = {
          type = "boolean",
          description = "Drop advertising and cookie-banner noise from the text.",
          default = true,
        },
        chunk_size = { type = "integer", description = "Characters per stored session chunk." },
        max_bytes = max_bytes("Largest inline response, in bytes."),
        timeout_seconds = timeout_seconds("Fetch timeout per request, in seconds."),
        parse_results = {
          type = "boolean",
          description = "Turn the crawl into a structured news feed instead of raw pages.",
          default = true,
        },
        source_profile_name = str("Site profile for the news parser."),
        auth_token = auth_token(),
      },
      required = { "url" },
    },
    annotations = {
      title = "Get Content", readOnlyHint = false, destructiveHint = false,
      idempotentHint = false, openWorldHint = true,
    },
  },
  {
    name = "get_structure",
    description = "Describe a page's layout without its full text: sections, navigation, "
      .. "internal and external links, forms and heading outline.",
    inputSchema = {
      type = "object",
      properties = {
        url = str("Absolute http(s) URL to analyse."),
        selector = str("CSS selector limiting the analysis to part of the page."),
        include_navigation = bool("Return navigation menus."),
        include_internal_links = bool("Return same-site links."),
        include_external_links = bool("Return links to other sites."),
        include_forms = bool("Return forms and their fields."),
        include_outline = bool("Return the heading outline."),
        timeout_seconds = timeout_seconds("Fetch timeout, in seconds."),
        auth_token = auth_token(),
      },
      required = { "url" },
    },
    annotations = {
      title = "Get Structure", readOnlyHint = true, idempotentHint = true, openWorldHint = true,
    },
  },
  {
    name = "get_session_info",
    description = "Metadata of a stored session: source URL, creation time, sizes, chunk "
      .. "count and chunk size, owning group.",
    inputSchema = {
      type = "object",
      properties = { session_id = session_id(), auth_token = auth_token() },
      required = { "session_id" },
    },
    annotations = {
      title = "Get Session Info", readOnlyHint = true, idempotentHint = true, openWorldHint = false,
    },
  },
  {
    name = "get_session_chunk",
    description = "The text of one chunk of a stored session.",
    inputSchema = {
      type = "object",
      properties = {
        session_id = session_id(),
        chunk_index = { type = "integer", description = "Zero-based chunk number." },
        auth_token = auth_token(),
      },
      required = { "session_id", "chunk_index" },
    },
    annotations = {
      title = "Get Session Chunk", readOnlyHint = true, idempotentHint = true, openWorldHint = false,
    },
  },
  {
    name = "list_sessions",
    description = "The stored sessions the caller may read, with their metadata.",
    inputSchema = { type = "object", properties = { auth_token = auth_token() } },
    annotations = {
      title = "List Sessions", readOnlyHint = true, idempotentHint = true, openWorldHint = false,
    },
  },
  {
    name = "get_session_urls",
    description = "References to every chunk of a session: {session_id, chunk_index} pairs, "
      .. "or web-server URLs when as_json=false.",
    inputSchema = {
      type = "object",
      properties = {
        session_id = session_id(),
        as_json = {
          type = "boolean",
          description = "Return {session_id, chunk_index} pairs rather than URLs.",
          default = true,
        },
        base_url = str("Web-server base URL for the chunk URLs."),
        auth_token = auth_token(),
      },
      required = { "session_id" },
    },
    annotations = {
      title = "Get Session URLs", readOnlyHint = true, idempotentHint = true, openWorldHint = false,
    },
  },
  {
    name = "get_session",
    description = "All chunks of a stored session joined into one text, refused when larger "
      .. "than max_bytes.",
    inputSchema = {
      type = "object",
      properties = {
        session_id = session_id(),
        max_bytes = max_bytes("Largest joined content accepted, in bytes."),
        timeout_seconds = timeout_seconds("Time allowed for reading and joining, in seconds."),
        auth_token = auth_token(),
      },
      required = { "session_id" },
    },
    annotations = {
      title = "Get Full Session", readOnlyHint = true, idempotentHint = true, openWorldHint = false,
    },
  },
}

M.by_name = {}
for _, tool in ipairs(M.tools) do M.by_name[tool.name] = tool end

return M
