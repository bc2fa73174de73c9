/* Worker threads: core.thread_start runs a Lua module's thread_main on a
 * thread of its own — its own lua_State, runtime, loop and HTTP engine —
 * and the two sides talk only by messages, copied (include/gs/mailbox.h).
 *
 *   core.thread_start(module, payload) -> thread | nil, err_type, message
 *       the new thread runs require(module).thread_main(payload) with the
 *       parent's package.path and package.cpath; its integer result (else
 *       70) is its status
 *   thread:recv([timeout]) -> message
 *                           | nil, "ended", status, error_or_nil
 *                           | nil, "timeout"
 *       the next message the thread posted, oldest first; "ended" once it
 *       has returned and every message was taken (the thread is joined).
 *       Waits as a persona (nil timeout: until either); returns at once
 *       when one is ready, from anywhere.
 *   thread:signal(signum)    acts in the thread as a signal would
 *                            (gs_runtime_signal, quietly); the parent's
 *                            own signals are passed on by themselves
 *   thread:stop()            stops the thread's run as sim.stop() there
 *                            would (gs_runtime_stop: its grace period)
 *   thread:join() -> status, error_or_nil   blocks until the thread returns
 *   core.thread_post(message) -> true       in a worker thread: to its parent
 *   core.cpu_count() -> n                   the threads the process may run at once
 *
 * Ownership: a malloc'd record per thread, reference-counted: the thread
 * userdata holds one reference until its __gc has joined the thread and the
 * parent's mailbox has closed; a waiting persona's record holds one until
 * its retvals or cleanup. The worker thread uses the record (its mailboxes,
 * the strings) until it has returned, which every path joins before the
 * record can go. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/mailbox.h"
#include "lua_bindings.h"
#include "lua_runtime.h"

LUALIB_API int luaopen_gofr_sim_core(lua_State *L);

#define GS_LTHREAD_SIGNALS 8 /* signals queued for a thread before it runs */
#define GS_LTHREAD_STOP 0    /* queued with the signals: thread:stop() */

typedef struct gs_lthread_s gs_lthread_t;

typedef struct { /* a persona waiting in thread:recv */
  gs_lthread_t *t;
  gs_persona_t *p;
  int woken, has_timer;
  uv_timer_t timer;
} gs_lrecv_t;

struct gs_lthread_s {
  int refs;
  uv_thread_t tid;
  int joined;
  gs_runtime_t *rt; /* the parent's */
  gs_signal_hook_t *hook;
  gs_mailbox_t up; /* thread -> parent, on the parent's loop; guards ended/status/error */
  int ended, status;
  char *error; /* malloc'd by the thread: why it failed, or NULL */
  gs_lrecv_t *reader;
  /* parent -> thread: signals and stops, delivered by down_async on the thread's loop */
  uv_mutex_t down_lock;
  int down_ready, down_closed, nsignals;
  int signals[GS_LTHREAD_SIGNALS];
  uv_async_t down_async;
  gs_runtime_t *child_rt;
  char *module, *payload, *path, *cpath;
  size_t payload_len;
};

static char gs_lthread_key;      /* registry: the worker thread's record (light userdata) */
static const char gs_lthread_mt; /* the thread userdata's metatable */
static const char *const GS_LTHREAD_MT = "gofr_sim.thread";

static void gs__lthread_unref(gs_lthread_t *t) {
  if (--t->refs > 0)
    return;
  gs_mailbox_free(&t->up);
  uv_mutex_destroy(&t->down_lock);
  free(t->error);
  free(t->module);
  free(t->payload);
  free(t->path);
  free(t->cpath);
  free(t);
}

/* ---- parent -> thread: signals ------------------------------------------ */

static void gs__lthread_send_signal(gs_lthread_t *t, int signum) {
  uv_mutex_lock(&t->down_lock);
  if (!t->down_closed && t->nsignals < GS_LTHREAD_SIGNALS) {
    t->signals[t->nsignals++] = signum;
    if (t->down_ready)
      uv_async_send(&t->down_async);
  }
  uv_mutex_unlock(&t->down_lock);
}

static void gs__lthread_forward(int signum, void *data) {
  gs__lthread_send_signal(data, signum);
}

/* On the thread's loop: the signals and stops its parent sent. */
static void gs__lthread_down_cb(uv_async_t *h) {
  gs_lthread_t *t = h->data;
  int signals[GS_LTHREAD_SIGNALS], n;
  uv_mutex_lock(&t->down_lock);
  n = t->nsignals;
  memcpy(signals, t->signals, sizeof signals);
  t->nsignals = 0;
  uv_mutex_unlock(&t->down_lock);
  for (int i = 0; i < n; i++) {
    if (signals[i] == GS_LTHREAD_STOP)
      gs_runtime_stop(t->child_rt);
    else
      gs_runtime_signal(t->child_rt, signals[i], 1);
  }
}

/* ---- the worker thread -------------------------------------------------- */

static int gs__lthread_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* Under lua_cpcall on the new state: paths, the core module, the record in
 * the registry, the signal mailbox; then require(module).thread_main(payload).
 * Leaves the status on t. */
static int gs__lthread_boot(lua_State *L) {
  gs_lthread_t *t = lua_touserdata(L, 1);
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushstring(L, t->path);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, t->cpath);
  lua_setfield(L, -2, "cpath");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_gofr_sim_core);
  lua_setfield(L, -2, "gofr_sim.core");
  lua_pop(L, 2);
  lua_pushlightuserdata(L, &gs_lthread_key);
  lua_pushlightuserdata(L, t);
  lua_rawset(L, LUA_REGISTRYINDEX);
  t->child_rt = gs_runtime_get(L);
  uv_async_init(&gs_runtime_worker(t->child_rt)->loop, &t->down_async, gs__lthread_down_cb);
  t->down_async.data = t;
  uv_unref((uv_handle_t *)&t->down_async);
  uv_mutex_lock(&t->down_lock);
  t->down_ready = 1;
  if (t->nsignals > 0)
    uv_async_send(&t->down_async);
  uv_mutex_unlock(&t->down_lock);

  lua_pushcfunction(L, gs__lthread_traceback);
  lua_getglobal(L, "require");
  lua_pushstring(L, t->module);
  if (lua_pcall(L, 1, 1, -3) != 0)
    return lua_error(L);
  lua_getfield(L, -1, "thread_main");
  lua_pushlstring(L, t->payload, t->payload_len);
  if (lua_pcall(L, 1, 1, -4) != 0)
    return lua_error(L);
  t->status = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 70;
  return 0;
}

static void gs__lthread_main(void *arg) {
  gs_lthread_t *t = arg;
  char *error = NULL;
  t->status = 70;
  lua_State *L = luaL_newstate();
  if (!L) {
    error = strdup("cannot create the worker's Lua state (out of memory)");
  } else if (lua_cpcall(L, gs__lthread_boot, t) != 0) {
    const char *msg = lua_tostring(L, -1);
    error = strdup(msg ? msg : "the worker failed (error object is not a string)");
  }
  uv_mutex_lock(&t->down_lock);
  t->down_closed = 1; /* no more sends on down_async: lua_close closes it */
  uv_mutex_unlock(&t->down_lock);
  if (L)
    lua_close(L);
  uv_mutex_lock(&t->up.lock);
  t->ended = 1;
  t->error = error;
  if (!t->up.closed)
    uv_async_send(&t->up.async);
  uv_mutex_unlock(&t->up.lock);
}

/* core.thread_post(message) -> true (in a worker thread) */
static int gs__lthread_post(lua_State *L) {
  size_t len;
  const char *bytes = luaL_checklstring(L, 1, &len);
  lua_pushlightuserdata(L, &gs_lthread_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  gs_lthread_t *t = lua_touserdata(L, -1);
  if (!t)
    return luaL_error(L, "core.thread_post: not in a worker thread (core.thread_start)");
  int rc = gs_mailbox_post(&t->up, bytes, len);
  if (rc != 0)
    return luaL_error(L, "core.thread_post: %s", gs_strerror(rc));
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- the parent's side -------------------------------------------------- */

static gs_lthread_t *gs__lthread_check(lua_State *L) {
  gs_lthread_t **ud = gs_lua_checkudata(L, 1, &gs_lthread_mt, GS_LTHREAD_MT);
  return *ud;
}

static void gs__lrecv_wake(gs_lrecv_t *w) {
  if (w->woken)
    return;
  w->woken = 1;
  if (w->t->reader == w)
    w->t->reader = NULL;
  if (w->has_timer)
    uv_timer_stop(&w->timer);
  gs_persona_wake(w->p);
}

static void gs__lthread_up_cb(gs_mailbox_t *mb) {
  gs_lthread_t *t = mb->data;
  if (t->reader)
    gs__lrecv_wake(t->reader);
}

static void gs__lthread_join(gs_lthread_t *t) {
  if (t->joined)
    return;
  uv_thread_join(&t->tid);
  t->joined = 1;
  if (t->hook)
    gs_runtime_remove_signal_hook(t->rt, t->hook);
  t->hook = NULL;
}

/* Pushes the next message, or the end (the thread joined); 0 when neither
 * is there yet. */
static int gs__lthread_push_next(lua_State *L, gs_lthread_t *t) {
  uv_mutex_lock(&t->up.lock);
  int ended = t->ended; /* read first: every post happened before the end */
  uv_mutex_unlock(&t->up.lock);
  gs_message_t *m = gs_mailbox_take(&t->up);
  if (m) {
    lua_pushlstring(L, m->bytes, m->len);
    free(m);
    return 1;
  }
  if (!ended)
    return 0;
  gs__lthread_join(t);
  lua_pushnil(L);
  lua_pushliteral(L, "ended");
  lua_pushinteger(L, t->status);
  if (t->error)
    lua_pushstring(L, t->error);
  else
    lua_pushnil(L);
  return 4;
}

static void gs__lrecv_timer_closed(uv_handle_t *h) {
  free(h->data);
}

static void gs__lrecv_free(gs_lrecv_t *w) {
  if (w->t->reader == w)
    w->t->reader = NULL;
  if (!uv_is_closing((uv_handle_t *)&w->t->up.async))
    uv_unref((uv_handle_t *)&w->t->up.async);
  gs__lthread_unref(w->t);
  if (w->has_timer) {
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, gs__lrecv_timer_closed);
  } else {
    free(w);
  }
}

static int gs__lrecv_retvals(lua_State *co, void *data) {
  gs_lrecv_t *w = data;
  gs_lthread_t *t = w->t;
  t->refs++; /* across gs__lrecv_free */
  gs__lrecv_free(w);
  int n = gs__lthread_push_next(co, t);
  gs__lthread_unref(t);
  if (n)
    return n;
  lua_pushnil(co);
  lua_pushliteral(co, "timeout");
  return 2;
}

static void gs__lrecv_cleanup(void *data) {
  gs__lrecv_free(data);
}

static void gs__lrecv_timed_out(uv_timer_t *h) {
  gs__lrecv_wake(h->data);
}

static const gs_op_type_t gs_lrecv_op = {"thread:recv", gs__lrecv_retvals, gs__lrecv_cleanup};

static int gs__lthread_recv(lua_State *L) {
  gs_lthread_t *t = gs__lthread_check(L);
  double timeout = luaL_optnumber(L, 2, -1);
  if (timeout != timeout)
    return luaL_argerror(L, 2, "timeout must be a number of seconds");
  int n = gs__lthread_push_next(L, t);
  if (n)
    return n;
  if (timeout == 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "timeout");
    return 2;
  }
  if (t->reader)
    return luaL_error(L, "thread:recv: another persona is receiving from this thread");
  gs_persona_t *p = gs_persona_current(L, "thread:recv");
  gs_lrecv_t *w = calloc(1, sizeof *w);
  if (!w)
    return luaL_error(L, "thread:recv: out of memory");
  w->t = t;
  w->p = p;
  t->refs++;
  t->reader = w;
  uv_ref((uv_handle_t *)&t->up.async); /* a persona waits for mail: the loop stays alive */
  if (timeout > 0) {
    uv_loop_t *loop = &gs_runtime_worker(t->rt)->loop;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->has_timer = 1;
    uv_update_time(loop);
    uv_timer_start(&w->timer, gs__lrecv_timed_out, (uint64_t)ceil(timeout * 1000), 0);
  }
  return gs_persona_yield(L, p, &gs_lrecv_op, w);
}

static int gs__lthread_signal(lua_State *L) {
  gs_lthread_t *t = gs__lthread_check(L);
  int signum = (int)luaL_checkinteger(L, 2);
  if (signum != SIGINT && signum != SIGTERM)
    return luaL_argerror(L, 2, "SIGINT (2) or SIGTERM (15)");
  gs__lthread_send_signal(t, signum);
  return 0;
}

static int gs__lthread_stop(lua_State *L) {
  gs__lthread_send_signal(gs__lthread_check(L), GS_LTHREAD_STOP);
  return 0;
}

static int gs__lthread_join_l(lua_State *L) {
  gs_lthread_t *t = gs__lthread_check(L);
  gs__lthread_join(t);
  lua_pushinteger(L, t->status);
  if (t->error)
    lua_pushstring(L, t->error);
  else
    lua_pushnil(L);
  return 2;
}

static void gs__lthread_up_closed(uv_handle_t *h) {
  gs__lthread_unref(((gs_mailbox_t *)h->data)->data);
}

/* A thread still running when its handle goes is aborted (a stop, then the
 * abort a second signal makes) and joined. */
static int gs__lthread_gc(lua_State *L) {
  gs_lthread_t **ud = lua_touserdata(L, 1);
  gs_lthread_t *t = *ud;
  if (!t)
    return 0;
  *ud = NULL;
  if (!t->joined) {
    gs__lthread_send_signal(t, SIGTERM);
    gs__lthread_send_signal(t, SIGTERM);
    gs__lthread_join(t);
  }
  gs_mailbox_close(&t->up, gs__lthread_up_closed);
  return 0;
}

static int gs__lthread_tostring(lua_State *L) {
  lua_pushfstring(L, "gofr_sim.thread (%p)", (void *)gs__lthread_check(L));
  return 1;
}

static char *gs__strdup_or_empty(const char *s) {
  return strdup(s ? s : "");
}

/* The package table's field `key` of L, or "". */
static const char *gs__package_field(lua_State *L, const char *key) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, key);
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 2); /* the string stays reachable from package until we copy it */
  return s ? s : "";
}

/* core.thread_start(module, payload) */
static int gs__lthread_start(lua_State *L) {
  const char *module = luaL_checkstring(L, 1);
  size_t plen;
  const char *payload = luaL_checklstring(L, 2, &plen);
  gs_runtime_t *rt = gs_runtime_get(L);
  gs_lthread_t **ud = lua_newuserdata(L, sizeof *ud);
  *ud = NULL;
  gs_lua_push_mt(L, &gs_lthread_mt);
  lua_setmetatable(L, -2);
  gs_lthread_t *t = calloc(1, sizeof *t);
  if (!t)
    return luaL_error(L, "core.thread_start: out of memory");
  t->refs = 1;
  t->rt = rt;
  t->module = gs__strdup_or_empty(module);
  t->payload = malloc(plen + 1);
  t->path = gs__strdup_or_empty(gs__package_field(L, "path"));
  t->cpath = gs__strdup_or_empty(gs__package_field(L, "cpath"));
  int rc = (t->module && t->payload && t->path && t->cpath) ? 0 : GS_ENOMEM;
  if (rc == 0) {
    memcpy(t->payload, payload, plen);
    t->payload[plen] = '\0';
    t->payload_len = plen;
    rc = gs_mailbox_init(&t->up, &gs_runtime_worker(rt)->loop, gs__lthread_up_cb, t);
  }
  if (rc != 0) {
    free(t->module);
    free(t->payload);
    free(t->path);
    free(t->cpath);
    free(t);
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushfstring(L, "core.thread_start: %s", gs_strerror(rc));
    return 3;
  }
  uv_mutex_init(&t->down_lock);
  *ud = t; /* from here __gc closes the mailbox and frees */
  t->hook = gs_runtime_add_signal_hook(rt, gs__lthread_forward, t);
  if (!t->hook || uv_thread_create(&t->tid, gs__lthread_main, t) != 0) {
    if (t->hook)
      gs_runtime_remove_signal_hook(rt, t->hook);
    t->hook = NULL;
    t->joined = 1; /* nothing to join */
    lua_pushnil(L);
    lua_pushliteral(L, "out_of_memory");
    lua_pushliteral(L, "core.thread_start: cannot start a thread");
    return 3;
  }
  return 1;
}

/* core.cpu_count() -> the threads this process may run at once */
static int gs__lthread_cpu_count(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)uv_available_parallelism());
  return 1;
}

void gs_lua_open_thread(lua_State *L) {
  if (luaL_newmetatable(L, GS_LTHREAD_MT)) {
    static const luaL_Reg methods[] = {{"recv", gs__lthread_recv},
                                       {"signal", gs__lthread_signal},
                                       {"stop", gs__lthread_stop},
                                       {"join", gs__lthread_join_l},
                                       {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lthread_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gs__lthread_tostring);
    lua_setfield(L, -2, "__tostring");
    gs_lua_register_mt(L, -1, &gs_lthread_mt);
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, gs__lthread_start);
  lua_setfield(L, -2, "thread_start");
  lua_pushcfunction(L, gs__lthread_post);
  lua_setfield(L, -2, "thread_post");
  lua_pushcfunction(L, gs__lthread_cpu_count);
  lua_setfield(L, -2, "cpu_count");
}
