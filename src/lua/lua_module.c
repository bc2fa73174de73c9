/* gofr_sim.core: the C half of `require "gofr_sim"`. Linked into the
 * gofr-sim executable (registered in package.preload by main.c) and built
 * as the Lua C module lua/gofr_sim/core.so for plain luajit and busted. */
#include <lauxlib.h>
#include <lua.h>

#include "lua_bindings.h"
#include "lua_runtime.h"

LUALIB_API int luaopen_gofr_sim_core(lua_State *L);

void gs_lua_register_mt(lua_State *L, int mt_idx, const void *key) {
  mt_idx = mt_idx < 0 ? lua_gettop(L) + mt_idx + 1 : mt_idx;
  lua_pushlightuserdata(L, (void *)key);
  lua_pushvalue(L, mt_idx);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void gs_lua_push_mt(lua_State *L, const void *key) {
  lua_pushlightuserdata(L, (void *)key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

void *gs_lua_checkudata(lua_State *L, int idx, const void *key, const char *tname) {
  void *ud = lua_touserdata(L, idx);
  if (ud && lua_getmetatable(L, idx)) {
    gs_lua_push_mt(L, key);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same)
      return ud;
  }
  luaL_typerror(L, idx, tname);
  return NULL;
}

LUALIB_API int luaopen_gofr_sim_core(lua_State *L) {
  gs_runtime_get(L); /* the worker exists before anything is bound */
  lua_newtable(L);
  gs_runtime_open(L);
  gs_lua_open_http(L);
  gs_lua_open_fixtures(L);
  gs_lua_open_histogram(L);
  gs_lua_open_jwt(L);
  gs_lua_open_sse(L);
  gs_lua_open_server(L);
  gs_lua_open_html(L);
  gs_lua_open_net(L);
  gs_lua_open_fs(L);
  gs_lua_open_obfuscate(L);
  gs_lua_open_process(L);
  gs_lua_open_thread(L);
  return 1;
}
