/* The native HTTP/1.1 client engine: libuv streams + http-parser, for
 * http:// URLs (see gs/http_client.h for when it is chosen and
 * http_client_internal.h for its contract with http_client.c).
 *
 * How it fits together:
 *   - origins: one gs__h1_origin_t per "host:port", in a hash table, each
 *     with a LIFO stack of idle keep-alive connections, its count of open
 *     connections (for the optional cap) and a queue of requests waiting for
 *     a connection under that cap; origins live as long as the engine;
 *   - connections (gs__h1_conn_t: uv_tcp_t + http_parser) carry one request
 *     at a time; idle ones stay in their origin's stack and in the engine's
 *     idle list (oldest first), swept for the idle timeout whenever a request
 *     starts or a connection goes idle. A connection is read from its first
 *     request to its close, idle or not (no epoll_ctl per request): an idle
 *     one the server closes or writes to is closed as the loop sees it. Idle
 *     handles are unreferenced, so an idle pool does not keep the loop alive;
 *     one idle for GS__H1_PEEK_AFTER_NS or more is also peeked at before
 *     reuse (as curl checks its cached connections), for a close the loop has
 *     not polled for yet (the loop was not running: the REPL between lines);
 *   - reading uses one engine-wide buffer (gs__h1_alloc): bytes are parsed
 *     synchronously in the read callback, so an idle connection holds no
 *     read buffer; what must outlive the callback (body bytes a paused
 *     stream refused) is copied into the request;
 *   - requests are written once: built in an engine-wide scratch buffer,
 *     uv_try_write first, and only an unwritten rest is copied for uv_write;
 *   - each request has one timer: the total and connect deadlines, and
 *     "finish soon" (an outcome found where the done callback must not run,
 *     e.g. inside gs_http1_start or gs_http1_request_resume);
 *   - freed requests are kept (up to GS__H1_SPARE_MAX) with their timer and
 *     small buffers for the next start: no allocation per request on the
 *     steady state beyond response bytes; parsed URLs are cached by string.
 * Done callbacks run from a read, write, connect, resolve or timer callback
 * of this engine, after the request left its connection, so they may start
 * and free requests. Data callbacks run inside the parse and may only take
 * or refuse bytes.
 *
 * The re-send rule: a request written on a reused connection that gets EOF,
 * ECONNRESET or EPIPE before any response byte is re-sent once on a new
 * connection when its method is idempotent or opts->retry_unsafe is set
 * (counted in res->connection_retries), and otherwise fails with GS_ERESET
 * without being re-sent. On a new connection the same failure is curl's
 * "Empty reply from server" (GS_EPROTO) or a reset (GS_ENETWORK), never a
 * re-send.
 *
 * Ownership:
 *   - the engine owns origins, connections, spare requests, the URL cache,
 *     the read and scratch buffers and the idle timer; it frees itself when
 *     its last handle is closed after gs_http1_free;
 *   - a connection's memory is freed in its close callback; it owns the
 *     unwritten rest of a request (out) until the write callback;
 *   - a request owns its option copies and response buffers, which the
 *     response points into until gs_http1_request_free() (the caller owns the
 *     request until then); its struct is freed in its timer's close callback
 *     or kept as a spare. */
#include <curl/curl.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gs/buf.h"
#include "gs/error.h"
#include "http_client_internal.h"

#define GS__H1_READ_BUF 65536
#define GS__H1_SPARE_MAX 1024            /* freed request structs kept for reuse */
#define GS__H1_KEEP_BODY 4096            /* a spare keeps response buffers up to this */
#define GS__H1_SCRATCH_KEEP 65536        /* the scratch buffer shrinks back to this */
#define GS__H1_URL_CACHE 64              /* parsed URLs remembered (direct-mapped) */
#define GS__H1_DNS_TTL_NS 60000000000ull /* curl's DNS cache timeout, 60 s */
#define GS__H1_MAX_ADDRS 4
#define GS__H1_CONNECT_DEFAULT 300.0    /* seconds, curl's default connect timeout */
#define GS__H1_PEEK_AFTER_NS 1000000ull /* idle this long (1 ms): peek before reuse */

typedef struct gs__h1_conn_s gs__h1_conn_t;
typedef struct gs__h1_origin_s gs__h1_origin_t;
typedef struct gs__h1_req_s gs__h1_req_t;

/* A parsed http:// URL; every string owned by the cache entry. */
typedef struct {
  char *url;      /* the string it was parsed from (the cache key) */
  int path_as_is; /* part of the key */
  char *host;     /* as in the URL, IPv6 with brackets */
  int port;
  char *hosthdr; /* Host header value: host, plus ":port" unless 80 */
  char *target;  /* path and query, "/" at least */
  char *key;     /* origin key "host:port" */
  char *full;    /* normalised URL without fragment: the effective URL */
} gs__h1_url_t;

struct gs__h1_origin_s {
  char *key;
  char *name; /* host to connect to, without brackets */
  int port;
  int literal; /* name is an IP literal: addrs[0] is fixed */
  struct sockaddr_storage addrs[GS__H1_MAX_ADDRS];
  int naddrs;
  uint64_t resolved_at;                /* ns; names only */
  gs__h1_conn_t *idle;                 /* idle connections, most recent first */
  size_t nconns;                       /* open connections (any state) */
  gs__h1_req_t *wait_head, *wait_tail; /* requests waiting under the cap */
  gs__h1_origin_t *next;               /* hash chain */
};

enum { GS__H1_CONNECTING = 1, GS__H1_BUSY, GS__H1_IDLE };

/* One resolution in flight; outlives its connection if that closes first. */
typedef struct {
  uv_getaddrinfo_t req;
  gs__h1_conn_t *conn; /* NULL once the connection gave up on it */
} gs__h1_resolve_t;

struct gs__h1_conn_s {
  uv_tcp_t tcp;
  union {
    uv_connect_t connect;
    uv_write_t write;
  } u;
  http_parser parser;
  gs_http1_t *h1;
  gs__h1_origin_t *origin;
  gs__h1_req_t *req;            /* the request on it; NULL when idle */
  gs__h1_conn_t *next;          /* origin's idle stack */
  gs__h1_conn_t *iprev, *inext; /* engine's idle list, oldest first */
  gs__h1_resolve_t *resolving;
  char *out; /* unwritten request bytes while a uv_write is pending */
  size_t out_len;
  int out_metered; /* out's bytes count in gs_http_client_bytes */
  uint64_t idle_since;
  int state;
  int addr_i;  /* address being tried */
  int served;  /* responses completed on it: > 0 means a reused connection */
  int writing; /* a uv_write is pending */
  int closing;
  int in_idle; /* in the idle lists */
  int reading; /* uv_read_start is in effect */
};

struct gs__h1_req_s {
  gs_http_request_t pub; /* engine = GS_HTTP_ENGINE_NATIVE */
  gs_http1_t *h1;
  gs__h1_req_t *prev, *next;   /* h1->live (in use) or h1->spare (next only) */
  gs__h1_req_t *wprev, *wnext; /* origin's wait queue */
  gs__h1_origin_t *origin, *first_origin;
  gs__h1_conn_t *conn;
  uv_timer_t timer;
  gs_http_done_cb cb;
  gs_http_data_cb on_data;
  void *data;
  /* the request */
  gs_buf_t method, target, hosthdr, url; /* url: current (effective) URL */
  gs_buf_t hdrs;                         /* caller's lines to send, each ending CRLF */
  gs_buf_t body;
  int send_body;
  int has_host, has_ua, has_accept, has_ctype, has_clen;
  int follow, path_as_is, retry_unsafe, unmetered;
  long max_redirects;
  size_t max_body;
  double connect_timeout;
  uint64_t deadline; /* ns, 0: none */
  /* progress */
  int in_flight; /* started, not finished, not freed */
  int waiting;   /* in origin's wait queue */
  int force_new; /* the next connection must be a new one (re-send) */
  int got_byte;  /* a response byte arrived on the current connection */
  int finishing; /* the timer will finish it with fin_err */
  int fin_err;
  uint64_t t_start, t_hop, t_dns, t_conn, t_send, t_first;
  int hop_new_conn; /* the current hop opened its connection */
  /* the response being parsed */
  gs_buf_t head;     /* "Name: value\r\n" lines of the current response */
  gs_buf_t rbody;    /* buffered body */
  gs_buf_t held;     /* body bytes the data callback refused (paused) */
  size_t line_len;   /* bytes of the header line being read */
  size_t head_bytes; /* bytes of the current header block */
  int in_value;      /* the last header callback was a value */
  int head_done;     /* the final (non-1xx) head is in */
  int discard;       /* a redirect being followed: its body is dropped */
  int msg_done, keep_alive, paused, complete_held;
  int perr; /* set by a parser callback: GS_E* to fail with */
  long status;
  size_t received;
  char errmsg[512];
  gs_http_response_t res;
};

struct gs_http1_s {
  uv_loop_t *loop;
  http_parser_settings settings;
  gs__h1_origin_t **origins;
  size_t norigin_slots, norigins;
  gs__h1_req_t *live;  /* requests not freed */
  gs__h1_req_t *spare; /* freed, kept for reuse */
  size_t nspare;
  gs__h1_conn_t *idle_head, *idle_tail;
  size_t active;
  size_t max_per_origin;
  uint64_t idle_ns;
  gs_buf_t scratch;
  gs__h1_url_t *urls[GS__H1_URL_CACHE];
  size_t pending_closes;
  uint64_t bytes_sent, bytes_received; /* on every connection, since creation */
  int closing;
  int rbuf_busy;
  char rbuf[GS__H1_READ_BUF];
};

static void gs__h1_acquire(gs__h1_req_t *req, uint64_t now);
static void gs__h1_send(gs__h1_req_t *req, gs__h1_conn_t *conn);
static void gs__h1_conn_close(gs__h1_conn_t *conn);
static void gs__h1_conn_connect(gs__h1_conn_t *conn);
static void gs__h1_arm_timer(gs__h1_req_t *req, uint64_t now);
static void gs__h1_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void gs__h1_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void gs__h1_fail(gs__h1_req_t *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *gs__h1_str(const gs_buf_t *b) {
  return b->p ? b->p : "";
}

static int gs__h1_set(gs_buf_t *b, const char *s, size_t n) {
  gs_buf_clear(b);
  return gs_buf_add(b, s, n);
}

static long gs__h1_ms(uint64_t ns) {
  return (long)(ns / 1000000u);
}

/* ---- URLs ------------------------------------------------------------ */

static void gs__h1_url_free(gs__h1_url_t *u) {
  if (!u)
    return;
  free(u->url);
  free(u->host);
  free(u->hosthdr);
  free(u->target);
  free(u->key);
  free(u->full);
  free(u);
}

static size_t gs__h1_hash(const char *s, size_t salt) {
  size_t h = 1469598103934665603ull ^ salt;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Parses an absolute http:// URL the way curl does (dot segments removed
 * unless path_as_is, fragment dropped). Returns 0, GS_EINVAL (refused, not
 * http, bad host or port) or GS_ENOMEM. */
static int gs__h1_url_parse(const char *url, int path_as_is, gs__h1_url_t **out) {
  *out = NULL;
  CURLU *u = curl_url();
  if (!u)
    return GS_ENOMEM;
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *full = NULL;
  int rc = GS_EINVAL;
  gs__h1_url_t *r = NULL;
  if (curl_url_set(u, CURLUPART_URL, url, path_as_is ? CURLU_PATH_AS_IS : 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || strcmp(scheme, "http") != 0 ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0] ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
    goto done;
  char *end;
  long pn = strtol(port, &end, 10);
  if (*end || pn <= 0 || pn > 65535)
    goto done;
  (void)curl_url_get(u, CURLUPART_PATH, &path, 0);
  (void)curl_url_get(u, CURLUPART_QUERY, &query, 0);
  curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
  rc = GS_ENOMEM;
  if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
    goto done;
  if (!(r = calloc(1, sizeof *r)))
    goto done;
  r->port = (int)pn;
  r->path_as_is = path_as_is;
  const char *p = path && path[0] ? path : "/";
  size_t tl = strlen(p) + (query ? strlen(query) + 1 : 0) + 1;
  size_t hl = strlen(host) + 8;
  r->url = strdup(url);
  r->host = strdup(host);
  r->full = strdup(full);
  r->target = malloc(tl);
  r->hosthdr = malloc(hl);
  r->key = malloc(hl);
  if (!r->url || !r->host || !r->full || !r->target || !r->hosthdr || !r->key)
    goto done;
  snprintf(r->target, tl, "%s%s%s", p, query ? "?" : "", query ? query : "");
  if (pn == 80)
    snprintf(r->hosthdr, hl, "%s", host);
  else
    snprintf(r->hosthdr, hl, "%s:%ld", host, pn);
  snprintf(r->key, hl, "%s:%ld", host, pn);
  *out = r;
  r = NULL;
  rc = 0;
done:
  gs__h1_url_free(r);
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_free(full);
  curl_url_cleanup(u);
  return rc;
}

/* The cached parse of url (owned by the cache, valid until the next
 * lookup), parsing it on a miss. */
static int gs__h1_url_get(gs_http1_t *h1, const char *url, int path_as_is,
                          const gs__h1_url_t **out) {
  size_t i = gs__h1_hash(url, (size_t)path_as_is) % GS__H1_URL_CACHE;
  gs__h1_url_t *e = h1->urls[i];
  if (e && e->path_as_is == path_as_is && strcmp(e->url, url) == 0) {
    *out = e;
    return 0;
  }
  gs__h1_url_t *n;
  int rc = gs__h1_url_parse(url, path_as_is, &n);
  if (rc)
    return rc;
  gs__h1_url_free(e);
  h1->urls[i] = n;
  *out = n;
  return 0;
}

/* ---- origins --------------------------------------------------------- */

static gs__h1_origin_t *gs__h1_origin(gs_http1_t *h1, const gs__h1_url_t *u) {
  if (h1->norigins >= h1->norigin_slots) {
    size_t n = h1->norigin_slots ? h1->norigin_slots * 2 : 64;
    gs__h1_origin_t **t = calloc(n, sizeof *t);
    if (!t)
      return NULL;
    for (size_t i = 0; i < h1->norigin_slots; i++)
      for (gs__h1_origin_t *o = h1->origins[i], *nx; o; o = nx) {
        nx = o->next;
        size_t j = gs__h1_hash(o->key, 0) % n;
        o->next = t[j];
        t[j] = o;
      }
    free(h1->origins);
    h1->origins = t;
    h1->norigin_slots = n;
  }
  size_t i = gs__h1_hash(u->key, 0) % h1->norigin_slots;
  for (gs__h1_origin_t *o = h1->origins[i]; o; o = o->next)
    if (strcmp(o->key, u->key) == 0)
      return o;
  gs__h1_origin_t *o = calloc(1, sizeof *o);
  if (!o)
    return NULL;
  o->key = strdup(u->key);
  size_t hl = strlen(u->host);
  o->name = strdup(u->host[0] == '[' ? u->host + 1 : u->host);
  if (!o->key || !o->name) {
    free(o->key);
    free(o->name);
    free(o);
    return NULL;
  }
  if (u->host[0] == '[' && hl >= 2) {
    o->name[hl - 2] = '\0';
    char *zone = strchr(o->name, '%');
    if (zone)
      *zone = '\0'; /* zone ids are not supported: uv_ip6_addr would reject them */
  }
  o->port = u->port;
  if (uv_ip4_addr(o->name, o->port, (struct sockaddr_in *)&o->addrs[0]) == 0 ||
      uv_ip6_addr(o->name, o->port, (struct sockaddr_in6 *)&o->addrs[0]) == 0) {
    o->literal = 1;
    o->naddrs = 1;
  }
  o->next = h1->origins[i];
  h1->origins[i] = o;
  h1->norigins++;
  return o;
}

static void gs__h1_wait_remove(gs__h1_req_t *req) {
  if (!req->waiting)
    return;
  gs__h1_origin_t *o = req->origin;
  if (req->wprev)
    req->wprev->wnext = req->wnext;
  else
    o->wait_head = req->wnext;
  if (req->wnext)
    req->wnext->wprev = req->wprev;
  else
    o->wait_tail = req->wprev;
  req->wprev = req->wnext = NULL;
  req->waiting = 0;
}

/* The first request waiting on o, taken out of the queue, or NULL. */
static gs__h1_req_t *gs__h1_wait_pop(gs__h1_origin_t *o) {
  gs__h1_req_t *req = o->wait_head;
  if (req)
    gs__h1_wait_remove(req);
  return req;
}

/* ---- idle connections ---------------------------------------------- */

static void gs__h1_idle_remove(gs__h1_conn_t *conn) {
  if (!conn->in_idle)
    return;
  gs_http1_t *h1 = conn->h1;
  gs__h1_conn_t **pp = &conn->origin->idle;
  while (*pp && *pp != conn)
    pp = &(*pp)->next;
  if (*pp)
    *pp = conn->next;
  conn->next = NULL;
  if (conn->iprev)
    conn->iprev->inext = conn->inext;
  else
    h1->idle_head = conn->inext;
  if (conn->inext)
    conn->inext->iprev = conn->iprev;
  else
    h1->idle_tail = conn->iprev;
  conn->iprev = conn->inext = NULL;
  conn->in_idle = 0;
}

/* Closes the idle connections past the idle timeout (oldest first) at
 * uv_hrtime() `now`. Runs whenever a request starts or a connection goes
 * idle: no timer, so an idle pool leaves no active handle on the loop. */
static void gs__h1_idle_sweep(gs_http1_t *h1, uint64_t now) {
  while (h1->idle_head && now - h1->idle_head->idle_since >= h1->idle_ns)
    gs__h1_conn_close(h1->idle_head);
}

/* True when an idle connection can still carry a request: the server has
 * neither closed it nor sent anything unasked (a non-blocking peek). */
static int gs__h1_conn_alive(gs__h1_conn_t *conn) {
  uv_os_fd_t fd;
  char c;
  if (uv_fileno((uv_handle_t *)&conn->tcp, &fd) != 0)
    return 0;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Starts or stops reading conn (on: 1/0); idempotent. */
static void gs__h1_conn_read(gs__h1_conn_t *conn, int on) {
  if (conn->reading == on)
    return;
  if (on)
    conn->reading = uv_read_start((uv_stream_t *)&conn->tcp, gs__h1_alloc, gs__h1_read) == 0;
  else
    conn->reading = uv_read_stop((uv_stream_t *)&conn->tcp) != 0;
}

/* The connection finished a response and stays open: it serves the first
 * request waiting on its origin, or goes idle. */
static void gs__h1_conn_release(gs__h1_conn_t *conn) {
  gs_http1_t *h1 = conn->h1;
  conn->req = NULL;
  conn->served++;
  if (h1->closing) {
    gs__h1_conn_close(conn);
    return;
  }
  gs__h1_req_t *w = gs__h1_wait_pop(conn->origin);
  if (w) {
    if (w->force_new) {
      gs__h1_conn_close(conn); /* makes room under the cap for a new one */
      gs__h1_acquire(w, uv_hrtime());
    } else {
      gs__h1_send(w, conn);
    }
    return;
  }
  conn->state = GS__H1_IDLE;
  conn->idle_since = uv_hrtime();
  gs__h1_conn_read(conn, 1);           /* again if a paused stream stopped it */
  uv_unref((uv_handle_t *)&conn->tcp); /* an idle pool does not keep the loop alive */
  conn->next = conn->origin->idle;
  conn->origin->idle = conn;
  conn->iprev = h1->idle_tail;
  conn->inext = NULL;
  if (h1->idle_tail)
    h1->idle_tail->inext = conn;
  else
    h1->idle_head = conn;
  h1->idle_tail = conn;
  conn->in_idle = 1;
  gs__h1_idle_sweep(h1, conn->idle_since);
}

/* ---- connections ------------------------------------------------------- */

static void gs__h1_release_engine(gs_http1_t *h1) {
  if (--h1->pending_closes == 0 && h1->closing) {
    for (size_t i = 0; i < h1->norigin_slots; i++)
      for (gs__h1_origin_t *o = h1->origins[i], *nx; o; o = nx) {
        nx = o->next;
        free(o->key);
        free(o->name);
        free(o);
      }
    free(h1->origins);
    for (size_t i = 0; i < GS__H1_URL_CACHE; i++)
      gs__h1_url_free(h1->urls[i]);
    gs_buf_free(&h1->scratch);
    free(h1);
  }
}

static void gs__h1_conn_closed(uv_handle_t *h) {
  gs__h1_conn_t *conn = h->data;
  gs_http1_t *h1 = conn->h1;
  free(conn->out); /* the write callback (ECANCELED) ran before this */
  free(conn);
  gs__h1_release_engine(h1);
}

/* Closes the connection (any state); its request, if any, must have been
 * detached (conn->req NULL) or is detached here without a callback. Opens
 * a connection for a request waiting on the origin when the cap allows. */
static void gs__h1_conn_close(gs__h1_conn_t *conn) {
  if (conn->closing)
    return;
  gs_http1_t *h1 = conn->h1;
  gs__h1_origin_t *o = conn->origin;
  conn->closing = 1;
  gs__h1_idle_remove(conn);
  if (conn->req && conn->req->conn == conn)
    conn->req->conn = NULL;
  conn->req = NULL;
  if (conn->resolving) {
    conn->resolving->conn = NULL;
    uv_cancel((uv_req_t *)&conn->resolving->req);
    conn->resolving = NULL;
  }
  o->nconns--;
  h1->pending_closes++;
  uv_close((uv_handle_t *)&conn->tcp, gs__h1_conn_closed);
  if (!h1->closing && o->wait_head && (!h1->max_per_origin || o->nconns < h1->max_per_origin))
    gs__h1_acquire(gs__h1_wait_pop(o), uv_hrtime());
}

static void gs__h1_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  gs__h1_conn_t *conn = h->data;
  gs_http1_t *h1 = conn->h1;
  if (h1->rbuf_busy) { /* cannot happen: reads are parsed before the next one */
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  h1->rbuf_busy = 1;
  *buf = uv_buf_init(h1->rbuf, sizeof h1->rbuf);
}

/* Fills the response from the request's state (the done callback's view). */
static void gs__h1_fill_response(gs__h1_req_t *req) {
  gs_http_response_t *res = &req->res;
  res->status = req->status;
  res->headers = gs__h1_str(&req->head);
  res->headers_len = req->head.len;
  res->body = gs__h1_str(&req->rbody);
  res->body_len = req->rbody.len;
  res->effective_url = gs__h1_str(&req->url);
  if (req->hop_new_conn) {
    res->timings.dns = req->t_dns > req->t_hop ? (double)(req->t_dns - req->t_hop) / 1e9 : 0;
    res->timings.connect = req->t_conn > req->t_dns ? (double)(req->t_conn - req->t_dns) / 1e9 : 0;
  } else {
    res->timings.dns = res->timings.connect = 0;
  }
  res->timings.tls = 0;
  res->timings.ttfb =
      req->t_first > req->t_send && req->t_send ? (double)(req->t_first - req->t_send) / 1e9 : 0;
  uint64_t now = uv_hrtime();
  res->timings.total = (double)(now - req->t_start) / 1e9;
  if (res->timings.total <= 0)
    res->timings.total = 1e-9;
}

/* Ends the request: it leaves its connection (kept when the response ended
 * cleanly and the server keeps it alive, closed otherwise), then the done
 * callback runs (it may free the request). */
static void gs__h1_finish(gs__h1_req_t *req, int err) {
  gs_http1_t *h1 = req->h1;
  gs__h1_conn_t *conn = req->conn;
  uv_timer_stop(&req->timer);
  gs__h1_wait_remove(req);
  req->in_flight = 0;
  req->finishing = 0;
  h1->active--;
  req->conn = NULL;
  if (conn) {
    if (!err && req->msg_done && req->keep_alive && !conn->writing)
      gs__h1_conn_release(conn);
    else
      gs__h1_conn_close(conn);
  }
  gs__h1_fill_response(req);
  req->res.error = err;
  req->res.error_message = err ? req->errmsg : "";
  if (err) {
    if (!req->errmsg[0])
      snprintf(req->errmsg, sizeof req->errmsg, "%s", gs_strerror(err));
  }
  req->cb(&req->pub, &req->res, req->data);
}

static void gs__h1_fail(gs__h1_req_t *req, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(req->errmsg, sizeof req->errmsg, fmt, ap);
  va_end(ap);
  gs__h1_finish(req, err);
}

static void gs__h1_timer_cb(uv_timer_t *t);

/* Finishes the request from its timer on the next loop turn: for outcomes
 * found where the done callback must not run. errmsg is already set. */
static void gs__h1_finish_soon(gs__h1_req_t *req, int err) {
  if (err && req->conn) { /* nothing more happens on a failed connection */
    gs__h1_conn_t *conn = req->conn;
    req->conn = NULL;
    gs__h1_conn_close(conn);
  }
  req->finishing = 1;
  req->fin_err = err;
  uv_timer_start(&req->timer, gs__h1_timer_cb, 0, 0);
}

/* The current connection failed with `status` (UV_EOF, a read or write
 * error). Applies the re-send rule when no response byte came. `soon`:
 * report through the timer (the caller may not run callbacks). */
static void gs__h1_conn_lost(gs__h1_req_t *req, int status, int soon) {
  gs__h1_conn_t *conn = req->conn;
  int reused = conn && conn->served > 0;
  if (!req->got_byte) {
    if (reused && status != UV_ETIMEDOUT) {
      const char *m = gs__h1_str(&req->method);
      if ((gs_http_method_idempotent(m) || req->retry_unsafe) && req->res.connection_retries == 0) {
        req->res.connection_retries++;
        req->conn = NULL;
        gs__h1_conn_close(conn);
        req->force_new = 1;
        gs__h1_acquire(req, uv_hrtime());
        return;
      }
      snprintf(req->errmsg, sizeof req->errmsg,
               "connection to %s closed (%s) before any response byte: a reused keep-alive "
               "connection; the %s request was not re-sent (%s)",
               req->origin->key, uv_strerror(status), m,
               gs_http_method_idempotent(m) ? "it was already re-sent once"
                                            : "not idempotent; retry_unsafe allows it");
      if (soon)
        gs__h1_finish_soon(req, GS_ERESET);
      else
        gs__h1_finish(req, GS_ERESET);
      return;
    }
    if (status == UV_EOF)
      snprintf(req->errmsg, sizeof req->errmsg, "Empty reply from server");
    else
      snprintf(req->errmsg, sizeof req->errmsg, "Recv failure: %s", uv_strerror(status));
    int err = status == UV_EOF ? GS_EPROTO : GS_ENETWORK;
    if (soon)
      gs__h1_finish_soon(req, err);
    else
      gs__h1_finish(req, err);
    return;
  }
  if (status == UV_EOF) {
    if (!req->head_done)
      snprintf(req->errmsg, sizeof req->errmsg,
               "connection closed before the response's header block ended");
    else if (conn && conn->parser.content_length != ULLONG_MAX && !(conn->parser.flags & F_CHUNKED))
      snprintf(req->errmsg, sizeof req->errmsg, "transfer closed with %llu bytes remaining to read",
               (unsigned long long)conn->parser.content_length);
    else
      snprintf(req->errmsg, sizeof req->errmsg,
               "transfer closed with outstanding read data remaining");
    gs__h1_finish(req, GS_EPROTO);
  } else {
    snprintf(req->errmsg, sizeof req->errmsg, "Recv failure: %s", uv_strerror(status));
    gs__h1_finish(req, GS_ENETWORK);
  }
}

/* ---- response parsing (http-parser callbacks; parser->data is the conn) -- */

static void gs__h1_reset_response(gs__h1_req_t *req) {
  gs_buf_clear(&req->head);
  gs_buf_clear(&req->rbody);
  gs_buf_clear(&req->held);
  req->line_len = req->head_bytes = req->received = 0;
  req->in_value = req->head_done = req->discard = 0;
  req->msg_done = req->keep_alive = req->paused = req->complete_held = 0;
  req->perr = 0;
  req->got_byte = 0;
  req->status = 0;
  req->t_first = 0;
}

static int gs__h1_perr(gs__h1_req_t *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int gs__h1_perr(gs__h1_req_t *req, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(req->errmsg, sizeof req->errmsg, fmt, ap);
  va_end(ap);
  req->perr = err;
  return -1;
}

static int gs__h1_on_message_begin(http_parser *p) {
  gs__h1_req_t *req = ((gs__h1_conn_t *)p->data)->req;
  gs_buf_clear(&req->head); /* a new response (after a 1xx): keep only the last */
  req->line_len = req->head_bytes = 0;
  req->in_value = 0;
  return 0;
}

/* Appends header bytes - sep (sep_n bytes), then at[0..len) - in one go,
 * counting them against curl's limits. new_line: sep ends a line ("\r\n")
 * and `at` starts the next one; otherwise all of them are in the line. */
static int gs__h1_head_add(gs__h1_req_t *req, const char *sep, size_t sep_n, const char *at,
                           size_t len, int new_line) {
  req->line_len = (new_line ? 0 : req->line_len + sep_n) + len;
  req->head_bytes += sep_n + len;
  if (req->line_len > GS_HTTP_MAX_HEADER_LINE)
    return gs__h1_perr(req, GS_EPROTO, "response header too large: a header line exceeds %d bytes",
                       GS_HTTP_MAX_HEADER_LINE);
  if (req->head_bytes > GS_HTTP_MAX_HEADER_BLOCK)
    return gs__h1_perr(req, GS_EPROTO,
                       "response header too large: the header block exceeds %d bytes",
                       GS_HTTP_MAX_HEADER_BLOCK);
  char *dst = gs_buf_extend(&req->head, sep_n + len);
  if (!dst)
    return gs__h1_perr(req, GS_ENOMEM, "out of memory buffering the response");
  memcpy(dst, sep, sep_n);
  if (len)
    memcpy(dst + sep_n, at, len);
  return 0;
}

static int gs__h1_on_header_field(http_parser *p, const char *at, size_t len) {
  gs__h1_req_t *req = ((gs__h1_conn_t *)p->data)->req;
  if (req->head_done)
    return 0; /* trailers are ignored */
  int ends_value = req->in_value;
  req->in_value = 0;
  return gs__h1_head_add(req, "\r\n", ends_value ? 2 : 0, at, len, ends_value);
}

static int gs__h1_on_header_value(http_parser *p, const char *at, size_t len) {
  gs__h1_req_t *req = ((gs__h1_conn_t *)p->data)->req;
  if (req->head_done)
    return 0;
  int starts_value = !req->in_value;
  req->in_value = 1;
  return gs__h1_head_add(req, ": ", starts_value ? 2 : 0, at, len, 0);
}

static int gs__h1_is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* The value of header `name` in the head lines, or NULL; *n its length. */
static const char *gs__h1_find_header(const gs__h1_req_t *req, const char *name, size_t *n) {
  size_t nl = strlen(name);
  const char *p = gs__h1_str(&req->head), *end = p + req->head.len;
  while (p < end) {
    const char *eol = memchr(p, '\r', (size_t)(end - p));
    if (!eol)
      eol = end;
    if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1, *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t'))
        v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
      *n = (size_t)(ve - v);
      return v;
    }
    if (eol == end)
      break;
    p = eol + 2;
  }
  return NULL;
}

static int gs__h1_deliver(gs__h1_req_t *req, const char *at, size_t len);

static int gs__h1_on_headers_complete(http_parser *p) {
  gs__h1_req_t *req = ((gs__h1_conn_t *)p->data)->req;
  if (req->in_value) {
    req->in_value = 0;
    if (gs__h1_head_add(req, "\r\n", 2, NULL, 0, 1))
      return -1;
  }
  req->status = p->status_code;
  if (req->status < 100 || req->status > 999) /* http-parser takes "012"; curl 7.88 too */
    return gs__h1_perr(req, GS_EPROTO, "invalid HTTP status line (status %ld)", req->status);
  if (req->status / 100 == 1 && req->status != 101)
    return 0; /* interim: no body; its message_complete resets */
  req->head_done = 1;
  int head = strcmp(gs__h1_str(&req->method), "HEAD") == 0;
  size_t n;
  if (req->follow && gs__h1_is_redirect(req->status) && gs__h1_find_header(req, "Location", &n) &&
      n > 0) {
    req->discard = 1;
    return head || req->status == 304 ? 1 : 0;
  }
  uint64_t cl = p->content_length;
  int has_cl = cl != ULLONG_MAX && !(p->flags & F_CHUNKED);
  if (req->max_body && has_cl && cl > req->max_body && !head)
    return gs__h1_perr(req, GS_EBODYTOOLARGE,
                       "response body exceeds max_body (%zu bytes, by Content-Length)",
                       req->max_body);
  if (!req->on_data && has_cl && cl > 0 && cl <= GS_HTTP_PRESIZE_MAX && !head)
    (void)gs_buf_reserve(&req->rbody, (size_t)cl); /* best effort: gs_buf_add tries again */
  /* The head of a streamed request goes to the data callback at once, with
   * no bytes: the body may be long in coming (an SSE stream the server has
   * nothing for yet). A refusal (out of memory) delays it to the first bytes. */
  if (req->on_data)
    (void)gs__h1_deliver(req, "", 0);
  /* HEAD, 204 and 304 have no body whatever their Content-Length says */
  return head || req->status == 204 || req->status == 304 ? 1 : 0;
}

/* Offers bytes to the data callback; 0 taken, GS_HTTP_PAUSE refused. */
static int gs__h1_deliver(gs__h1_req_t *req, const char *at, size_t len) {
  gs_http_response_t head;
  memset(&head, 0, sizeof head);
  head.status = req->status;
  head.headers = gs__h1_str(&req->head);
  head.headers_len = req->head.len;
  head.effective_url = gs__h1_str(&req->url);
  head.connection_retries = req->res.connection_retries;
  head.body = "";
  head.error_message = "";
  return req->on_data(&req->pub, &head, at, len, req->data);
}

static int gs__h1_on_body(http_parser *p, const char *at, size_t len) {
  gs__h1_req_t *req = ((gs__h1_conn_t *)p->data)->req;
  if (req->discard || !req->head_done || len == 0)
    return 0;
  if (req->max_body && (len > req->max_body || req->received > req->max_body - len))
    return gs__h1_perr(req, GS_EBODYTOOLARGE, "response body exceeds max_body (%zu bytes)",
                       req->max_body);
  req->received += len;
  if (req->on_data) {
    if (!req->paused && gs__h1_deliver(req, at, len) != GS_HTTP_PAUSE)
      return 0;
    req->paused = 1; /* held until gs_http1_request_resume; reading stops after this parse */
    if (gs_buf_add(&req->held, at, len))
      return gs__h1_perr(req, GS_ENOMEM, "out of memory buffering the response");
    return 0;
  }
  if (gs_buf_add(&req->rbody, at, len))
    return gs__h1_perr(req, GS_ENOMEM, "out of memory buffering the response");
  return 0;
}

static int gs__h1_on_message_complete(http_parser *p) {
  gs__h1_req_t *req = ((gs__h1_conn_t *)p->data)->req;
  if (!req->head_done)
    return 0; /* a 1xx: the final response follows */
  req->msg_done = 1;
  req->keep_alive = http_should_keep_alive(p);
  http_parser_pause(p, 1); /* one response per request: the rest is not ours */
  return 0;
}

/* ---- request bytes ------------------------------------------------------ */

/* Writes v in decimal at out (room for 20 digits); returns how many. (No
 * snprintf on the path of every request.) */
static size_t gs__h1_decimal(char *out, size_t v) {
  char rev[20];
  size_t n = 0;
  do {
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    out[i] = rev[n - 1 - i];
  return n;
}

static int gs__h1_build(gs__h1_req_t *req, gs_buf_t *b) {
  static const char cl[] = "Content-Length: ";
  char digits[20];
  gs_buf_clear(b);
  int rc = gs_buf_add(b, req->method.p, req->method.len) | gs_buf_add(b, " ", 1) |
           gs_buf_add(b, req->target.p, req->target.len) | gs_buf_add(b, " HTTP/1.1\r\n", 11);
  if (!req->has_host)
    rc |= gs_buf_add(b, "Host: ", 6) | gs_buf_add(b, req->hosthdr.p, req->hosthdr.len) |
          gs_buf_add(b, "\r\n", 2);
  if (!req->has_ua)
    rc |= gs_buf_add(b, "User-Agent: " GS_HTTP_USER_AGENT "\r\n",
                     sizeof("User-Agent: " GS_HTTP_USER_AGENT "\r\n") - 1);
  if (!req->has_accept)
    rc |= gs_buf_add(b, "Accept: */*\r\n", 13);
  rc |= gs_buf_add(b, req->hdrs.p, req->hdrs.len);
  if (req->send_body) {
    if (!req->has_clen)
      rc |= gs_buf_add(b, cl, sizeof cl - 1) |
            gs_buf_add(b, digits, gs__h1_decimal(digits, req->body.len)) | gs_buf_add(b, "\r\n", 2);
    if (!req->has_ctype) {
      static const char ct[] = "Content-Type: application/x-www-form-urlencoded\r\n";
      rc |= gs_buf_add(b, ct, sizeof ct - 1);
    }
  }
  rc |= gs_buf_add(b, "\r\n", 2);
  if (req->send_body)
    rc |= gs_buf_add(b, req->body.p, req->body.len);
  return rc ? GS_ENOMEM : 0;
}

static void gs__h1_written(uv_write_t *w, int status) {
  gs__h1_conn_t *conn = w->data;
  if (status == 0 && conn->out_metered)
    conn->h1->bytes_sent += conn->out_len;
  free(conn->out);
  conn->out = NULL;
  conn->writing = 0;
  if (conn->closing || status == 0 || !conn->req)
    return;
  gs__h1_req_t *req = conn->req;
  if (req->finishing)
    return;
  gs__h1_conn_lost(req, status, 0);
}

static void gs__h1_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Writes the request on conn (connected, not busy) and waits for the answer.
 * Never runs the done callback (a failure is reported from the timer). */
static void gs__h1_send(gs__h1_req_t *req, gs__h1_conn_t *conn) {
  gs_http1_t *h1 = req->h1;
  gs__h1_idle_remove(conn);
  req->conn = conn;
  conn->req = req;
  conn->state = GS__H1_BUSY;
  req->t_send = uv_hrtime();
  http_parser_init(&conn->parser, HTTP_RESPONSE);
  conn->parser.data = conn;
  uv_ref((uv_handle_t *)&conn->tcp);
  gs__h1_conn_read(conn, 1);
  gs__h1_arm_timer(req, req->t_send);
  if (gs__h1_build(req, &h1->scratch)) {
    snprintf(req->errmsg, sizeof req->errmsg, "out of memory building the request");
    gs__h1_finish_soon(req, GS_ENOMEM);
    return;
  }
  uv_buf_t b = uv_buf_init(h1->scratch.p, (unsigned)h1->scratch.len);
  int n = uv_try_write((uv_stream_t *)&conn->tcp, &b, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS)
    n = 0;
  if (n < 0) {
    gs_buf_reset(&h1->scratch, GS__H1_SCRATCH_KEEP);
    gs__h1_conn_lost(req, n, 1);
    return;
  }
  if (!req->unmetered)
    h1->bytes_sent += (uint64_t)n;
  if ((size_t)n < h1->scratch.len) {
    size_t rest = h1->scratch.len - (size_t)n;
    conn->out = malloc(rest);
    if (!conn->out) {
      snprintf(req->errmsg, sizeof req->errmsg, "out of memory writing the request");
      gs__h1_finish_soon(req, GS_ENOMEM);
      return;
    }
    memcpy(conn->out, h1->scratch.p + n, rest);
    conn->out_len = rest;
    conn->out_metered = !req->unmetered;
    b = uv_buf_init(conn->out, (unsigned)rest);
    conn->u.write.data = conn;
    int rc = uv_write(&conn->u.write, (uv_stream_t *)&conn->tcp, &b, 1, gs__h1_written);
    if (rc < 0) {
      free(conn->out);
      conn->out = NULL;
      gs_buf_reset(&h1->scratch, GS__H1_SCRATCH_KEEP);
      gs__h1_conn_lost(req, rc, 1);
      return;
    }
    conn->writing = 1;
  }
  gs_buf_reset(&h1->scratch, GS__H1_SCRATCH_KEEP);
}

/* ---- completion, redirects ------------------------------------------------ */

/* Removes the caller's header lines named `name` (redirects to another origin). */
static void gs__h1_drop_header(gs__h1_req_t *req, const char *name) {
  size_t nl = strlen(name), w = 0, r = 0;
  char *p = req->hdrs.p;
  while (r < req->hdrs.len) {
    char *eol = memchr(p + r, '\n', req->hdrs.len - r);
    size_t end = eol ? (size_t)(eol - p) + 1 : req->hdrs.len;
    int drop = end - r > nl && strncasecmp(p + r, name, nl) == 0 && p[r + nl] == ':';
    if (!drop) {
      memmove(p + w, p + r, end - r);
      w += end - r;
    }
    r = end;
  }
  if (p) {
    req->hdrs.len = w;
    p[w] = '\0';
  }
}

/* Points the request at the parsed URL u for its next hop. */
static int gs__h1_target(gs__h1_req_t *req, const gs__h1_url_t *u) {
  if (gs__h1_set(&req->target, u->target, strlen(u->target)) ||
      gs__h1_set(&req->hosthdr, u->hosthdr, strlen(u->hosthdr)) ||
      gs__h1_set(&req->url, u->full, strlen(u->full)))
    return GS_ENOMEM;
  req->origin = gs__h1_origin(req->h1, u);
  return req->origin ? 0 : GS_ENOMEM;
}

static void gs__h1_follow(gs__h1_req_t *req) {
  size_t n;
  const char *loc = gs__h1_find_header(req, "Location", &n);
  if (req->res.redirects >= req->max_redirects) {
    gs__h1_fail(req, GS_EPROTO, "Maximum (%ld) redirects followed", req->max_redirects);
    return;
  }
  char *location = strndup(loc, n), *next = NULL, *scheme = NULL;
  CURLU *u = curl_url();
  int ok =
      location && u && curl_url_set(u, CURLUPART_URL, gs__h1_str(&req->url), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location, CURLU_URLENCODE | CURLU_ALLOW_SPACE) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &next, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK;
  curl_url_cleanup(u);
  free(location);
  const gs__h1_url_t *pu = NULL;
  int rc = ok ? 0 : GS_EPROTO;
  if (ok && strcmp(scheme, "https") == 0) {
    snprintf(req->errmsg, sizeof req->errmsg,
             "redirect to %s: the native HTTP/1.1 engine does not follow https:// (engine = curl "
             "does)",
             next);
    rc = GS_EPROTO;
  } else if (ok && (rc = gs__h1_url_get(req->h1, next, req->path_as_is, &pu)) != 0) {
    snprintf(req->errmsg, sizeof req->errmsg, "redirect to an unsupported URL: %s", next);
  } else if (!ok) {
    snprintf(req->errmsg, sizeof req->errmsg, "redirect to an invalid Location: %.*s",
             (int)(n > 300 ? 300 : n), loc);
  }
  curl_free(next);
  curl_free(scheme);
  if (rc) {
    gs__h1_finish(req, rc == GS_ENOMEM ? GS_ENOMEM : GS_EPROTO);
    return;
  }
  /* The connection goes back first (kept alive or closed), then the hop. */
  gs__h1_conn_t *conn = req->conn;
  req->conn = NULL;
  if (conn) {
    if (req->keep_alive && !conn->writing)
      gs__h1_conn_release(conn);
    else
      gs__h1_conn_close(conn);
  }
  long st = req->status;
  const char *m = gs__h1_str(&req->method);
  if ((st == 303 && strcmp(m, "HEAD") != 0) ||
      ((st == 301 || st == 302) && strcmp(m, "POST") == 0)) {
    gs__h1_set(&req->method, "GET", 3);
    req->send_body = 0;
    gs_buf_clear(&req->body);
  }
  if (gs__h1_target(req, pu)) {
    gs__h1_fail(req, GS_ENOMEM, "out of memory following a redirect");
    return;
  }
  if (req->origin != req->first_origin) { /* as curl 7.88: credentials stay with the origin */
    gs__h1_drop_header(req, "Authorization");
    gs__h1_drop_header(req, "Cookie");
  }
  req->res.redirects++;
  gs__h1_reset_response(req);
  req->t_hop = uv_hrtime();
  req->t_dns = req->t_conn = req->t_send = 0;
  req->hop_new_conn = 0;
  gs__h1_acquire(req, req->t_hop);
}

/* The response on the request's connection is complete. */
static void gs__h1_complete(gs__h1_req_t *req) {
  if (req->status < 100 || req->status > 999) {
    gs__h1_fail(req, GS_EPROTO, "invalid HTTP status line (status %ld)", req->status);
    return;
  }
  if (req->discard) {
    gs__h1_follow(req);
    return;
  }
  if (req->paused) {
    req->complete_held = 1; /* finished by resume once the held bytes are taken */
    return;
  }
  gs__h1_finish(req, 0);
}

static void gs__h1_feed(gs__h1_conn_t *conn, const char *data, size_t len) {
  gs__h1_req_t *req = conn->req;
  size_t n = http_parser_execute(&conn->parser, &conn->h1->settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&conn->parser);
  if (req->perr) {
    gs__h1_finish(req, req->perr);
  } else if (req->msg_done) {
    if (n < len || conn->parser.upgrade)
      req->keep_alive = 0; /* bytes after the response: no pipelining here, drop the connection */
    if (req->status == 101) {
      gs__h1_fail(req, GS_EPROTO, "unexpected 101 Switching Protocols");
      return;
    }
    gs__h1_complete(req);
  } else if (e != HPE_OK) {
    gs__h1_fail(req, GS_EPROTO, "invalid HTTP response: %s", http_errno_description(e));
  } else if (conn->parser.upgrade) {
    gs__h1_fail(req, GS_EPROTO, "unexpected 101 Switching Protocols");
  } else if (req->paused) {
    gs__h1_conn_read(conn, 0);
  }
}

static void gs__h1_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  gs__h1_conn_t *conn = s->data;
  if (buf && buf->base == conn->h1->rbuf)
    conn->h1->rbuf_busy = 0;
  if (nread > 0 && !(conn->req && conn->req->unmetered))
    conn->h1->bytes_received += (uint64_t)nread; /* an idle connection's bytes count too */
  if (nread == 0 || conn->closing)
    return;
  gs__h1_req_t *req = conn->req;
  if (!req || conn->state != GS__H1_BUSY || req->finishing) {
    gs__h1_conn_close(conn); /* an idle connection the server closed or wrote to */
    return;
  }
  if (nread < 0) {
    if (nread == UV_EOF && req->got_byte) {
      http_parser_execute(&conn->parser, &conn->h1->settings, NULL, 0); /* close-delimited end */
      if (req->perr) {
        gs__h1_finish(req, req->perr);
        return;
      }
      if (req->msg_done) {
        req->keep_alive = 0;
        gs__h1_complete(req);
        return;
      }
    }
    gs__h1_conn_lost(req, (int)nread, 0);
    return;
  }
  if (!req->got_byte) {
    req->got_byte = 1;
    req->t_first = uv_hrtime();
  }
  gs__h1_feed(conn, buf->base, (size_t)nread);
}

/* ---- connecting ------------------------------------------------------- */

static void gs__h1_connected(uv_connect_t *c, int status) {
  gs__h1_conn_t *conn = c->data;
  if (conn->closing || status == UV_ECANCELED || !conn->req || conn->req->finishing)
    return;
  gs__h1_req_t *req = conn->req;
  gs__h1_origin_t *o = conn->origin;
  uint64_t now = uv_hrtime();
  if (status < 0) {
    if (conn->addr_i + 1 < o->naddrs) {
      int next = conn->addr_i + 1;
      req->conn = NULL;
      gs__h1_conn_close(conn);
      /* the next address, on a new handle (a failed one cannot connect again) */
      gs__h1_conn_t *nc = calloc(1, sizeof *nc);
      if (!nc || uv_tcp_init(req->h1->loop, &nc->tcp) != 0) {
        free(nc);
        gs__h1_fail(req, GS_ENOMEM, "out of memory connecting");
        return;
      }
      nc->tcp.data = nc;
      nc->h1 = req->h1;
      nc->origin = o;
      nc->state = GS__H1_CONNECTING;
      nc->addr_i = next;
      nc->req = req;
      req->conn = nc;
      o->nconns++;
      gs__h1_conn_connect(nc);
      return;
    }
    gs__h1_fail(req, GS_ECONNECT,
                "Failed to connect to %s port %d after %ld ms: Couldn't connect to server (%s)",
                o->name, o->port, gs__h1_ms(now - req->t_hop), uv_strerror(status));
    return;
  }
  req->t_conn = now;
  req->res.new_connections++;
  uv_tcp_nodelay(&conn->tcp, 1);
  gs__h1_send(req, conn);
}

static void gs__h1_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *ai) {
  gs__h1_resolve_t *rs = r->data;
  gs__h1_conn_t *conn = rs->conn;
  free(rs);
  if (!conn) {
    uv_freeaddrinfo(ai);
    return;
  }
  conn->resolving = NULL;
  gs__h1_origin_t *o = conn->origin;
  gs__h1_req_t *req = conn->req;
  int n = 0;
  for (struct addrinfo *a = ai; a && n < GS__H1_MAX_ADDRS && status == 0; a = a->ai_next)
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
        a->ai_addrlen <= sizeof o->addrs[0])
      memcpy(&o->addrs[n++], a->ai_addr, a->ai_addrlen);
  uv_freeaddrinfo(ai);
  if (n == 0) {
    o->naddrs = 0;
    gs__h1_fail(req, GS_ECONNECT, "Could not resolve host: %s", o->name);
    return;
  }
  o->naddrs = n;
  o->resolved_at = uv_hrtime();
  gs__h1_conn_connect(conn);
}

/* Resolves (names, unless cached) and connects conn to its address addr_i.
 * Never runs the done callback. */
static void gs__h1_conn_connect(gs__h1_conn_t *conn) {
  gs__h1_origin_t *o = conn->origin;
  gs__h1_req_t *req = conn->req;
  uint64_t now = uv_hrtime();
  if (!o->literal && (o->naddrs == 0 || now - o->resolved_at > GS__H1_DNS_TTL_NS)) {
    gs__h1_resolve_t *rs = calloc(1, sizeof *rs);
    char port[8];
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%d", o->port);
    if (!rs) {
      snprintf(req->errmsg, sizeof req->errmsg, "out of memory resolving %s", o->name);
      gs__h1_finish_soon(req, GS_ENOMEM);
      return;
    }
    rs->conn = conn;
    rs->req.data = rs;
    int rc = uv_getaddrinfo(conn->h1->loop, &rs->req, gs__h1_resolved, o->name, port, &hints);
    if (rc < 0) {
      free(rs);
      snprintf(req->errmsg, sizeof req->errmsg, "Could not resolve host: %s (%s)", o->name,
               uv_strerror(rc));
      gs__h1_finish_soon(req, GS_ECONNECT);
      return;
    }
    conn->resolving = rs;
    return;
  }
  req->t_dns = now;
  conn->u.connect.data = conn;
  int rc = uv_tcp_connect(&conn->u.connect, &conn->tcp,
                          (const struct sockaddr *)&o->addrs[conn->addr_i], gs__h1_connected);
  if (rc < 0) {
    snprintf(req->errmsg, sizeof req->errmsg,
             "Failed to connect to %s port %d after 0 ms: Couldn't connect to server (%s)", o->name,
             o->port, uv_strerror(rc));
    gs__h1_finish_soon(req, GS_ECONNECT);
  }
}

/* Gives the request a connection: an idle one of its origin (unless it
 * must be new), a new one, or a place in the origin's queue under the cap;
 * now: uv_hrtime() (the caller's reading, taken just before). Never runs
 * the done callback. */
static void gs__h1_acquire(gs__h1_req_t *req, uint64_t now) {
  gs_http1_t *h1 = req->h1;
  gs__h1_origin_t *o = req->origin;
  while (o->idle && !req->force_new) {
    gs__h1_conn_t *conn = o->idle;
    uint64_t idle = now - conn->idle_since;
    if (idle >= h1->idle_ns || (idle >= GS__H1_PEEK_AFTER_NS && !gs__h1_conn_alive(conn))) {
      gs__h1_conn_close(conn);
      continue;
    }
    req->hop_new_conn = 0;
    gs__h1_send(req, conn);
    return;
  }
  if (h1->max_per_origin && o->nconns >= h1->max_per_origin) {
    if (o->idle) {
      gs__h1_conn_close(o->idle); /* a re-send needs a new connection: make room */
    } else {
      req->waiting = 1;
      req->wprev = o->wait_tail;
      req->wnext = NULL;
      if (o->wait_tail)
        o->wait_tail->wnext = req;
      else
        o->wait_head = req;
      o->wait_tail = req;
      gs__h1_arm_timer(req, now);
      return;
    }
  }
  req->force_new = 0;
  gs__h1_conn_t *conn = calloc(1, sizeof *conn);
  if (!conn || uv_tcp_init(h1->loop, &conn->tcp) != 0) {
    free(conn);
    snprintf(req->errmsg, sizeof req->errmsg, "out of memory connecting");
    gs__h1_finish_soon(req, GS_ENOMEM);
    return;
  }
  conn->tcp.data = conn;
  conn->h1 = h1;
  conn->origin = o;
  conn->state = GS__H1_CONNECTING;
  conn->req = req;
  req->conn = conn;
  req->hop_new_conn = 1;
  req->t_dns = req->t_conn = 0;
  o->nconns++;
  gs__h1_arm_timer(req, now);
  gs__h1_conn_connect(conn);
}

/* ---- timers ------------------------------------------------------------- */

static uint64_t gs__h1_connect_deadline(const gs__h1_req_t *req) {
  double secs = req->connect_timeout > 0 ? req->connect_timeout : GS__H1_CONNECT_DEFAULT;
  return req->t_hop + (uint64_t)(secs * 1e9);
}

static int gs__h1_connecting(const gs__h1_req_t *req) {
  return req->conn && req->conn->state == GS__H1_CONNECTING;
}

/* (Re)arms the request's timer for its next deadline; now: uv_hrtime(). */
static void gs__h1_arm_timer(gs__h1_req_t *req, uint64_t now) {
  if (req->finishing)
    return;
  uint64_t due = req->deadline;
  if (gs__h1_connecting(req)) {
    uint64_t cd = gs__h1_connect_deadline(req);
    if (!due || cd < due)
      due = cd;
  }
  if (!due) {
    uv_timer_stop(&req->timer);
    return;
  }
  uint64_t ms = due > now ? (due - now + 999999) / 1000000 : 0;
  uv_timer_start(&req->timer, gs__h1_timer_cb, ms, 0);
}

static void gs__h1_timer_cb(uv_timer_t *t) {
  gs__h1_req_t *req = t->data;
  if (!req->in_flight)
    return;
  if (req->finishing) {
    gs__h1_finish(req, req->fin_err);
    return;
  }
  uint64_t now = uv_hrtime();
  int connecting = gs__h1_connecting(req);
  if (connecting && now >= gs__h1_connect_deadline(req)) {
    gs__h1_fail(req, GS_ETIMEDOUT, "Connection timed out after %ld milliseconds",
                gs__h1_ms(now - req->t_hop));
  } else if (req->deadline && now >= req->deadline) {
    if (connecting || req->waiting)
      gs__h1_fail(req, GS_ETIMEDOUT, "Connection timed out after %ld milliseconds",
                  gs__h1_ms(now - req->t_start));
    else
      gs__h1_fail(req, GS_ETIMEDOUT,
                  "Operation timed out after %ld milliseconds with %zu bytes "
                  "received",
                  gs__h1_ms(now - req->t_start), req->received);
  } else {
    gs__h1_arm_timer(req, now);
  }
}

/* ---- public (internal) API ----------------------------------------------- */

int gs_http1_new(uv_loop_t *loop, gs_http1_t **out) {
  *out = NULL;
  gs_http1_t *h1 = calloc(1, sizeof *h1);
  if (!h1)
    return GS_ENOMEM;
  h1->loop = loop;
  h1->idle_ns = (uint64_t)(GS_HTTP_IDLE_TIMEOUT * 1e9);
  http_parser_settings_init(&h1->settings);
  h1->settings.on_message_begin = gs__h1_on_message_begin;
  h1->settings.on_header_field = gs__h1_on_header_field;
  h1->settings.on_header_value = gs__h1_on_header_value;
  h1->settings.on_headers_complete = gs__h1_on_headers_complete;
  h1->settings.on_body = gs__h1_on_body;
  h1->settings.on_message_complete = gs__h1_on_message_complete;
  /* http-parser's head limit is process-wide (80 KiB by default); ours are
   * curl's 100 KiB line and 300 KiB block, counted in the callbacks above,
   * so the parser's must be above them. The server counts its own limit
   * (max_header_bytes) and is unaffected below that value. */
  http_parser_set_max_header_size(4 * GS_HTTP_MAX_HEADER_BLOCK);
  *out = h1;
  return 0;
}

static void gs__h1_req_closed(uv_handle_t *h) {
  gs__h1_req_t *req = h->data;
  gs_http1_t *h1 = req->h1;
  free(req);
  gs__h1_release_engine(h1);
}

static void gs__h1_req_buffers(gs__h1_req_t *req, size_t keep) {
  gs_buf_t *bufs[] = {&req->method, &req->target, &req->hosthdr, &req->url, &req->hdrs,
                      &req->body,   &req->head,   &req->rbody,   &req->held};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    gs_buf_reset(bufs[i], keep);
}

void gs_http1_free(gs_http1_t *h1) {
  if (!h1)
    return;
  h1->closing = 1; /* requests freed from here on are not kept as spares */
  while (h1->live)
    gs_http1_request_free(&h1->live->pub);
  while (h1->idle_head)
    gs__h1_conn_close(h1->idle_head);
  for (gs__h1_req_t *r = h1->spare, *nx; r; r = nx) {
    nx = r->next;
    gs__h1_req_buffers(r, 0);
    h1->pending_closes++;
    uv_close((uv_handle_t *)&r->timer, gs__h1_req_closed);
  }
  h1->spare = NULL;
  h1->nspare = 0;
  h1->pending_closes++; /* released at once: frees the engine now if nothing is closing */
  gs__h1_release_engine(h1);
}

static int gs__h1_name_is(const char *h, size_t n, const char *name) {
  return strlen(name) == n && strncasecmp(h, name, n) == 0;
}

/* Copies the caller's header lines: "Name: value" is sent as given,
 * "Name:" (no value) only removes a default header, "Name;" sends an empty
 * one (curl's rules). Notes which defaults the caller replaced. */
static int gs__h1_copy_headers(gs__h1_req_t *req, const gs_http_request_opts_t *o) {
  for (size_t i = 0; i < o->nheaders; i++) {
    const char *h = o->headers[i];
    size_t nl = strcspn(h, ":;");
    req->has_host |= gs__h1_name_is(h, nl, "Host");
    req->has_ua |= gs__h1_name_is(h, nl, "User-Agent");
    req->has_accept |= gs__h1_name_is(h, nl, "Accept");
    req->has_ctype |= gs__h1_name_is(h, nl, "Content-Type");
    req->has_clen |= gs__h1_name_is(h, nl, "Content-Length");
    int rc = 0;
    if (h[nl]) {
      const char *v = h + nl + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      if (h[nl] == ':' && !*v)
        continue; /* removal */
      if (h[nl] == ';' && !*v)
        rc = gs_buf_add(&req->hdrs, h, nl) | gs_buf_add(&req->hdrs, ":\r\n", 3);
      else
        rc = gs_buf_add(&req->hdrs, h, strlen(h)) | gs_buf_add(&req->hdrs, "\r\n", 2);
    } else {
      rc = gs_buf_add(&req->hdrs, h, strlen(h)) | gs_buf_add(&req->hdrs, "\r\n", 2);
    }
    if (rc)
      return GS_ENOMEM;
  }
  return 0;
}

static void gs__h1_unlink(gs__h1_req_t *req) {
  gs_http1_t *h1 = req->h1;
  if (req->prev)
    req->prev->next = req->next;
  else
    h1->live = req->next;
  if (req->next)
    req->next->prev = req->prev;
  req->prev = req->next = NULL;
}

/* Back to the spares, or closed (its struct is freed in the close callback). */
static void gs__h1_recycle(gs__h1_req_t *req) {
  gs_http1_t *h1 = req->h1;
  if (!h1->closing && h1->nspare < GS__H1_SPARE_MAX) {
    gs__h1_req_buffers(req, GS__H1_KEEP_BODY);
    req->next = h1->spare;
    h1->spare = req;
    h1->nspare++;
  } else {
    gs__h1_req_buffers(req, 0);
    h1->pending_closes++;
    uv_close((uv_handle_t *)&req->timer, gs__h1_req_closed);
  }
}

int gs_http1_start(gs_http1_t *h1, const gs_http_request_opts_t *o, gs_http_done_cb cb, void *data,
                   gs_http_request_t **out) {
  *out = NULL;
  if (h1->closing)
    return GS_EINVAL;
  uint64_t now = uv_hrtime(); /* the request's start */
  gs__h1_idle_sweep(h1, now);
  const gs__h1_url_t *u;
  int rc = gs__h1_url_get(h1, o->url, o->path_as_is, &u);
  if (rc)
    return rc;
  gs__h1_req_t *req = h1->spare;
  if (req) {
    h1->spare = req->next;
    h1->nspare--;
    req->next = NULL;
  } else {
    if (!(req = calloc(1, sizeof *req)))
      return GS_ENOMEM;
    if (uv_timer_init(h1->loop, &req->timer) != 0) {
      free(req);
      return GS_ENOMEM;
    }
    req->timer.data = req;
    req->h1 = h1;
    req->pub.engine = GS_HTTP_ENGINE_NATIVE;
  }
  const char *method = o->method && o->method[0] ? o->method : "GET";
  req->cb = cb;
  req->on_data = o->on_data;
  req->data = data;
  req->has_host = req->has_ua = req->has_accept = req->has_ctype = req->has_clen = 0;
  req->follow = o->follow_redirects != 0;
  req->max_redirects = o->max_redirects > 0 ? o->max_redirects : 10;
  req->path_as_is = o->path_as_is != 0;
  req->retry_unsafe = o->retry_unsafe != 0;
  req->unmetered = o->unmetered != 0;
  req->max_body = o->max_body;
  req->connect_timeout = o->connect_timeout;
  req->send_body = o->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                   strcmp(method, "PATCH") == 0;
  req->waiting = req->force_new = req->finishing = req->fin_err = 0;
  req->hop_new_conn = 0;
  req->conn = NULL;
  memset(&req->res, 0, sizeof req->res);
  req->errmsg[0] = '\0';
  gs__h1_reset_response(req);
  gs_buf_clear(&req->hdrs);
  gs_buf_clear(&req->body);
  rc = gs__h1_set(&req->method, method, strlen(method)) || gs__h1_copy_headers(req, o) ||
               gs_buf_add(&req->body, o->body_len ? o->body : "", o->body_len) ||
               gs__h1_target(req, u)
           ? GS_ENOMEM
           : 0;
  if (rc) {
    req->in_flight = 0;
    req->next = h1->spare; /* not linked in live: straight back to the spares */
    h1->spare = req;
    h1->nspare++;
    return rc;
  }
  req->first_origin = req->origin;
  req->next = h1->live;
  req->prev = NULL;
  if (h1->live)
    h1->live->prev = req;
  h1->live = req;
  h1->active++;
  req->in_flight = 1;
  req->t_start = req->t_hop = now;
  req->t_dns = req->t_conn = req->t_send = 0;
  req->deadline = o->timeout > 0 ? req->t_start + (uint64_t)(o->timeout * 1e9) : 0;
  if (o->timeout > 0 && req->deadline == req->t_start)
    req->deadline++;
  *out = &req->pub;
  gs__h1_acquire(req, now);
  return 0;
}

void gs_http1_request_free(gs_http_request_t *pub) {
  gs__h1_req_t *req = (gs__h1_req_t *)pub;
  gs_http1_t *h1 = req->h1;
  if (req->in_flight) { /* cancel: the callback never runs */
    req->in_flight = 0;
    h1->active--;
    gs__h1_wait_remove(req);
    gs__h1_conn_t *conn = req->conn;
    req->conn = NULL;
    if (conn) {
      conn->req = NULL;
      gs__h1_conn_close(conn);
    }
  }
  uv_timer_stop(&req->timer);
  req->finishing = 0;
  gs__h1_unlink(req);
  gs__h1_recycle(req);
}

int gs_http1_request_resume(gs_http_request_t *pub) {
  gs__h1_req_t *req = (gs__h1_req_t *)pub;
  if (!req->in_flight || !req->paused || req->finishing)
    return 0;
  if (req->held.len && gs__h1_deliver(req, req->held.p, req->held.len) == GS_HTTP_PAUSE)
    return 0; /* still paused */
  gs_buf_clear(&req->held);
  req->paused = 0;
  if (req->complete_held) {
    req->complete_held = 0;
    gs__h1_finish_soon(req, 0); /* the done callback must not run from here */
  } else if (req->conn) {
    gs__h1_conn_read(req->conn, 1);
  }
  return 0;
}

size_t gs_http1_active(const gs_http1_t *h1) {
  return h1 ? h1->active : 0;
}

void gs_http1_bytes(const gs_http1_t *h1, uint64_t *sent, uint64_t *received) {
  *sent = h1 ? h1->bytes_sent : 0;
  *received = h1 ? h1->bytes_received : 0;
}

void gs_http1_set_limits(gs_http1_t *h1, size_t max_conns_per_origin, double idle_timeout_secs) {
  h1->max_per_origin = max_conns_per_origin;
  if (idle_timeout_secs > 0) {
    h1->idle_ns = (uint64_t)(idle_timeout_secs * 1e9);
    gs__h1_idle_sweep(h1, uv_hrtime());
  }
}
