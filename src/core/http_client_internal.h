/* The HTTP client's two engines behind gs/http_client.h: what
 * src/core/http_client.c (the public entry points and the libcurl engine)
 * and src/core/http1_client.c (the native HTTP/1.1 engine) share.
 *
 * Dispatch: every request struct of either engine begins with a
 * gs_http_request_t (below) whose `engine` says which engine made it, so
 * gs_http_request_free/resume find the engine from the request alone. The
 * public client (http_client.c) owns one native engine (gs_http1_t), created
 * with it and freed by gs_http_client_free. */
#ifndef GS_HTTP_CLIENT_INTERNAL_H
#define GS_HTTP_CLIENT_INTERNAL_H

#include <stddef.h>
#include <uv.h>

#include "gs/http_client.h"

/* The first member of each engine's request; engine is GS_HTTP_ENGINE_CURL
 * or GS_HTTP_ENGINE_NATIVE, never AUTO. */
struct gs_http_request_s {
  int engine;
};

#define GS_HTTP_USER_AGENT "gofr-sim/0.1"
#define GS_HTTP_PRESIZE_MAX (64u << 20) /* trust Content-Length up to this */
#define GS_HTTP_MAX_HEADER_LINE 102400  /* libcurl 7.88's CURL_MAX_HTTP_HEADER */
#define GS_HTTP_MAX_HEADER_BLOCK (3 * GS_HTTP_MAX_HEADER_LINE) /* and its whole-head limit */
#define GS_HTTP_IDLE_TIMEOUT 118.0 /* seconds, as curl's CURLOPT_MAXAGE_CONN default */

/* True for the methods whose request may be re-sent on a new connection
 * when a reused one closed before any response byte (RFC 9110's idempotent
 * methods: GET, HEAD, OPTIONS, PUT, DELETE, TRACE). Both engines' re-send
 * rule (gs/http_client.h). */
int gs_http_method_idempotent(const char *method);

/* The native engine of one client. Owned by that client. */
typedef struct gs_http1_s gs_http1_t;

/* Creates the engine on `loop`. Returns 0 or GS_ENOMEM. */
int gs_http1_new(uv_loop_t *loop, gs_http1_t **out);

/* Cancels and frees every request still alive (no callback runs), closes
 * every connection and frees the engine once the close callbacks have run
 * (the loop must run). */
void gs_http1_free(gs_http1_t *h1);

/* Starts a request on an http:// URL (the caller checked the other
 * options and chose this engine). Same contract as gs_http_request_start;
 * *out begins with engine = GS_HTTP_ENGINE_NATIVE. Returns 0, GS_EINVAL (a
 * URL curl would refuse, not http://, a bad host or port) or GS_ENOMEM. */
int gs_http1_start(gs_http1_t *h1, const gs_http_request_opts_t *opts, gs_http_done_cb cb,
                   void *data, gs_http_request_t **out);

/* gs_http_request_free / gs_http_request_resume of a native request. */
void gs_http1_request_free(gs_http_request_t *req);
int gs_http1_request_resume(gs_http_request_t *req);

/* Requests in flight. */
size_t gs_http1_active(const gs_http1_t *h1);

/* Bytes written and read on the engine's connections so far. */
void gs_http1_bytes(const gs_http1_t *h1, uint64_t *sent, uint64_t *received);

/* See gs_http_client_set_limits (idle_timeout_secs <= 0: unchanged). */
void gs_http1_set_limits(gs_http1_t *h1, size_t max_conns_per_origin, double idle_timeout_secs);

#endif
