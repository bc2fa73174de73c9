/* Binding of the fixture site server: core.fixtures_serve(root, host, port,
 * limits) -> server userdata with :port() and :close().
 *
 * Ownership: the userdata holds a pointer to the gs_fixture_server_t; close()
 * (or __gc) hands it to gs_fixture_server_close, which frees it once its
 * handles are closed; the pointer is cleared at once. */
#include <lauxlib.h>
#include <lua.h>

#include "gs/error.h"
#include "gs/fixture_server.h"
#include "gs/fs.h"
#include "lua_bindings.h"
#include "lua_runtime.h"

static const char *const GS_FIXTURES_MT = "gofr_sim.fixture_server";

typedef struct {
  gs_fixture_server_t *srv; /* NULL once closed */
} gs_lua_fixtures_t;

static gs_lua_fixtures_t *gs__check_fixtures(lua_State *L) {
  return luaL_checkudata(L, 1, GS_FIXTURES_MT);
}

/* core.fixtures_serve(root, host, port, limits) -> server | nil, err_type, message
 * (limits: as core.server_listen's) */
static int gs__lfix_serve(lua_State *L) {
  gs_fixture_opts_t opts = {
      .root = luaL_checkstring(L, 1),
      .host = luaL_optstring(L, 2, "127.0.0.1"),
      .port = (int)luaL_optinteger(L, 3, 0),
  };
  gs_lua_server_limits(L, 4, &opts.limits);
  luaL_argcheck(L, opts.port >= 0 && opts.port <= 65535, 3, "port must be 0..65535");
  gs_worker_t *w = gs_runtime_worker(gs_runtime_get(L));
  gs_lua_fixtures_t *ud = lua_newuserdata(L, sizeof *ud);
  ud->srv = NULL;
  luaL_getmetatable(L, GS_FIXTURES_MT);
  lua_setmetatable(L, -2);
  int err = gs_fixture_server_start(&w->loop, &opts, &ud->srv);
  if (err == GS_ENOENT)
    return luaL_error(L, "sim.fixtures.serve: root '%s' is not a readable directory", opts.root);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(err));
    lua_pushfstring(L, "cannot serve on %s:%d: %s", opts.host, opts.port, gs_strerror(err));
    return 3;
  }
  return 1;
}

static int gs__lfix_port(lua_State *L) {
  gs_lua_fixtures_t *ud = gs__check_fixtures(L);
  if (!ud->srv)
    return luaL_error(L, "fixture server: already closed");
  lua_pushinteger(L, gs_fixture_server_port(ud->srv));
  return 1;
}

/* Closing twice is harmless. */
static int gs__lfix_close(lua_State *L) {
  gs_lua_fixtures_t *ud = gs__check_fixtures(L);
  if (ud->srv) {
    gs_fixture_server_close(ud->srv, NULL, NULL);
    ud->srv = NULL;
  }
  return 0;
}

static int gs__collect_page(const char *relpath, void *data) {
  lua_State *L = data;
  lua_pushstring(L, relpath);
  lua_rawseti(L, -2, (int)lua_objlen(L, -2) + 1);
  return 0;
}

/* core.fixtures_pages(root) -> array of the .html files under root, relative
 * paths, unsorted | nil, err_type, message */
static int gs__lfix_pages(lua_State *L) {
  const char *root = luaL_checkstring(L, 1);
  lua_newtable(L);
  int err = gs_fs_walk(root, ".html", gs__collect_page, L);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(err));
    lua_pushfstring(L, "cannot list '%s': %s", root, gs_strerror(err));
    return 3;
  }
  return 1;
}

void gs_lua_open_fixtures(lua_State *L) {
  if (luaL_newmetatable(L, GS_FIXTURES_MT)) {
    static const luaL_Reg methods[] = {
        {"port", gs__lfix_port}, {"close", gs__lfix_close}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lfix_close);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, gs__lfix_serve);
  lua_setfield(L, -2, "fixtures_serve");
  lua_pushcfunction(L, gs__lfix_pages);
  lua_setfield(L, -2, "fixtures_pages");
}
