/* gofr_sim.core: the C half of `require "gofr_sim"`. Linked into the
 * gofr-sim executable (registered in package.preload by main.c) and built
 * as the Lua C module lua/gofr_sim/core.so for plain luajit and busted. */
#include <lauxlib.h>
#include <lua.h>

#include "lua_bindings.h"
#include "lua_runtime.h"

LUALIB_API int luaopen_gofr_sim_core(lua_State *L);

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
  return 1;
}
