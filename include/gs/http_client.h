/* Asynchronous HTTP client on a libuv loop, with two engines behind one API.
 *
 *   - native (src/core/http1_client.c): HTTP/1.1 on libuv + http-parser for
 *     http:// URLs. Per-origin pools of keep-alive connections shared by all
 *     requests and personas, idle expiry, an optional cap per origin. A
 *     request whose REUSED connection fails before any response byte is
 *     re-sent once on a new connection only when its method is idempotent
 *     (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) or opts->retry_unsafe is set;
 *     otherwise it fails with GS_ERESET and is not re-sent (libcurl would
 *     re-send it silently). res->connection_retries counts the re-sends. It
 *     does not follow a redirect to https://: that fails with GS_EPROTO
 *     naming the URL (use engine = GS_HTTP_ENGINE_CURL for such targets).
 *   - curl (src/core/http_client.c): libcurl's multi-socket API for https://,
 *     proxies, and whenever a request asks for it. All easy handles share the
 *     multi's connection cache.
 * Both give the same response shape, error types and messages' meaning.
 * Thousands of transfers may be in flight at once.
 *
 * Threading: everything here runs on the loop's thread. */
#ifndef GS_HTTP_CLIENT_H
#define GS_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct gs_http_client_s gs_http_client_t;
typedef struct gs_http_request_s gs_http_request_t;
typedef struct gs_http_response_s gs_http_response_t;

/* Returned by a gs_http_data_cb that cannot take the bytes now. */
#define GS_HTTP_PAUSE 1

/* Streaming: receives the final response's body as it arrives, in pieces of
 * any size, instead of the request buffering it (the done callback's
 * res->body is then ""). `head` holds the final response's status, headers,
 * effective_url and connection_retries so far (the other fields are zero);
 * it and `bytes` are valid
 * only during the call. max_body still counts every byte delivered. The
 * callback runs on the loop's thread from inside the engine (and from inside
 * gs_http_request_resume): it must not start, free or resume requests of
 * this client. Returns 0 when it took the bytes, or GS_HTTP_PAUSE to refuse
 * them for now: the transfer pauses (nothing more is read from the
 * connection, the timeout keeps running) and the same bytes are offered again
 * after gs_http_request_resume(). Redirect and 1xx bodies are never
 * delivered. The final response's head comes first, as a call with len 0
 * as soon as its header block has ended (before any body byte: a stream
 * may stay silent long); its return value is then ignored. */
typedef int (*gs_http_data_cb)(gs_http_request_t *req, const gs_http_response_t *head,
                               const char *bytes, size_t len, void *data);

/* Which engine runs a request (gs_http_request_opts_t.engine). AUTO: native
 * for an http:// URL when no proxy is configured in the environment
 * (http_proxy, HTTP_PROXY, all_proxy or ALL_PROXY non-empty when the
 * client was created: curl, which honours them), curl otherwise. NATIVE with a URL that is not
 * http:// is GS_EINVAL. */
enum { GS_HTTP_ENGINE_AUTO = 0, GS_HTTP_ENGINE_CURL, GS_HTTP_ENGINE_NATIVE };

typedef struct {
  const char *method;         /* "GET" when NULL */
  const char *url;            /* required */
  const char *const *headers; /* "Name: value" lines; copied by start */
  size_t nheaders;
  const char *body; /* copied by start; may be NULL */
  size_t body_len;
  double timeout;          /* whole transfer, seconds; <= 0 means none */
  double connect_timeout;  /* seconds; <= 0 means curl's default */
  int follow_redirects;    /* non-zero: follow up to max_redirects */
  long max_redirects;      /* used when following; <= 0 means 10 */
  size_t max_body;         /* bytes; 0 means unlimited */
  int path_as_is;          /* non-zero: send "/../" and "/./" segments unchanged */
  gs_http_data_cb on_data; /* non-NULL: stream the body to it (called with the start's data) */
  int engine;              /* GS_HTTP_ENGINE_*; 0 (AUTO) when zeroed */
  int retry_unsafe;        /* non-zero: a non-idempotent request may be re-sent on a new
                              connection when its reused one fails before any response byte
                              (both engines: the re-send rule above) */
  int unmetered;           /* non-zero: its bytes are left out of gs_http_client_bytes (the
                              embedded twin's own page fetches are not the run's traffic) */
} gs_http_request_opts_t;

/* Phase durations in seconds, each measured from the previous phase's end
 * (dns: name lookup; connect: TCP; tls: handshake, 0 for plain HTTP; ttfb:
 * request sent until the first response byte; total: the whole transfer
 * including redirects). Reused connections have dns = connect = 0. */
typedef struct {
  double dns, connect, tls, ttfb, total;
} gs_http_timings_t;

/* The done callback's response and its strings (error_message, headers,
 * body, effective_url) are owned by the request: valid until
 * gs_http_request_free(); copy them to keep them. (A data callback's head is
 * valid only during that call.) */
struct gs_http_response_s {
  int error;                 /* 0 or GS_E* (see gs/error.h) */
  const char *error_message; /* NUL-terminated detail when error != 0, else "" */
  long status;               /* final HTTP status, 0 when no response */
  const char *headers;       /* raw header lines of the final response, status line excluded,
                                each "Name: value\r\n"; NUL-terminated */
  size_t headers_len;
  const char *body; /* body bytes received; NUL-terminated for convenience */
  size_t body_len;
  long redirects;            /* redirects followed */
  long new_connections;      /* connections opened for this request (0: all reused) */
  long connection_retries;   /* times the request was re-sent on a new connection because a
                                reused keep-alive connection failed before any response byte
                                (native engine; always 0 on curl's) */
  const char *effective_url; /* last URL used */
  gs_http_timings_t timings;
};

/* Called once when a transfer ends, successfully or not. The response and
 * the request stay valid until gs_http_request_free(); the callback may free
 * the request itself. Never called for a request freed before it ended. */
typedef void (*gs_http_done_cb)(gs_http_request_t *req, const gs_http_response_t *res, void *data);

/* Creates a client on `loop`. Returns 0 or GS_E*. */
int gs_http_client_new(uv_loop_t *loop, gs_http_client_t **out);

/* Owners should free their requests first. Any request still alive is
 * cancelled and freed here (its callback is not called; its owner must not
 * touch it again). Closes the libuv handles and frees the client once they
 * are closed: the loop must run for the close callbacks to fire. */
void gs_http_client_free(gs_http_client_t *client);

/* Starts a transfer. On success *out is the request, owned by the caller
 * until gs_http_request_free(). Strings in opts are copied. Returns 0 or
 * GS_EINVAL (bad option, e.g. URL curl refuses, or engine NATIVE with a URL
 * that is not http://) / GS_ENOMEM. */
int gs_http_request_start(gs_http_client_t *client, const gs_http_request_opts_t *opts,
                          gs_http_done_cb cb, void *data, gs_http_request_t **out);

/* Frees a request. If it is still in flight it is cancelled first and its
 * callback will never be called. Safe to call from inside the callback. */
void gs_http_request_free(gs_http_request_t *req);

/* Resumes a transfer its data callback paused; nothing when it is not
 * paused or has ended. The data callback may run before this returns.
 * Returns 0, or GS_ENETWORK when the engine refuses. */
int gs_http_request_resume(gs_http_request_t *req);

/* Connection limits of both engines: at most max_conns_per_origin
 * connections to one host:port (0: unlimited, the default; requests over it
 * wait for a free connection, their timeout running), and idle keep-alive
 * connections older than idle_timeout_secs are closed (default 118 s, as
 * curl's CURLOPT_MAXAGE_CONN; <= 0 keeps the current value). Applies to
 * requests started afterwards. Returns 0 or GS_EINVAL. */
int gs_http_client_set_limits(gs_http_client_t *client, size_t max_conns_per_origin,
                              double idle_timeout_secs);

/* Transfers currently in flight on this client (both engines). */
size_t gs_http_client_active(const gs_http_client_t *client);

/* Bytes this client has written to and read from the network since it was
 * created, both engines (request and response heads and bodies, re-sends
 * and redirects included; TLS overhead not): the native engine counts every
 * write and read; libcurl's transfers add what they report when they end
 * or are cancelled (CURLINFO_REQUEST_SIZE; HEADER_SIZE + SIZE_DOWNLOAD).
 * k6's data_sent / data_received. Requests with opts->unmetered are left out.
 * Either pointer may be NULL. */
void gs_http_client_bytes(const gs_http_client_t *client, uint64_t *sent, uint64_t *received);

#endif
