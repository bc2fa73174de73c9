--- gofr_sim.twin.errors: gofr-dig's two error shapes (contract §3) and its
-- recovery strategies.
--
--   errors.response(code, message, details)
--     -> {success:false, error_code, error, recovery_strategy[, details]}
--        (details only when non-empty), as pretty JSON text
--   errors.exception{code=, message=, details=, kind=}
--     -> {success:false, error_code, message, details, recovery_strategy}:
--        the shape of the real server's exceptions, whose error_code comes
--        from the exception class (session not found -> SESSION_NOT_FOUND,
--        a bad chunk index -> SESSION_VALIDATION) and whose message is
--        "<code>: <message> (details: <Python repr of details>)".
local json = require "gofr_sim.util.json"
local validate = require "gofr_sim.twin.validate"

local M = {}

-- What the real server tells a client to do about each code: wire data,
-- part of every error response.
local RECOVERY = {
  INVALID_URL = "Ensure the URL is properly formatted with http:// or https:// scheme.",
  URL_NOT_FOUND = "Verify the URL exists and is accessible. The server returned 404.",
  FETCH_ERROR = "Check network connectivity and that the target site is online. Try again later.",
  TIMEOUT_ERROR = "The request timed out. Try increasing timeout or check if the site is slow/unresponsive.",
  CONNECTION_ERROR = "Could not connect to the server. Verify the URL and check network connectivity.",
  ROBOTS_BLOCKED = "Access blocked by robots.txt. Choose a URL/path that is allowed by the target "
    .. "site's robots policy.",
  ACCESS_DENIED = "The server denied access. Try using a different anti-detection profile or custom headers.",
  RATE_LIMITED = "Too many requests. Increase rate_limit_delay in set_antidetection settings.",
  RATE_LIMIT_EXCEEDED = "Inbound rate limit exceeded. Wait and retry after the reset window.",
  SSRF_BLOCKED = "The URL resolves to a private/internal IP. Requests to internal networks are "
    .. "blocked for security.",
  SELECTOR_NOT_FOUND = "The CSS selector matched no elements. Verify the selector syntax and that "
    .. "the element exists on the page.",
  INVALID_SELECTOR = "The CSS selector syntax is invalid. Check for typos and proper CSS selector format.",
  EXTRACTION_ERROR = "Failed to extract content. The page may have unexpected structure or encoding.",
  ENCODING_ERROR = "Character encoding issue. The page may use an unsupported encoding.",
  INVALID_PROFILE = "Use one of: 'stealth', 'balanced', 'none', or 'custom' for anti-detection profile.",
  INVALID_RATE_LIMIT = "rate_limit_delay must be a non-negative number (seconds between requests).",
  UNKNOWN_TOOL = "Available tools: ping, set_antidetection, get_content, get_structure, "
    .. "get_session_info, get_session_chunk, list_sessions, get_session_urls, get_session.",
  INVALID_ARGUMENT = "A required argument is missing or invalid. Check the tool schema for "
    .. "required parameters.",
  INVALID_MAX_RESPONSE_CHARS = "max_response_chars must be between 4000 and 4000000. Default is "
    .. "400000 characters.",
  AUTH_ERROR = "Provide a valid JWT token in the auth_token parameter.",
  PERMISSION_DENIED = "Your token's groups do not include the group that owns this session.",
  SESSION_ERROR = "Session operation failed. Use list_sessions to check available sessions.",
  SESSION_NOT_FOUND = "Session ID not found. Use list_sessions to discover sessions, or create one "
    .. "with get_content(session=true).",
  PARSE_ERROR = "The news parser failed to process the crawl results. Retry with parse_results=false "
    .. "to get raw output, or check source_profile_name for the target site.",
}
local DEFAULT_RECOVERY = "Review the error message and try again."

--- The recovery strategy of a code (`fallback` or the generic text).
function M.recovery(code, fallback)
  return RECOVERY[code] or fallback or DEFAULT_RECOVERY
end

local function has_members(details)
  return details ~= nil and next(json.is_object(details) and json.keys(details) or details) ~= nil
end

--- gofr-dig's _error_response, as the text of the tool result.
function M.response(code, message, details)
  local o = json.object("success", false, "error_code", code, "error", message,
    "recovery_strategy", M.recovery(code))
  if has_members(details) then o.details = details end
  return json.encode(o, "pretty")
end

-- The exception classes' codes and their generic recovery texts.
local EXCEPTION_CLASSES = {
  not_found = { code = "SESSION_NOT_FOUND" },
  validation = { code = "SESSION_VALIDATION",
                 recovery = "Review the validation error details and correct the input." },
}

-- Python's repr of an ordered details object: {'a': 1, 'b': 'x'}
local function repr_details(details)
  local parts = {}
  for k, v in json.pairs(details) do
    parts[#parts + 1] = validate.python_repr(k) .. ": " .. validate.python_repr(v)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

--- gofr-dig's _exception_response for err = {kind=, code=, message=, details=}.
function M.exception(err)
  local class = EXCEPTION_CLASSES[err.kind] or { code = "SESSION_ERROR" }
  local details = err.details or json.object()
  local message = ("%s: %s (details: %s)"):format(err.code or class.code, err.message,
    repr_details(details))
  return json.encode(json.object("success", false, "error_code", class.code, "message", message,
    "details", details, "recovery_strategy", RECOVERY[class.code] or class.recovery or DEFAULT_RECOVERY),
    "pretty")
end

--- 1234567 -> "1,234,567" (Python's format(n, ","))
function M.thousands(n)
  local s = ("%d"):format(n)
  local sign, digits = s:match("^(-?)(%d+)$")
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return sign .. digits
end

return M
