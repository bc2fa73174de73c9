/* Embedded HTTP/1.1 server: libuv TCP + http-parser (see gs/http_server.h).
 *
 * Ownership overview:
 * - gs_http_server_t (malloc'd in start) owns the listening handle, a shared
 *   64 KiB read buffer (the loop is single-threaded and read_cb consumes or
 *   copies what it keeps), a scratch buffer for response heads and a small
 *   free list of write requests. It is freed after the listener and every
 *   connection have run their close callbacks.
 * - conn_t (malloc'd per accepted connection) owns its uv_tcp_t, its timer
 *   (one at a time: header, body, idle, stalled write or linger deadline),
 *   its http_parser, the request buffers and the buffered unparsed input. It
 *   is freed only in the close callback of its last handle.
 * - The request handed to the handler (conn_t.req) points into conn_t's
 *   arena and header array; both are written only before the header block
 *   ends (trailer fields are counted and discarded), and the pointers are
 *   made at dispatch, so they stay valid until the exchange is answered.
 * - At most one exchange per connection is in flight; it is embedded in the
 *   connection and reused for the next request once answered.
 * - Every write is a wreq_t that owns a copy of its bytes until its write
 *   callback runs (writes the socket accepts at once via uv_try_write are
 *   not copied at all). */
#include "gs/http_server.h"

#include "gs/buf.h"
#include "gs/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF_SIZE (64 * 1024)
#define LISTEN_BACKLOG 4096
#define WREQ_POOL_CAP 4096         /* bytes of data a pooled write request holds */
#define WREQ_POOL_MAX 256          /* pooled write requests kept per server */
#define IN_HIGH_WATER (256 * 1024) /* buffered input that stops reading */
#define LINGER_MS 2000             /* how long error closes drain the peer */
#define KEEP_ARENA (8 * 1024)      /* request buffers above this are freed */
#define KEEP_BODY (16 * 1024)
#define KEEP_INPUT (64 * 1024)
#define CLOSE_DELIMITED INT64_MAX /* streaming body that ends when the connection closes */

typedef struct conn_s conn_t;

struct gs_http_exchange_s {
  conn_t *conn;
  gs_http_abort_cb abort_cb;
  void *abort_data;
  int streaming;     /* begin() was called */
  int chunked;       /* streaming with chunked encoding */
  int no_body;       /* HEAD or a status without body: body bytes are dropped */
  int64_t remaining; /* streaming with Content-Length: bytes still owed */
  gs_http_drain_cb drain_cb;
  void *drain_data;
};

/* Where one request header lives inside conn_t.arena while headers arrive
 * (the arena may move, so pointers are made in gs__on_headers_complete). */
typedef struct {
  size_t name_off;
  size_t value_off;
} hdr_off_t;

typedef enum { PH_URL, PH_FIELD, PH_VALUE, PH_DONE, PH_TRAILER } hdr_phase_t;

/* Where the connection is in reading requests (for its deadline). */
typedef enum { R_IDLE, R_HEAD, R_BODY } read_state_t;

/* gs__head_scan's states; SC_DONE once the header block's empty line is seen. */
enum { SC_START, SC_START_CR, SC_LINE, SC_CR, SC_LINE_START, SC_END_CR, SC_DONE, SC_BAD };

struct conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer; /* the deadline of the current state (gs__conn_arm_timer) */
  uv_shutdown_t shutdown_req;
  gs_http_server_t *srv;
  conn_t *prev, *next; /* srv->conns list */
  http_parser parser;

  /* Request under construction / in flight (owned, reused across requests). */
  gs_buf_t arena; /* target, then NUL-terminated header names and values */
  hdr_off_t *hoffs;
  gs_http_header_t *hdrs;
  size_t nhdrs, hdrs_cap;
  gs_buf_t body;
  size_t header_bytes;
  hdr_phase_t phase;
  read_state_t rstate;
  uint64_t deadline; /* loop time at which the timer fires (reading states) */
  int scan;          /* gs__head_scan state of the header block being read */
  int expect_continue;
  gs_http_request_info_t req;
  gs_http_exchange_t ex;

  /* Input received but not yet parsed (owned): in.p[in_off .. in.len). */
  gs_buf_t in;
  size_t in_off;

  int handles;      /* handles still to be closed before free */
  int error_status; /* 413/431 chosen by a parser callback */
  unsigned msg_ready : 1;
  unsigned ex_active : 1;
  unsigned keep_alive : 1;
  unsigned processing : 1;
  unsigned reading : 1;
  unsigned close_after_write : 1;
  unsigned lingering : 1;
  unsigned closing : 1;
  unsigned eof : 1;
  unsigned rejected : 1; /* over max_connections: answered 503 */
  unsigned pending_writes;
};

typedef struct wreq_s {
  uv_write_t req;
  conn_t *conn;
  struct wreq_s *next_free;
  size_t cap;
  char data[];
} wreq_t;

struct gs_http_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  size_t max_header_bytes;
  size_t max_body_bytes;
  size_t max_output_bytes;
  size_t max_connections;
  uint64_t header_timeout_ms, idle_timeout_ms, write_timeout_ms;
  gs_http_handler_cb on_request;
  void *data;
  int port;
  conn_t *conns;
  size_t nconns;
  size_t nrejected; /* of nconns, those being turned away with 503 */
  int closing;
  int listener_open;
  gs_http_server_closed_cb on_closed;
  void *closed_data;
  http_parser_settings settings;
  wreq_t *wreq_pool;
  size_t wreq_pooled;
  gs_buf_t scratch; /* response head being built (owned) */
  time_t date_sec;
  char date[40];
  char readbuf[READ_BUF_SIZE];
};

static void gs__conn_close(conn_t *c);
static void gs__conn_process(conn_t *c);
static void gs__conn_after_writes(conn_t *c);
static void gs__conn_update_reading(conn_t *c);
static void gs__conn_arm_timer(conn_t *c);

/* ---- small helpers ------------------------------------------------------- */

const char *gs_http_status_text(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 203:
    return "Non-Authoritative Information";
  case 204:
    return "No Content";
  case 205:
    return "Reset Content";
  case 206:
    return "Partial Content";
  case 300:
    return "Multiple Choices";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 412:
    return "Precondition Failed";
  case 413:
    return "Payload Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 416:
    return "Range Not Satisfiable";
  case 417:
    return "Expectation Failed";
  case 418:
    return "I'm a teapot";
  case 422:
    return "Unprocessable Entity";
  case 425:
    return "Too Early";
  case 426:
    return "Upgrade Required";
  case 428:
    return "Precondition Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 451:
    return "Unavailable For Legal Reasons";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

static const char *gs__server_date(gs_http_server_t *srv) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  if (now != srv->date_sec || !srv->date[0]) {
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(srv->date, sizeof srv->date, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    srv->date_sec = now;
  }
  return srv->date;
}

/* ---- the connection's timer ------------------------------------------------- */

static void gs__on_conn_timer(uv_timer_t *t);

static void gs__conn_timer_start(conn_t *c, uint64_t ms) {
  uv_timer_start(&c->timer, gs__on_conn_timer, ms, 0);
}

/* Enters a reading state whose deadline is `ms` from now. */
static void gs__conn_read_state(conn_t *c, read_state_t st, uint64_t ms) {
  c->rstate = st;
  c->deadline = uv_now(c->srv->loop) + ms;
}

/* ---- writes ---------------------------------------------------------------- */

static wreq_t *gs__wreq_get(gs_http_server_t *srv, size_t len) {
  if (len <= WREQ_POOL_CAP && srv->wreq_pool) {
    wreq_t *w = srv->wreq_pool;
    srv->wreq_pool = w->next_free;
    srv->wreq_pooled--;
    return w;
  }
  size_t cap = len <= WREQ_POOL_CAP ? WREQ_POOL_CAP : len;
  wreq_t *w = malloc(sizeof *w + cap);
  if (w)
    w->cap = cap;
  return w;
}

static void gs__wreq_put(gs_http_server_t *srv, wreq_t *w) {
  if (w->cap == WREQ_POOL_CAP && srv->wreq_pooled < WREQ_POOL_MAX) {
    w->next_free = srv->wreq_pool;
    srv->wreq_pool = w;
    srv->wreq_pooled++;
    return;
  }
  free(w);
}

static size_t gs__conn_queued(const conn_t *c) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

/* Calls the exchange's drain callback once the queue is low enough. */
static void gs__conn_maybe_drain(conn_t *c) {
  gs_http_drain_cb cb = c->ex.drain_cb;
  if (!c->ex_active || !cb || gs__conn_queued(c) > c->srv->max_output_bytes / 2)
    return;
  c->ex.drain_cb = NULL;
  cb(&c->ex, c->ex.drain_data);
}

static void gs__on_write(uv_write_t *req, int status) {
  wreq_t *w = (wreq_t *)req;
  conn_t *c = w->conn;
  gs__wreq_put(c->srv, w);
  c->pending_writes--;
  if (status < 0) {
    gs__conn_close(c);
    return;
  }
  if (c->pending_writes && !c->lingering) /* progress: the stalled-write deadline restarts */
    gs__conn_timer_start(c, c->srv->write_timeout_ms);
  gs__conn_maybe_drain(c);
  gs__conn_after_writes(c);
  gs__conn_arm_timer(c);
}

/* Sends the concatenation of bufs. Bytes the socket takes at once are not
 * copied; the rest is copied into a write request owned until gs__on_write. */
static int gs__conn_send(conn_t *c, const uv_buf_t *bufs, unsigned nbufs) {
  if (c->closing)
    return 0;
  size_t total = 0;
  for (unsigned i = 0; i < nbufs; i++)
    total += bufs[i].len;
  if (total == 0)
    return 0;
  size_t done = 0;
  if (c->pending_writes == 0) {
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
    if (n > 0)
      done = (size_t)n; /* errors other than EAGAIN resurface in gs__on_write */
    if (done == total)
      return 0;
  }
  wreq_t *w = gs__wreq_get(c->srv, total - done);
  if (!w) {
    gs__conn_close(c);
    return GS_ENOMEM;
  }
  size_t skip = done, len = 0;
  for (unsigned i = 0; i < nbufs; i++) {
    size_t blen = bufs[i].len;
    if (skip >= blen) {
      skip -= blen;
      continue;
    }
    memcpy(w->data + len, bufs[i].base + skip, blen - skip);
    len += blen - skip;
    skip = 0;
  }
  w->conn = c;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, gs__on_write);
  if (rc < 0) {
    gs__wreq_put(c->srv, w);
    gs__conn_close(c);
    return GS_ENETWORK;
  }
  if (c->pending_writes++ == 0 && !c->lingering)
    gs__conn_timer_start(c, c->srv->write_timeout_ms);
  return 0;
}

/* ---- closing --------------------------------------------------------------- */

static void gs__server_maybe_finish(gs_http_server_t *srv) {
  if (!srv->closing || srv->listener_open || srv->nconns)
    return;
  gs_http_server_closed_cb cb = srv->on_closed;
  void *data = srv->closed_data;
  while (srv->wreq_pool) {
    wreq_t *w = srv->wreq_pool;
    srv->wreq_pool = w->next_free;
    free(w);
  }
  gs_buf_free(&srv->scratch);
  free(srv);
  if (cb)
    cb(data);
}

static void gs__conn_free(conn_t *c) {
  gs_http_server_t *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nconns--;
  if (c->rejected)
    srv->nrejected--;
  gs_buf_free(&c->arena);
  free(c->hoffs);
  free(c->hdrs);
  gs_buf_free(&c->body);
  gs_buf_free(&c->in);
  free(c);
  gs__server_maybe_finish(srv);
}

static void gs__on_conn_handle_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  if (--c->handles == 0)
    gs__conn_free(c);
}

/* Closes at once. A pending exchange is aborted (its callback runs first). */
static void gs__conn_close(conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->ex_active) {
    gs_http_abort_cb cb = c->ex.abort_cb;
    c->ex_active = 0;
    c->ex.abort_cb = NULL;
    c->ex.drain_cb = NULL;
    if (cb)
      cb(&c->ex, c->ex.abort_data);
  }
  uv_close((uv_handle_t *)&c->tcp, gs__on_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, gs__on_conn_handle_closed);
}

static void gs__on_shutdown(uv_shutdown_t *req, int status) {
  if (status < 0)
    gs__conn_close(req->data);
}

/* Error close: sends FIN after the response and keeps reading (discarding)
 * until the peer closes or LINGER_MS pass, so unread request bytes do not
 * turn into a reset that destroys the response in flight. */
static void gs__conn_linger(conn_t *c) {
  if (c->closing)
    return;
  c->lingering = 1;
  gs__conn_timer_start(c, LINGER_MS);
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, gs__on_shutdown) < 0)
    gs__conn_close(c);
}

/* Called whenever writes may have drained. */
static void gs__conn_after_writes(conn_t *c) {
  if (c->closing)
    return;
  if (c->close_after_write) {
    if (c->pending_writes == 0 && !c->lingering) {
      if (c->error_status && !c->eof)
        gs__conn_linger(c);
      else
        gs__conn_close(c);
    }
    return;
  }
  if (!c->ex_active && c->in.len > c->in_off)
    gs__conn_process(c);
  /* A half-closed peer: close once every request it sent is answered. */
  if (!c->closing && c->eof && !c->ex_active && !c->processing && c->pending_writes == 0 &&
      c->in_off == c->in.len)
    gs__conn_close(c);
}

/* ---- responses ------------------------------------------------------------- */

static int gs__status_has_body(int status) {
  return !(status < 200 || status == 204 || status == 304);
}

static int gs__header_is(const gs_http_header_t *h, const char *name) {
  return strcasecmp(h->name, name) == 0;
}

static int gs__headers_valid(const gs_http_header_t *headers, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *name = headers[i].name, *value = headers[i].value;
    if (!name || !value || !*name || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n"))
      return 0;
  }
  return 1;
}

/* Appends the header line "name: value\r\n". */
static int gs__head_add_field(gs_buf_t *b, const char *name, const char *value) {
  if (gs_buf_add(b, name, strlen(name)) || gs_buf_add(b, ": ", 2) ||
      gs_buf_add(b, value, strlen(value)) || gs_buf_add(b, "\r\n", 2))
    return GS_ENOMEM;
  return 0;
}

/* Builds the status line and headers into srv->scratch (owned by the server,
 * valid until the next call; gs__head_buf hands it to a write). content_length
 * < 0 means chunked. Returns 0, or GS_ENOMEM with the connection as it was.
 * Handler headers are emitted as given, except Content-Length and
 * Transfer-Encoding, which the server owns; a handler's "Connection: close"
 * makes the connection close after the response. */
static int gs__head_build(conn_t *c, int status, const gs_http_header_t *headers, size_t n,
                          int64_t content_length) {
  gs_http_server_t *srv = c->srv;
  gs_buf_t *b = &srv->scratch;
  unsigned keep_alive = c->keep_alive;
  gs_buf_clear(b);
  int rc = gs_buf_addf(b, "HTTP/1.1 %d %s\r\n", status, gs_http_status_text(status));
  rc = rc ? rc : gs__head_add_field(b, "Date", gs__server_date(srv));
  int has_connection = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    const gs_http_header_t *h = &headers[i];
    if (gs__header_is(h, "content-length") || gs__header_is(h, "transfer-encoding"))
      continue;
    if (gs__header_is(h, "connection")) {
      has_connection = 1;
      if (strcasecmp(h->value, "close") == 0)
        c->keep_alive = 0;
    }
    rc = gs__head_add_field(b, h->name, h->value);
  }
  if (status < 200)
    c->keep_alive = 0; /* a 1xx as final answer: nothing can follow it */
  if (!rc && gs__status_has_body(status)) {
    if (content_length == GS_HTTP_CHUNKED)
      rc = gs__head_add_field(b, "Transfer-Encoding", "chunked");
    else if (content_length != CLOSE_DELIMITED)
      rc = gs_buf_addf(b, "Content-Length: %lld\r\n", (long long)content_length);
  }
  if (!rc && !has_connection) {
    if (!c->keep_alive)
      rc = gs__head_add_field(b, "Connection", "close");
    else if (c->req.http_major == 1 && c->req.http_minor == 0)
      rc = gs__head_add_field(b, "Connection", "keep-alive");
  }
  rc = rc ? rc : gs_buf_add(b, "\r\n", 2);
  if (rc) {
    c->keep_alive = keep_alive;
    return GS_ENOMEM;
  }
  return 0;
}

/* The head gs__head_build made, for gs__conn_send. */
static uv_buf_t gs__head_buf(const gs_http_server_t *srv) {
  return uv_buf_init(srv->scratch.p, (unsigned)srv->scratch.len);
}

/* Drops request buffers that grew past what an idle connection should hold. */
static void gs__conn_trim(conn_t *c) {
  gs_buf_reset(&c->arena, KEEP_ARENA);
  gs_buf_reset(&c->body, KEEP_BODY);
  if (c->in_off == c->in.len) {
    c->in_off = 0;
    gs_buf_reset(&c->in, KEEP_INPUT);
  }
}

/* The exchange is answered: close or go on with the next request. */
static void gs__conn_exchange_done(conn_t *c) {
  c->ex_active = 0;
  c->ex.abort_cb = NULL;
  c->ex.drain_cb = NULL;
  c->ex.streaming = 0;
  gs__conn_read_state(c, R_IDLE, c->srv->idle_timeout_ms);
  c->nhdrs = 0;
  gs__conn_trim(c); /* empties the arena and the body */
  if (c->closing)
    return;
  if (!c->keep_alive) {
    c->close_after_write = 1;
    gs__conn_after_writes(c);
    return;
  }
  gs__conn_after_writes(c);
  gs__conn_update_reading(c);
}

/* Sends a server-generated error response and closes the connection. */
static void gs__conn_fail(conn_t *c, int status) {
  if (c->closing || c->close_after_write)
    return;
  static const char body_fmt[] = "%d %s\n";
  char body[96];
  int blen = snprintf(body, sizeof body, body_fmt, status, gs_http_status_text(status));
  gs_http_header_t ct = {"Content-Type", "text/plain; charset=utf-8"};
  c->keep_alive = 0;
  c->error_status = status;
  c->close_after_write = 1;
  if (gs__head_build(c, status, &ct, 1, blen) < 0) {
    gs__conn_close(c);
    return;
  }
  uv_buf_t bufs[2] = {gs__head_buf(c->srv), uv_buf_init(body, (unsigned)blen)};
  if (gs__conn_send(c, bufs, 2) == 0)
    gs__conn_after_writes(c);
}

int gs_http_exchange_respond(gs_http_exchange_t *ex, int status, const gs_http_header_t *headers,
                             size_t nheaders, const char *body, size_t body_len) {
  conn_t *c = ex->conn;
  if (!c->ex_active || ex->streaming)
    return GS_EINVAL;
  int rc = 0;
  if (status < 100 || status > 999 || (nheaders && !headers) || (body_len && !body) ||
      !gs__headers_valid(headers, nheaders)) {
    /* Misuse still finishes the exchange, so the peer is not left hanging. */
    static const char msg[] = "invalid response from handler\n";
    status = 500;
    headers = NULL;
    nheaders = 0;
    body = msg;
    body_len = sizeof msg - 1;
    rc = GS_EINVAL;
  }
  int send_body = gs__status_has_body(status) && c->parser.method != HTTP_HEAD;
  /* From here on the exchange is finished: a failing send closes the
   * connection without calling the abort callback. */
  c->ex_active = 0;
  c->ex.abort_cb = NULL;
  c->ex.drain_cb = NULL;
  int brc = gs__head_build(c, status, headers, nheaders, (int64_t)body_len);
  if (brc < 0) {
    gs__conn_close(c);
    return brc;
  }
  uv_buf_t bufs[2] = {gs__head_buf(c->srv),
                      uv_buf_init((char *)body, send_body ? (unsigned)body_len : 0)};
  int src = gs__conn_send(c, bufs, send_body && body_len ? 2 : 1);
  if (src < 0)
    return src;
  gs__conn_exchange_done(c);
  return rc;
}

int gs_http_exchange_begin(gs_http_exchange_t *ex, int status, const gs_http_header_t *headers,
                           size_t nheaders, int64_t content_length) {
  conn_t *c = ex->conn;
  if (!c->ex_active || ex->streaming || status < 100 || status > 999 || (nheaders && !headers) ||
      !gs__headers_valid(headers, nheaders) ||
      (content_length < 0 && content_length != GS_HTTP_CHUNKED))
    return GS_EINVAL;
  int has_body = gs__status_has_body(status);
  if (content_length == GS_HTTP_CHUNKED && has_body && c->req.http_major == 1 &&
      c->req.http_minor == 0) {
    /* HTTP/1.0 peers do not know chunked: the body ends at close. */
    content_length = CLOSE_DELIMITED;
    c->keep_alive = 0;
  }
  int rc = gs__head_build(c, status, headers, nheaders, content_length);
  if (rc < 0)
    return rc;
  ex->streaming = 1;
  ex->no_body = !has_body || c->parser.method == HTTP_HEAD;
  ex->chunked = content_length == GS_HTTP_CHUNKED && has_body;
  ex->remaining = ex->no_body || ex->chunked ? 0 : content_length;
  uv_buf_t b = gs__head_buf(c->srv);
  return gs__conn_send(c, &b, 1);
}

int gs_http_exchange_write(gs_http_exchange_t *ex, const char *data, size_t len) {
  conn_t *c = ex->conn;
  if (!c->ex_active || !ex->streaming || (len && !data))
    return GS_EINVAL;
  if (ex->no_body || len == 0)
    return 0;
  if (ex->chunked) {
    char line[24];
    int ll = snprintf(line, sizeof line, "%zx\r\n", len);
    uv_buf_t bufs[3] = {uv_buf_init(line, (unsigned)ll), uv_buf_init((char *)data, (unsigned)len),
                        uv_buf_init("\r\n", 2)};
    return gs__conn_send(c, bufs, 3);
  }
  if (ex->remaining != CLOSE_DELIMITED) {
    if ((uint64_t)len > (uint64_t)ex->remaining)
      return GS_EINVAL;
    ex->remaining -= (int64_t)len;
  }
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  return gs__conn_send(c, &b, 1);
}

int gs_http_exchange_end(gs_http_exchange_t *ex) {
  conn_t *c = ex->conn;
  if (!c->ex_active || !ex->streaming)
    return GS_EINVAL;
  int rc = 0;
  if (ex->chunked && !ex->no_body) {
    uv_buf_t b = uv_buf_init("0\r\n\r\n", 5);
    rc = gs__conn_send(c, &b, 1);
  } else if (ex->remaining > 0 && ex->remaining != CLOSE_DELIMITED) {
    c->keep_alive = 0; /* short body: framing is broken, close */
    rc = GS_EINVAL;
  }
  gs__conn_exchange_done(c);
  return rc;
}

void gs_http_exchange_drop(gs_http_exchange_t *ex) {
  conn_t *c = ex->conn;
  if (!c->ex_active)
    return;
  c->ex_active = 0;
  c->ex.abort_cb = NULL;
  c->ex.drain_cb = NULL;
  gs__conn_close(c);
}

void gs_http_exchange_on_abort(gs_http_exchange_t *ex, gs_http_abort_cb cb, void *data) {
  ex->abort_cb = cb;
  ex->abort_data = data;
}

int gs_http_exchange_congested(const gs_http_exchange_t *ex) {
  return gs__conn_queued(ex->conn) > ex->conn->srv->max_output_bytes;
}

void gs_http_exchange_on_drain(gs_http_exchange_t *ex, gs_http_drain_cb cb, void *data) {
  ex->drain_cb = cb;
  ex->drain_data = data;
}

uv_loop_t *gs_http_exchange_loop(const gs_http_exchange_t *ex) {
  return ex->conn->srv->loop;
}

/* ---- request parsing ------------------------------------------------------- */

static int gs__arena_append(conn_t *c, const char *at, size_t len, int lower) {
  char *dst = gs_buf_extend(&c->arena, len);
  if (!dst)
    return GS_ENOMEM;
  if (lower) {
    for (size_t i = 0; i < len; i++) {
      char ch = at[i];
      dst[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
  } else if (len) {
    memcpy(dst, at, len);
  }
  return 0;
}

static int gs__arena_terminate(conn_t *c) {
  return gs__arena_append(c, "", 1, 0);
}

/* Counts header-block bytes; 431 when over the limit. */
static int gs__count_header_bytes(conn_t *c, size_t len) {
  c->header_bytes += len;
  if (c->header_bytes > c->srv->max_header_bytes) {
    c->error_status = 431;
    return -1;
  }
  return 0;
}

/* RFC 9112 line framing, which http-parser checks leniently: every line of
 * the header block ends in CRLF (2.2), no field line starts with SP or HTAB
 * (obs-fold, 5.2); empty lines before the request line are skipped (2.2).
 * Runs over the bytes before the parser sees them, up to the empty line
 * that ends the header block (body and trailers are not scanned). Returns
 * -1 at the first violation. Everything else is the parser's. */
static int gs__head_scan(conn_t *c, const char *data, size_t len) {
  int st = c->scan;
  for (size_t i = 0; i < len && st != SC_DONE && st != SC_BAD; i++) {
    char ch = data[i];
    int eol = ch == '\r' ? 1 : ch == '\n' ? 2 : 0;
    switch (st) {
    case SC_START:
      st = eol == 1 ? SC_START_CR : eol ? SC_BAD : SC_LINE;
      break;
    case SC_START_CR:
      st = eol == 2 ? SC_START : SC_BAD;
      break;
    case SC_LINE:
      st = eol == 1 ? SC_CR : eol ? SC_BAD : SC_LINE;
      break;
    case SC_CR:
    case SC_END_CR:
      st = eol != 2 ? SC_BAD : st == SC_CR ? SC_LINE_START : SC_DONE;
      break;
    default: /* SC_LINE_START */
      st = eol == 1 ? SC_END_CR : (eol || ch == ' ' || ch == '\t') ? SC_BAD : SC_LINE;
      break;
    }
  }
  c->scan = st;
  return st == SC_BAD ? -1 : 0;
}

static int gs__on_message_begin(http_parser *p) {
  conn_t *c = p->data;
  if (c->rstate == R_IDLE)
    gs__conn_read_state(c, R_HEAD, c->srv->header_timeout_ms);
  gs_buf_clear(&c->arena);
  c->nhdrs = 0;
  gs_buf_clear(&c->body);
  c->header_bytes = 0;
  c->phase = PH_URL;
  c->expect_continue = 0;
  return 0;
}

static int gs__on_url(http_parser *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (gs__count_header_bytes(c, len) < 0)
    return -1;
  return gs__arena_append(c, at, len, 0) < 0 ? -1 : 0;
}

static int gs__on_header_field(http_parser *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (gs__count_header_bytes(c, len + 4) < 0) /* + ": " and CRLF */
    return -1;
  if (memchr(at, ' ', len))
    return -1; /* http-parser takes SP as a name byte: "a b: v", "name : v" (400) */
  if (c->phase >= PH_DONE) {
    c->phase = PH_TRAILER; /* a trailer field: counted above, discarded */
    return 0;
  }
  if (c->phase != PH_FIELD) {
    /* a new header starts: terminate the target or the previous value */
    if (gs__arena_terminate(c) < 0)
      return -1;
    if (c->nhdrs == c->hdrs_cap) {
      size_t ncap = c->hdrs_cap ? c->hdrs_cap * 2 : 16;
      hdr_off_t *no = realloc(c->hoffs, ncap * sizeof *no);
      if (!no)
        return -1;
      c->hoffs = no;
      gs_http_header_t *nh = realloc(c->hdrs, ncap * sizeof *nh);
      if (!nh)
        return -1;
      c->hdrs = nh;
      c->hdrs_cap = ncap;
    }
    c->hoffs[c->nhdrs].name_off = c->arena.len;
    c->hoffs[c->nhdrs].value_off = 0;
    c->nhdrs++;
    c->phase = PH_FIELD;
  }
  return gs__arena_append(c, at, len, 1) < 0 ? -1 : 0;
}

static int gs__on_header_value(http_parser *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (gs__count_header_bytes(c, len) < 0)
    return -1;
  if (c->phase >= PH_DONE)
    return 0; /* a trailer field's value */
  if (c->phase != PH_VALUE) {
    if (gs__arena_terminate(c) < 0)
      return -1;
    c->hoffs[c->nhdrs - 1].value_off = c->arena.len;
    c->phase = PH_VALUE;
  }
  return gs__arena_append(c, at, len, 0) < 0 ? -1 : 0;
}

static int gs__on_headers_complete(http_parser *p) {
  conn_t *c = p->data;
  if (gs__arena_terminate(c) < 0)
    return -1;
  if (c->phase == PH_FIELD) {
    /* a name without value cannot happen with http-parser; be safe */
    c->hoffs[c->nhdrs - 1].value_off = c->arena.len - 1;
  }
  c->phase = PH_DONE;
  if (p->content_length != ULLONG_MAX && p->content_length > c->srv->max_body_bytes) {
    c->error_status = 413;
    return -1;
  }
  gs__conn_read_state(c, R_BODY, c->srv->idle_timeout_ms);
  for (size_t i = 0; i < c->nhdrs; i++)
    if (strcmp(c->arena.p + c->hoffs[i].name_off, "expect") == 0 &&
        strcasecmp(c->arena.p + c->hoffs[i].value_off, "100-continue") == 0)
      c->expect_continue = 1;
  gs_http_request_info_t *r = &c->req;
  r->http_major = p->http_major;
  r->http_minor = p->http_minor;
  c->keep_alive = http_should_keep_alive(p) ? 1 : 0;
  r->keep_alive = c->keep_alive;
  if (c->expect_continue && p->http_minor >= 1 && (p->flags & F_CHUNKED || p->content_length)) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
    gs__conn_send(c, &b, 1);
  }
  return 0;
}

static int gs__on_body(http_parser *p, const char *at, size_t len) {
  conn_t *c = p->data;
  if (c->body.len + len > c->srv->max_body_bytes) {
    c->error_status = 413;
    return -1;
  }
  return gs_buf_add(&c->body, at, len) < 0 ? -1 : 0;
}

static int gs__on_message_complete(http_parser *p) {
  conn_t *c = p->data;
  c->rstate = R_IDLE;
  c->scan = SC_START;
  c->msg_ready = 1;
  http_parser_pause(p, 1);
  return 0;
}

/* Points the request at the arena and header array, which stay untouched
 * until the exchange is done. */
static void gs__conn_dispatch(conn_t *c) {
  gs_http_server_t *srv = c->srv;
  c->msg_ready = 0;
  gs_http_request_info_t *r = &c->req;
  r->method = http_method_str((enum http_method)c->parser.method);
  r->target = c->arena.p;
  r->target_len = strlen(c->arena.p);
  for (size_t i = 0; i < c->nhdrs; i++) {
    c->hdrs[i].name = c->arena.p + c->hoffs[i].name_off;
    c->hdrs[i].value = c->arena.p + c->hoffs[i].value_off;
  }
  r->headers = c->hdrs;
  r->nheaders = c->nhdrs;
  r->keep_alive = c->keep_alive;
  r->body = c->body.len ? c->body.p : ""; /* NUL-terminated */
  r->body_len = c->body.len;
  c->ex.conn = c;
  c->ex.abort_cb = NULL;
  c->ex.abort_data = NULL;
  c->ex.drain_cb = NULL;
  c->ex.streaming = 0;
  c->ex_active = 1;
  srv->on_request(&c->ex, r, srv->data);
}

/* Parses len bytes and dispatches complete requests until one is pending.
 * Returns the number of bytes consumed; the connection may be closing. */
static size_t gs__conn_parse(conn_t *c, const char *data, size_t len) {
  size_t off = 0;
  while (off < len && !c->ex_active && !c->closing && !c->close_after_write) {
    if (gs__conn_queued(c) > c->srv->max_output_bytes)
      break; /* the peer does not read its answers: wait for gs__on_write */
    if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED)
      http_parser_pause(&c->parser, 0);
    if (c->scan != SC_DONE && gs__head_scan(c, data + off, len - off) < 0) {
      gs__conn_fail(c, 400);
      return len;
    }
    size_t n = http_parser_execute(&c->parser, &c->srv->settings, data + off, len - off);
    off += n;
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (c->msg_ready) {
      gs__conn_dispatch(c);
      continue;
    }
    if (err == HPE_HEADER_OVERFLOW) {
      gs__conn_fail(c, 431);
      return len;
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      gs__conn_fail(c, c->error_status ? c->error_status : 400);
      return len;
    }
    if (n == 0)
      break;
  }
  return off;
}

/* Parses buffered input (conn->in). Re-entry from a handler answering
 * synchronously is turned into another turn of this loop. */
static void gs__conn_process(conn_t *c) {
  if (c->processing)
    return;
  c->processing = 1;
  while (!c->closing && !c->ex_active && c->in_off < c->in.len) {
    size_t before = c->in_off;
    c->in_off += gs__conn_parse(c, c->in.p + c->in_off, c->in.len - c->in_off);
    if (c->in_off == before)
      break;
  }
  c->processing = 0;
  if (c->closing)
    return;
  if (c->in_off == c->in.len) {
    c->in_off = 0;
    gs_buf_clear(&c->in);
  }
  gs__conn_update_reading(c);
}

/* Keeps unparsed input; the parsed part in front goes once it is over half
 * the buffer (or all of it), so appending stays amortised O(1). */
static void gs__conn_buffer(conn_t *c, const char *data, size_t len) {
  if (c->in_off == c->in.len || c->in_off > c->in.cap / 2) {
    gs_buf_consume(&c->in, c->in_off);
    c->in_off = 0;
  }
  if (gs_buf_add(&c->in, data, len) < 0)
    gs__conn_close(c);
}

/* ---- reading --------------------------------------------------------------- */

static void gs__on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  conn_t *c = h->data;
  /* Shared per-server buffer: gs__on_read consumes or copies what it keeps. */
  *buf = uv_buf_init(c->srv->readbuf, READ_BUF_SIZE);
}

/* A reset closes at once (aborting a pending exchange). At EOF the peer
 * may only have half-closed: every complete request it sent is still
 * answered; gs__conn_after_writes closes after the last answer. */
static void gs__on_eof(conn_t *c, ssize_t nread) {
  if (c->lingering || nread != UV_EOF) {
    gs__conn_close(c);
    return;
  }
  c->reading = 0; /* libuv stops reading at EOF */
  c->eof = 1;
  gs__conn_after_writes(c);
}

static void gs__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (nread < 0) {
    gs__on_eof(c, nread);
    return;
  }
  if (nread == 0 || c->closing || c->close_after_write || c->lingering)
    return; /* nothing, or input after the last answer: discarded */
  size_t len = (size_t)nread;
  if (c->ex_active || c->in.len > c->in_off) {
    gs__conn_buffer(c, buf->base, len);
    if (!c->ex_active)
      gs__conn_process(c);
  } else {
    size_t used = gs__conn_parse(c, buf->base, len);
    if (used < len && !c->closing && !c->close_after_write)
      gs__conn_buffer(c, buf->base + used, len - used);
  }
  gs__conn_update_reading(c);
}

/* Arms the timer for the connection's state: queued output keeps the
 * stalled-write deadline (restarted by write progress), a handler at work
 * has none, a reading state has its deadline. */
static void gs__conn_arm_timer(conn_t *c) {
  if (c->closing || c->lingering || c->pending_writes)
    return;
  if (c->ex_active || c->msg_ready) {
    uv_timer_stop(&c->timer);
    return;
  }
  uint64_t now = uv_now(c->srv->loop);
  gs__conn_timer_start(c, c->deadline > now ? c->deadline - now : 0);
}

/* Linger over, stalled write, or a reading deadline passed: a partial
 * request gets 408, an idle connection is closed. */
static void gs__on_conn_timer(uv_timer_t *t) {
  conn_t *c = t->data;
  if (c->lingering || c->pending_writes)
    gs__conn_close(c);
  else if (c->ex_active || c->msg_ready)
    return;
  else if (c->rstate == R_IDLE)
    gs__conn_close(c);
  else
    gs__conn_fail(c, 408);
}

/* Reads unless too much input waits for a pending exchange. */
static void gs__conn_update_reading(conn_t *c) {
  if (c->closing || c->eof)
    return;
  int want = c->close_after_write || c->lingering || c->in.len - c->in_off < IN_HIGH_WATER;
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, gs__on_alloc, gs__on_read) == 0)
      c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
  gs__conn_arm_timer(c);
}

/* ---- accepting ------------------------------------------------------------- */

/* Over max_connections a new connection is answered 503 (and lingers like
 * any error close); while max_connections more are being turned away, it
 * is closed at once. */
static void gs__conn_admit(conn_t *c) {
  gs_http_server_t *srv = c->srv;
  if (srv->nconns - srv->nrejected <= srv->max_connections) {
    gs__conn_update_reading(c);
    if (!c->reading)
      gs__conn_close(c);
    return;
  }
  if (srv->nrejected >= srv->max_connections) {
    gs__conn_close(c);
    return;
  }
  c->rejected = 1;
  srv->nrejected++;
  gs__conn_update_reading(c);
  gs__conn_fail(c, 503);
}

static void gs__on_connection(uv_stream_t *l, int status) {
  gs_http_server_t *srv = l->data;
  if (status < 0 || srv->closing)
    return;
  conn_t *c = calloc(1, sizeof *c);
  if (!c)
    return; /* retried on the next loop turn */
  if (uv_tcp_init(srv->loop, &c->tcp) < 0) {
    free(c);
    return;
  }
  uv_timer_init(srv->loop, &c->timer); /* cannot fail on Unix */
  c->srv = srv;
  c->tcp.data = c;
  c->timer.data = c;
  c->handles = 2;
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  c->ex.conn = c;
  gs__conn_read_state(c, R_IDLE, srv->header_timeout_ms); /* the first byte is due */
  if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
    gs__conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  gs__conn_admit(c);
}

/* ---- server ---------------------------------------------------------------- */

static int gs__resolve(const char *host, int port, struct sockaddr_storage *ss) {
  if (!host || strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
    return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
    return 0;
  return GS_EADDR;
}

/* Binds and listens on a plain socket so failures are reported at once
 * without a libuv handle to close. Returns the fd, GS_EADDRINUSE when the
 * address is taken, or GS_EADDR. */
static int gs__listen_socket(const struct sockaddr_storage *ss) {
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return GS_EADDR;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len =
      ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
    int in_use = errno == EADDRINUSE;
    close(fd);
    return in_use ? GS_EADDRINUSE : GS_EADDR;
  }
  return fd;
}

static void gs__on_listener_closed(uv_handle_t *h) {
  gs_http_server_t *srv = h->data;
  srv->listener_open = 0;
  gs__server_maybe_finish(srv);
}

#define OPT_OR(v, dflt) ((v) ? (v) : (dflt))

static void gs__server_limits(gs_http_server_t *srv, const gs_http_server_opts_t *o) {
  srv->max_header_bytes = OPT_OR(o->max_header_bytes, GS_HTTP_DEFAULT_MAX_HEADER);
  srv->max_body_bytes = OPT_OR(o->max_body_bytes, GS_HTTP_DEFAULT_MAX_BODY);
  srv->max_output_bytes = OPT_OR(o->max_output_bytes, GS_HTTP_DEFAULT_MAX_OUTPUT);
  srv->max_connections = OPT_OR(o->max_connections, GS_HTTP_DEFAULT_MAX_CONNECTIONS);
  srv->header_timeout_ms = OPT_OR(o->header_timeout_ms, GS_HTTP_DEFAULT_HEADER_TIMEOUT_MS);
  srv->idle_timeout_ms = OPT_OR(o->idle_timeout_ms, GS_HTTP_DEFAULT_IDLE_TIMEOUT_MS);
  srv->write_timeout_ms = OPT_OR(o->write_timeout_ms, GS_HTTP_DEFAULT_WRITE_TIMEOUT_MS);
}

static void gs__init_settings(http_parser_settings *s) {
  http_parser_settings_init(s);
  s->on_message_begin = gs__on_message_begin;
  s->on_url = gs__on_url;
  s->on_header_field = gs__on_header_field;
  s->on_header_value = gs__on_header_value;
  s->on_headers_complete = gs__on_headers_complete;
  s->on_body = gs__on_body;
  s->on_message_complete = gs__on_message_complete;
}

int gs_http_server_start(uv_loop_t *loop, const gs_http_server_opts_t *opts,
                         gs_http_server_t **out) {
  if (!loop || !opts || !out || !opts->on_request || opts->port < 0 || opts->port > 65535)
    return GS_EINVAL;
  *out = NULL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (gs__resolve(opts->host, opts->port, &ss) < 0)
    return GS_EADDR;
  gs_http_server_t *srv = calloc(1, sizeof *srv);
  if (!srv)
    return GS_ENOMEM;
  int fd = gs__listen_socket(&ss);
  if (fd < 0) {
    free(srv);
    return fd;
  }
  srv->loop = loop;
  gs__server_limits(srv, opts);
  srv->on_request = opts->on_request;
  srv->data = opts->data;
  gs__init_settings(&srv->settings);
  uv_tcp_init(loop, &srv->listener);
  srv->listener.data = srv;
  srv->listener_open = 1;
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  int rc = uv_tcp_open(&srv->listener, fd);
  if (rc < 0)
    close(fd); /* not adopted by the handle */
  if (rc < 0 || uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen) < 0 ||
      uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, gs__on_connection) < 0) {
    /* The handle is live: it frees the server when the loop closes it. */
    srv->closing = 1;
    uv_close((uv_handle_t *)&srv->listener, gs__on_listener_closed);
    return GS_EADDR;
  }
  srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
  *out = srv;
  return 0;
}

int gs_http_server_port(const gs_http_server_t *srv) {
  return srv->port;
}

size_t gs_http_server_connections(const gs_http_server_t *srv) {
  return srv->nconns - srv->nrejected;
}

void gs_http_server_close(gs_http_server_t *srv, gs_http_server_closed_cb on_closed, void *data) {
  if (srv->closing)
    return;
  srv->closing = 1;
  srv->on_closed = on_closed;
  srv->closed_data = data;
  uv_close((uv_handle_t *)&srv->listener, gs__on_listener_closed);
  /* Closing never frees synchronously, so walking the list is safe; abort
   * callbacks run from gs__conn_close. */
  for (conn_t *c = srv->conns; c; c = c->next)
    gs__conn_close(c);
}
