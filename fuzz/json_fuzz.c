/* libFuzzer target for the Lua JSON reader (lua/gofr_sim/util/json.lua), on an
 * embedded LuaJIT: the input is the text, and fuzz/json_fuzz.lua (its
 * header has the oracle) checks it on one Lua state kept across inputs.
 * An oracle failure aborts with its message; a new kind of difference from
 * lua-cjson, or of the known round-trip break, is printed once
 * ("json_fuzz: reported: ...").
 *
 * Coverage: libFuzzer sees only C, so a line hook (JIT off) feeds it the
 * pairs of consecutive lines run in json.lua as extra counters. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define GS__FUZZ_JSON_LUA "@" GS_SOURCE_DIR "/lua/gofr_sim/util/json.lua"

static lua_State *gs__fuzz_L;
/* Line pairs of json.lua, hashed; libFuzzer reads this section. */
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t gs__fuzz_lines[1 << 14];
static int gs__fuzz_prev;           /* the last json.lua line run, 0 at each input */
static const char *gs__fuzz_source; /* json.lua's interned source name */

static void gs__fuzz_hook(lua_State *L, lua_Debug *ar) {
  if (!lua_getinfo(L, "S", ar))
    return;
  if (ar->source != gs__fuzz_source) {
    if (gs__fuzz_source || strcmp(ar->source, GS__FUZZ_JSON_LUA) != 0)
      return;
    gs__fuzz_source = ar->source;
  }
  gs__fuzz_lines[((unsigned)gs__fuzz_prev * 2654435761u ^ (unsigned)ar->currentline) %
                 sizeof gs__fuzz_lines]++;
  gs__fuzz_prev = ar->currentline;
}

static void gs__fuzz_close(void) {
  lua_close(gs__fuzz_L); /* frees what cjson malloc'd: no leak report at exit */
}

/* utf8_valid(s) for fuzz/json_fuzz.lua. */
static int gs__fuzz_lua_utf8_valid(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, gs_fuzz_utf8_valid(s, n));
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  lua_State *L = luaL_newstate();
  GS_FUZZ_CHECK(L != NULL);
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushstring(L, GS_SOURCE_DIR "/lua/?.lua;" GS_SOURCE_DIR "/lua/?/init.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  int rc = luaL_loadfile(L, GS_SOURCE_DIR "/fuzz/json_fuzz.lua");
  if (rc == 0) {
    lua_pushcfunction(L, gs__fuzz_lua_utf8_valid);
    rc = lua_pcall(L, 1, 1, 0);
  }
  if (rc != 0) {
    fprintf(stderr, "json_fuzz: %s\n", lua_tostring(L, -1));
    abort();
  }
  GS_FUZZ_CHECK(lua_isfunction(L, -1));
  lua_setfield(L, LUA_REGISTRYINDEX, "gs_fuzz_check");
  GS_FUZZ_CHECK(luaL_dostring(L, "jit.off()") == 0);
  lua_sethook(L, gs__fuzz_hook, LUA_MASKLINE, 0);
  gs__fuzz_L = L;
  atexit(gs__fuzz_close);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = gs__fuzz_L;
  gs__fuzz_prev = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, "gs_fuzz_check");
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 1, 0) != 0) {
    fprintf(stderr, "json_fuzz: %s\n", lua_tostring(L, -1));
    abort();
  }
  if (lua_isstring(L, -1))
    fprintf(stderr, "json_fuzz: reported: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 0;
}
