/* scaffold: filled in this session */
#include <lua.h>

#include "lua_bindings.h"

void gs_lua_open_fs(lua_State *L) { (void)L; }
