/* libFuzzer target for the HTTP client's response path (gs/http_client.h):
 * a fresh client fetches http://127.0.0.1:<port>/ from a loopback peer in
 * this process, on the same libuv loop, that answers with the input.
 *
 * Input: byte 0 chooses the request and the peer (bits 0-1: after the
 * answer the peer shuts down its side (0, 1, 2) or resets the connection
 * (3); with bit 7 also set, 2 keeps it open instead, and the transfer's
 * 20 ms timeout may end it; bits 2-4 seed how the answer is split into
 * writes a loop turn apart, 0: one write; bit 5: HEAD, else GET; bit 6:
 * max_body 64 bytes, else unlimited); the rest is the answer. No redirects are followed (a Location
 * could leave 127.0.0.1), and proxy variables are cleared.
 *
 * Oracle: every transfer ends, once, within 5 s, with a response (a status
 * 100..999, NUL-terminated headers and body, an empty body for HEAD, at
 * most max_body bytes) or a GS_E* error with a message; afterwards the
 * client has no transfer in flight and frees everything (leaks are
 * findings). */
#include <curl/curl.h>
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

/* One input: the peer's connection and the transfer's outcome. */
typedef struct {
  const char *answer;
  size_t len;
  uint32_t split; /* 0: one write */
  int mode;       /* 0: shut down, 2: keep open, 3: reset */
  int head;
  size_t max_body;
  int done;  /* the done callback ran (must be once) */
  int peers; /* peer connections not yet closed */
} gs__fuzz_run_t;

static gs__fuzz_run_t *gs__fuzz_cur;

typedef struct {
  uv_tcp_t tcp;
  uv_shutdown_t shutdown;
  gs_fuzz_writer_t writer;
  char head[4]; /* the request's last 4 bytes: its end is CRLF CRLF */
  int answering;
  int handles;
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

static void gs__fuzz_peer_close(gs__fuzz_peer_t *p) {
  if (uv_is_closing((uv_handle_t *)&p->tcp))
    return;
  uv_close((uv_handle_t *)&p->tcp, gs__fuzz_peer_closed);
  gs_fuzz_writer_close(&p->writer, gs__fuzz_peer_closed);
}

static void gs__fuzz_peer_shut(uv_shutdown_t *s, int status) {
  (void)status; /* keeps reading until the client closes */
}

/* The whole answer is out: end the connection as the mode says. */
static void gs__fuzz_peer_written(gs_fuzz_writer_t *w, int status) {
  gs__fuzz_peer_t *p = w->data;
  if (status < 0)
    return; /* the client went away */
  if (p->run->mode == 3) {
    uv_tcp_close_reset(&p->tcp, gs__fuzz_peer_closed);
    gs_fuzz_writer_close(&p->writer, gs__fuzz_peer_closed);
  } else if (p->run->mode == 0) {
    uv_shutdown(&p->shutdown, (uv_stream_t *)&p->tcp, gs__fuzz_peer_shut);
  }
}

static void gs__fuzz_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  gs__fuzz_peer_t *p = s->data;
  if (n < 0) {
    gs__fuzz_peer_close(p);
    return;
  }
  for (ssize_t i = 0; i < n && !p->answering; i++) {
    memmove(p->head, p->head + 1, 3);
    p->head[3] = buf->base[i];
    if (memcmp(p->head, "\r\n\r\n", 4) == 0) {
      p->answering = 1;
      gs_fuzz_writer_start(&p->writer);
    }
  }
}

static void gs__fuzz_on_connection(uv_stream_t *l, int status) {
  GS_FUZZ_CHECK(status == 0 && gs__fuzz_cur != NULL);
  gs__fuzz_peer_t *p = calloc(1, sizeof *p);
  GS_FUZZ_CHECK(p != NULL);
  gs__fuzz_run_t *r = p->run = gs__fuzz_cur;
  p->tcp.data = p->shutdown.data = p;
  GS_FUZZ_CHECK(uv_tcp_init(&gs__fuzz_loop, &p->tcp) == 0 &&
                gs_fuzz_writer_init(&p->writer, &gs__fuzz_loop, (uv_stream_t *)&p->tcp, r->answer,
                                    r->len, r->split, 256, gs__fuzz_peer_written, p) == 0);
  p->handles = 2;
  p->run->peers++;
  GS_FUZZ_CHECK(uv_accept(l, (uv_stream_t *)&p->tcp) == 0);
  GS_FUZZ_CHECK(uv_read_start((uv_stream_t *)&p->tcp, gs_fuzz_read_alloc, gs__fuzz_peer_read) == 0);
}

/* ---- the client ------------------------------------------------------------ */

static void gs__fuzz_done(gs_http_request_t *req, const gs_http_response_t *res, void *data) {
  gs__fuzz_run_t *r = data;
  GS_FUZZ_CHECK(!r->done);
  r->done = 1;
  GS_FUZZ_CHECK(res->headers && res->headers[res->headers_len] == '\0');
  GS_FUZZ_CHECK(res->body && res->body[res->body_len] == '\0');
  GS_FUZZ_CHECK(res->error_message && res->effective_url);
  if (res->error == 0) {
    GS_FUZZ_CHECK(res->status >= 100 && res->status <= 999 && res->error_message[0] == '\0');
    GS_FUZZ_CHECK(!r->head || res->body_len == 0);
    GS_FUZZ_CHECK(!r->max_body || res->body_len <= r->max_body);
  } else {
    GS_FUZZ_CHECK(res->error <= GS_EINVAL && res->error >= GS_EAUTH);
    GS_FUZZ_CHECK(res->error_message[0] != '\0');
  }
  gs_http_request_free(req);
}

static void gs__fuzz_hang(uv_timer_t *t) {
  gs_fuzz_fail(__FILE__, __LINE__, "the transfer did not end within 5 s");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  static const char *const proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                        "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
  for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
    unsetenv(proxies[i]);
  /* One global reference for the whole run, so each client's init and
   * cleanup stay cheap. */
  GS_FUZZ_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
  GS_FUZZ_CHECK(uv_loop_init(&gs__fuzz_loop) == 0);
  GS_FUZZ_CHECK(gs_fuzz_listen(&gs__fuzz_loop, &gs__fuzz_listener, gs__fuzz_on_connection,
                               gs__fuzz_url, sizeof gs__fuzz_url) == 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int ctl = data[0];
  gs__fuzz_run_t r = {.answer = (const char *)data + 1,
                      .len = size - 1,
                      .split = (ctl >> 2) & 7 ? (uint32_t)ctl | 0x100u : 0,
                      .mode = (ctl & 3) == 3         ? 3
                              : (ctl & 0x83) == 0x82 ? 2
                                                     : 0,
                      .head = (ctl & 0x20) != 0,
                      .max_body = ctl & 0x40 ? GS__FUZZ_SMALL_BODY : 0};
  gs__fuzz_cur = &r;
  gs_http_client_t *client;
  gs_http_request_t *req;
  GS_FUZZ_CHECK(gs_http_client_new(&gs__fuzz_loop, &client) == 0);
  gs_http_request_opts_t o = {.method = r.head ? "HEAD" : "GET",
                              .url = gs__fuzz_url,
                              .engine = GS_HTTP_ENGINE_CURL, /* libcurl's; see http1_client */
                              .timeout = r.mode == 2 ? 0.02 : 2.0,
                              .max_body = r.max_body};
  GS_FUZZ_CHECK(gs_http_request_start(client, &o, gs__fuzz_done, &r, &req) == 0);
  uv_timer_t watchdog;
  GS_FUZZ_CHECK(uv_timer_init(&gs__fuzz_loop, &watchdog) == 0);
  uv_timer_start(&watchdog, gs__fuzz_hang, 5000, 0);
  while (!r.done)
    uv_run(&gs__fuzz_loop, UV_RUN_ONCE);
  GS_FUZZ_CHECK(gs_http_client_active(client) == 0);
  gs_http_client_free(client);
  while (r.peers)
    uv_run(&gs__fuzz_loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&watchdog, NULL);
  uv_run(&gs__fuzz_loop, UV_RUN_NOWAIT); /* the client's and the watchdog's close callbacks */
  gs__fuzz_cur = NULL;
  return 0;
}
