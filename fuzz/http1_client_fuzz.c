/* libFuzzer target for the native HTTP/1.1 engine (src/core/http1_client.c):
 * response bytes -> parser and pool state machine. A fresh client makes two
 * requests, one after the other, to a loopback peer in this process on the
 * same libuv loop: the peer answers the first request it reads with the
 * first part of the input and every later one with the second part, so the
 * second request runs on the kept-alive connection whenever the first
 * answer left it usable.
 *
 * Input: byte 0 (bits 0-1: after each answer the peer keeps the connection
 * open (0, 3), shuts its side down (1) or resets it (2); bits 2-4 seed how
 * answers are split into writes a loop turn apart, 0: one write; bit 5:
 * the first request is HEAD, else GET; bit 6: max_body 64 bytes; bit 7: the
 * second request is a POST with a body); byte 1 (bit 0: the peer reads the
 * second request on a reused connection and closes without answering;
 * bit 1: retry_unsafe; bit 2: stream the bodies to a data callback that
 * refuses every other offer, resumed a loop turn later); byte 2: where the
 * rest splits into the two answers (byte * rest / 255). No redirects are
 * followed.
 *
 * Oracle: every request ends once, within 5 s, with a response (status
 * 100..999, NUL-terminated headers and body, no body for HEAD, at most
 * max_body bytes) or a GS_E* error with a message; connection_retries <= 1;
 * GS_ERESET only for a POST without retry_unsafe; the peer reads at most one
 * POST unless retry_unsafe (then two); afterwards nothing is in flight and
 * the client frees everything (leaks are findings). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fuzz.h"
#include "fuzz_uv.h"
#include "gs/error.h"
#include "gs/http_client.h"

#define GS__FUZZ_SMALL_BODY 64

static uv_loop_t gs__fuzz_loop;
static uv_tcp_t gs__fuzz_listener;
static char gs__fuzz_url[64];

typedef struct {
  const char *answer[2];
  size_t len[2];
  uint32_t split;
  int mode; /* 0 keep open, 1 shut down, 2 reset */
  int head, post, drop_second, retry_unsafe, stream;
  size_t max_body;
  int requests; /* requests the peer read, all connections */
  int posts;
  int done[2];
  int finished; /* both requests ended */
  int peers;
  gs_http_client_t *client;
  gs_http_request_t *live; /* the request in flight (for resume) */
  uv_timer_t resume;
  int offers;
  int heads; /* len-0 calls (the head) of the current request's response */
  size_t streamed;
} gs__fuzz_run_t;

static gs__fuzz_run_t *gs__fuzz_cur;

typedef struct {
  uv_tcp_t tcp;
  uv_shutdown_t shutdown;
  gs_fuzz_writer_t writer[2];
  int nwriters;
  char tail[4];
  int body_left; /* POST body bytes still to read */
  int nreq;      /* requests read on this connection */
  int handles;
  int closing;
  gs__fuzz_run_t *run;
} gs__fuzz_peer_t;

/* ---- the peer ------------------------------------------------------------ */

static void gs__fuzz_peer_closed(uv_handle_t *h) {
  gs__fuzz_peer_t *p = h->type == UV_TIMER ? ((gs_fuzz_writer_t *)h->data)->data : h->data;
  if (--p->handles == 0) {
    p->run->peers--;
    free(p);
  }
}

static void gs__fuzz_peer_close(gs__fuzz_peer_t *p, int reset) {
  if (p->closing)
    return;
  p->closing = 1;
  if (reset)
    uv_tcp_close_reset(&p->tcp, gs__fuzz_peer_closed);
  else
    uv_close((uv_handle_t *)&p->tcp, gs__fuzz_peer_closed);
  for (int i = 0; i < p->nwriters; i++)
    gs_fuzz_writer_close(&p->writer[i], gs__fuzz_peer_closed);
}

static void gs__fuzz_peer_shut(uv_shutdown_t *s, int status) {
  (void)status; /* keeps reading until the client closes */
}

static void gs__fuzz_peer_written(gs_fuzz_writer_t *w, int status) {
  gs__fuzz_peer_t *p = w->data;
  if (status < 0 || p->closing)
    return;
  if (p->run->mode == 2)
    gs__fuzz_peer_close(p, 1);
  else if (p->run->mode == 1)
    uv_shutdown(&p->shutdown, (uv_stream_t *)&p->tcp, gs__fuzz_peer_shut);
}

/* A whole request was read: answer it (or drop it). */
static void gs__fuzz_peer_request(gs__fuzz_peer_t *p) {
  gs__fuzz_run_t *r = p->run;
  p->nreq++;
  int k = r->requests++ == 0 ? 0 : 1;
  if (r->drop_second && p->nreq == 2) {
    gs__fuzz_peer_close(p, 0);
    return;
  }
  if (p->nwriters == 2) {
    gs__fuzz_peer_close(p, 0); /* a third request on one connection: enough */
    return;
  }
  gs_fuzz_writer_t *w = &p->writer[p->nwriters];
  GS_FUZZ_CHECK(gs_fuzz_writer_init(w, &gs__fuzz_loop, (uv_stream_t *)&p->tcp, r->answer[k],
                                    r->len[k], r->split, 256, gs__fuzz_peer_written, p) == 0);
  p->nwriters++;
  p->handles++;
  gs_fuzz_writer_start(w);
}

static void gs__fuzz_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  gs__fuzz_peer_t *p = s->data;
  if (n < 0) {
    gs__fuzz_peer_close(p, 0);
    return;
  }
  for (ssize_t i = 0; i < n && !p->closing; i++) {
    if (p->body_left > 0) {
      if (--p->body_left == 0)
        gs__fuzz_peer_request(p);
      continue;
    }
    memmove(p->tail, p->tail + 1, 3);
    p->tail[3] = buf->base[i];
    if (memcmp(p->tail, "\r\n\r\n", 4) == 0) {
      memset(p->tail, 0, 4);
      if (p->run->post && p->run->requests >= 1) { /* requests after the first are POSTs */
        p->run->posts++;
        p->body_left = 2;
      } else {
        gs__fuzz_peer_request(p);
      }
    }
  }
}

static void gs__fuzz_on_connection(uv_stream_t *l, int status) {
  GS_FUZZ_CHECK(status == 0 && gs__fuzz_cur != NULL);
  gs__fuzz_peer_t *p = calloc(1, sizeof *p);
  GS_FUZZ_CHECK(p != NULL);
  p->run = gs__fuzz_cur;
  p->tcp.data = p->shutdown.data = p;
  GS_FUZZ_CHECK(uv_tcp_init(&gs__fuzz_loop, &p->tcp) == 0);
  p->handles = 1;
  p->run->peers++;
  GS_FUZZ_CHECK(uv_accept(l, (uv_stream_t *)&p->tcp) == 0);
  GS_FUZZ_CHECK(uv_read_start((uv_stream_t *)&p->tcp, gs_fuzz_read_alloc, gs__fuzz_peer_read) == 0);
}

/* ---- the client ------------------------------------------------------------ */

static void gs__fuzz_start(gs__fuzz_run_t *r, int second);

static void gs__fuzz_resume(uv_timer_t *t) {
  gs__fuzz_run_t *r = t->data;
  if (r->live)
    GS_FUZZ_CHECK(gs_http_request_resume(r->live) == 0);
}

static int gs__fuzz_data(gs_http_request_t *req, const gs_http_response_t *head, const char *bytes,
                         size_t len, void *data) {
  gs__fuzz_run_t *r = data;
  GS_FUZZ_CHECK(head->status >= 100 && head->status <= 999 && head->headers);
  if (len == 0) { /* the head, once, before any body byte (gs/http_client.h) */
    GS_FUZZ_CHECK(r->heads++ == 0 && r->streamed == 0);
    return 0;
  }
  GS_FUZZ_CHECK(r->heads == 1);
  if (r->offers++ % 2 == 0) {
    uv_timer_start(&r->resume, gs__fuzz_resume, 0, 0);
    return GS_HTTP_PAUSE;
  }
  r->streamed += len;
  GS_FUZZ_CHECK(!r->max_body || r->streamed <= r->max_body);
  return 0;
}

static void gs__fuzz_done(gs_http_request_t *req, const gs_http_response_t *res, void *data) {
  gs__fuzz_run_t *r = data;
  int second = r->done[0];
  GS_FUZZ_CHECK(!r->done[second]);
  r->done[second] = 1;
  r->live = NULL;
  GS_FUZZ_CHECK(res->headers && res->headers[res->headers_len] == '\0');
  GS_FUZZ_CHECK(res->body && res->body[res->body_len] == '\0');
  GS_FUZZ_CHECK(res->error_message && res->effective_url);
  GS_FUZZ_CHECK(res->connection_retries <= 1);
  int head = !second && r->head, post = second && r->post;
  if (res->error == 0) {
    GS_FUZZ_CHECK(res->status >= 100 && res->status <= 999 && res->error_message[0] == '\0');
    GS_FUZZ_CHECK(!head || res->body_len == 0);
    GS_FUZZ_CHECK(!r->max_body || res->body_len <= r->max_body);
    GS_FUZZ_CHECK(!r->stream || res->body_len == 0);
  } else {
    GS_FUZZ_CHECK(res->error <= GS_EINVAL && res->error >= GS_ERESET);
    GS_FUZZ_CHECK(res->error_message[0] != '\0');
    GS_FUZZ_CHECK(res->error != GS_ERESET || (post && !r->retry_unsafe));
  }
  GS_FUZZ_CHECK(r->posts <= (r->retry_unsafe ? 2 : 1));
  gs_http_request_free(req);
  if (!second)
    gs__fuzz_start(r, 1);
  else
    r->finished = 1;
}

static void gs__fuzz_start(gs__fuzz_run_t *r, int second) {
  gs_http_request_opts_t o = {.method =
                                  second ? (r->post ? "POST" : "GET") : (r->head ? "HEAD" : "GET"),
                              .url = gs__fuzz_url,
                              .timeout = r->mode == 0 ? 0.02 : 2.0,
                              .max_body = r->max_body,
                              .engine = GS_HTTP_ENGINE_NATIVE,
                              .retry_unsafe = r->retry_unsafe,
                              .on_data = r->stream ? gs__fuzz_data : NULL};
  if (second && r->post) {
    o.body = "{}";
    o.body_len = 2;
  }
  r->streamed = 0;
  r->heads = 0;
  GS_FUZZ_CHECK(gs_http_request_start(r->client, &o, gs__fuzz_done, r, &r->live) == 0);
}

static void gs__fuzz_hang(uv_timer_t *t) {
  gs_fuzz_fail(__FILE__, __LINE__, "the requests did not end within 5 s");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  GS_FUZZ_CHECK(uv_loop_init(&gs__fuzz_loop) == 0);
  GS_FUZZ_CHECK(gs_fuzz_listen(&gs__fuzz_loop, &gs__fuzz_listener, gs__fuzz_on_connection,
                               gs__fuzz_url, sizeof gs__fuzz_url) == 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  int ctl = data[0], ctl2 = data[1];
  size_t rest = size - 3, cut = rest * data[2] / 255;
  gs__fuzz_run_t r = {.answer = {(const char *)data + 3, (const char *)data + 3 + cut},
                      .len = {cut, rest - cut},
                      .split = (ctl >> 2) & 7 ? (uint32_t)ctl | 0x100u : 0,
                      .mode = (ctl & 3) == 3 ? 0 : ctl & 3,
                      .head = (ctl & 0x20) != 0,
                      .max_body = ctl & 0x40 ? GS__FUZZ_SMALL_BODY : 0,
                      .post = (ctl & 0x80) != 0,
                      .drop_second = ctl2 & 1,
                      .retry_unsafe = (ctl2 & 2) != 0,
                      .stream = (ctl2 & 4) != 0};
  gs__fuzz_cur = &r;
  GS_FUZZ_CHECK(gs_http_client_new(&gs__fuzz_loop, &r.client) == 0);
  GS_FUZZ_CHECK(uv_timer_init(&gs__fuzz_loop, &r.resume) == 0);
  r.resume.data = &r;
  uv_timer_t watchdog;
  GS_FUZZ_CHECK(uv_timer_init(&gs__fuzz_loop, &watchdog) == 0);
  uv_timer_start(&watchdog, gs__fuzz_hang, 5000, 0);
  gs__fuzz_start(&r, 0);
  while (!r.finished)
    uv_run(&gs__fuzz_loop, UV_RUN_ONCE);
  GS_FUZZ_CHECK(gs_http_client_active(r.client) == 0);
  gs_http_client_free(r.client);
  while (r.peers) {
    /* kept-alive peer connections end when the client's close reaches them */
    uv_run(&gs__fuzz_loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&watchdog, NULL);
  uv_close((uv_handle_t *)&r.resume, NULL);
  uv_run(&gs__fuzz_loop, UV_RUN_NOWAIT);
  gs__fuzz_cur = NULL;
  return 0;
}
