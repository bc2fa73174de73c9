/* Binding of the page obfuscator (gs/obfuscate.h); the Lua API is
 * gofr_sim/obfuscate.lua.
 *
 *   core.obfuscate_page(html, seed, date_shift_days, placeholder_image)
 *     -> obfuscated_html, stats
 *   seed: string; date_shift_days: integer or nil (nil: derived from the
 *   seed); placeholder_image: string or nil (nil: the default).
 *   stats = {text_nodes=, emails=, phones=, images=, dates=, attributes=}
 *
 * Everything wrong raises: a bad argument or option (the core's message
 * names it), out of memory. The obfuscation itself cannot fail on any
 * input.
 *
 * Ownership: the C result is copied into a Lua string by a function run
 * under lua_pcall (pushed before the result exists), then freed here
 * whatever happened; a copying error (out of memory) is raised afterwards. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/obfuscate.h"
#include "lua_bindings.h"

/* Argument i as a string without NUL bytes, or NULL when nil and optional. */
static const char *gs__lobf_str(lua_State *L, int i, const char *what, int optional) {
  if (optional && lua_isnoneornil(L, i))
    return NULL;
  if (lua_type(L, i) != LUA_TSTRING)
    luaL_error(L, "obfuscate_page: %s must be a string, got %s", what, luaL_typename(L, i));
  size_t n;
  const char *s = lua_tolstring(L, i, &n);
  if (strlen(s) != n)
    luaL_error(L, "obfuscate_page: %s must not contain NUL bytes", what);
  return s;
}

static void gs__lobf_setint(lua_State *L, const char *k, size_t v) {
  lua_pushnumber(L, (lua_Number)v);
  lua_setfield(L, -2, k);
}

typedef struct {
  const char *p;
  size_t len;
} gs__lobf_result_t;

/* Pushes the result as a string (run under lua_pcall). */
static int gs__lobf_push(lua_State *L) {
  const gs__lobf_result_t *r = lua_touserdata(L, 1);
  lua_pushlstring(L, r->p, r->len);
  return 1;
}

/* core.obfuscate_page(html, seed, date_shift_days, placeholder_image) */
static int gs__lobf_page(lua_State *L) {
  size_t len;
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "obfuscate_page: html must be a string, got %s", luaL_typename(L, 1));
  const char *html = lua_tolstring(L, 1, &len);
  gs_obfuscate_opts_t o = {.seed = gs__lobf_str(L, 2, "seed", 0),
                           .placeholder_image = gs__lobf_str(L, 4, "placeholder_image", 1)};
  if (lua_isnoneornil(L, 3)) {
    o.date_shift_days = gs_obfuscate_default_shift(o.seed);
  } else {
    lua_Number d = luaL_checknumber(L, 3);
    if (d != floor(d) || fabs(d) > GS_OBFUSCATE_MAX_SHIFT_DAYS)
      return luaL_error(L, "obfuscate_page: date_shift_days must be an integer within +-%d",
                        GS_OBFUSCATE_MAX_SHIFT_DAYS);
    o.date_shift_days = (int)d;
  }
  char *out, err[256];
  size_t out_len;
  gs_obfuscate_stats_t st;
  lua_pushcfunction(L, gs__lobf_push);
  int rc = gs_obfuscate_page(html, len, &o, &out, &out_len, &st, err, sizeof err);
  if (rc)
    return luaL_error(L, "obfuscate_page: %s", err[0] ? err : gs_strerror(rc));
  gs__lobf_result_t r = {out, out_len};
  lua_pushlightuserdata(L, &r);
  int st_copy = lua_pcall(L, 1, 1, 0);
  free(out);
  if (st_copy)
    return lua_error(L);
  lua_createtable(L, 0, 6);
  gs__lobf_setint(L, "text_nodes", st.text_nodes);
  gs__lobf_setint(L, "emails", st.emails);
  gs__lobf_setint(L, "phones", st.phones);
  gs__lobf_setint(L, "images", st.images);
  gs__lobf_setint(L, "dates", st.dates);
  gs__lobf_setint(L, "attributes", st.attributes);
  return 2;
}

void gs_lua_open_obfuscate(lua_State *L) {
  lua_pushcfunction(L, gs__lobf_page);
  lua_setfield(L, -2, "obfuscate_page");
}
