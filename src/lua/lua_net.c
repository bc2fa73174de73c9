/* Binding of name resolution and the private-range check (gs/net.h); the
 * Lua user is gofr_sim/twin/fetch.lua (the SSRF guard).
 *
 *   core.resolve(host) -> {addr, ...} | nil, err_type, message
 *   core.ip_is_private(addr) -> boolean
 *
 * core.resolve blocks the event loop while getaddrinfo runs (see gs/net.h);
 * host is a name or an IP literal without brackets. err_type is
 * "address_error" when the name does not resolve ("invalid_argument" for
 * an empty host, "out_of_memory"), message gai_strerror's text. A host that
 * is not a string raises. ip_is_private answers false for anything that is
 * not a numeric address, whatever its type.
 *
 * Ownership: the core's address array is copied into a Lua table under
 * lua_pcall and freed here whatever happens. */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "gs/error.h"
#include "gs/net.h"
#include "lua_bindings.h"

/* Copies the gs_net_addrs_t (light userdata at 1) into a new array table;
 * run under lua_pcall so that an allocation error cannot leak the array. */
static int gs__lnet_table(lua_State *L) {
  const gs_net_addrs_t *addrs = lua_touserdata(L, 1);
  lua_createtable(L, (int)addrs->count, 0);
  for (size_t i = 0; i < addrs->count; i++) {
    lua_pushstring(L, addrs->addr[i]);
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 1;
}

/* core.resolve(host) -> {addrs} | nil, err_type, message */
static int gs__lnet_resolve(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "resolve: host must be a string, got %s", luaL_typename(L, 1));
  size_t n;
  const char *host = lua_tolstring(L, 1, &n);
  if (strlen(host) != n) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(GS_EINVAL));
    lua_pushliteral(L, "resolve: host contains a NUL byte");
    return 3;
  }
  lua_pushcfunction(L, gs__lnet_table); /* before the array exists: may raise */
  char err[256];
  gs_net_addrs_t addrs;
  int rc = gs_net_resolve(host, &addrs, err, sizeof err);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushfstring(L, "resolve %s: %s", host, err);
    return 3;
  }
  lua_pushlightuserdata(L, &addrs);
  int status = lua_pcall(L, 1, 1, 0);
  gs_net_addrs_free(&addrs);
  if (status)
    return lua_error(L);
  return 1;
}

/* core.ip_is_private(addr) -> boolean */
static int gs__lnet_ip_is_private(lua_State *L) {
  size_t n = 0;
  const char *addr = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
  lua_pushboolean(L, addr && strlen(addr) == n && gs_net_is_private(addr));
  return 1;
}

void gs_lua_open_net(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"resolve", gs__lnet_resolve}, {"ip_is_private", gs__lnet_ip_is_private}, {NULL, NULL}};
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
}
