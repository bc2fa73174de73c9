/* A worker: one libuv loop and the HTTP client running on it.
 *
 * Ownership: the worker owns its loop and its HTTP client; `script` belongs
 * to the scripting layer, which must tear its state down before
 * gs_worker_close (the worker never touches it). */
#include "gs/worker.h"

#include "gs/error.h"

#include <signal.h>

int gs_worker_init(gs_worker_t *w) {
  if (!w)
    return GS_EINVAL;
  /* A peer that closes a socket we are writing to must be an EPIPE on that
   * write, never a signal that kills the process (a server's client going
   * away mid-response). The disposition is process-wide; setting it again
   * is harmless. */
  signal(SIGPIPE, SIG_IGN);
  w->http = NULL;
  w->script = NULL;
  int rc = uv_loop_init(&w->loop);
  if (rc != 0)
    return rc == UV_ENOMEM ? GS_ENOMEM : GS_EIO;
  rc = gs_http_client_new(&w->loop, &w->http);
  if (rc != 0) {
    uv_loop_close(&w->loop);
    return rc;
  }
  return 0;
}

static void gs__worker_close_handle(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL); /* leftovers whose owner forgot them: nothing to free */
}

void gs_worker_close(gs_worker_t *w) {
  if (!w)
    return;
  gs_http_client_free(w->http); /* its close callbacks run in the loop below */
  w->http = NULL;
  /* Close whatever is left, run the close callbacks (they free memory),
   * repeat in case a callback opened something new. */
  do {
    uv_walk(&w->loop, gs__worker_close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
  } while (uv_loop_close(&w->loop) == UV_EBUSY);
}

uint64_t gs_now_us(void) {
  return uv_hrtime() / 1000;
}
