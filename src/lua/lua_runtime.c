/* The persona scheduler (see lua_runtime.h for the contract of yielding
 * primitives).
 *
 * Ownership:
 * - The runtime is a full userdata anchored in the registry under
 *   gs_runtime_key; its __gc aborts what is left and closes the worker.
 * - A persona is a full userdata (its handle, returned by sim.spawn). Its
 *   environment table holds the coroutine (slot 1), and once finished the
 *   results (field "results", a table with n) or the error ("err"). While
 *   unfinished the userdata is anchored by persona->self_ref, so C may hold
 *   the pointer; finished personas are referenced by nobody in C.
 * - Personas are resumed only from drain(), a uv_check callback that runs
 *   the ready queue; a uv_idle handle keeps the poll from blocking while the
 *   queue is not empty. */
#include "lua_runtime.h"

#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

enum gs_persona_state { GS_P_READY, GS_P_RUNNING, GS_P_WAITING, GS_P_DONE };
enum gs_persona_end { GS_END_OK, GS_END_ERROR, GS_END_ABORTED };

struct gs_persona_s {
  gs_runtime_t *rt;
  lua_State *co;
  int self_ref; /* anchors the userdata until finished */
  unsigned id;
  int nargs; /* arguments on co's stack for the first resume */
  int started;
  enum gs_persona_state state;
  enum gs_persona_end end;
  int is_root;            /* the function of an outermost sim.run */
  int daemon;             /* does not keep sim.run going (sim.daemon) */
  const gs_op_type_t *op; /* pending operation, NULL when none */
  void *op_data;
  gs_persona_t *ready_next; /* ready queue link */
  gs_persona_t *live_prev, *live_next;
  gs_persona_t *waiters;     /* personas joined on this one */
  gs_persona_t *waiter_next; /* link in the target's waiters list */
  /* gs_runtime_spawn's hook (NULL when none) and its data */
  gs_persona_done_cb on_done;
  void *done_data;
};

struct gs_runtime_s {
  gs_worker_t worker;
  lua_State *L; /* scheduler thread: creates coroutines, builds tracebacks */
  int L_ref;
  int threads_ref; /* table: coroutine -> persona userdata, unfinished personas only */
  int errors_ref;  /* table: error message -> occurrences */
  int xpcall_ref;  /* the base library's xpcall: every persona runs under it */
  uv_idle_t spin;
  uv_check_t drain;
  uv_timer_t grace_timer;
  uv_signal_t sigint, sigterm;
  int signals_installed;
  gs_signal_hook_t *signal_hooks; /* malloc'd, called after each signal is handled */
  gs_persona_t *ready_head, *ready_tail;
  gs_persona_t *live;
  size_t nlive;
  size_t ndaemons; /* live personas that are daemons */
  int retiring;    /* sim.run is ending its daemons: not counted as aborted */
  unsigned next_id;
  int running; /* the loop is being driven by sim.run */
  int stopping;
  int signal;         /* last SIGINT/SIGTERM received, 0 if none */
  double grace;       /* seconds in-flight work gets after a stop */
  uint64_t grace_due; /* loop time (ms) at which the grace timer fires */
  int closing;        /* runtime __gc in progress: no more Lua calls */
  unsigned long spawned, finished, script_errors, aborted;
  int gc_heap_kib; /* Lua heap at the last gs__gc_floor check */
};

static char gs_runtime_key;
static const char *const GS_PERSONA_MT = "gofr_sim.persona";
static const char *const GS_RUNTIME_MT = "gofr_sim.runtime";
static const char *const GS_ERROR_MT = "gofr_sim.persona_error";

static void gs__persona_finish(gs_persona_t *p, enum gs_persona_end end);
static void gs__spin_cb(uv_idle_t *h);

/* ---- ready queue ------------------------------------------------------- */

static void gs__ready_push(gs_persona_t *p) {
  gs_runtime_t *rt = p->rt;
  p->state = GS_P_READY;
  p->ready_next = NULL;
  if (rt->ready_tail)
    rt->ready_tail->ready_next = p;
  else
    rt->ready_head = p;
  rt->ready_tail = p;
  if (!uv_is_active((uv_handle_t *)&rt->spin))
    uv_idle_start(&rt->spin, gs__spin_cb);
}

static void gs__ready_remove(gs_persona_t *p) {
  gs_runtime_t *rt = p->rt;
  gs_persona_t **link = &rt->ready_head, *prev = NULL;
  while (*link && *link != p) {
    prev = *link;
    link = &(*link)->ready_next;
  }
  if (!*link)
    return;
  *link = p->ready_next;
  if (rt->ready_tail == p)
    rt->ready_tail = prev;
  p->ready_next = NULL;
}

/* ---- live list --------------------------------------------------------- */

static void gs__live_add(gs_persona_t *p) {
  gs_runtime_t *rt = p->rt;
  p->live_prev = NULL;
  p->live_next = rt->live;
  if (rt->live)
    rt->live->live_prev = p;
  rt->live = p;
  rt->nlive++;
}

static void gs__live_remove(gs_persona_t *p) {
  gs_runtime_t *rt = p->rt;
  if (p->live_prev)
    p->live_prev->live_next = p->live_next;
  else
    rt->live = p->live_next;
  if (p->live_next)
    p->live_next->live_prev = p->live_prev;
  p->live_prev = p->live_next = NULL;
  rt->nlive--;
  if (p->daemon)
    rt->ndaemons--;
}

/* ---- persona lookup ---------------------------------------------------- */

/* The persona whose coroutine is `L`, or NULL. */
static gs_persona_t *gs__persona_of(lua_State *L, gs_runtime_t *rt) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->threads_ref);
  lua_pushthread(L);
  lua_rawget(L, -2);
  gs_persona_t *p = lua_touserdata(L, -1);
  lua_pop(L, 2);
  return p;
}

gs_persona_t *gs_persona_current(lua_State *L, const char *fname) {
  gs_runtime_t *rt = gs_runtime_get(L);
  gs_persona_t *p = gs__persona_of(L, rt);
  if (!p)
    luaL_error(L,
               "%s: must be called from a persona (inside sim.run or sim.spawn), "
               "not from the main chunk or a plain coroutine",
               fname);
  if (p->op)
    luaL_error(L, "%s: persona %d already has %s pending", fname, (int)p->id, p->op->name);
  return p;
}

int gs_persona_yield(lua_State *L, gs_persona_t *p, const gs_op_type_t *op, void *data) {
  p->op = op;
  p->op_data = data;
  return lua_yield(L, 0);
}

void gs_persona_wake(gs_persona_t *p) {
  if (p->state == GS_P_WAITING)
    gs__ready_push(p);
}

gs_worker_t *gs_runtime_worker(gs_runtime_t *rt) {
  return &rt->worker;
}

/* ---- resuming ---------------------------------------------------------- */

/* Pushes the persona's environment table on rt->L. */
static void gs__persona_push_env(gs_persona_t *p) {
  lua_State *L = p->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->self_ref);
  lua_getfenv(L, -1);
  lua_remove(L, -2);
}

/* Moves the `n` values on top of co into a results table in the env. */
static void gs__persona_store_results(gs_persona_t *p, int n) {
  lua_State *L = p->rt->L;
  gs__persona_push_env(p);
  lua_createtable(L, n, 1);
  lua_xmove(p->co, L, n);
  for (int i = n; i >= 1; i--)
    lua_rawseti(L, -(i + 1), i); /* v_i is on top, the table i slots below it */
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  lua_setfield(L, -2, "results");
  lua_pop(L, 1);
}

/* xpcall message handler, run on the failing persona's own stack (so the
 * traceback is where the error happened): wraps the raw error value with
 * its message and traceback in a table marked with GS_ERROR_MT. */
static int gs__persona_on_error(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg)
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "err");
  lua_pushstring(L, msg);
  lua_setfield(L, -2, "msg");
  luaL_traceback(L, L, msg, 1);
  lua_setfield(L, -2, "trace");
  luaL_getmetatable(L, GS_ERROR_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* Counts an error by message; prints it with its traceback the first time. */
static void gs__persona_report_error(gs_persona_t *p, const char *msg, const char *trace) {
  lua_State *L = p->rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->rt->errors_ref);
  lua_getfield(L, -1, msg);
  lua_Integer seen = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushinteger(L, seen + 1);
  lua_setfield(L, -2, msg);
  lua_pop(L, 1);
  if (seen == 0)
    fprintf(stderr, "gofr-sim: persona %u failed: %s\n", p->id, trace);
}

/* Takes the error on top of co - a wrapper from gs__persona_on_error, or a
 * raw value when the failure happened outside the persona's xpcall - and
 * keeps the raw value (sim.run re-raises it as is) and its message. */
static void gs__persona_store_error(gs_persona_t *p) {
  lua_State *L = p->rt->L;
  int base = lua_gettop(L);
  lua_xmove(p->co, L, 1);
  int wrapped = lua_getmetatable(L, base + 1);
  if (wrapped) {
    luaL_getmetatable(L, GS_ERROR_MT);
    wrapped = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  if (wrapped) {
    lua_getfield(L, base + 1, "err");
    lua_getfield(L, base + 1, "msg");
    lua_getfield(L, base + 1, "trace");
  } else {
    lua_pushvalue(L, base + 1);
    const char *msg = lua_tostring(L, -1);
    lua_pushstring(L, msg ? msg : "(error object is not a string)");
    luaL_traceback(L, p->co, lua_tostring(L, -1), 0);
  }
  /* base+1: what came back, +2: raw error, +3: message, +4: traceback */
  if (!p->is_root)
    gs__persona_report_error(p, lua_tostring(L, base + 3), lua_tostring(L, base + 4));
  gs__persona_push_env(p);
  lua_pushvalue(L, base + 2);
  lua_setfield(L, -2, "err");
  lua_pushvalue(L, base + 3);
  lua_setfield(L, -2, "errmsg");
  lua_settop(L, base);
}

static void gs__persona_resume(gs_persona_t *p) {
  int nargs;
  if (p->op) {
    const gs_op_type_t *op = p->op;
    void *data = p->op_data;
    p->op = NULL;
    p->op_data = NULL;
    nargs = op->retvals(p->co, data);
  } else if (!p->started) {
    nargs = p->nargs;
    p->started = 1;
  } else {
    nargs = 0; /* resumed after a bare coroutine.yield */
  }
  p->state = GS_P_RUNNING;
  int status = lua_resume(p->co, nargs);
  if (status == LUA_YIELD) {
    if (p->op) {
      p->state = GS_P_WAITING;
    } else {
      lua_settop(p->co, 0); /* bare coroutine.yield: let the others run */
      gs__ready_push(p);
    }
    return;
  }
  if (status == 0 && lua_toboolean(p->co, 1)) { /* xpcall's true, then the results */
    lua_remove(p->co, 1);
    gs__persona_store_results(p, lua_gettop(p->co));
    gs__persona_finish(p, GS_END_OK);
  } else {
    if (status == 0)
      lua_settop(p->co, 2); /* xpcall's false, then the wrapped error */
    gs__persona_store_error(p);
    gs__persona_finish(p, GS_END_ERROR);
  }
}

/* The collector's floor, as Go's minimum heap: LuaJIT starts a cycle when
 * the heap reaches pause% (default 200) of what the last one left. A script
 * keeps a few hundred KiB alive (mostly the engine's own code), so at the
 * default every few hundred KiB a persona allocates cost a full mark of all
 * of it: a fifth of the CPU of an MCP call loop. Whenever the heap has
 * shrunk (a cycle has swept), the pause is set so the next cycle starts no
 * earlier than GS_GC_FLOOR_KIB above the heap, and never below LuaJIT's
 * default: at most that much more memory, none once the heap is large. */
#define GS_GC_FLOOR_KIB 4096
#define GS_GC_PAUSE_DEFAULT 200

static void gs__gc_floor(gs_runtime_t *rt) {
  int kib = lua_gc(rt->L, LUA_GCCOUNT, 0);
  if (kib < rt->gc_heap_kib) {
    int live = kib > 64 ? kib : 64;
    long pause = 100L * (live + GS_GC_FLOOR_KIB) / live;
    lua_gc(rt->L, LUA_GCSETPAUSE, pause > GS_GC_PAUSE_DEFAULT ? (int)pause : GS_GC_PAUSE_DEFAULT);
  }
  rt->gc_heap_kib = kib;
}

/* Resumes the personas that were ready when the drain began; those queued
 * meanwhile (spawned, or yielding again) wait for the next loop turn, so
 * I/O is polled between turns even if a persona never waits on any. */
static void gs__drain_cb(uv_check_t *h) {
  gs_runtime_t *rt = h->data;
  gs_persona_t *last = rt->ready_tail;
  while (rt->ready_head) {
    gs_persona_t *p = rt->ready_head;
    rt->ready_head = p->ready_next;
    if (!rt->ready_head)
      rt->ready_tail = NULL;
    p->ready_next = NULL;
    gs__persona_resume(p);
    if (p == last)
      break;
  }
  if (!rt->ready_head)
    uv_idle_stop(&rt->spin);
  gs__gc_floor(rt);
}

static void gs__spin_cb(uv_idle_t *h) {
  /* Present only to keep the poll phase from blocking while personas are ready. */
}

/* ---- finishing and aborting -------------------------------------------- */

static void gs__persona_finish(gs_persona_t *p, enum gs_persona_end end) {
  gs_runtime_t *rt = p->rt;
  p->state = GS_P_DONE;
  p->end = end;
  gs__live_remove(p);
  rt->finished++;
  if (end == GS_END_ERROR)
    rt->script_errors++;
  if (end == GS_END_ABORTED && !(p->daemon && rt->retiring))
    rt->aborted++;
  for (gs_persona_t *w = p->waiters, *next; w; w = next) {
    next = w->waiter_next;
    w->waiter_next = NULL;
    gs_persona_wake(w);
  }
  p->waiters = NULL;
  if (rt->nlive == 0)
    uv_timer_stop(&rt->grace_timer);
  if (p->on_done) {
    gs_persona_done_cb cb = p->on_done;
    p->on_done = NULL;
    cb(end == GS_END_OK      ? GS_PERSONA_RETURNED
       : end == GS_END_ERROR ? GS_PERSONA_RAISED
                             : GS_PERSONA_ABORTED,
       p->done_data);
  }
  if (rt->closing)
    return;
  /* Drop the coroutine and the anchor; the handle keeps the results. */
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->threads_ref);
  gs__persona_push_env(p);
  lua_rawgeti(L, -1, 1);
  lua_pushnil(L);
  lua_rawset(L, -4); /* threads[co] = nil */
  lua_pushnil(L);
  lua_rawseti(L, -2, 1); /* env[1] = nil */
  lua_pop(L, 2);
  p->co = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, p->self_ref);
  p->self_ref = LUA_NOREF;
}

static void gs__persona_abort(gs_persona_t *p) {
  if (p->state == GS_P_READY)
    gs__ready_remove(p);
  if (p->op) {
    const gs_op_type_t *op = p->op;
    void *data = p->op_data;
    p->op = NULL;
    p->op_data = NULL;
    op->cleanup(data);
  }
  gs__persona_finish(p, GS_END_ABORTED);
}

int gs_persona_abort_live(gs_persona_t *p) {
  if (p->state == GS_P_DONE)
    return 0;
  gs__persona_abort(p);
  return 1;
}

static void gs__runtime_abort_all(gs_runtime_t *rt) {
  /* Empty the ready queue at once rather than unlinking each persona from it
   * (a linear search); personas woken while aborting are queued anew. */
  for (gs_persona_t *p = rt->ready_head, *next; p; p = next) {
    next = p->ready_next;
    p->ready_next = NULL;
  }
  rt->ready_head = rt->ready_tail = NULL;
  while (rt->live)
    gs__persona_abort(rt->live);
}

/* ---- sleep ------------------------------------------------------------- */

typedef struct {
  uv_timer_t timer;
  gs_persona_t *p;
  uint64_t due_us; /* gs_now_us() at which the sleep is over */
  int interrupted;
} gs_sleep_t;

static void gs__sleep_free(uv_handle_t *h) {
  free(h->data);
}

/* Milliseconds to arm for the remaining time, rounded up. */
static uint64_t gs__sleep_ms(uint64_t due_us, uint64_t now_us) {
  return due_us > now_us ? (due_us - now_us + 999) / 1000 : 0;
}

/* libuv's loop clock is whole milliseconds, so a timer may fire up to 1 ms
 * early: re-arm for the rest, so that a sleep is never shorter than asked. */
static void gs__sleep_fired(uv_timer_t *t) {
  gs_sleep_t *s = t->data;
  uint64_t now = gs_now_us();
  if (now < s->due_us) {
    uv_timer_start(t, gs__sleep_fired, gs__sleep_ms(s->due_us, now), 0);
    return;
  }
  gs_persona_wake(s->p);
}

static int gs__sleep_retvals(lua_State *co, void *data) {
  gs_sleep_t *s = data;
  lua_pushboolean(co, !s->interrupted);
  uv_close((uv_handle_t *)&s->timer, gs__sleep_free);
  return 1;
}

static void gs__sleep_cleanup(void *data) {
  gs_sleep_t *s = data;
  uv_close((uv_handle_t *)&s->timer, gs__sleep_free);
}

static const gs_op_type_t gs_sleep_op = {"sim.sleep", gs__sleep_retvals, gs__sleep_cleanup};

/* sim.sleep(seconds) -> true, or false when interrupted by a stop. */
static int gs__lrt_sleep(lua_State *L) {
  double seconds = luaL_checknumber(L, 1);
  if (!(seconds >= 0) || isinf(seconds))
    return luaL_argerror(L, 1, "sim.sleep: seconds must be a finite number >= 0");
  gs_persona_t *p = gs_persona_current(L, "sim.sleep");
  gs_runtime_t *rt = p->rt;
  if (rt->stopping) {
    lua_pushboolean(L, 0);
    return 1;
  }
  gs_sleep_t *s = calloc(1, sizeof *s);
  if (!s)
    return luaL_error(L, "sim.sleep: out of memory");
  s->p = p;
  uint64_t now = gs_now_us();
  s->due_us = now + (uint64_t)ceil(seconds * 1e6);
  uv_timer_init(&rt->worker.loop, &s->timer);
  s->timer.data = s;
  uv_update_time(&rt->worker.loop);
  uv_timer_start(&s->timer, gs__sleep_fired, gs__sleep_ms(s->due_us, now), 0);
  return gs_persona_yield(L, p, &gs_sleep_op, s);
}

/* Ends the sleeps in progress early (they return false). */
static void gs__runtime_interrupt_sleeps(gs_runtime_t *rt) {
  for (gs_persona_t *p = rt->live; p; p = p->live_next) {
    if (p->op == &gs_sleep_op && p->state == GS_P_WAITING) {
      gs_sleep_t *s = p->op_data;
      uv_timer_stop(&s->timer);
      s->interrupted = 1;
      gs_persona_wake(p);
    }
  }
}

/* ---- join (sim.wait) --------------------------------------------------- */

typedef struct {
  gs_persona_t *waiter;
  gs_persona_t *target;
  int target_ref; /* anchors the target's handle until the results are read */
} gs_join_t;

gs_persona_t *gs_persona_check(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, GS_PERSONA_MT);
}

/* Pushes the outcome of finished persona `t` (its handle at index idx of L):
 * its return values, or nil, "script_error"|"aborted", message. */
static int gs__push_outcome(lua_State *L, int idx, gs_persona_t *t) {
  lua_getfenv(L, idx);
  if (t->end == GS_END_OK) {
    lua_getfield(L, -1, "results");
    lua_getfield(L, -1, "n");
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_checkstack(L, n, "sim.wait: too many results");
    for (int i = 1; i <= n; i++)
      lua_rawgeti(L, -i, i);
    lua_remove(L, -(n + 1)); /* results table */
    lua_remove(L, -(n + 1)); /* env */
    return n;
  }
  lua_pushnil(L);
  if (t->end == GS_END_ERROR) {
    lua_pushliteral(L, "script_error");
    lua_getfield(L, -3, "errmsg");
  } else {
    lua_pushliteral(L, "aborted");
    lua_pushfstring(L, "persona %d was aborted", (int)t->id);
  }
  lua_remove(L, -4);
  return 3;
}

static int gs__join_retvals(lua_State *co, void *data) {
  gs_join_t *j = data;
  lua_rawgeti(co, LUA_REGISTRYINDEX, j->target_ref);
  int base = lua_gettop(co);
  int n = gs__push_outcome(co, base, j->target);
  lua_remove(co, base);
  luaL_unref(co, LUA_REGISTRYINDEX, j->target_ref);
  free(j);
  return n;
}

static void gs__join_cleanup(void *data) {
  gs_join_t *j = data;
  gs_runtime_t *rt = j->target->rt;
  /* The waiter is being aborted: unlink it if the target has not finished. */
  for (gs_persona_t **w = &j->target->waiters; *w; w = &(*w)->waiter_next) {
    if (*w == j->waiter) {
      *w = j->waiter->waiter_next;
      break;
    }
  }
  j->waiter->waiter_next = NULL;
  if (!rt->closing)
    luaL_unref(rt->L, LUA_REGISTRYINDEX, j->target_ref);
  free(j);
}

static const gs_op_type_t gs_join_op = {"sim.wait", gs__join_retvals, gs__join_cleanup};

/* core.join(handle) -> the persona's results (see gs__push_outcome). */
static int gs__lrt_join(lua_State *L) {
  gs_persona_t *t = gs_persona_check(L, 1);
  if (t->state == GS_P_DONE)
    return gs__push_outcome(L, 1, t);
  gs_persona_t *p = gs_persona_current(L, "sim.wait");
  if (p == t)
    return luaL_error(L, "sim.wait: a persona cannot wait for itself");
  gs_join_t *j = malloc(sizeof *j);
  if (!j)
    return luaL_error(L, "sim.wait: out of memory");
  j->waiter = p;
  j->target = t;
  lua_pushvalue(L, 1);
  j->target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  p->waiter_next = t->waiters;
  t->waiters = p;
  return gs_persona_yield(L, p, &gs_join_op, j);
}

/* ---- spawn ------------------------------------------------------------- */

/* Creates a persona running the function at index `base` of L with the
 * arguments above it; pushes its handle on L. */
static gs_persona_t *gs__persona_spawn(lua_State *L, gs_runtime_t *rt, int base) {
  int nargs = lua_gettop(L) - base;
  gs_persona_t *p = lua_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  luaL_getmetatable(L, GS_PERSONA_MT);
  lua_setmetatable(L, -2);
  p->rt = rt;
  p->id = ++rt->next_id;
  p->nargs = nargs + 2; /* xpcall(fn, on_error, ...) */
  luaL_checkstack(L, nargs + 8, "sim.spawn: too many arguments");
  lua_createtable(L, 1, 2);
  p->co = lua_newthread(L);
  lua_rawseti(L, -2, 1);
  lua_setfenv(L, -2);
  /* function and arguments go to the coroutine's stack */
  /* Errors are caught inside the coroutine, by xpcall: LuaJIT 2.1.0-beta3
   * looks for an error handler beyond a lua_resume()d coroutine's bottom
   * frame and would run the caller's xpcall handler on the wrong stack. */
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->xpcall_ref);
  lua_pushvalue(L, base);
  lua_pushcfunction(L, gs__persona_on_error);
  for (int i = base + 1; i <= base + nargs; i++)
    lua_pushvalue(L, i);
  lua_xmove(L, p->co, nargs + 3);
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->threads_ref);
  lua_getfenv(L, -2);
  lua_rawgeti(L, -1, 1); /* the coroutine */
  lua_remove(L, -2);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3); /* threads[co] = handle */
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  p->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rt->spawned++;
  gs__live_add(p);
  gs__ready_push(p);
  return p;
}

/* sim.spawn(fn, ...) -> handle */
static int gs__lrt_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  gs__persona_spawn(L, gs_runtime_get(L), 1);
  return 1;
}

gs_persona_t *gs_runtime_spawn(lua_State *L, int nargs, gs_persona_done_cb on_done, void *data) {
  int base = lua_gettop(L) - nargs;
  luaL_checktype(L, base, LUA_TFUNCTION);
  gs_persona_t *p = gs__persona_spawn(L, gs_runtime_get(L), base);
  p->on_done = on_done;
  p->done_data = data;
  lua_replace(L, base); /* the handle takes the function's slot */
  lua_settop(L, base);
  return p;
}

/* ---- run, stop --------------------------------------------------------- */

static void gs__grace_expired(uv_timer_t *t) {
  gs__runtime_abort_all(t->data);
}

static void gs__runtime_stop(gs_runtime_t *rt, double grace) {
  if (!rt->stopping) {
    rt->stopping = 1;
    gs__runtime_interrupt_sleeps(rt);
  }
  if (rt->nlive == 0)
    return;
  uv_loop_t *loop = &rt->worker.loop;
  uv_update_time(loop);
  uint64_t ms = grace <= 0 ? 0 : (uint64_t)ceil(grace * 1000.0);
  if (uv_is_active((uv_handle_t *)&rt->grace_timer) && uv_now(loop) + ms >= rt->grace_due)
    return; /* an earlier deadline stands */
  rt->grace_due = uv_now(loop) + ms;
  uv_timer_start(&rt->grace_timer, gs__grace_expired, ms, 0);
}

void gs_runtime_stop(gs_runtime_t *rt) {
  gs__runtime_stop(rt, rt->grace);
}

/* Errors are printed once; say how often each happened in the end. */
static void gs__runtime_report_repeats(gs_runtime_t *rt) {
  lua_State *L = rt->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->errors_ref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_Integer count = lua_tointeger(L, -1);
    if (count > 1)
      fprintf(stderr, "gofr-sim: that persona error happened %ld times in all: %s\n", (long)count,
              lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* core.run(fn, ...) -> true, fn's results | false, fn's error. Drives the
 * loop until every persona has finished. The error is returned, not raised:
 * LuaJIT 2.1.0-beta3 can crash when a C function that re-entered the VM
 * (here: resumed personas) throws while called from a stitched trace. The
 * Lua side (sim.run) raises it. */
static int gs__lrt_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  gs_runtime_t *rt = gs_runtime_get(L);
  if (rt->running)
    return luaL_error(L, "sim.run: the loop is already running; inside a persona "
                         "sim.run is spawn + wait, elsewhere use sim.spawn");
  if (!rt->signal)
    rt->stopping = 0;
  lua_newtable(L);
  lua_rawseti(L, LUA_REGISTRYINDEX, rt->errors_ref);
  gs_persona_t *root = gs__persona_spawn(L, rt, 1);
  root->is_root = 1;
  int handle = lua_gettop(L);
  rt->running = 1;
  while (rt->nlive > rt->ndaemons) {
    int more = uv_run(&rt->worker.loop, UV_RUN_ONCE);
    if (!more && rt->nlive > rt->ndaemons && !rt->ready_head) {
      fprintf(stderr,
              "gofr-sim: deadlock: %zu persona(s) wait with nothing pending; aborting "
              "them\n",
              rt->nlive);
      gs__runtime_abort_all(rt);
    }
  }
  /* Only daemons are left: they end with the run (their cleanup hooks run). */
  rt->retiring = 1;
  gs__runtime_abort_all(rt);
  rt->retiring = 0;
  uv_run(&rt->worker.loop, UV_RUN_NOWAIT); /* let close callbacks run */
  rt->running = 0;
  gs__runtime_report_repeats(rt);
  if (root->end == GS_END_ERROR) {
    lua_pushboolean(L, 0);
    lua_getfenv(L, handle);
    lua_getfield(L, -1, "err");
    lua_remove(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1 + gs__push_outcome(L, handle, root);
}

/* core.daemon(handle) -> handle: the persona no longer keeps sim.run going;
 * once every other persona has finished, the run aborts it (its pending
 * operation is cleaned up) without counting it as aborted. For background
 * loops: servers' tickers, housekeepers, progress lines. */
static int gs__lrt_daemon(lua_State *L) {
  gs_persona_t *p = gs_persona_check(L, 1);
  if (p->is_root)
    return luaL_error(L, "sim.daemon: the function of sim.run cannot be a daemon");
  if (p->state != GS_P_DONE && !p->daemon) {
    p->daemon = 1;
    p->rt->ndaemons++;
  }
  lua_settop(L, 1);
  return 1;
}

/* core.abort(handle) -> true when the persona was live and is now aborted,
 * false when it had already finished. Its pending operation is cleaned up
 * (its I/O cancelled) and its waiters get nil, "aborted", message; personas
 * it spawned go on. A persona cannot abort itself (it would have to unwind
 * its own running coroutine): raise an error instead. */
static int gs__lrt_abort(lua_State *L) {
  gs_persona_t *p = gs_persona_check(L, 1);
  if (p->state == GS_P_RUNNING)
    return luaL_error(L, "core.abort: a persona cannot abort itself (raise an error instead)");
  lua_pushboolean(L, gs_persona_abort_live(p));
  return 1;
}

/* sim.stop([grace]) — stop starting work; personas still running after
 * `grace` seconds (default: the runtime's grace, 5 s) are aborted. */
static int gs__lrt_stop(lua_State *L) {
  gs_runtime_t *rt = gs_runtime_get(L);
  double grace = luaL_optnumber(L, 1, rt->grace);
  gs__runtime_stop(rt, grace);
  return 0;
}

static int gs__lrt_stopping(lua_State *L) {
  lua_pushboolean(L, gs_runtime_get(L)->stopping);
  return 1;
}

static int gs__lrt_now(lua_State *L) {
  lua_pushnumber(L, (double)gs_now_us() / 1e6);
  return 1;
}

static int gs__lrt_in_persona(lua_State *L) {
  lua_pushboolean(L, gs__persona_of(L, gs_runtime_get(L)) != NULL);
  return 1;
}

static int gs__lrt_set_grace(lua_State *L) {
  double grace = luaL_checknumber(L, 1);
  luaL_argcheck(L, grace >= 0, 1, "grace must be >= 0 seconds");
  gs_runtime_get(L)->grace = grace;
  return 0;
}

static void gs__count_handle(uv_handle_t *h, void *arg) {
  gs_runtime_t *rt = ((void **)arg)[0];
  size_t *n = ((void **)arg)[1];
  if (h == (uv_handle_t *)&rt->spin || h == (uv_handle_t *)&rt->drain ||
      h == (uv_handle_t *)&rt->grace_timer || h == (uv_handle_t *)&rt->sigint ||
      h == (uv_handle_t *)&rt->sigterm || uv_is_closing(h))
    return;
  if (uv_is_active(h) && uv_has_ref(h)) /* not idle pooled connections (unreferenced) */
    (*n)++;
}

/* core.stats() -> counters of the scheduler and of open I/O. */
static int gs__lrt_stats(lua_State *L) {
  gs_runtime_t *rt = gs_runtime_get(L);
  size_t handles = 0;
  void *arg[2] = {rt, &handles};
  uv_walk(&rt->worker.loop, gs__count_handle, arg);
  lua_createtable(L, 0, 10);
#define GS_FIELD(name, value)                                                                      \
  lua_pushnumber(L, (lua_Number)(value));                                                          \
  lua_setfield(L, -2, name)
  GS_FIELD("spawned", rt->spawned);
  GS_FIELD("live", rt->nlive);
  GS_FIELD("finished", rt->finished);
  GS_FIELD("script_errors", rt->script_errors);
  GS_FIELD("aborted", rt->aborted);
  GS_FIELD("handles", handles);
  GS_FIELD("transfers", gs_http_client_active(rt->worker.http));
#undef GS_FIELD
  lua_pushboolean(L, rt->stopping);
  lua_setfield(L, -2, "stopping");
  lua_pushstring(L, rt->signal == SIGINT ? "SIGINT" : rt->signal == SIGTERM ? "SIGTERM" : "");
  lua_setfield(L, -2, "signal");
  lua_rawgeti(L, LUA_REGISTRYINDEX, rt->errors_ref);
  lua_setfield(L, -2, "errors");
  return 1;
}

/* ---- signals ----------------------------------------------------------- */

struct gs_signal_hook_s {
  void (*fn)(int signum, void *data);
  void *data;
  gs_signal_hook_t *next;
};

void gs_runtime_signal(gs_runtime_t *rt, int signum, int quiet) {
  if (rt->signal || rt->stopping) {
    if (rt->signal && !quiet)
      fprintf(stderr, "gofr-sim: second signal, aborting now\n");
    rt->signal = signum;
    gs__runtime_abort_all(rt);
  } else {
    rt->signal = signum;
    if (!quiet)
      fprintf(stderr,
              "gofr-sim: %s received, stopping (in-flight work gets %.1f s; again to abort)\n",
              signum == SIGINT ? "SIGINT" : "SIGTERM", rt->grace);
    gs__runtime_stop(rt, rt->grace);
  }
  for (gs_signal_hook_t *k = rt->signal_hooks, *next; k; k = next) {
    next = k->next; /* a hook may remove itself */
    k->fn(signum, k->data);
  }
}

gs_signal_hook_t *gs_runtime_add_signal_hook(gs_runtime_t *rt, void (*fn)(int signum, void *data),
                                             void *data) {
  gs_signal_hook_t *k = malloc(sizeof *k);
  if (!k)
    return NULL;
  k->fn = fn;
  k->data = data;
  k->next = rt->signal_hooks;
  rt->signal_hooks = k;
  return k;
}

void gs_runtime_remove_signal_hook(gs_runtime_t *rt, gs_signal_hook_t *hook) {
  for (gs_signal_hook_t **at = &rt->signal_hooks; *at; at = &(*at)->next) {
    if (*at == hook) {
      *at = hook->next;
      free(hook);
      return;
    }
  }
}

static void gs__signal_cb(uv_signal_t *h, int signum) {
  gs_runtime_signal(h->data, signum, 0);
}

/* core.handle_signals() — SIGINT/SIGTERM stop the run (the executable only). */
static int gs__lrt_handle_signals(lua_State *L) {
  gs_runtime_t *rt = gs_runtime_get(L);
  if (rt->signals_installed)
    return 0;
  uv_signal_init(&rt->worker.loop, &rt->sigint);
  uv_signal_init(&rt->worker.loop, &rt->sigterm);
  rt->sigint.data = rt->sigterm.data = rt;
  uv_signal_start(&rt->sigint, gs__signal_cb, SIGINT);
  uv_signal_start(&rt->sigterm, gs__signal_cb, SIGTERM);
  uv_unref((uv_handle_t *)&rt->sigint);
  uv_unref((uv_handle_t *)&rt->sigterm);
  rt->signals_installed = 1;
  return 0;
}

/* core.signal() -> the signal number received (0 if none). */
static int gs__lrt_signal(lua_State *L) {
  lua_pushinteger(L, gs_runtime_get(L)->signal);
  return 1;
}

/* core.stdout_is_tty() -> whether standard output is a terminal (progress lines). */
static int gs__lrt_stdout_is_tty(lua_State *L) {
  lua_pushboolean(L, uv_guess_handle(1) == UV_TTY);
  return 1;
}

/* ---- runtime lifetime -------------------------------------------------- */

static int gs__runtime_gc(lua_State *L) {
  gs_runtime_t *rt = lua_touserdata(L, 1);
  rt->closing = 1;
  while (rt->signal_hooks)
    gs_runtime_remove_signal_hook(rt, rt->signal_hooks);
  gs__runtime_abort_all(rt);
  gs_worker_close(&rt->worker);
  return 0;
}

static void gs__runtime_init_handles(gs_runtime_t *rt) {
  uv_loop_t *loop = &rt->worker.loop;
  uv_idle_init(loop, &rt->spin);
  uv_check_init(loop, &rt->drain);
  uv_timer_init(loop, &rt->grace_timer);
  rt->spin.data = rt->drain.data = rt->grace_timer.data = rt;
  uv_check_start(&rt->drain, gs__drain_cb);
  uv_unref((uv_handle_t *)&rt->drain);
  uv_unref((uv_handle_t *)&rt->grace_timer);
}

gs_runtime_t *gs_runtime_get(lua_State *L) {
  lua_pushlightuserdata(L, &gs_runtime_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  gs_runtime_t *rt = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (rt)
    return rt;
  rt = lua_newuserdata(L, sizeof *rt);
  memset(rt, 0, sizeof *rt);
  int err = gs_worker_init(&rt->worker);
  if (err) {
    lua_pop(L, 1);
    luaL_error(L, "gofr_sim: cannot start the event loop: %s", gs_strerror(err));
    return NULL;
  }
  rt->worker.script = rt;
  rt->grace = 5.0;
  gs__runtime_init_handles(rt);
  luaL_newmetatable(L, GS_RUNTIME_MT);
  lua_pushcfunction(L, gs__runtime_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pushlightuserdata(L, &gs_runtime_key);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pop(L, 1);

  rt->L = lua_newthread(L);
  rt->L_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  rt->threads_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_newtable(L);
  rt->errors_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_newmetatable(L, GS_ERROR_MT);
  lua_pop(L, 1);
  lua_getglobal(L, "xpcall");
  if (!lua_isfunction(L, -1))
    luaL_error(L, "gofr_sim: the base library's xpcall is missing");
  rt->xpcall_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return rt;
}

/* ---- handle methods ---------------------------------------------------- */

/* handle:status() -> "ready"|"running"|"waiting"|"done"|"failed"|"aborted" */
static int gs__lrt_persona_status(lua_State *L) {
  gs_persona_t *p = gs_persona_check(L, 1);
  static const char *const live[] = {"ready", "running", "waiting"};
  static const char *const ended[] = {"done", "failed", "aborted"};
  lua_pushstring(L, p->state == GS_P_DONE ? ended[p->end] : live[p->state]);
  return 1;
}

static int gs__lrt_persona_id(lua_State *L) {
  lua_pushinteger(L, gs_persona_check(L, 1)->id);
  return 1;
}

static int gs__lrt_persona_tostring(lua_State *L) {
  gs_persona_t *p = gs_persona_check(L, 1);
  lua_pushfstring(L, "gofr_sim.persona(%d)", (int)p->id);
  return 1;
}

void gs_runtime_open(lua_State *L) {
  if (luaL_newmetatable(L, GS_PERSONA_MT)) {
    static const luaL_Reg methods[] = {
        {"status", gs__lrt_persona_status}, {"id", gs__lrt_persona_id}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lrt_persona_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"spawn", gs__lrt_spawn},
                                 {"join", gs__lrt_join},
                                 {"daemon", gs__lrt_daemon},
                                 {"abort", gs__lrt_abort},
                                 {"sleep", gs__lrt_sleep},
                                 {"now", gs__lrt_now},
                                 {"run", gs__lrt_run},
                                 {"stop", gs__lrt_stop},
                                 {"stopping", gs__lrt_stopping},
                                 {"in_persona", gs__lrt_in_persona},
                                 {"set_grace", gs__lrt_set_grace},
                                 {"stats", gs__lrt_stats},
                                 {"handle_signals", gs__lrt_handle_signals},
                                 {"signal", gs__lrt_signal},
                                 {"stdout_is_tty", gs__lrt_stdout_is_tty},
                                 {NULL, NULL}};
  luaL_register(L, NULL, fns);
}
