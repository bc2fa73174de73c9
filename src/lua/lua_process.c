/* Binding of child processes (gs/process.h): the matrix runner's cells, and
 * piped children (sim.process).
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
 *   core.process_spawn{file =, args = {...}, env = {K = V}, cwd =,
 *                      stderr_limit = bytes, max_line = bytes}
 *     -> proc | nil, err_type, message
 *
 * A piped child (gs_process_spawn_piped; sim.process.spawn checks the
 * options and calls this). Does not yield. The proc's methods:
 *   proc:write(text) -> true | nil, "closed"|"out_of_memory", message   (yields)
 *   proc:read_line([timeout]) -> line | nil, "closed"|"timeout"|"line_too_long"
 *                                |"io_error"|"out_of_memory", message (yields if none)
 *   proc:stderr() -> tail, dropped          proc:close_stdin() -> true
 *   proc:kill([name]) -> true | nil, "closed", message
 *   proc:wait([timeout]) -> {exit_status=, signal=, signal_name=} | nil, "timeout", message
 *   proc:close([grace]) -> as wait, after EOF, SIGTERM and SIGKILL (grace apart)
 *   proc:pid(), proc:exited()
 * Lines are queued as the core delivers them; stdout pauses while the queue
 * holds max(max_line, 4 MiB) bytes. Ownership and lifetime: see gs_lchild_t
 * below; a collected proc is stopped and reaped by the loop, and the set
 * (gs_lset_t) destroys what runs at the runtime's shutdown.
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
#include <signal.h>
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

/* opts[key] as a string or NULL; raises naming fname and the key when it
 * is another type. */
static const char *gs__lproc_string_of(lua_State *L, const char *fname, const char *key) {
  lua_getfield(L, 1, key);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING)
    s = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "%s: %s must be a string, got %s", fname, key, luaL_typename(L, -1));
  lua_pop(L, 1); /* the string stays anchored in opts */
  return s;
}

static const char *gs__lproc_string(lua_State *L, const char *key) {
  return gs__lproc_string_of(L, "spawn_process", key);
}

/* Pushes a userdata holding a NULL-terminated char* array of the strings of
 * the array table at index idx (which stays on the stack, anchoring them). */
static char **gs__lproc_args(lua_State *L, int idx, const char *fname) {
  int n = (int)lua_objlen(L, idx);
  if (n < 1)
    luaL_error(L, "%s: args must be a non-empty array of strings", fname);
  char **argv = lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: args[%d] must be a string, got %s", fname, i, luaL_typename(L, -1));
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
static char **gs__lproc_env(lua_State *L, int idx, const char *fname) {
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
      luaL_error(L, "%s: env must map strings to strings", fname);
    const char *k = lua_tostring(L, -2);
    if (!*k || strchr(k, '='))
      luaL_error(L, "%s: env key '%s' is not a variable name", fname, k);
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
  o.args = gs__lproc_args(L, 2, "spawn_process"); /* 3 */
  if (!o.file)
    o.file = o.args[0];
  lua_getfield(L, 1, "env"); /* 4 */
  if (!lua_isnil(L, 4)) {
    if (!lua_istable(L, 4))
      return luaL_error(L, "spawn_process: env must be a table");
    o.env = gs__lproc_env(L, 4, "spawn_process");
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

/* ---- piped children: core.process_spawn and the proc object ------------ */

/* The binding's state of one piped child. Malloc'd (outside the Lua heap)
 * and reference-counted: the proc userdata holds one reference until its
 * __gc, each waiting persona's record one until its retvals/cleanup, and
 * the core process one until it has exited (or is destroyed at shutdown).
 * The child is on its set's list (for the runtime's shutdown) while it has
 * a core process. */
typedef struct gs_lchild_s gs_lchild_t;
typedef struct gs_lset_s gs_lset_t;

typedef struct gs_lline_s { /* a line of stdout waiting for proc:read_line */
  struct gs_lline_s *next;
  int status; /* 0, or why the line was refused (GS_EBODYTOOLARGE, GS_ENOMEM) */
  size_t len;
  char bytes[];
} gs_lline_t;

enum { GS_LW_READ, GS_LW_WRITE, GS_LW_EXIT };

/* A persona waiting on a child. Owned by the persona's pending operation:
 * freed by retvals or cleanup (after its timer, if any, has closed). */
typedef struct gs_lwait_s {
  gs_lchild_t *c;
  gs_persona_t *p;
  int kind;
  int linked; /* on c's list of its kind */
  int woken;
  int status;   /* write: the core's outcome */
  uint64_t seq; /* write: its number among c's writes (1, 2, ...) */
  int has_timer;
  uv_timer_t timer;
  struct gs_lwait_s *prev, *next;
} gs_lwait_t;

struct gs_lchild_s {
  gs_process_t *proc; /* NULL once it has exited (released) or been destroyed */
  gs_lset_t *set;
  gs_lchild_t *set_prev, *set_next;
  int refs;
  int pid;
  int collected; /* the userdata is gone: output is dropped */
  gs_lline_t *head, *tail;
  size_t queued, pause_at; /* bytes of queued lines; stdout pauses from pause_at */
  int eof, eof_status;
  int exited;
  gs_process_exit_t how;
  char *err_tail; /* stderr kept at the exit (malloc'd) */
  size_t err_len;
  uint64_t err_dropped;
  uint64_t writes_made, writes_done;
  gs_lwait_t *reader;
  gs_lwait_t *writers, *writers_tail; /* in seq order */
  gs_lwait_t *exit_waiters;
};

/* Every child with a core process, for the runtime's shutdown: a full
 * userdata anchored in the registry, made on the first spawn (after the
 * runtime, so lua_close finalises it before the runtime, which closes the
 * loop) and finalised after the proc userdata (made after it). */
struct gs_lset_s {
  gs_lchild_t *head;
};

static char gs_lset_key;
static const char *const GS_LCHILD_MT = "gofr_sim.process";
static const char *const GS_LSET_MT = "gofr_sim.process_set";

#define GS_LCHILD_QUEUE_MIN ((size_t)4 << 20) /* stdout read-ahead: max(this, max_line) */
#define GS_LCHILD_CLOSE_GRACE 2.0             /* proc:close's default grace, seconds */

static void gs__lchild_unref(gs_lchild_t *c) {
  if (--c->refs > 0)
    return;
  for (gs_lline_t *l = c->head, *next; l; l = next) {
    next = l->next;
    free(l);
  }
  free(c->err_tail);
  free(c);
}

static void gs__lset_unlink(gs_lchild_t *c) {
  if (!c->set)
    return;
  if (c->set_prev)
    c->set_prev->set_next = c->set_next;
  else
    c->set->head = c->set_next;
  if (c->set_next)
    c->set_next->set_prev = c->set_prev;
  c->set = NULL;
  c->set_prev = c->set_next = NULL;
}

/* -- waiters -- */

static gs_lwait_t **gs__lwait_list(gs_lchild_t *c, int kind) {
  return kind == GS_LW_WRITE ? &c->writers : kind == GS_LW_EXIT ? &c->exit_waiters : &c->reader;
}

static void gs__lwait_unlink(gs_lwait_t *w) {
  if (!w->linked)
    return;
  gs_lchild_t *c = w->c;
  gs_lwait_t **head = gs__lwait_list(c, w->kind);
  if (w->prev)
    w->prev->next = w->next;
  else
    *head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else if (w->kind == GS_LW_WRITE)
    c->writers_tail = w->prev;
  w->linked = 0;
  w->prev = w->next = NULL;
}

static void gs__lwait_link(gs_lwait_t *w) {
  gs_lchild_t *c = w->c;
  if (w->kind == GS_LW_WRITE) {
    w->prev = c->writers_tail;
    if (c->writers_tail)
      c->writers_tail->next = w;
    else
      c->writers = w;
    c->writers_tail = w;
  } else {
    gs_lwait_t **head = gs__lwait_list(c, w->kind);
    w->next = *head;
    if (*head)
      (*head)->prev = w;
    *head = w;
  }
  w->linked = 1;
}

/* Takes w off its list, stops its timer and resumes its persona (once). */
static void gs__lwait_wake(gs_lwait_t *w) {
  if (w->woken)
    return;
  w->woken = 1;
  gs__lwait_unlink(w);
  if (w->has_timer)
    uv_timer_stop(&w->timer);
  gs_persona_wake(w->p);
}

static void gs__lwait_timer_closed(uv_handle_t *h) {
  free(h->data);
}

/* Ends w: unlinks it, drops its reference on the child, frees it (after
 * its timer has closed). Touches no Lua. */
static void gs__lwait_free(gs_lwait_t *w) {
  gs__lwait_unlink(w);
  gs__lchild_unref(w->c);
  if (w->has_timer) {
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, gs__lwait_timer_closed);
  } else {
    free(w);
  }
}

static void gs__lwait_cleanup(void *data) {
  gs__lwait_free(data);
}

static void gs__lwait_timed_out(uv_timer_t *t) {
  gs__lwait_wake(t->data);
}

/* A new record of persona p waiting on c; timeout in seconds (< 0: none). */
static gs_lwait_t *gs__lwait_new(lua_State *L, gs_lchild_t *c, gs_persona_t *p, int kind,
                                 double timeout) {
  gs_lwait_t *w = calloc(1, sizeof *w);
  if (!w) {
    luaL_error(L, "sim.process: out of memory");
    return NULL;
  }
  w->c = c;
  w->p = p;
  w->kind = kind;
  c->refs++;
  if (timeout >= 0) {
    uv_loop_t *loop = &gs_runtime_worker(gs_runtime_get(L))->loop;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->has_timer = 1;
    uv_update_time(loop);
    uv_timer_start(&w->timer, gs__lwait_timed_out, (uint64_t)ceil(timeout * 1000), 0);
  }
  gs__lwait_link(w);
  return w;
}

/* -- the core's callbacks -- */

static void gs__lchild_on_line(gs_process_t *proc, int status, const char *line, size_t len,
                               void *data) {
  gs_lchild_t *c = data;
  if (c->collected)
    return;
  gs_lline_t *l = malloc(sizeof *l + len);
  if (!l) {
    status = GS_ENOMEM;
    len = 0;
    l = malloc(sizeof *l);
    if (!l)
      return; /* nothing to be done: the reader will miss this line */
  }
  l->next = NULL;
  l->status = status;
  l->len = len;
  if (len)
    memcpy(l->bytes, line, len);
  if (c->tail)
    c->tail->next = l;
  else
    c->head = l;
  c->tail = l;
  c->queued += len;
  if (c->queued >= c->pause_at)
    gs_process_pause_stdout(proc, 1);
  if (c->reader)
    gs__lwait_wake(c->reader);
}

static void gs__lchild_on_eof(gs_process_t *proc, int status, void *data) {
  gs_lchild_t *c = data;
  (void)proc;
  c->eof = 1;
  c->eof_status = status;
  if (c->reader)
    gs__lwait_wake(c->reader);
}

static void gs__lchild_on_written(gs_process_t *proc, int status, void *wdata, void *data) {
  gs_lchild_t *c = data;
  (void)proc, (void)wdata;
  uint64_t seq = ++c->writes_done;
  gs_lwait_t *w = c->writers;
  if (w && w->seq == seq) { /* else its persona was aborted meanwhile */
    w->status = status;
    gs__lwait_wake(w);
  }
}

/* Keeps the stderr tail of proc in c (it outlives the core process). */
static void gs__lchild_keep_stderr(gs_lchild_t *c, gs_process_t *proc) {
  size_t len;
  uint64_t dropped;
  const char *tail = gs_process_stderr(proc, &len, &dropped);
  c->err_tail = len ? malloc(len) : NULL;
  if (c->err_tail)
    memcpy(c->err_tail, tail, len);
  c->err_len = c->err_tail ? len : 0;
  c->err_dropped = dropped + (len - c->err_len);
}

static void gs__lchild_on_exit(gs_process_t *proc, const gs_process_exit_t *how, void *data) {
  gs_lchild_t *c = data;
  c->exited = 1;
  c->how = *how;
  gs__lchild_keep_stderr(c, proc);
  gs_process_release(proc, 0);
  c->proc = NULL;
  gs__lset_unlink(c);
  while (c->exit_waiters)
    gs__lwait_wake(c->exit_waiters);
  if (c->reader)
    gs__lwait_wake(c->reader);
  gs__lchild_unref(c); /* the core's reference */
}

static const gs_process_pipe_cbs_t gs_lchild_cbs = {gs__lchild_on_line, gs__lchild_on_eof,
                                                    gs__lchild_on_written, gs__lchild_on_exit};

/* -- the set -- */

/* Destroys every child still running at the runtime's shutdown: SIGTERM to
 * all, then each is given what is left of one shared grace before
 * SIGKILL, and reaped. */
static int gs__lset_gc(lua_State *L) {
  gs_lset_t *set = lua_touserdata(L, 1);
  for (gs_lchild_t *c = set->head; c; c = c->set_next)
    gs_process_kill(c->proc, SIGTERM);
  uint64_t deadline = uv_hrtime() + (uint64_t)GS_PROCESS_KILL_GRACE_MS * 1000000u;
  while (set->head) {
    gs_lchild_t *c = set->head;
    uint64_t now = uv_hrtime();
    gs_process_destroy(c->proc, now < deadline ? (deadline - now) / 1000000u : 0);
    c->proc = NULL;
    gs__lset_unlink(c);
    gs__lchild_unref(c);
  }
  return 0;
}

static gs_lset_t *gs__lset_get(lua_State *L) {
  lua_pushlightuserdata(L, &gs_lset_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  gs_lset_t *set = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (set)
    return set;
  set = lua_newuserdata(L, sizeof *set);
  set->head = NULL;
  if (luaL_newmetatable(L, GS_LSET_MT)) {
    lua_pushcfunction(L, gs__lset_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_pushlightuserdata(L, &gs_lset_key);
  lua_insert(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  return set;
}

/* -- spawn -- */

/* opts[key] as a size in 1..2^30 bytes, or 0 when absent. */
static size_t gs__lchild_size(lua_State *L, const char *key) {
  lua_getfield(L, 1, key);
  lua_Number n = lua_tonumber(L, -1);
  int absent = lua_isnil(L, -1);
  if (!absent &&
      (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= 1073741824.0) || n != floor(n)))
    luaL_error(L, "process_spawn: %s must be an integer from 1 to 2^30 (bytes)", key);
  lua_pop(L, 1);
  return absent ? 0 : (size_t)n;
}

/* core.process_spawn{file=, args={argv...}, env={K=V}, cwd=, stderr_limit=,
 *                    max_line=} -> proc | nil, err_type, message */
static int gs__lchild_spawn(lua_State *L) {
  const char *fname = "process_spawn";
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  gs_runtime_t *rt = gs_runtime_get(L); /* before the set: see gs_lset_t */
  gs_lset_t *set = gs__lset_get(L);
  gs_process_pipe_opts_t o = {0};
  o.file = gs__lproc_string_of(L, fname, "file");
  o.cwd = gs__lproc_string_of(L, fname, "cwd");
  o.max_line = gs__lchild_size(L, "max_line");
  o.stderr_limit = gs__lchild_size(L, "stderr_limit");
  lua_getfield(L, 1, "args"); /* 2 */
  if (!lua_istable(L, 2))
    return luaL_error(L, "%s: args must be an array of strings", fname);
  o.args = gs__lproc_args(L, 2, fname); /* 3 */
  if (!o.file)
    o.file = o.args[0];
  lua_getfield(L, 1, "env"); /* 4 */
  if (!lua_isnil(L, 4)) {
    if (!lua_istable(L, 4))
      return luaL_error(L, "%s: env must be a table", fname);
    o.env = gs__lproc_env(L, 4, fname);
  }
  gs_lchild_t **ud = lua_newuserdata(L, sizeof *ud);
  *ud = NULL;
  luaL_getmetatable(L, GS_LCHILD_MT);
  lua_setmetatable(L, -2);
  gs_lchild_t *c = calloc(1, sizeof *c);
  if (!c)
    return luaL_error(L, "%s: out of memory", fname);
  c->refs = 1;
  c->pause_at = o.max_line > GS_LCHILD_QUEUE_MIN ? o.max_line : GS_LCHILD_QUEUE_MIN;
  char err[512];
  int rc = gs_process_spawn_piped(&gs_runtime_worker(rt)->loop, &o, &gs_lchild_cbs, c, &c->proc,
                                  err, sizeof err);
  if (rc) {
    free(c);
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushstring(L, err[0] ? err : gs_strerror(rc));
    return 3;
  }
  c->refs++; /* the core process's */
  c->pid = gs_process_pid(c->proc);
  c->set = set;
  c->set_next = set->head;
  if (set->head)
    set->head->set_prev = c;
  set->head = c;
  *ud = c;
  return 1;
}

/* -- methods -- */

static gs_lchild_t *gs__lchild_check(lua_State *L) {
  gs_lchild_t **ud = luaL_checkudata(L, 1, GS_LCHILD_MT);
  if (!*ud)
    luaL_error(L, "sim.process: the process object is closed");
  return *ud;
}

/* An optional timeout at idx: seconds >= 0, or -1 when nil. */
static double gs__lchild_timeout(lua_State *L, int idx, const char *fname) {
  if (lua_isnoneornil(L, idx))
    return -1;
  double t = lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || !(t >= 0) || isinf(t))
    luaL_error(L, "%s: timeout must be a number of seconds >= 0, got %s", fname,
               lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
  return t;
}

static int gs__lchild_fail(lua_State *L, const char *type, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, type);
  lua_pushstring(L, msg);
  return 3;
}

/* Pushes the outcome of a read on c: the next queued line, else the end of
 * stdout, else a timeout. */
static int gs__lchild_push_read(lua_State *L, gs_lchild_t *c) {
  gs_lline_t *l = c->head;
  if (l) {
    c->head = l->next;
    if (!c->head)
      c->tail = NULL;
    c->queued -= l->len;
    if (c->proc && c->queued < c->pause_at)
      gs_process_pause_stdout(c->proc, 0);
    int status = l->status;
    if (status == 0)
      lua_pushlstring(L, l->bytes, l->len);
    free(l);
    if (status == 0)
      return 1;
    if (status == GS_EBODYTOOLARGE)
      return gs__lchild_fail(L, "line_too_long", "a line of the child's stdout exceeds max_line");
    return gs__lchild_fail(L, "out_of_memory", "out of memory for a line of the child's stdout");
  }
  if (c->eof && c->eof_status == GS_EIO)
    return gs__lchild_fail(L, "io_error", "reading the child's stdout failed");
  if (c->eof && c->eof_status == GS_ECANCELED)
    return gs__lchild_fail(L, "closed",
                           "the child exited and its stdout, still held open (by a grandchild?), "
                           "was closed");
  if (c->eof)
    return gs__lchild_fail(L, "closed", "end of the child's stdout");
  return gs__lchild_fail(L, "timeout", "no line from the child within the timeout");
}

static int gs__lchild_read_retvals(lua_State *co, void *data) {
  gs_lwait_t *w = data;
  gs_lchild_t *c = w->c;
  c->refs++; /* across gs__lwait_free */
  gs__lwait_free(w);
  int n = gs__lchild_push_read(co, c);
  gs__lchild_unref(c);
  return n;
}

static const gs_op_type_t gs_lchild_read_op = {"proc:read_line", gs__lchild_read_retvals,
                                               gs__lwait_cleanup};

/* proc:read_line([timeout]) -> line | nil, "closed"|"timeout"|"line_too_long"|..., message */
static int gs__lchild_read_line(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  double timeout = gs__lchild_timeout(L, 2, "proc:read_line");
  if (c->head || c->eof || timeout == 0)
    return gs__lchild_push_read(L, c);
  if (c->reader)
    return luaL_error(L, "proc:read_line: another persona is reading this process");
  gs_persona_t *p = gs_persona_current(L, "proc:read_line");
  gs_lwait_t *w = gs__lwait_new(L, c, p, GS_LW_READ, timeout);
  return gs_persona_yield(L, p, &gs_lchild_read_op, w);
}

static int gs__lchild_write_retvals(lua_State *co, void *data) {
  gs_lwait_t *w = data;
  int status = w->status;
  gs__lwait_free(w);
  if (status == 0) {
    lua_pushboolean(co, 1);
    return 1;
  }
  if (status == GS_ECANCELED)
    return gs__lchild_fail(co, "closed", "the child's stdin was closed before the write");
  return gs__lchild_fail(co, "closed", "the child's stdin is closed (by the child)");
}

static const gs_op_type_t gs_lchild_write_op = {"proc:write", gs__lchild_write_retvals,
                                                gs__lwait_cleanup};

/* proc:write(text) -> true | nil, "closed"|"out_of_memory", message */
static int gs__lchild_write(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  size_t len;
  const char *text = luaL_checklstring(L, 2, &len);
  gs_persona_t *p = gs_persona_current(L, "proc:write");
  if (!c->proc)
    return gs__lchild_fail(L, "closed", "the child has exited");
  if (len == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  int rc = gs_process_write(c->proc, text, len, NULL);
  if (rc == GS_ENOMEM)
    return gs__lchild_fail(L, "out_of_memory", "out of memory for the write");
  if (rc == GS_EINVAL)
    return luaL_error(L, "proc:write: text must be shorter than 4 GiB");
  if (rc)
    return gs__lchild_fail(L, "closed", "the child's stdin is closed");
  gs_lwait_t *w = gs__lwait_new(L, c, p, GS_LW_WRITE, -1);
  w->seq = ++c->writes_made;
  return gs_persona_yield(L, p, &gs_lchild_write_op, w);
}

/* Signals by name, for proc:kill and the results' signal_name. */
static const struct {
  const char *name;
  int signum;
} gs_lchild_signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
                         {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
                         {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
                         {"STOP", SIGSTOP}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"ILL", SIGILL},
                         {"TRAP", SIGTRAP}, {"SYS", SIGSYS}};

#define GS_LCHILD_NSIGNALS (sizeof gs_lchild_signals / sizeof gs_lchild_signals[0])

static const char *gs__lchild_signal_name(int signum) {
  for (size_t i = 0; i < GS_LCHILD_NSIGNALS; i++)
    if (gs_lchild_signals[i].signum == signum)
      return gs_lchild_signals[i].name;
  return NULL;
}

/* The signal named at idx ("TERM" or "SIGTERM"; default TERM); raises
 * listing the names otherwise. */
static int gs__lchild_signum(lua_State *L, int idx) {
  const char *name = luaL_optstring(L, idx, "TERM");
  const char *bare = strncmp(name, "SIG", 3) == 0 ? name + 3 : name;
  for (size_t i = 0; i < GS_LCHILD_NSIGNALS; i++)
    if (strcmp(bare, gs_lchild_signals[i].name) == 0)
      return gs_lchild_signals[i].signum;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < GS_LCHILD_NSIGNALS; i++) {
    if (i)
      luaL_addstring(&b, ", ");
    luaL_addstring(&b, gs_lchild_signals[i].name);
  }
  luaL_pushresult(&b);
  return luaL_error(L, "proc:kill: unknown signal '%s' (accepted: %s)", name, lua_tostring(L, -1));
}

/* proc:kill([signal_name]) -> true | nil, "closed", message */
static int gs__lchild_kill(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  int signum = gs__lchild_signum(L, 2);
  if (!c->proc || gs_process_kill(c->proc, signum) != 0)
    return gs__lchild_fail(L, "closed", "the child has exited");
  lua_pushboolean(L, 1);
  return 1;
}

/* Pushes {exit_status=, signal=, signal_name=} of an exited child. */
static int gs__lchild_push_exit(lua_State *L, gs_lchild_t *c) {
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, (lua_Number)c->how.exit_status);
  lua_setfield(L, -2, "exit_status");
  lua_pushinteger(L, c->how.term_signal);
  lua_setfield(L, -2, "signal");
  const char *name = gs__lchild_signal_name(c->how.term_signal);
  if (c->how.term_signal && name) {
    lua_pushfstring(L, "SIG%s", name);
    lua_setfield(L, -2, "signal_name");
  }
  return 1;
}

static int gs__lchild_exit_retvals(lua_State *co, void *data) {
  gs_lwait_t *w = data;
  gs_lchild_t *c = w->c;
  c->refs++;
  gs__lwait_free(w);
  int n = c->exited ? gs__lchild_push_exit(co, c)
                    : gs__lchild_fail(co, "timeout", "the child did not exit within the timeout");
  gs__lchild_unref(c);
  return n;
}

static const gs_op_type_t gs_lchild_exit_op = {"proc:wait", gs__lchild_exit_retvals,
                                               gs__lwait_cleanup};

/* Waits for c's exit (timeout < 0: none), as fname. */
static int gs__lchild_wait_exit(lua_State *L, gs_lchild_t *c, double timeout, const char *fname) {
  if (c->exited)
    return gs__lchild_push_exit(L, c);
  if (timeout == 0)
    return gs__lchild_fail(L, "timeout", "the child has not exited");
  gs_persona_t *p = gs_persona_current(L, fname);
  gs_lwait_t *w = gs__lwait_new(L, c, p, GS_LW_EXIT, timeout);
  return gs_persona_yield(L, p, &gs_lchild_exit_op, w);
}

/* proc:wait([timeout]) -> {exit_status=, signal=, signal_name=} | nil, "timeout", message */
static int gs__lchild_wait(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  return gs__lchild_wait_exit(L, c, gs__lchild_timeout(L, 2, "proc:wait"), "proc:wait");
}

/* proc:close([grace]) -> as proc:wait: closes stdin, SIGTERM after grace
 * seconds (default 2), SIGKILL after as long again; waits for the exit. */
static int gs__lchild_close(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  double grace = gs__lchild_timeout(L, 2, "proc:close");
  if (grace < 0)
    grace = GS_LCHILD_CLOSE_GRACE;
  if (!c->exited) {
    gs_persona_current(L, "proc:close"); /* raises before anything is done */
    uint64_t ms = (uint64_t)ceil(grace * 1000);
    gs_process_shutdown(c->proc, ms, ms);
  }
  return gs__lchild_wait_exit(L, c, -1, "proc:close");
}

/* proc:close_stdin() -> true */
static int gs__lchild_close_stdin(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  if (c->proc)
    gs_process_close_stdin(c->proc);
  lua_pushboolean(L, 1);
  return 1;
}

/* proc:stderr() -> the kept tail of stderr, bytes dropped before it */
static int gs__lchild_stderr(lua_State *L) {
  gs_lchild_t *c = gs__lchild_check(L);
  size_t len = c->err_len;
  uint64_t dropped = c->err_dropped;
  const char *tail = c->err_tail;
  if (c->proc)
    tail = gs_process_stderr(c->proc, &len, &dropped);
  lua_pushlstring(L, tail ? tail : "", tail ? len : 0);
  lua_pushnumber(L, (lua_Number)dropped);
  return 2;
}

/* proc:pid() -> the child's process id */
static int gs__lchild_pid(lua_State *L) {
  lua_pushinteger(L, gs__lchild_check(L)->pid);
  return 1;
}

/* proc:exited() -> whether the child has exited (and its pipes closed) */
static int gs__lchild_exited(lua_State *L) {
  lua_pushboolean(L, gs__lchild_check(L)->exited);
  return 1;
}

static int gs__lchild_tostring(lua_State *L) {
  gs_lchild_t **ud = luaL_checkudata(L, 1, GS_LCHILD_MT);
  gs_lchild_t *c = *ud;
  if (!c)
    lua_pushliteral(L, "gofr_sim.process (closed)");
  else
    lua_pushfstring(L, "gofr_sim.process (pid %d, %s)", c->pid, c->exited ? "exited" : "running");
  return 1;
}

/* The userdata is collected: a child still running is stopped (SIGTERM,
 * SIGKILL after GS_PROCESS_KILL_GRACE_MS) and reaped by the loop, or at the
 * runtime's shutdown by the set; its output is dropped meanwhile. */
static int gs__lchild_gc(lua_State *L) {
  gs_lchild_t **ud = luaL_checkudata(L, 1, GS_LCHILD_MT);
  gs_lchild_t *c = *ud;
  if (!c)
    return 0;
  *ud = NULL;
  c->collected = 1;
  for (gs_lline_t *l = c->head, *next; l; l = next) {
    next = l->next;
    free(l);
  }
  c->head = c->tail = NULL;
  c->queued = 0;
  if (c->proc) {
    gs_process_pause_stdout(c->proc, 0);
    gs_process_shutdown(c->proc, 0, GS_PROCESS_KILL_GRACE_MS);
  }
  gs__lchild_unref(c);
  return 0;
}

static void gs__lchild_open_mt(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"write", gs__lchild_write},   {"read_line", gs__lchild_read_line},
      {"stderr", gs__lchild_stderr}, {"close_stdin", gs__lchild_close_stdin},
      {"kill", gs__lchild_kill},     {"wait", gs__lchild_wait},
      {"close", gs__lchild_close},   {"pid", gs__lchild_pid},
      {"exited", gs__lchild_exited}, {NULL, NULL}};
  luaL_newmetatable(L, GS_LCHILD_MT);
  lua_newtable(L);
  luaL_register(L, NULL, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gs__lchild_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gs__lchild_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
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
  gs__lchild_open_mt(L);
  lua_pushcfunction(L, gs__lchild_spawn);
  lua_setfield(L, -2, "process_spawn");
  lua_pushcfunction(L, gs__lproc_spawn_process);
  lua_setfield(L, -2, "spawn_process");
  lua_pushcfunction(L, gs__lproc_cwd);
  lua_setfield(L, -2, "process_cwd");
  lua_pushcfunction(L, gs__lproc_id);
  lua_setfield(L, -2, "process_id");
  lua_pushcfunction(L, gs__lproc_alive);
  lua_setfield(L, -2, "process_alive");
}
