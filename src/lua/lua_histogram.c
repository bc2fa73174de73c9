/* Binding of the latency histogram (gs/histogram.h):
 *
 *   core.hist_new() -> histogram
 *   core.hist_decode(s) -> histogram | nil, "invalid_argument", message
 *   h:record(seconds)  h:record_us(us)  h:merge(other) -> h  h:reset()
 *   h:count()  h:min()  h:max()  h:mean()  h:stddev()  h:percentile(p)  h:encode() -> string
 *   h:count_below(seconds) -> values counted below that latency (gs_hist_count_below)
 *
 * Time values go in and come out in seconds (microseconds inside, rounded to
 * the nearest; negative -> 0, above one hour -> one hour); record_us takes
 * microseconds. A non-number, NaN, or p outside 0..100 raises.
 *
 * Ownership: the userdata holds a pointer to a malloc'd gs_hist_t (constant
 * GS_HIST_BYTES, outside the Lua heap); __gc frees it. */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>

#include "gs/error.h"
#include "gs/histogram.h"
#include "lua_bindings.h"

static const char *const GS_HIST_MT = "gofr_sim.histogram";
static const char gs__hist_mt_key; /* its address: the metatable's registry key */

typedef struct {
  gs_hist_t *h; /* NULL only before gs_hist_new succeeds or after __gc */
} gs_lua_hist_t;

static gs_hist_t *gs__check_hist(lua_State *L, int idx) {
  gs_lua_hist_t *ud = gs_lua_checkudata(L, idx, &gs__hist_mt_key, GS_HIST_MT);
  if (!ud->h)
    luaL_error(L, "histogram: already freed");
  return ud->h;
}

/* A new userdata with no histogram yet, on top of the stack. */
static gs_lua_hist_t *gs__push_hist(lua_State *L) {
  gs_lua_hist_t *ud = lua_newuserdata(L, sizeof *ud);
  ud->h = NULL;
  gs_lua_push_mt(L, &gs__hist_mt_key);
  lua_setmetatable(L, -2);
  return ud;
}

/* Argument idx as microseconds: `scale` converts it; raises unless a number. */
static uint64_t gs__check_us(lua_State *L, int idx, double scale, const char *fname,
                             const char *what) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "histogram:%s: %s must be a number, got %s", fname, what, luaL_typename(L, idx));
  double us = lua_tonumber(L, idx) * scale;
  if (us != us)
    luaL_error(L, "histogram:%s: %s must be a number, got nan", fname, what);
  if (!(us > 0))
    return 0;
  if (us >= (double)GS_HIST_MAX_US)
    return GS_HIST_MAX_US;
  return (uint64_t)(us + 0.5);
}

static void gs__push_seconds(lua_State *L, double us) {
  lua_pushnumber(L, us / 1e6);
}

/* core.hist_new() -> histogram */
static int gs__lhist_new(lua_State *L) {
  gs_lua_hist_t *ud = gs__push_hist(L);
  if (gs_hist_new(&ud->h))
    return luaL_error(L, "hist_new: out of memory");
  return 1;
}

/* core.hist_decode(s) -> histogram | nil, err_type, message */
static int gs__lhist_decode(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "hist_decode: expected a string, got %s", luaL_typename(L, 1));
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  gs_lua_hist_t *ud = gs__push_hist(L);
  int rc = gs_hist_decode(s, len, &ud->h);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    if (rc == GS_EINVAL)
      lua_pushliteral(L, "hist_decode: not a valid encoded histogram");
    else
      lua_pushfstring(L, "hist_decode: %s", gs_strerror(rc));
    return 3;
  }
  return 1;
}

static int gs__lhist_record(lua_State *L) {
  gs_hist_t *h = gs__check_hist(L, 1);
  gs_hist_record(h, gs__check_us(L, 2, 1e6, "record", "seconds"));
  return 0;
}

static int gs__lhist_record_us(lua_State *L) {
  gs_hist_t *h = gs__check_hist(L, 1);
  gs_hist_record(h, gs__check_us(L, 2, 1.0, "record_us", "us"));
  return 0;
}

static int gs__lhist_merge(lua_State *L) {
  gs_hist_merge(gs__check_hist(L, 1), gs__check_hist(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int gs__lhist_reset(lua_State *L) {
  gs_hist_reset(gs__check_hist(L, 1));
  return 0;
}

static int gs__lhist_count(lua_State *L) {
  lua_pushnumber(L, (lua_Number)gs_hist_count(gs__check_hist(L, 1)));
  return 1;
}

static int gs__lhist_min(lua_State *L) {
  gs__push_seconds(L, (double)gs_hist_min(gs__check_hist(L, 1)));
  return 1;
}

static int gs__lhist_max(lua_State *L) {
  gs__push_seconds(L, (double)gs_hist_max(gs__check_hist(L, 1)));
  return 1;
}

static int gs__lhist_mean(lua_State *L) {
  gs__push_seconds(L, gs_hist_mean(gs__check_hist(L, 1)));
  return 1;
}

static int gs__lhist_stddev(lua_State *L) {
  gs__push_seconds(L, gs_hist_stddev(gs__check_hist(L, 1)));
  return 1;
}

static int gs__lhist_percentile(lua_State *L) {
  gs_hist_t *h = gs__check_hist(L, 1);
  if (lua_type(L, 2) != LUA_TNUMBER)
    return luaL_error(L, "histogram:percentile: p must be a number in 0..100, got %s",
                      luaL_typename(L, 2));
  double p = lua_tonumber(L, 2);
  if (!(p >= 0 && p <= 100))
    return luaL_error(L, "histogram:percentile: p must be in 0..100, got %s", lua_tostring(L, 2));
  gs__push_seconds(L, (double)gs_hist_percentile(h, p));
  return 1;
}

static int gs__lhist_count_below(lua_State *L) {
  gs_hist_t *h = gs__check_hist(L, 1);
  if (lua_type(L, 2) != LUA_TNUMBER)
    return luaL_error(L, "histogram:count_below: seconds must be a number, got %s",
                      luaL_typename(L, 2));
  double us = lua_tonumber(L, 2) * 1e6;
  if (us != us)
    return luaL_error(L, "histogram:count_below: seconds must be a number, got nan");
  uint64_t v = !(us > 0)                     ? 0
               : us > (double)GS_HIST_MAX_US ? GS_HIST_MAX_US + 1
                                             : (uint64_t)(us + 0.5);
  lua_pushnumber(L, (lua_Number)gs_hist_count_below(h, v));
  return 1;
}

static int gs__lhist_encode(lua_State *L) {
  char *s;
  size_t len;
  if (gs_hist_encode(gs__check_hist(L, 1), &s, &len))
    return luaL_error(L, "histogram:encode: out of memory");
  lua_pushlstring(L, s, len);
  free(s);
  return 1;
}

static int gs__lhist_tostring(lua_State *L) {
  gs_hist_t *h = gs__check_hist(L, 1);
  lua_pushfstring(L, "gofr_sim.histogram (count %f)", (lua_Number)gs_hist_count(h));
  return 1;
}

static int gs__lhist_gc(lua_State *L) {
  gs_lua_hist_t *ud = gs_lua_checkudata(L, 1, &gs__hist_mt_key, GS_HIST_MT);
  gs_hist_free(ud->h);
  ud->h = NULL;
  return 0;
}

void gs_lua_open_histogram(lua_State *L) {
  if (luaL_newmetatable(L, GS_HIST_MT)) {
    static const luaL_Reg methods[] = {{"record", gs__lhist_record},
                                       {"record_us", gs__lhist_record_us},
                                       {"merge", gs__lhist_merge},
                                       {"reset", gs__lhist_reset},
                                       {"count", gs__lhist_count},
                                       {"min", gs__lhist_min},
                                       {"max", gs__lhist_max},
                                       {"mean", gs__lhist_mean},
                                       {"stddev", gs__lhist_stddev},
                                       {"percentile", gs__lhist_percentile},
                                       {"encode", gs__lhist_encode},
                                       {"count_below", gs__lhist_count_below},
                                       {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lhist_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gs__lhist_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  gs_lua_register_mt(L, -1, &gs__hist_mt_key);
  lua_pop(L, 1);
  lua_pushcfunction(L, gs__lhist_new);
  lua_setfield(L, -2, "hist_new");
  lua_pushcfunction(L, gs__lhist_decode);
  lua_setfield(L, -2, "hist_decode");
}
