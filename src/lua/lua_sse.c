/* Binding of the Server-Sent Events decoder (gs/sse.h):
 *
 *   core.sse_new([max_bytes]) -> parser    (max_bytes: line/event limit, default 16 MiB)
 *   p:feed(chunk) -> { {type=, data=, id=, retry=}, ... }
 *                  | nil, "body_too_large" | "out_of_memory", message
 *   p:finish() -> pending_discarded (boolean) | nil, err_type, message
 *   p:reset()
 *   p:last_event_id() -> string ("" when none)
 *   p:retry() -> ms | nil       p:comments() -> count
 *   p:select(type, needles)    (needles: an array of up to 8 strings)
 *
 * feed returns a new array per call (empty when no event completed), in
 * stream order. Each event: type ("message" when no event field), data (data
 * lines joined with "\n", may be ""), id (the last event ID, persisting
 * across events, "" when none), retry (the reconnection time in ms in effect,
 * absent when the stream never set one). Errors are sticky: once feed fails,
 * feed and finish return the same error until :reset(). finish ends the
 * stream (an incomplete event is discarded, true tells that bytes were
 * pending) and readies the parser for the next one; last_event_id and retry
 * persist. A non-string chunk or a bad max_bytes raises.
 *
 * After p:select(type, needles), feed returns only the events of that type
 * whose data contains at least one of the needles (all of them when needles
 * is empty), and as its second value how many other events it dropped
 * (events with empty data, such as MCP's priming event, are left out
 * without being counted): the test runs in C, so a stream of junk events
 * costs no Lua work.
 *
 * Ownership: the gs_sse_parser_t lives inside the userdata; its buffers are
 * malloc'd (outside the Lua heap) and freed by __gc. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/sse.h"
#include "lua_bindings.h"

static const char *const GS_SSE_MT = "gofr_sim.sse";
static const char gs__sse_mt_key; /* its address: the metatable's registry key */

#define GS_SSE_MAX_NEEDLES 8

typedef struct {
  gs_sse_parser_t p;
  int live; /* 0 after __gc */
  int busy; /* inside gs_sse_feed; still set if a Lua error escaped it */
  /* p:select: malloc'd copies, freed by __gc */
  char *type; /* NULL: every event */
  size_t type_len;
  char *needles[GS_SSE_MAX_NEEDLES];
  size_t needle_len[GS_SSE_MAX_NEEDLES];
  int nneedles;
  int data_only; /* select's data_only: feed returns the events' data strings */
} gs_lua_sse_t;

typedef struct {
  lua_State *L;
  const gs_lua_sse_t *ud;
  int t; /* absolute index of the result array */
  int n;
  double dropped; /* events the selection left out */
} gs_sse_collect_t;

/* Argument 1 as a live parser. `quiet` (reset): recover from an interrupted
 * feed without raising. */
/* The live parser at idx (raises otherwise); recovers one a raised error
 * left mid-feed, raising too unless quiet. */
static gs_lua_sse_t *gs__check_sse_at(lua_State *L, int idx, const char *fname, int quiet) {
  gs_lua_sse_t *ud = gs_lua_checkudata(L, idx, &gs__sse_mt_key, GS_SSE_MT);
  if (!ud->live)
    luaL_error(L, "sse:%s: parser already freed", fname);
  if (ud->busy) {
    /* A Lua error (out of memory) escaped the event callback mid-feed: the
     * parser's place in the stream is lost. Start it afresh. */
    size_t max_bytes = ud->p.max_bytes;
    gs_sse_free(&ud->p);
    gs_sse_init(&ud->p, max_bytes);
    ud->busy = 0;
    if (!quiet)
      luaL_error(L, "sse:%s: an earlier feed was interrupted by an error; stream state lost",
                 fname);
  }
  return ud;
}

static gs_lua_sse_t *gs__check_sse_ex(lua_State *L, const char *fname, int quiet) {
  return gs__check_sse_at(L, 1, fname, quiet);
}

static gs_lua_sse_t *gs__check_sse(lua_State *L, const char *fname) {
  return gs__check_sse_ex(L, fname, 0);
}

static int gs__sse_push_error(lua_State *L, int rc, size_t max_bytes) {
  lua_pushnil(L);
  lua_pushstring(L, gs_err_type(rc));
  if (rc == GS_EBODYTOOLARGE)
    lua_pushfstring(L, "sse: a line or an event's data exceeds max_bytes (%f)",
                    (lua_Number)max_bytes);
  else
    lua_pushfstring(L, "sse: %s", gs_strerror(rc));
  return 3;
}

/* core.sse_new([max_bytes]) -> parser */
static int gs__lsse_new(lua_State *L) {
  size_t max_bytes = 0;
  if (!lua_isnoneornil(L, 1)) {
    if (lua_type(L, 1) != LUA_TNUMBER)
      return luaL_error(L, "sse_new: max_bytes must be a positive integer, got %s",
                        luaL_typename(L, 1));
    lua_Number n = lua_tonumber(L, 1);
    if (!(n >= 1 && n <= 9007199254740992.0 && n == (lua_Number)(long long)n))
      return luaL_error(L, "sse_new: max_bytes must be a positive integer, got %s",
                        lua_tostring(L, 1));
    max_bytes = (size_t)n;
  }
  gs_lua_sse_t *ud = lua_newuserdata(L, sizeof *ud);
  gs_sse_init(&ud->p, max_bytes);
  ud->live = 1;
  ud->busy = 0;
  ud->type = NULL;
  ud->nneedles = 0;
  ud->data_only = 0;
  gs_lua_push_mt(L, &gs__sse_mt_key);
  lua_setmetatable(L, -2);
  return 1;
}

/* True when p:select lets the event through. */
static int gs__sse_selected(const gs_lua_sse_t *ud, const gs_sse_event_t *ev) {
  if (!ud->type)
    return 1;
  if (ev->type_len != ud->type_len || memcmp(ev->type, ud->type, ud->type_len) != 0)
    return 0;
  if (ud->nneedles == 0)
    return 1;
  for (int i = 0; i < ud->nneedles; i++)
    if (memmem(ev->data, ev->data_len, ud->needles[i], ud->needle_len[i]))
      return 1;
  return 0;
}

static int gs__sse_collect(const gs_sse_event_t *ev, void *data) {
  gs_sse_collect_t *c = data;
  lua_State *L = c->L;
  if (c->ud->type && ev->data_len == 0)
    return 0; /* a priming event: not even counted */
  if (!gs__sse_selected(c->ud, ev)) {
    c->dropped++;
    return 0;
  }
  if (c->ud->data_only) { /* the selected type is known: only the data is news */
    lua_pushlstring(L, ev->data, ev->data_len);
    lua_rawseti(L, c->t, ++c->n);
    return 0;
  }
  lua_createtable(L, 0, 4);
  lua_pushlstring(L, ev->type, ev->type_len);
  lua_setfield(L, -2, "type");
  lua_pushlstring(L, ev->data, ev->data_len);
  lua_setfield(L, -2, "data");
  lua_pushlstring(L, ev->id, ev->id_len);
  lua_setfield(L, -2, "id");
  if (ev->retry >= 0) {
    lua_pushnumber(L, (lua_Number)ev->retry);
    lua_setfield(L, -2, "retry");
  }
  lua_rawseti(L, c->t, ++c->n);
  return 0;
}

void gs_lua_sse_check(lua_State *L, int idx, const char *fname) {
  gs__check_sse_at(L, idx, fname, 0);
}

int gs_lua_sse_feed(lua_State *L, int idx, const char *bytes, size_t len) {
  gs_lua_sse_t *ud = gs__check_sse_at(L, idx, "feed", 0);
  lua_newtable(L);
  gs_sse_collect_t c = {L, ud, lua_gettop(L), 0, 0};
  ud->busy = 1;
  int rc = gs_sse_feed(&ud->p, bytes, len, gs__sse_collect, &c);
  ud->busy = 0;
  if (rc)
    return gs__sse_push_error(L, rc, ud->p.max_bytes);
  if (!ud->type)
    return 1;
  lua_pushnumber(L, c.dropped);
  return 2;
}

static int gs__lsse_feed(lua_State *L) {
  gs__check_sse(L, "feed");
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "sse:feed: chunk must be a string, got %s", luaL_typename(L, 2));
  size_t len;
  const char *chunk = lua_tolstring(L, 2, &len);
  return gs_lua_sse_feed(L, 1, chunk, len);
}

static void gs__sse_unselect(gs_lua_sse_t *ud) {
  free(ud->type);
  ud->type = NULL;
  for (int i = 0; i < ud->nneedles; i++)
    free(ud->needles[i]);
  ud->nneedles = 0;
}

static char *gs__sse_dup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* p:select(type, needles[, data_only]) */
static int gs__lsse_select(lua_State *L) {
  gs_lua_sse_t *ud = gs__check_sse(L, "select");
  size_t tlen;
  const char *type = luaL_checklstring(L, 2, &tlen);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (!lua_isnoneornil(L, 4))
    luaL_checktype(L, 4, LUA_TBOOLEAN);
  int data_only = lua_toboolean(L, 4);
  int n = (int)lua_objlen(L, 3);
  if (n > GS_SSE_MAX_NEEDLES)
    return luaL_error(L, "sse:select: at most %d needles, got %d", GS_SSE_MAX_NEEDLES, n);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);
    if (lua_type(L, -1) != LUA_TSTRING || lua_objlen(L, -1) == 0)
      return luaL_error(L, "sse:select: needles[%d] must be a non-empty string", i);
    lua_pop(L, 1);
  }
  gs__sse_unselect(ud);
  ud->type = gs__sse_dup(type, tlen);
  ud->type_len = tlen;
  for (int i = 0; ud->type && i < n; i++) {
    size_t len;
    lua_rawgeti(L, 3, i + 1);
    const char *s = lua_tolstring(L, -1, &len);
    ud->needles[i] = gs__sse_dup(s, len);
    ud->needle_len[i] = len;
    lua_pop(L, 1);
    if (!ud->needles[i])
      break;
    ud->nneedles++;
  }
  if (!ud->type || ud->nneedles != n) {
    gs__sse_unselect(ud);
    return luaL_error(L, "sse:select: out of memory");
  }
  ud->data_only = data_only;
  return 0;
}

static int gs__lsse_finish(lua_State *L) {
  gs_lua_sse_t *ud = gs__check_sse(L, "finish");
  int rc = gs_sse_finish(&ud->p, NULL, NULL);
  if (rc < 0)
    return gs__sse_push_error(L, rc, ud->p.max_bytes);
  lua_pushboolean(L, rc > 0);
  return 1;
}

static int gs__lsse_reset(lua_State *L) {
  gs_sse_reset(&gs__check_sse_ex(L, "reset", 1)->p);
  return 0;
}

static int gs__lsse_last_event_id(lua_State *L) {
  size_t len;
  const char *id = gs_sse_last_event_id(&gs__check_sse(L, "last_event_id")->p, &len);
  lua_pushlstring(L, id, len);
  return 1;
}

static int gs__lsse_retry(lua_State *L) {
  long long retry = gs__check_sse(L, "retry")->p.retry;
  if (retry < 0)
    lua_pushnil(L);
  else
    lua_pushnumber(L, (lua_Number)retry);
  return 1;
}

static int gs__lsse_comments(lua_State *L) {
  lua_pushnumber(L, (lua_Number)gs__check_sse(L, "comments")->p.comments);
  return 1;
}

static int gs__lsse_tostring(lua_State *L) {
  gs_lua_sse_t *ud = gs__check_sse(L, "__tostring");
  lua_pushfstring(L, "gofr_sim.sse (events %f)", (lua_Number)ud->p.events);
  return 1;
}

static int gs__lsse_gc(lua_State *L) {
  gs_lua_sse_t *ud = gs_lua_checkudata(L, 1, &gs__sse_mt_key, GS_SSE_MT);
  if (ud->live) {
    gs_sse_free(&ud->p);
    gs__sse_unselect(ud);
    ud->live = 0;
  }
  return 0;
}

void gs_lua_open_sse(lua_State *L) {
  if (luaL_newmetatable(L, GS_SSE_MT)) {
    static const luaL_Reg methods[] = {{"feed", gs__lsse_feed},
                                       {"finish", gs__lsse_finish},
                                       {"reset", gs__lsse_reset},
                                       {"select", gs__lsse_select},
                                       {"last_event_id", gs__lsse_last_event_id},
                                       {"retry", gs__lsse_retry},
                                       {"comments", gs__lsse_comments},
                                       {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lsse_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gs__lsse_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  gs_lua_register_mt(L, -1, &gs__sse_mt_key);
  lua_pop(L, 1);
  lua_pushcfunction(L, gs__lsse_new);
  lua_setfield(L, -2, "sse_new");
}
