/* Binding of child processes (gs/process.h): the matrix runner's cells.
 *
 *   core.spawn_process{file =, args = {...}, env = {K = V}, cwd =,
 *                      stdout = path, stderr = path, timeout = seconds}
 *     -> {status =, signal =, timed_out =, pid =} | nil, err_type, message
 *
 * Runs on a persona and yields until the child exits; other personas run
 * meanwhile. args is the whole argv (args[1] is the program's name, file
 * by default); env's entries are added to (or replace) our environment;
 * stdout/stderr are files created or truncated (default /dev/null); stdin
 * is /dev/null; timeout sends SIGTERM once it runs out. status is the exit
 * status (0 when killed), signal the killing signal (0 when it exited).
 * Bad options raise, naming the key. A persona aborted while waiting
 * detaches the child and sends it SIGTERM.
 *
 *   core.process_cwd() -> the current directory (absolute) | nil, err_type, message
 *   core.process_id() -> this process's id
 *   core.process_alive(pid) -> whether process pid exists
 *
 * Ownership: the strings handed to the core are anchored on the Lua stack
 * (libuv copies them into the child); the wait state is malloc'd here and
 * freed by retvals or cleanup. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/process.h"
#include "lua_bindings.h"
#include "lua_runtime.h"

extern char **environ;

typedef struct {
  gs_persona_t *p;
  gs_process_t *proc; /* NULL once it has exited */
  gs_process_exit_t how;
  int pid;
} gs_lproc_t;

static void gs__lproc_exited(gs_process_t *proc, const gs_process_exit_t *how, void *data) {
  gs_lproc_t *w = data;
  (void)proc;
  w->how = *how;
  w->proc = NULL;
  gs_persona_wake(w->p);
}

static int gs__lproc_retvals(lua_State *co, void *data) {
  gs_lproc_t *w = data;
  gs_process_exit_t how = w->how;
  int pid = w->pid;
  free(w);
  lua_createtable(co, 0, 4);
  lua_pushnumber(co, (lua_Number)how.exit_status);
  lua_setfield(co, -2, "status");
  lua_pushinteger(co, how.term_signal);
  lua_setfield(co, -2, "signal");
  lua_pushboolean(co, how.timed_out);
  lua_setfield(co, -2, "timed_out");
  lua_pushinteger(co, pid);
  lua_setfield(co, -2, "pid");
  return 1;
}

static void gs__lproc_cleanup(void *data) {
  gs_lproc_t *w = data;
  if (w->proc)
    gs_process_detach(w->proc);
  free(w);
}

static const gs_op_type_t gs_lproc_op = {"core.spawn_process", gs__lproc_retvals,
                                         gs__lproc_cleanup};

/* opts[key] as a string or NULL; raises naming the key when it is another type. */
static const char *gs__lproc_string(lua_State *L, const char *key) {
  lua_getfield(L, 1, key);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING)
    s = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "spawn_process: %s must be a string, got %s", key, luaL_typename(L, -1));
  lua_pop(L, 1); /* the string stays anchored in opts */
  return s;
}

/* Pushes a userdata holding a NULL-terminated char* array of the strings of
 * the array table at index idx (which stays on the stack, anchoring them). */
static char **gs__lproc_args(lua_State *L, int idx) {
  int n = (int)lua_objlen(L, idx);
  if (n < 1)
    luaL_error(L, "spawn_process: args must be a non-empty array of strings");
  char **argv = lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "spawn_process: args[%d] must be a string, got %s", i, luaL_typename(L, -1));
    argv[i - 1] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  argv[n] = NULL;
  return argv;
}

/* Whether environment entry e ("K=V") names a key of the env table at idx. */
static int gs__lproc_overridden(lua_State *L, int idx, const char *e) {
  const char *eq = strchr(e, '=');
  if (!eq)
    return 0;
  lua_pushlstring(L, e, (size_t)(eq - e));
  lua_rawget(L, idx);
  int found = !lua_isnil(L, -1);
  lua_pop(L, 1);
  return found;
}

/* Pushes a table of "K=V" strings (ours, overridden by the env table at idx)
 * and a userdata char* array over them; returns the array. */
static char **gs__lproc_env(lua_State *L, int idx) {
  lua_newtable(L);
  int list = lua_gettop(L), n = 0;
  for (char **e = environ; e && *e; e++) {
    if (gs__lproc_overridden(L, idx, *e))
      continue;
    lua_pushstring(L, *e);
    lua_rawseti(L, list, ++n);
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "spawn_process: env must map strings to strings");
    const char *k = lua_tostring(L, -2);
    if (!*k || strchr(k, '='))
      luaL_error(L, "spawn_process: env key '%s' is not a variable name", k);
    lua_pushfstring(L, "%s=%s", k, lua_tostring(L, -1));
    lua_rawseti(L, list, ++n);
    lua_pop(L, 1);
  }
  char **envp = lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    envp[i - 1] = (char *)lua_tostring(L, -1); /* anchored by list */
    lua_pop(L, 1);
  }
  envp[n] = NULL;
  return envp;
}

static uint64_t gs__lproc_timeout(lua_State *L) {
  lua_getfield(L, 1, "timeout");
  double t = lua_isnil(L, -1) ? 0 : lua_tonumber(L, -1);
  if (!lua_isnil(L, -1) && (lua_type(L, -1) != LUA_TNUMBER || !(t > 0) || isinf(t)))
    luaL_error(L, "spawn_process: timeout must be a number of seconds > 0");
  lua_pop(L, 1);
  return (uint64_t)ceil(t * 1000);
}

static int gs__lproc_spawn_process(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  gs_process_opts_t o = {0};
  o.file = gs__lproc_string(L, "file");
  o.cwd = gs__lproc_string(L, "cwd");
  o.stdout_path = gs__lproc_string(L, "stdout");
  o.stderr_path = gs__lproc_string(L, "stderr");
  o.timeout_ms = gs__lproc_timeout(L);
  lua_getfield(L, 1, "args"); /* 2 */
  if (!lua_istable(L, 2))
    return luaL_error(L, "spawn_process: args must be an array of strings");
  o.args = gs__lproc_args(L, 2); /* 3 */
  if (!o.file)
    o.file = o.args[0];
  lua_getfield(L, 1, "env"); /* 4 */
  if (!lua_isnil(L, 4)) {
    if (!lua_istable(L, 4))
      return luaL_error(L, "spawn_process: env must be a table");
    o.env = gs__lproc_env(L, 4);
  }
  gs_persona_t *p = gs_persona_current(L, "core.spawn_process");
  gs_lproc_t *w = calloc(1, sizeof *w);
  if (!w)
    return luaL_error(L, "spawn_process: out of memory");
  w->p = p;
  char err[512];
  gs_runtime_t *rt = gs_runtime_get(L);
  int rc = gs_process_spawn(&gs_runtime_worker(rt)->loop, &o, gs__lproc_exited, w, &w->proc, err,
                            sizeof err);
  if (rc) {
    free(w);
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushstring(L, err[0] ? err : gs_strerror(rc));
    return 3;
  }
  w->pid = gs_process_pid(w->proc);
  return gs_persona_yield(L, p, &gs_lproc_op, w);
}

/* core.process_cwd() -> path | nil, err_type, message */
static int gs__lproc_cwd(lua_State *L) {
  char buf[4096];
  size_t n = sizeof buf;
  int rc = uv_cwd(buf, &n);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(GS_EIO));
    lua_pushstring(L, uv_strerror(rc));
    return 3;
  }
  lua_pushlstring(L, buf, n);
  return 1;
}

/* core.process_id() -> pid */
static int gs__lproc_id(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_os_getpid());
  return 1;
}

/* core.process_alive(pid) -> boolean */
static int gs__lproc_alive(lua_State *L) {
  lua_Number pid = luaL_checknumber(L, 1);
  lua_pushboolean(L, pid >= 1 && pid <= 4194304 && gs_process_alive((long)pid));
  return 1;
}

void gs_lua_open_process(lua_State *L) {
  lua_pushcfunction(L, gs__lproc_spawn_process);
  lua_setfield(L, -2, "spawn_process");
  lua_pushcfunction(L, gs__lproc_cwd);
  lua_setfield(L, -2, "process_cwd");
  lua_pushcfunction(L, gs__lproc_id);
  lua_setfield(L, -2, "process_id");
  lua_pushcfunction(L, gs__lproc_alive);
  lua_setfield(L, -2, "process_alive");
}
