/* Embedded HTTP/1.1 server: libuv TCP + the http-parser library.
 *
 * A server accepts connections on host:port and hands each complete request
 * to on_request as a gs_http_exchange_t. The handler answers at once or
 * later (a timer, another I/O) with gs_http_exchange_respond() or the
 * begin/write/end streaming calls; until it does, the connection reads no
 * further requests (pipelined requests wait their turn). Keep-alive follows
 * the request's HTTP version and Connection header.
 *
 * Limits (every one has a default; docs/server.md, docs/reliability.md):
 * - a header block (trailer fields included) over max_header_bytes gets 431,
 *   a body over max_body_bytes gets 413, a malformed request gets 400; each
 *   then closes. Parsing is http-parser's plus the RFC 9112 checks it does
 *   not make: LF without CR, obs-fold (a header line starting with SP/HTAB)
 *   and whitespace in a field name (also before the colon) get 400.
 * - Trailer fields of a chunked request are read, counted against
 *   max_header_bytes and discarded: handlers never see them.
 * - The header block must arrive within header_timeout_ms of the request's
 *   first byte (of the accept, for a connection's first request), and body
 *   bytes must not pause longer than idle_timeout_ms: else 408 and close.
 * - A keep-alive connection idle for idle_timeout_ms is closed.
 * - Output that makes no progress (no write completes) for
 *   write_timeout_ms closes the connection (the exchange is aborted).
 * - Over max_connections open connections, a new one gets 503 and is
 *   closed; while as many again are still being turned away, further ones
 *   are closed at once.
 * - Back-pressure: while more than max_output_bytes are queued for a
 *   connection, pipelined requests are not parsed, and handlers that stream
 *   wait for on_drain (gs_http_exchange_congested) instead of writing on.
 * - A peer that half-closes (sends FIN) still gets the answers to every
 *   complete request it sent; the connection closes after the last one. A
 *   peer that is gone entirely is noticed when a write fails (the exchange is
 *   aborted then) or when the server closes.
 *
 * Threading: everything runs on the loop's thread. */
#ifndef GS_HTTP_SERVER_H
#define GS_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct gs_http_server_s gs_http_server_t;
typedef struct gs_http_exchange_s gs_http_exchange_t;

typedef struct {
  const char *name; /* request headers: lower-cased by the server */
  const char *value;
} gs_http_header_t;

typedef struct {
  const char *method; /* "GET", "HEAD", ... */
  const char *target; /* raw request target as sent ("/a/b?x=1"), NUL-terminated */
  size_t target_len;
  const gs_http_header_t *headers;
  size_t nheaders;
  const char *body; /* NUL-terminated; body_len bytes */
  size_t body_len;
  int http_major, http_minor;
  int keep_alive; /* the connection stays open after the response */
} gs_http_request_info_t;

/* A request arrived. `req` and everything it points to stay valid until the
 * exchange is answered or aborted. */
typedef void (*gs_http_handler_cb)(gs_http_exchange_t *ex, const gs_http_request_info_t *req,
                                   void *data);

/* The connection went away (peer closed, server closing) before the handler
 * finished answering. The exchange is invalid once this returns: cancel any
 * timer or work that would touch it. */
typedef void (*gs_http_abort_cb)(gs_http_exchange_t *ex, void *data);

typedef void (*gs_http_server_closed_cb)(void *data);

/* The callback of gs_http_exchange_on_drain. */
typedef void (*gs_http_drain_cb)(gs_http_exchange_t *ex, void *data);

#define GS_HTTP_DEFAULT_MAX_HEADER (16 * 1024)
#define GS_HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define GS_HTTP_DEFAULT_MAX_OUTPUT (1024 * 1024)
#define GS_HTTP_DEFAULT_MAX_CONNECTIONS 10000
#define GS_HTTP_DEFAULT_HEADER_TIMEOUT_MS 10000
#define GS_HTTP_DEFAULT_IDLE_TIMEOUT_MS 60000
#define GS_HTTP_DEFAULT_WRITE_TIMEOUT_MS 30000

/* Zero fields take the GS_HTTP_DEFAULT_* values. */
typedef struct {
  const char *host;           /* "127.0.0.1" when NULL */
  int port;                   /* 0: the OS picks one; read it with gs_http_server_port */
  size_t max_header_bytes;    /* 16 KiB */
  size_t max_body_bytes;      /* 1 MiB */
  size_t max_output_bytes;    /* 1 MiB queued per connection: the back-pressure mark */
  size_t max_connections;     /* 10000 */
  uint64_t header_timeout_ms; /* 10 s */
  uint64_t idle_timeout_ms;   /* 60 s */
  uint64_t write_timeout_ms;  /* 30 s */
  gs_http_handler_cb on_request;
  void *data;
} gs_http_server_opts_t;

/* Binds and listens. Returns 0, GS_EADDRINUSE (the address is taken),
 * GS_EADDR (bind or listen failed otherwise), GS_EINVAL or GS_ENOMEM. */
int gs_http_server_start(uv_loop_t *loop, const gs_http_server_opts_t *opts,
                         gs_http_server_t **out);

int gs_http_server_port(const gs_http_server_t *srv);

/* Stops listening, aborts every open exchange (their abort callbacks run),
 * closes every connection, and frees the server once all handles are closed;
 * then calls on_closed (may be NULL). */
void gs_http_server_close(gs_http_server_t *srv, gs_http_server_closed_cb on_closed, void *data);

/* Open connections, not counting those being turned away with 503. */
size_t gs_http_server_connections(const gs_http_server_t *srv);

/* Registers the abort callback of an exchange whose answer is deferred. */
void gs_http_exchange_on_abort(gs_http_exchange_t *ex, gs_http_abort_cb cb, void *data);

/* Answers with a complete response. Adds Content-Length, Date and, when the
 * connection closes, "Connection: close". For HEAD requests the body is not
 * sent (Content-Length still tells its length). Copies everything; the
 * exchange is finished and invalid after the call. Returns 0 or GS_E*. */
int gs_http_exchange_respond(gs_http_exchange_t *ex, int status, const gs_http_header_t *headers,
                             size_t nheaders, const char *body, size_t body_len);

#define GS_HTTP_CHUNKED ((int64_t)-1)

/* Streaming: sends the status line and headers. content_length >= 0 sends
 * Content-Length; GS_HTTP_CHUNKED uses chunked transfer encoding. */
int gs_http_exchange_begin(gs_http_exchange_t *ex, int status, const gs_http_header_t *headers,
                           size_t nheaders, int64_t content_length);
/* Sends body bytes (copied). */
int gs_http_exchange_write(gs_http_exchange_t *ex, const char *data, size_t len);
/* Finishes the response; the exchange is invalid afterwards. */
int gs_http_exchange_end(gs_http_exchange_t *ex);

/* 1 when more than max_output_bytes wait in the connection's output queue:
 * a streaming handler should stop writing and wait for on_drain. */
int gs_http_exchange_congested(const gs_http_exchange_t *ex);

/* Calls cb once, when the output queue has drained to max_output_bytes / 2
 * or less; register it only while congested (a write is then in flight).
 * The abort callback, not cb, runs if the connection goes away first.
 * Registering again replaces the previous callback. */
void gs_http_exchange_on_drain(gs_http_exchange_t *ex, gs_http_drain_cb cb, void *data);

/* Closes the connection without (finishing the) answer. The exchange is
 * invalid afterwards; its abort callback is not called. */
void gs_http_exchange_drop(gs_http_exchange_t *ex);

/* The loop the exchange's server runs on (for handlers that start timers). */
uv_loop_t *gs_http_exchange_loop(const gs_http_exchange_t *ex);

/* Reason phrase for a status code ("OK", "Not Found", ...; "Unknown"). */
const char *gs_http_status_text(int status);

#endif
