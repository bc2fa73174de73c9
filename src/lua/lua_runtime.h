/* The persona scheduler: personas are Lua coroutines run on one worker.
 *
 * A yielding primitive (sim.sleep, sim.http.request, ...) is a C function
 * that, running on a persona's coroutine:
 *   1. checks its arguments, then gets the persona with gs_persona_current()
 *      (which raises "<fname>: must be called from a persona ..." when the
 *      caller is not a persona, e.g. the main chunk outside sim.run);
 *   2. starts its I/O, whose completion callback will call gs_persona_wake();
 *   3. returns gs_persona_yield(L, p, &op_type, data).
 * When woken, the scheduler calls op->retvals on the persona's coroutine to
 * push the results, then resumes it. If the persona is aborted instead
 * (sim.stop's grace period ran out, the run is torn down), op->cleanup is
 * called: it cancels the I/O so its callback never fires, and frees data.
 * Exactly one of retvals/cleanup is called for every yield, exactly once.
 *
 * Wakes never resume a coroutine from inside the waker: the persona is queued
 * and resumed by the scheduler's drain, outside any other callback. */
#ifndef GS_LUA_RUNTIME_H
#define GS_LUA_RUNTIME_H

#include <lua.h>

#include "gs/worker.h"

typedef struct gs_runtime_s gs_runtime_t;
typedef struct gs_persona_s gs_persona_t;

typedef struct {
  const char *name; /* e.g. "sim.http.request"; used in messages */
  /* Pushes the operation's results on `co` and frees data; returns how many. */
  int (*retvals)(lua_State *co, void *data);
  /* Cancels the operation if still in flight and frees data. Must not touch Lua. */
  void (*cleanup)(void *data);
} gs_op_type_t;

/* The runtime of this lua_State (created on first use, with its worker). */
gs_runtime_t *gs_runtime_get(lua_State *L);
gs_worker_t *gs_runtime_worker(gs_runtime_t *rt);

/* The persona running `L`; raises a clear error naming fname when `L` is not
 * a persona coroutine or already has an operation pending. */
gs_persona_t *gs_persona_current(lua_State *L, const char *fname);

/* Records the pending operation and yields. Use as `return gs_persona_yield(...)`. */
int gs_persona_yield(lua_State *L, gs_persona_t *p, const gs_op_type_t *op, void *data);

/* The pending operation finished: queue the persona for resumption. */
void gs_persona_wake(gs_persona_t *p);

/* How a persona ended, for gs_persona_done_cb. */
enum { GS_PERSONA_RETURNED, GS_PERSONA_RAISED, GS_PERSONA_ABORTED };

/* Called exactly once when a persona started by gs_runtime_spawn finishes,
 * however it ends (`how` is a GS_PERSONA_* value; a raise has already been
 * reported and counted as a script error). It runs inside the scheduler,
 * possibly while the runtime is being torn down: it must not touch Lua. */
typedef void (*gs_persona_done_cb)(int how, void *data);

/* Spawns, like sim.spawn, the function below the `nargs` values on top of L
 * as a new persona with those values as its arguments (first resumed by the
 * next drain). Replaces the function and arguments with the persona's handle
 * and returns the persona. on_done (may be NULL) is called with data when it
 * finishes. Raises on a Lua memory error (nothing is spawned then); for C
 * code that must not raise (I/O callbacks), call it under lua_cpcall. */
gs_persona_t *gs_runtime_spawn(lua_State *L, int nargs, gs_persona_done_cb on_done, void *data);

/* The persona of the handle (a sim.spawn result) at index idx of L; raises
 * when the value is not one. The pointer is valid while the handle is. */
gs_persona_t *gs_persona_check(lua_State *L, int idx);

/* Aborts persona p as the end of a stop's grace period would: its pending
 * operation's cleanup runs, waiters wake with nil, "aborted", and it counts
 * as aborted. Returns 1, or 0 (and does nothing) when p has finished. p must
 * not be the persona running now: call it from a loop callback or from
 * another persona. */
int gs_persona_abort_live(gs_persona_t *p);

/* Acts on signal `signum` as on a SIGINT/SIGTERM received by the process
 * (core.handle_signals): the first stops the run (in-flight work gets the
 * grace period), a second aborts what is left. quiet: no message on stderr
 * (a worker thread, whose coordinator has said it). Then calls the signal
 * hooks. Loop thread only. */
void gs_runtime_signal(gs_runtime_t *rt, int signum, int quiet);

/* Stops the run as sim.stop() with the runtime's grace period would
 * (core.set_grace), e.g. told by a coordinator. Loop thread only. */
void gs_runtime_stop(gs_runtime_t *rt);

/* A function called with each signal the runtime acts on (after acting),
 * e.g. to pass it on to worker threads. Add returns NULL when out of
 * memory; the runtime frees the hooks left when it closes. */
typedef struct gs_signal_hook_s gs_signal_hook_t;
gs_signal_hook_t *gs_runtime_add_signal_hook(gs_runtime_t *rt, void (*fn)(int signum, void *data),
                                             void *data);
void gs_runtime_remove_signal_hook(gs_runtime_t *rt, gs_signal_hook_t *hook);

/* Opens the scheduler's functions into the table on top of the stack
 * (spawn, wait, sleep, now, run, stop, stopping, stats, ...). */
void gs_runtime_open(lua_State *L);

#endif
