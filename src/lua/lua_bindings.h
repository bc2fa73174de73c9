/* Registration of the bound modules into gofr_sim.core. Each adds its
 * functions to the table on top of the stack. */
#ifndef GS_LUA_BINDINGS_H
#define GS_LUA_BINDINGS_H

#include <lua.h>

#include "gs/http_server.h"

void gs_lua_open_http(lua_State *L);     /* http_request, http_set_engine, http_bytes */
void gs_lua_open_fixtures(lua_State *L); /* fixtures_serve */
/* hist_new, hist_decode */
void gs_lua_open_histogram(lua_State *L);
/* jwt_mint, jwt_verify, jwt_decode, sha256_hex */
void gs_lua_open_jwt(lua_State *L);
void gs_lua_open_sse(lua_State *L); /* sse_new */
/* sse:feed(bytes) on the parser at idx, with bytes from C (stream:read_sse:
 * no Lua string made of them); pushes and returns what sse:feed returns.
 * Raises when idx holds no live parser. */
int gs_lua_sse_feed(lua_State *L, int idx, const char *bytes, size_t len);
/* Raises, naming fname, unless idx holds a live parser. */
void gs_lua_sse_check(lua_State *L, int idx, const char *fname);
/* server_listen */
void gs_lua_open_server(lua_State *L);
/* Reads the limits table at idx (nil: none) of server_listen and
 * fixtures_serve into o; raises on a negative value. */
void gs_lua_server_limits(lua_State *L, int idx, gs_http_server_opts_t *o);
/* html_* (gumbo extraction) */
void gs_lua_open_html(lua_State *L);
/* resolve (getaddrinfo) */
void gs_lua_open_net(lua_State *L);
/* fs_* (directories, exclusive create, stat) */
void gs_lua_open_fs(lua_State *L);
void gs_lua_open_obfuscate(lua_State *L); /* obfuscate_page */
void gs_lua_open_process(lua_State *L);   /* spawn_process, process_cwd */
void gs_lua_open_thread(lua_State *L);    /* thread_start, thread_post */

/* Metatables looked up without interning their names (luaL_checkudata's
 * per-call cost, which shows on the hot paths: a histogram record per
 * sample, an SSE parser per read). gs_lua_register_mt keeps the metatable
 * at mt_idx in the registry under `key`, a static address of the module;
 * gs_lua_push_mt pushes it; gs_lua_checkudata returns the userdata at idx
 * when that is its metatable, and raises as luaL_checkudata would (naming
 * tname) otherwise. */
void gs_lua_register_mt(lua_State *L, int mt_idx, const void *key);
void gs_lua_push_mt(lua_State *L, const void *key);
void *gs_lua_checkudata(lua_State *L, int idx, const void *key, const char *tname);

#endif
