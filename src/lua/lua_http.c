/* core.http_request(opts): one HTTP transfer on the persona's worker.
 *
 *   opts = { url = "http://...",            -- required
 *            method = "GET", headers = {...}, body = "...",
 *            timeout = 30, connect_timeout = 5, follow_redirects = false,
 *            max_redirects = 10, max_body = 0 }
 *
 * `headers` is either a map name -> value or an array of "Name: value"
 * lines (both may be mixed). Returns
 *   { status =, headers = { [lower-case name] = value, ... }, body =, url =,
 *     redirects =, reused =, timings = { dns =, connect =, tls =, ttfb =, total = } }
 * or nil, err_type, message when the network fails. Repeated response
 * headers are joined with ", ". Bad options raise.
 *
 * Ownership: the gs__lhttp_op_t below is malloc'd per call and owned by the
 * scheduler between the yield and exactly one of retvals/cleanup, which free
 * it together with the request. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/http_client.h"
#include "lua_bindings.h"
#include "lua_runtime.h"

#define GS__LHTTP_NAME "sim.http.request"

typedef struct {
  gs_persona_t *p;
  gs_http_request_t *req;
  const gs_http_response_t *res; /* set when done; owned by req */
} gs__lhttp_op_t;

/* ---- completion ---------------------------------------------------------- */

static void gs__lhttp_done(gs_http_request_t *req, const gs_http_response_t *res, void *data) {
  gs__lhttp_op_t *op = data;
  op->res = res;
  gs_persona_wake(op->p); /* retvals runs later, from the scheduler */
}

static int gs__lhttp_is_space(char c) {
  return c == ' ' || c == '\t';
}

/* Parses raw "Name: value\r\n" lines into the table at index `t`. Names are
 * lower-cased; a repeated name gets its values joined with ", ". */
static void gs__lhttp_push_headers(lua_State *L, const char *p, size_t len) {
  const char *end = p + len;
  lua_createtable(L, 0, 8);
  int t = lua_gettop(L);
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *next = eol ? eol + 1 : end;
    const char *le = eol ? eol : end;
    if (le > p && le[-1] == '\r')
      le--;
    const char *colon = memchr(p, ':', (size_t)(le - p));
    if (colon && colon > p) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (const char *c = p; c < colon; c++) {
        char ch = *c;
        luaL_addchar(&b, ch >= 'A' && ch <= 'Z' ? (char)(ch + ('a' - 'A')) : ch);
      }
      luaL_pushresult(&b); /* name */
      const char *v = colon + 1, *ve = le;
      while (v < ve && gs__lhttp_is_space(*v))
        v++;
      while (ve > v && gs__lhttp_is_space(ve[-1]))
        ve--;
      lua_pushvalue(L, -1);
      lua_rawget(L, t);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      } else {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      }
      lua_rawset(L, t);
    }
    p = next;
  }
}

static void gs__lhttp_setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* Pushes the results on the persona's coroutine and frees op and its
 * request. (A Lua memory error while building the table would leak them.) */
static int gs__lhttp_retvals(lua_State *co, void *data) {
  gs__lhttp_op_t *op = data;
  const gs_http_response_t *res = op->res;
  int n;
  if (!res) {
    lua_pushnil(co);
    lua_pushstring(co, gs_err_type(GS_ECANCELED));
    lua_pushstring(co, GS__LHTTP_NAME ": no response");
    n = 3;
  } else if (res->error) {
    lua_pushnil(co);
    lua_pushstring(co, gs_err_type(res->error));
    lua_pushstring(co, res->error_message[0] ? res->error_message : gs_strerror(res->error));
    n = 3;
  } else {
    lua_createtable(co, 0, 6);
    lua_pushinteger(co, (lua_Integer)res->status);
    lua_setfield(co, -2, "status");
    gs__lhttp_push_headers(co, res->headers, res->headers_len);
    lua_setfield(co, -2, "headers");
    lua_pushlstring(co, res->body, res->body_len);
    lua_setfield(co, -2, "body");
    lua_pushstring(co, res->effective_url);
    lua_setfield(co, -2, "url");
    lua_pushinteger(co, (lua_Integer)res->redirects);
    lua_setfield(co, -2, "redirects");
    lua_pushboolean(co, res->new_connections == 0);
    lua_setfield(co, -2, "reused");
    lua_createtable(co, 0, 5);
    gs__lhttp_setnum(co, "dns", res->timings.dns);
    gs__lhttp_setnum(co, "connect", res->timings.connect);
    gs__lhttp_setnum(co, "tls", res->timings.tls);
    gs__lhttp_setnum(co, "ttfb", res->timings.ttfb);
    gs__lhttp_setnum(co, "total", res->timings.total);
    lua_setfield(co, -2, "timings");
    n = 1;
  }
  gs_http_request_free(op->req);
  free(op);
  return n;
}

/* The persona is aborted: cancel the transfer (its callback never runs). */
static void gs__lhttp_cleanup(void *data) {
  gs__lhttp_op_t *op = data;
  gs_http_request_free(op->req);
  free(op);
}

static const gs_op_type_t gs__lhttp_op_type = {
    .name = GS__LHTTP_NAME,
    .retvals = gs__lhttp_retvals,
    .cleanup = gs__lhttp_cleanup,
};

/* ---- option parsing ----------------------------------------------------- */
/* Values fetched from opts stay on the stack until the request is started,
 * so the pointers handed to gs_http_request_start stay valid. */

static int gs__lhttp_field(lua_State *L, const char *k, int type, const char *what) {
  lua_getfield(L, 1, k);
  int t = lua_type(L, -1);
  if (t != LUA_TNIL && t != type)
    return luaL_argerror(
        L, 1, lua_pushfstring(L, "opts.%s must be %s, got %s", k, what, luaL_typename(L, -1)));
  return t != LUA_TNIL;
}

static const char *gs__lhttp_string(lua_State *L, const char *k, size_t *len) {
  if (!gs__lhttp_field(L, k, LUA_TSTRING, "a string"))
    return NULL;
  return lua_tolstring(L, -1, len);
}

static double gs__lhttp_number(lua_State *L, const char *k, int integer) {
  if (!gs__lhttp_field(L, k, LUA_TNUMBER, integer ? "a non-negative integer" : "a number"))
    return 0;
  lua_Number n = lua_tonumber(L, -1);
  if (!(n >= 0) || (integer && (n > 9007199254740992.0 || (lua_Number)(long long)n != n)))
    luaL_argerror(L, 1,
                  lua_pushfstring(L, "opts.%s must be a non-negative %s, got %f", k,
                                  integer ? "integer" : "number", n));
  return (double)n;
}

static void gs__lhttp_check_line(lua_State *L, const char *s) {
  if (strpbrk(s, "\r\n"))
    luaL_argerror(L, 1, lua_pushfstring(L, "opts.headers: '%s' contains CR or LF", s));
}

/* Collects header lines into an anchor table and returns a userdata array
 * of pointers to them (both left on the stack; GC-owned). */
static const char *const *gs__lhttp_headers(lua_State *L, size_t *count) {
  *count = 0;
  if (!gs__lhttp_field(L, "headers", LUA_TTABLE, "a table"))
    return NULL;
  int h = lua_gettop(L);
  lua_newtable(L);
  int anchor = h + 1;
  size_t n = 0, narr = lua_objlen(L, h);
  for (size_t i = 1; i <= narr; i++) {
    lua_rawgeti(L, h, (int)i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, 1,
                    lua_pushfstring(L, "opts.headers[%d] must be a \"Name: value\" string, got %s",
                                    (int)i, luaL_typename(L, -1)));
    const char *line = lua_tostring(L, -1);
    if (!strchr(line, ':'))
      luaL_argerror(L, 1, lua_pushfstring(L, "opts.headers[%d] ('%s') has no ':'", (int)i, line));
    gs__lhttp_check_line(L, line);
    lua_rawseti(L, anchor, (int)++n);
  }
  lua_pushnil(L);
  while (lua_next(L, h)) {
    int kt = lua_type(L, -2);
    if (kt == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -2);
      if (k >= 1 && k <= (lua_Number)narr && (lua_Number)(size_t)k == k) {
        lua_pop(L, 1);
        continue;
      }
      luaL_argerror(L, 1, "opts.headers must be a map name -> value or an array of lines");
    }
    if (kt != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      luaL_argerror(L, 1,
                    lua_pushfstring(L, "opts.headers: value of '%s' must be a string, got %s",
                                    kt == LUA_TSTRING ? lua_tostring(L, -2) : "?",
                                    luaL_typename(L, -1)));
    const char *name = lua_tostring(L, -2);
    if (!name[0] || strpbrk(name, ":\r\n"))
      luaL_argerror(L, 1, lua_pushfstring(L, "opts.headers: bad header name '%s'", name));
    lua_pushfstring(L, "%s: %s", name, lua_tostring(L, -1)); /* value is a copy: safe */
    gs__lhttp_check_line(L, lua_tostring(L, -1));
    lua_rawseti(L, anchor, (int)++n);
    lua_pop(L, 1); /* value; keep the key for lua_next */
  }
  const char **lines = lua_newuserdata(L, (n ? n : 1) * sizeof *lines);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, anchor, (int)(i + 1));
    lines[i] = lua_tostring(L, -1); /* anchored in the anchor table */
    lua_pop(L, 1);
  }
  *count = n;
  return lines;
}

/* ---- the function ------------------------------------------------------ */

static int gs__lhttp_request(lua_State *L) {
  gs_http_request_opts_t o;
  memset(&o, 0, sizeof o);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 32, GS__LHTTP_NAME);
  o.url = gs__lhttp_string(L, "url", NULL);
  if (!o.url)
    luaL_argerror(L, 1, "opts.url is required");
  o.method = gs__lhttp_string(L, "method", NULL);
  o.body = gs__lhttp_string(L, "body", &o.body_len);
  o.timeout = gs__lhttp_number(L, "timeout", 0);
  o.connect_timeout = gs__lhttp_number(L, "connect_timeout", 0);
  if (gs__lhttp_field(L, "follow_redirects", LUA_TBOOLEAN, "a boolean"))
    o.follow_redirects = lua_toboolean(L, -1);
  if (gs__lhttp_field(L, "path_as_is", LUA_TBOOLEAN, "a boolean"))
    o.path_as_is = lua_toboolean(L, -1);
  o.max_redirects = (long)gs__lhttp_number(L, "max_redirects", 1);
  o.max_body = (size_t)gs__lhttp_number(L, "max_body", 1);
  o.headers = gs__lhttp_headers(L, &o.nheaders);

  gs_persona_t *p = gs_persona_current(L, GS__LHTTP_NAME); /* raises outside a persona */
  gs_worker_t *w = gs_runtime_worker(gs_runtime_get(L));

  /* Nothing below may raise before the op is either started or freed. */
  gs__lhttp_op_t *op = calloc(1, sizeof *op);
  if (!op)
    return luaL_error(L, "%s: out of memory", GS__LHTTP_NAME);
  op->p = p;
  int rc = gs_http_request_start(w->http, &o, gs__lhttp_done, op, &op->req);
  if (rc != 0) {
    free(op);
    if (rc == GS_EINVAL)
      return luaL_error(L, "%s: invalid request (url '%s', method '%s')", GS__LHTTP_NAME, o.url,
                        o.method ? o.method : "GET");
    return luaL_error(L, "%s: %s", GS__LHTTP_NAME, gs_strerror(rc));
  }
  return gs_persona_yield(L, p, &gs__lhttp_op_type, op);
}

void gs_lua_open_http(lua_State *L) {
  lua_pushcfunction(L, gs__lhttp_request);
  lua_setfield(L, -2, "http_request");
}
