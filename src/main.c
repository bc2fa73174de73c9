/* gofr-sim: the executable. Embeds LuaJIT, registers the engine as
 * gofr_sim.core (and the REPL's terminal as gofr_sim.repl_core), and hands
 * the command line to lua/gofr_sim/cli/main.lua, which returns the exit status.
 * The only exit point of the program is here. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

LUALIB_API int luaopen_gofr_sim_core(lua_State *L);
/* The REPL's terminal (src/lua/lua_repl.c): here only, as libedit is linked
 * into the executable and not into the gofr_sim.core module. */
LUALIB_API int luaopen_gofr_sim_repl_core(lua_State *L);

/* Lua modules are found in $GOFR_SIM_LUA_DIR, else in the source tree the
 * binary was built from, before the system's paths. */
static void gs_set_paths(lua_State *L) {
  const char *dir = getenv("GOFR_SIM_LUA_DIR");
  if (!dir || !*dir)
    dir = GS_LUA_DIR;
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_gofr_sim_core);
  lua_setfield(L, -2, "gofr_sim.core");
  lua_pushcfunction(L, luaopen_gofr_sim_repl_core);
  lua_setfield(L, -2, "gofr_sim.repl_core");
  lua_pop(L, 2);
}

static int gs_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* Runs require("gofr_sim.cli.main").main(argv) and returns its exit status. */
static int gs_run_main(lua_State *L, int argc, char **argv) {
  lua_pushcfunction(L, gs_traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "gofr_sim.cli.main");
  if (lua_pcall(L, 1, 1, 1) != 0) {
    fprintf(stderr, "gofr-sim: cannot load the Lua half of the engine: %s\n", lua_tostring(L, -1));
    return 70;
  }
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  if (lua_pcall(L, 1, 1, 1) != 0) {
    fprintf(stderr, "gofr-sim: internal error: %s\n", lua_tostring(L, -1));
    return 70;
  }
  return lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "gofr-sim: cannot create the Lua state (out of memory)\n");
    return 70;
  }
  luaL_openlibs(L);
  gs_set_paths(L);
  int status = gs_run_main(L, argc, argv);
  lua_close(L);
  fflush(stdout);
  return status;
}
