/* libFuzzer target for the HTTP server's request path (gs/http_server.h):
 * the input's bytes go to a live server on 127.0.0.1 over a fresh TCP
 * connection, all on one libuv loop in this process.
 *
 * Input: byte 0 seeds how the rest is split into writes (bit 7 set: one
 * write), each further write a loop turn later; then the client shuts down
 * its sending side and reads until the server closes. Limits are small
 * (1 KiB of header, 4 KiB of body) so 431 and 413 are reached. The handler
 * answers by a hash of the target: at once (200), a loop turn later (200),
 * streamed in chunks (201), 204, or drops the connection.
 *
 * Oracle: every request handed to the handler obeys the header (a method,
 * a NUL-terminated target of target_len bytes, lower-case header names,
 * header bytes within the limit, a NUL-terminated body within the limit);
 * the bytes the server sends parse as a sequence of HTTP/1.1 responses
 * (HEAD answers without a body, 100 Continue allowed), one per answered
 * request in order, plus at most one 4xx/5xx from the server itself, last;
 * the server closes the connection within 5 s of the client's FIN and
 * ends with no open connection; deferred exchanges are either answered or
 * aborted. Leaks and sanitizer reports are findings. */
#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fuzz.h"
#include "fuzz_uv.h"
#include "gs/buf.h"
#include "gs/http_server.h"

#define GS__FUZZ_MAX_HEADER 1024
#define GS__FUZZ_MAX_BODY 4096
#define GS__FUZZ_MAX_REQS 256 /* answers the oracle tracks per connection */

static uv_loop_t gs__fuzz_loop;
static gs_http_server_t *gs__fuzz_srv;

/* One input's connection and what the handler saw. */
typedef struct {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_shutdown_t shutdown;
  gs_fuzz_writer_t writer;
  uv_timer_t watchdog; /* the server must close within 5 s */
  gs_buf_t out;        /* the server's bytes */
  int closed;          /* the client's handles closed */
  int reset;           /* the read ended in an error, not EOF: answers may be cut */
  size_t answered;
  char heads[GS__FUZZ_MAX_REQS]; /* per answer in order: 1 when to a HEAD */
  int statuses[GS__FUZZ_MAX_REQS];
  size_t deferred; /* exchanges answered later, still pending */
} gs__fuzz_conn_t;

static gs__fuzz_conn_t *gs__fuzz_cur;

/* ---- the handler ---------------------------------------------------------- */

typedef struct {
  uv_timer_t timer;
  gs_http_exchange_t *ex;
} gs__fuzz_later_t;

static void gs__fuzz_answered(const gs_http_request_info_t *req, int status) {
  gs__fuzz_conn_t *c = gs__fuzz_cur;
  if (c->answered < GS__FUZZ_MAX_REQS) {
    c->heads[c->answered] = strcmp(req->method, "HEAD") == 0;
    c->statuses[c->answered] = status;
  }
  c->answered++;
}

static void gs__fuzz_later_closed(uv_handle_t *h) {
  free(h->data);
}

static void gs__fuzz_later_fire(uv_timer_t *t) {
  gs__fuzz_later_t *l = t->data;
  static const char body[] = "later";
  GS_FUZZ_CHECK(gs_http_exchange_respond(l->ex, 200, NULL, 0, body, sizeof body - 1) == 0);
  gs__fuzz_cur->deferred--;
  uv_close((uv_handle_t *)t, gs__fuzz_later_closed);
}

static void gs__fuzz_later_abort(gs_http_exchange_t *ex, void *data) {
  gs__fuzz_later_t *l = data;
  uv_timer_stop(&l->timer);
  gs__fuzz_cur->deferred--;
  gs__fuzz_cur->answered--; /* counted when deferred; never sent */
  uv_close((uv_handle_t *)&l->timer, gs__fuzz_later_closed);
}

static void gs__fuzz_check_request(const gs_http_request_info_t *req) {
  GS_FUZZ_CHECK(req->method && req->method[0]);
  GS_FUZZ_CHECK(req->target && strlen(req->target) == req->target_len);
  GS_FUZZ_CHECK(req->body && req->body[req->body_len] == '\0');
  GS_FUZZ_CHECK(req->body_len <= GS__FUZZ_MAX_BODY);
  GS_FUZZ_CHECK(req->keep_alive == 0 || req->keep_alive == 1);
  size_t bytes = req->target_len;
  for (size_t i = 0; i < req->nheaders; i++) {
    const gs_http_header_t *h = &req->headers[i];
    GS_FUZZ_CHECK(h->name && h->value);
    for (const char *p = h->name; *p; p++)
      GS_FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
    bytes += strlen(h->name) + strlen(h->value);
  }
  GS_FUZZ_CHECK(bytes <= GS__FUZZ_MAX_HEADER);
}

static void gs__fuzz_on_request(gs_http_exchange_t *ex, const gs_http_request_info_t *req,
                                void *data) {
  gs__fuzz_check_request(req);
  uint32_t h = 2166136261u; /* FNV-1a of the target picks the answer */
  for (size_t i = 0; i < req->target_len; i++)
    h = (h ^ (unsigned char)req->target[i]) * 16777619u;
  switch (h % 5) {
  case 0: {
    gs_http_header_t ct = {"Content-Type", "text/plain"};
    GS_FUZZ_CHECK(gs_http_exchange_respond(ex, 200, &ct, 1, req->body, req->body_len) == 0);
    gs__fuzz_answered(req, 200);
    break;
  }
  case 1: {
    gs__fuzz_later_t *l = malloc(sizeof *l);
    GS_FUZZ_CHECK(l && uv_timer_init(&gs__fuzz_loop, &l->timer) == 0);
    l->timer.data = l;
    l->ex = ex;
    gs_http_exchange_on_abort(ex, gs__fuzz_later_abort, l);
    uv_timer_start(&l->timer, gs__fuzz_later_fire, 0, 0);
    gs__fuzz_cur->deferred++;
    gs__fuzz_answered(req, 200);
    break;
  }
  case 2:
    GS_FUZZ_CHECK(gs_http_exchange_begin(ex, 201, NULL, 0, GS_HTTP_CHUNKED) == 0);
    GS_FUZZ_CHECK(gs_http_exchange_write(ex, "chunk", 5) == 0);
    GS_FUZZ_CHECK(gs_http_exchange_write(ex, req->target, req->target_len) == 0);
    GS_FUZZ_CHECK(gs_http_exchange_end(ex) == 0);
    gs__fuzz_answered(req, 201);
    break;
  case 3:
    GS_FUZZ_CHECK(gs_http_exchange_respond(ex, 204, NULL, 0, NULL, 0) == 0);
    gs__fuzz_answered(req, 204);
    break;
  default:
    gs_http_exchange_drop(ex);
  }
}

/* ---- the client side ------------------------------------------------------ */

static void gs__fuzz_client_closed(uv_handle_t *h) {
  gs__fuzz_cur->closed++;
}

static void gs__fuzz_close_client(gs__fuzz_conn_t *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, gs__fuzz_client_closed);
    gs_fuzz_writer_close(&c->writer, gs__fuzz_client_closed);
  }
}

static void gs__fuzz_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char space[64 * 1024];
  *buf = uv_buf_init(space, sizeof space);
}

static void gs__fuzz_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  gs__fuzz_conn_t *c = s->data;
  if (n > 0) {
    GS_FUZZ_CHECK(gs_buf_add(&c->out, buf->base, (size_t)n) == 0);
  } else if (n < 0) {
    c->reset = n != UV_EOF;
    gs__fuzz_close_client(c);
  }
}

/* All sent: half-close. A failed write means the server closed: the client
 * still reads what it sent. */
static void gs__fuzz_written(gs_fuzz_writer_t *w, int status) {
  gs__fuzz_conn_t *c = w->data;
  if (status == 0)
    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, NULL);
}

static void gs__fuzz_connected(uv_connect_t *req, int status) {
  gs__fuzz_conn_t *c = req->data;
  GS_FUZZ_CHECK(status == 0);
  GS_FUZZ_CHECK(uv_read_start((uv_stream_t *)&c->tcp, gs__fuzz_alloc, gs__fuzz_read) == 0);
  gs_fuzz_writer_start(&c->writer);
}

static void gs__fuzz_hang(uv_timer_t *t) {
  gs_fuzz_fail(__FILE__, __LINE__, "the server did not close the connection within 5 s");
}

/* ---- the response stream -------------------------------------------------- */

typedef struct {
  const gs__fuzz_conn_t *c;
  size_t finals; /* final responses parsed */
  int error_sent;
} gs__fuzz_parse_t;

static int gs__fuzz_on_headers(http_parser *p) {
  gs__fuzz_parse_t *r = p->data;
  if (p->status_code == 100)
    return 0;
  GS_FUZZ_CHECK(!r->error_sent); /* the server's own error answer is last */
  GS_FUZZ_CHECK(p->http_major == 1 && p->http_minor == 1);
  size_t i = r->finals++;
  if (i < r->c->answered && p->status_code < 400) {
    if (i < GS__FUZZ_MAX_REQS) {
      GS_FUZZ_CHECK((int)p->status_code == r->c->statuses[i]);
      return r->c->heads[i]; /* 1: a HEAD answer has no body */
    }
    return 0;
  }
  GS_FUZZ_CHECK(p->status_code >= 400 && p->status_code <= 599);
  r->error_sent = 1;
  return 0;
}

static void gs__fuzz_check_output(const gs__fuzz_conn_t *c) {
  http_parser p;
  http_parser_settings s = {.on_headers_complete = gs__fuzz_on_headers};
  gs__fuzz_parse_t r = {.c = c};
  http_parser_init(&p, HTTP_RESPONSE);
  p.data = &r;
  size_t n = http_parser_execute(&p, &s, c->out.p, c->out.len);
  if (c->reset)
    return; /* a reset may have destroyed answers in flight */
  GS_FUZZ_CHECK(n == c->out.len && HTTP_PARSER_ERRNO(&p) == HPE_OK);
  http_parser_execute(&p, &s, NULL, 0); /* EOF: a cut response is an error */
  GS_FUZZ_CHECK(HTTP_PARSER_ERRNO(&p) == HPE_OK);
  GS_FUZZ_CHECK(r.finals == c->answered + (size_t)r.error_sent);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  GS_FUZZ_CHECK(uv_loop_init(&gs__fuzz_loop) == 0);
  gs_http_server_opts_t o = {.max_header_bytes = GS__FUZZ_MAX_HEADER,
                             .max_body_bytes = GS__FUZZ_MAX_BODY,
                             .on_request = gs__fuzz_on_request};
  GS_FUZZ_CHECK(gs_http_server_start(&gs__fuzz_loop, &o, &gs__fuzz_srv) == 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  gs__fuzz_conn_t c = {0};
  gs__fuzz_cur = &c;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", gs_http_server_port(gs__fuzz_srv), &addr);
  uint32_t split = data[0] & 0x80 ? 0 : data[0] | 0x100u;
  GS_FUZZ_CHECK(uv_tcp_init(&gs__fuzz_loop, &c.tcp) == 0 &&
                gs_fuzz_writer_init(&c.writer, &gs__fuzz_loop, (uv_stream_t *)&c.tcp,
                                    (const char *)data + 1, size - 1, split, 512, gs__fuzz_written,
                                    &c) == 0 &&
                uv_timer_init(&gs__fuzz_loop, &c.watchdog) == 0);
  c.tcp.data = c.watchdog.data = c.connect.data = &c;
  GS_FUZZ_CHECK(
      uv_tcp_connect(&c.connect, &c.tcp, (const struct sockaddr *)&addr, gs__fuzz_connected) == 0);
  uv_timer_start(&c.watchdog, gs__fuzz_hang, 5000, 0);
  while (c.closed < 2 || gs_http_server_connections(gs__fuzz_srv) || c.deferred)
    uv_run(&gs__fuzz_loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&c.watchdog, NULL);
  uv_run(&gs__fuzz_loop, UV_RUN_NOWAIT);
  gs__fuzz_check_output(&c);
  free(c.out.p);
  gs__fuzz_cur = NULL;
  return 0;
}
