/* A worker: one libuv loop and the I/O engines that run on it.
 *
 * The worker owns its loop and its HTTP client. The scripting layer hangs
 * its own state (the lua_State and the personas) off `script`; the core
 * never looks inside it. No globals: several workers may run in one process,
 * one per thread. */
#ifndef GS_WORKER_H
#define GS_WORKER_H

#include <stdint.h>
#include <uv.h>

#include "gs/http_client.h"

typedef struct gs_worker_s {
  uv_loop_t loop;
  gs_http_client_t *http;
  void *script; /* owned by the scripting layer */
} gs_worker_t;

/* Initialises the loop and the HTTP client. Returns 0 or GS_E*. */
int gs_worker_init(gs_worker_t *w);

/* Frees the HTTP client, closes every remaining handle, runs the loop until
 * they are closed and closes the loop. */
void gs_worker_close(gs_worker_t *w);

/* Monotonic clock in microseconds. */
uint64_t gs_now_us(void);

#endif
