/* Tests of the native HTTP/1.1 engine (src/core/http1_client.c) against raw
 * servers on 127.0.0.1 on the same loop (gs_test_server.h): each connection
 * reads requests up to "\r\n\r\n" plus Content-Length bytes and hands them
 * to the test's answer function, which writes whatever bytes it likes
 * (hostile servers included). test_http_client.c runs the shared cases on both
 * engines; this file covers what is the native engine's own: the pool, the
 * re-send rule, the parser's cases, limits and allocation counts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "gs/error.h"
#include "gs/http_client.h"
#include "gs_test.h"
#include "gs_test_server.h"

/* ---- allocation counting (not under ASan, which owns malloc) ------------ */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#else
#define COUNT_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static long g_allocs;
void *malloc(size_t n) {
  g_allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  g_allocs++;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  g_allocs++;
  return __libc_realloc(p, n);
}
#endif

/* ---- raw server (on gs_test_server.h) ------------------------------------ */

typedef struct rsrv_s rsrv_t;

/* Answers one request; nth counts the connection's requests from 1; head is
 * the whole request, NUL-terminated after its body. */
typedef void (*answer_fn)(gs_test_conn_t *c, const char *method, const char *path, const char *head,
                          const char *body, size_t body_len, int nth);

/* The server (base: port, accepted, closed, requests, conns) and what these
 * tests also record of the requests it reads. */
struct rsrv_s {
  gs_test_server_t base;
  int posts;
  answer_fn answer;
  char last_head[4096]; /* head of the last request */
  char last_method[16];
};

static void rsrv_answer(gs_test_conn_t *c, const gs_test_request_t *rq) {
  rsrv_t *srv = c->srv->data;
  srv->posts += strcmp(rq->method, "POST") == 0;
  snprintf(srv->last_head, sizeof srv->last_head, "%.*s", (int)rq->head_len, rq->head);
  snprintf(srv->last_method, sizeof srv->last_method, "%s", rq->method);
  srv->answer(c, rq->method, rq->path, rq->head, rq->body, rq->body_len, rq->nth);
}

/* Starts srv on 127.0.0.1 with answer; the caller owns srv (rsrv_stop). */
static void rsrv_start(rsrv_t *srv, uv_loop_t *loop, answer_fn answer) {
  memset(srv, 0, sizeof *srv);
  srv->answer = answer;
  GS_CHECK_INT(gs_test_server_start(&srv->base, loop, rsrv_answer, srv), 0);
  GS_CHECK(srv->base.port > 0);
}

static void rsrv_stop(rsrv_t *srv) {
  gs_test_server_stop(&srv->base);
}

/* ---- answers ------------------------------------------------------------ */

static char g_big_line[110 * 1024];

static void answer_main(gs_test_conn_t *c, const char *method, const char *path, const char *head,
                        const char *body, size_t body_len, int nth) {
  char out[1024];
  if (strcmp(path, "/ok") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: 1\r\n\r\nhello");
  } else if (strcmp(path, "/chunked") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
                          "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
  } else if (strcmp(path, "/close") == 0) {
    gs_test_conn_send(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 52, 1);
  } else if (strcmp(path, "/http10") == 0) {
    gs_test_conn_sends(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n10");
  } else if (strcmp(path, "/1xx") == 0) {
    gs_test_conn_sends(c,
                       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
                       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: 1\r\n\r\nok");
  } else if (strcmp(path, "/head") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  } else if (strcmp(path, "/204") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 204 No Content\r\nX-N: 1\r\n\r\n");
  } else if (strcmp(path, "/304") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n");
  } else if (strcmp(path, "/303") == 0) {
    gs_test_conn_sends(c,
                       "HTTP/1.1 303 See Other\r\nLocation: /echo\r\nContent-Length: 3\r\n\r\nabc");
  } else if (strcmp(path, "/307") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 307 Temporary Redirect\r\nLocation: echo?x=1\r\n"
                          "Content-Length: 0\r\n\r\n");
  } else if (strcmp(path, "/302") == 0) {
    gs_test_conn_sends(
        c, "HTTP/1.1 302 Found\r\nLocation: /a/../echo#frag\r\nContent-Length: 0\r\n\r\n");
  } else if (strncmp(path, "/echo", 5) == 0) {
    int n = snprintf(out, sizeof out, "%s %s %zu %.*s", method, path, body_len,
                     (int)(body_len > 100 ? 100 : body_len), body);
    char h[128];
    snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n);
    gs_test_conn_sends(c, h);
    gs_test_conn_send(c, out, (size_t)n, 0);
  } else if (strcmp(path, "/loop") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n");
  } else if (strcmp(path, "/tohttps") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 301 Moved\r\nLocation: https://127.0.0.1:1/x\r\n"
                          "Content-Length: 0\r\n\r\n");
  } else if (strcmp(path, "/cl_big") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nxx");
  } else if (strcmp(path, "/chunk_big") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n");
    memset(out, 'z', 1024);
    gs_test_conn_send(c, out, 1024, 0);
    gs_test_conn_sends(c, "\r\n0\r\n\r\n");
  } else if (strcmp(path, "/bigheader") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nX-Big: ");
    gs_test_conn_send(c, g_big_line, sizeof g_big_line, 0);
    gs_test_conn_sends(c, "\r\nContent-Length: 0\r\n\r\n");
  } else if (strcmp(path, "/hang") == 0) {
    /* never answers */
  } else if (strcmp(path, "/garbage") == 0) {
    gs_test_conn_send(c, "SPDY/9 what\r\n\r\n", 15, 1);
  } else if (strcmp(path, "/partial") == 0) {
    gs_test_conn_send(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 42, 1);
  } else if (strcmp(path, "/stream") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 10; i++) {
      char piece[32];
      int n = snprintf(piece, sizeof piece, "3\r\n%03d\r\n", i);
      gs_test_conn_send(c, piece, (size_t)n, 0);
    }
    gs_test_conn_sends(c, "0\r\n\r\n");
  } else if (strcmp(path, "/closelater") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  } else {
    gs_test_conn_sends(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  }
}

/* The re-send proof's server: answers a connection's first request, reads
 * its second and closes without a byte of answer. */
static void answer_drop_second(gs_test_conn_t *c, const char *method, const char *path,
                               const char *head, const char *body, size_t body_len, int nth) {
  if (nth >= 2) {
    gs_test_conn_close(c);
    return;
  }
  gs_test_conn_sends(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

/* Echoes the request head as the body (redirect header checks). */
static void answer_echo_head(gs_test_conn_t *c, const char *method, const char *path,
                             const char *head, const char *body, size_t body_len, int nth) {
  char h[128];
  size_t n = strlen(head);
  snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
  gs_test_conn_sends(c, h);
  gs_test_conn_send(c, head, n, 0);
}

static int g_other_port;

static void answer_foreign(gs_test_conn_t *c, const char *method, const char *path,
                           const char *head, const char *body, size_t body_len, int nth) {
  char h[256];
  if (strcmp(path, "/same") == 0) {
    gs_test_conn_sends(c, "HTTP/1.1 302 Found\r\nLocation: /echohead\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  if (strcmp(path, "/echohead") == 0) {
    answer_echo_head(c, method, path, head, body, body_len, nth);
    return;
  }
  snprintf(h, sizeof h,
           "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/x\r\nContent-Length: 0\r\n\r\n",
           g_other_port);
  gs_test_conn_sends(c, h);
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
  uv_loop_t loop;
  uv_timer_t guard;
  rsrv_t srv;
  gs_http_client_t *client;
} fx_t;

static void fx_tick(uv_timer_t *t) {}

static void fx_setup(fx_t *fx, answer_fn answer) {
  GS_CHECK_INT(uv_loop_init(&fx->loop), 0);
  rsrv_start(&fx->srv, &fx->loop, answer);
  uv_timer_init(&fx->loop, &fx->guard);
  uv_unref((uv_handle_t *)&fx->guard);
  GS_CHECK_INT(gs_http_client_new(&fx->loop, &fx->client), 0);
}

static void fx_teardown(fx_t *fx) {
  GS_CHECK_INT(gs_http_client_active(fx->client), 0);
  gs_http_client_free(fx->client);
  rsrv_stop(&fx->srv);
  uv_close((uv_handle_t *)&fx->guard, NULL);
  uv_run(&fx->loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(uv_loop_close(&fx->loop), 0);
}

static int fx_run_until(fx_t *fx, const int *flag, double secs) {
  uint64_t deadline = uv_hrtime() + (uint64_t)(secs * 1e9);
  uv_timer_start(&fx->guard, fx_tick, 5, 5);
  while (!*flag && uv_hrtime() < deadline)
    uv_run(&fx->loop, UV_RUN_ONCE);
  uv_timer_stop(&fx->guard);
  return *flag;
}

static void fx_run_for(fx_t *fx, double secs) {
  int never = 0;
  fx_run_until(fx, &never, secs);
}

typedef struct {
  int calls, error;
  long status, redirects, new_conns, retries;
  char headers[4096], body[4096], msg[512], url[512];
  size_t body_len;
  gs_http_timings_t t;
  int copy; /* 0: count only (allocation test) */
} result_t;

static void on_done(gs_http_request_t *req, const gs_http_response_t *res, void *data) {
  result_t *r = data;
  r->calls++;
  r->error = res->error;
  r->status = res->status;
  r->redirects = res->redirects;
  r->new_conns = res->new_connections;
  r->retries = res->connection_retries;
  r->body_len = res->body_len;
  r->t = res->timings;
  if (r->copy) {
    snprintf(r->headers, sizeof r->headers, "%s", res->headers);
    snprintf(r->body, sizeof r->body, "%s", res->body);
    snprintf(r->msg, sizeof r->msg, "%s", res->error_message);
    snprintf(r->url, sizeof r->url, "%s", res->effective_url);
  }
  gs_http_request_free(req);
}

static gs_http_request_opts_t opts0(void) {
  gs_http_request_opts_t o;
  memset(&o, 0, sizeof o);
  o.engine = GS_HTTP_ENGINE_NATIVE;
  o.timeout = 5;
  return o;
}

static char g_url[600];

static int fetch_port(fx_t *fx, int port, const char *path, gs_http_request_opts_t o, result_t *r) {
  gs_http_request_t *req;
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d%s", port, path);
  o.url = g_url;
  int copy = r->copy;
  memset(r, 0, sizeof *r);
  r->copy = copy;
  int rc = gs_http_request_start(fx->client, &o, on_done, r, &req);
  if (rc != 0)
    return rc;
  fx_run_until(fx, &r->calls, 10);
  return 0;
}

static int fetch(fx_t *fx, const char *path, gs_http_request_opts_t o, result_t *r) {
  r->copy = 1;
  return fetch_port(fx, fx->srv.base.port, path, o, r);
}

/* ---- tests -------------------------------------------------------------- */

static void test_keepalive_and_bodies(void) {
  fx_t fx;
  result_t r;
  fx_setup(&fx, answer_main);
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_STR(r.body, "hello");
  GS_CHECK_STR(r.headers, "Content-Length: 5\r\nX-Test: 1\r\n");
  GS_CHECK_INT(r.new_conns, 1);
  GS_CHECK(r.t.connect > 0 && r.t.ttfb > 0 && r.t.total >= r.t.ttfb);
  printf("  new connection: dns %.6f connect %.6f ttfb %.6f total %.6f\n", r.t.dns, r.t.connect,
         r.t.ttfb, r.t.total);
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.new_conns, 0);
  GS_CHECK(r.t.dns == 0 && r.t.connect == 0 && r.t.ttfb > 0);
  GS_CHECK_INT(fx.srv.base.accepted, 1);

  GS_CHECK_INT(fetch(&fx, "/chunked", opts0(), &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_STR(r.body, "hello world");
  GS_CHECK_STR(r.headers, "Transfer-Encoding: chunked\r\nX-A: b\r\n"); /* no trailer */
  GS_CHECK_INT(r.new_conns, 0);

  GS_CHECK_INT(fetch(&fx, "/close", opts0(), &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_STR(r.body, "until the end");
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.new_conns, 1); /* the close-delimited one was not kept */
  GS_CHECK_INT(fetch(&fx, "/http10", opts0(), &r), 0);
  GS_CHECK_STR(r.body, "10");
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.new_conns, 1); /* HTTP/1.0 without keep-alive ends the connection */

  GS_CHECK_INT(fetch(&fx, "/1xx", opts0(), &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_STR(r.body, "ok");
  GS_CHECK_STR(r.headers, "Content-Length: 2\r\nX-Final: 1\r\n");

  gs_http_request_opts_t o = opts0();
  o.method = "HEAD";
  GS_CHECK_INT(fetch(&fx, "/head", o, &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.body_len, 0);
  GS_CHECK_INT(fetch(&fx, "/204", opts0(), &r), 0);
  GS_CHECK_INT(r.status, 204);
  GS_CHECK_INT(r.body_len, 0);
  GS_CHECK_INT(fetch(&fx, "/304", opts0(), &r), 0);
  GS_CHECK_INT(r.status, 304);
  GS_CHECK_INT(r.body_len, 0);
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.new_conns, 0); /* HEAD, 204 and 304 left the connection usable */
  GS_CHECK_STR(r.body, "hello");

  /* request bytes: defaults, replacement, removal, Content-Length/Type */
  const char *hdrs[] = {"Accept: text/plain", "User-Agent:", "X-Empty;", "X-A: 1"};
  o = opts0();
  o.method = "POST";
  o.body = "k=v";
  o.body_len = 3;
  o.headers = hdrs;
  o.nheaders = 4;
  GS_CHECK_INT(fetch(&fx, "/echo/./a/../b?q=1#frag", o, &r), 0);
  GS_CHECK_STR(r.body, "POST /echo/b?q=1 3 k=v");
  char want[256];
  snprintf(want, sizeof want,
           "POST /echo/b?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/plain\r\n"
           "X-Empty:\r\nX-A: 1\r\nContent-Length: 3\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\n\r\n",
           fx.srv.base.port);
  GS_CHECK_STR(fx.srv.last_head, want);
  o = opts0();
  o.path_as_is = 1;
  GS_CHECK_INT(fetch(&fx, "/echo/./a/../b", o, &r), 0);
  GS_CHECK_STR(r.body, "GET /echo/./a/../b 0 ");
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d", fx.srv.base.port);
  o = opts0();
  o.url = g_url;
  gs_http_request_t *req;
  memset(&r, 0, sizeof r);
  r.copy = 1;
  GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_done, &r, &req), 0);
  fx_run_until(&fx, &r.calls, 5);
  GS_CHECK_INT(r.status, 404);
  GS_CHECK(strstr(fx.srv.last_head, "GET / HTTP/1.1\r\n") == fx.srv.last_head);
  GS_CHECK(strstr(fx.srv.last_head, "User-Agent: gofr-sim/0.1\r\nAccept: */*\r\n") != NULL);
  fx_teardown(&fx);
}

static void test_redirects(void) {
  fx_t fx;
  result_t r;
  fx_setup(&fx, answer_main);
  gs_http_request_opts_t o = opts0();
  o.follow_redirects = 1;
  o.method = "POST";
  o.body = "abc=1";
  o.body_len = 5;
  GS_CHECK_INT(fetch(&fx, "/303", o, &r), 0);
  GS_CHECK_STR(r.body, "GET /echo 0 ");
  GS_CHECK_INT(r.redirects, 1);
  GS_CHECK(strstr(fx.srv.last_head, "Content-Length") == NULL);
  GS_CHECK_INT(fetch(&fx, "/307", o, &r), 0);
  GS_CHECK_STR(r.body, "POST /echo?x=1 5 abc=1");
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d/echo?x=1", fx.srv.base.port);
  GS_CHECK_STR(r.url, g_url);
  GS_CHECK_INT(fetch(&fx, "/302", o, &r), 0);
  GS_CHECK_STR(r.body, "GET /echo 0 ");
  o.method = "PUT";
  GS_CHECK_INT(fetch(&fx, "/302", o, &r), 0);
  GS_CHECK_STR(r.body, "PUT /echo 5 abc=1"); /* 301/302 change POST only */
  GS_CHECK_INT(fx.srv.base.accepted, 1);     /* all hops on the one kept-alive connection */

  o = opts0();
  o.follow_redirects = 1;
  o.max_redirects = 2;
  GS_CHECK_INT(fetch(&fx, "/loop", o, &r), 0);
  GS_CHECK_INT(r.error, GS_EPROTO);
  GS_CHECK_STR(r.msg, "Maximum (2) redirects followed");
  GS_CHECK_INT(fetch(&fx, "/tohttps", o, &r), 0);
  GS_CHECK_INT(r.error, GS_EPROTO);
  GS_CHECK(strstr(r.msg, "https://127.0.0.1:1/x") != NULL);
  o.follow_redirects = 0;
  GS_CHECK_INT(fetch(&fx, "/loop", o, &r), 0);
  GS_CHECK_INT(r.status, 302);
  GS_CHECK(strstr(r.headers, "Location: /loop\r\n") != NULL);
  fx_teardown(&fx);

  /* Another origin: Authorization and Cookie stay behind (curl 7.88). */
  fx_setup(&fx, answer_foreign);
  rsrv_t other;
  rsrv_start(&other, &fx.loop, answer_echo_head);
  g_other_port = other.base.port;
  const char *hdrs[] = {"Authorization: Bearer t", "Cookie: s=1", "X-Keep: 1"};
  o = opts0();
  o.follow_redirects = 1;
  o.headers = hdrs;
  o.nheaders = 3;
  GS_CHECK_INT(fetch(&fx, "/away", o, &r), 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK(strstr(r.body, "X-Keep: 1") != NULL);
  GS_CHECK(strstr(r.body, "Authorization") == NULL);
  GS_CHECK(strstr(r.body, "Cookie") == NULL);
  char host[64];
  snprintf(host, sizeof host, "Host: 127.0.0.1:%d\r\n", other.base.port);
  GS_CHECK(strstr(r.body, host) != NULL);
  GS_CHECK_INT(fetch(&fx, "/same", o, &r), 0);
  GS_CHECK(strstr(r.body, "Authorization: Bearer t") != NULL);
  GS_CHECK(strstr(r.body, "Cookie: s=1") != NULL);
  rsrv_stop(&other);
  fx_teardown(&fx);
}

static void test_errors(void) {
  fx_t fx;
  result_t r;
  fx_setup(&fx, answer_main);
  gs_http_request_opts_t o = opts0();
  o.max_body = 1000;
  GS_CHECK_INT(fetch(&fx, "/cl_big", o, &r), 0);
  GS_CHECK_INT(r.error, GS_EBODYTOOLARGE);
  GS_CHECK_STR(r.msg, "response body exceeds max_body (1000 bytes, by Content-Length)");
  GS_CHECK_INT(fetch(&fx, "/chunk_big", o, &r), 0);
  GS_CHECK_INT(r.error, GS_EBODYTOOLARGE);
  GS_CHECK_STR(r.msg, "response body exceeds max_body (1000 bytes)");
  GS_CHECK_INT(fetch(&fx, "/bigheader", opts0(), &r), 0);
  GS_CHECK_INT(r.error, GS_EPROTO);
  GS_CHECK(strncmp(r.msg, "response header too large: ", 27) == 0 && strstr(r.msg, "102400"));
  GS_CHECK_INT(fetch(&fx, "/garbage", opts0(), &r), 0);
  GS_CHECK_INT(r.error, GS_EPROTO);
  GS_CHECK_INT(fetch(&fx, "/partial", opts0(), &r), 0);
  GS_CHECK_INT(r.error, GS_EPROTO);
  GS_CHECK_STR(r.msg, "transfer closed with 7 bytes remaining to read");

  o = opts0();
  o.timeout = 0.2;
  uint64_t t0 = uv_hrtime();
  GS_CHECK_INT(fetch(&fx, "/hang", o, &r), 0);
  double el = (double)(uv_hrtime() - t0) / 1e9;
  GS_CHECK_INT(r.error, GS_ETIMEDOUT);
  GS_CHECK(strstr(r.msg, "timed out") != NULL);
  GS_CHECK(el >= 0.19 && el < 0.5);

  /* refused */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (struct sockaddr *)&a, sizeof a);
  getsockname(fd, (struct sockaddr *)&a, &alen);
  close(fd);
  GS_CHECK_INT(fetch_port(&fx, ntohs(a.sin_port), "/", opts0(), &r), 0);
  GS_CHECK_INT(r.error, GS_ECONNECT);
  GS_CHECK(strstr(r.msg, "connection refused") != NULL);

  /* connect timeout: a listener whose accept queue is full */
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(lfd, (struct sockaddr *)&a, sizeof a);
  listen(lfd, 0);
  getsockname(lfd, (struct sockaddr *)&a, &alen);
  int fill[4];
  for (int i = 0; i < 4; i++) {
    fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fill[i], (struct sockaddr *)&a, sizeof a);
  }
  o = opts0();
  o.connect_timeout = 0.15;
  t0 = uv_hrtime();
  GS_CHECK_INT(fetch_port(&fx, ntohs(a.sin_port), "/", o, &r), 0);
  el = (double)(uv_hrtime() - t0) / 1e9;
  GS_CHECK_INT(r.error, GS_ETIMEDOUT);
  GS_CHECK(strstr(r.msg, "Connection timed out after") != NULL);
  GS_CHECK(el >= 0.14 && el < 0.5);
  for (int i = 0; i < 4; i++)
    close(fill[i]);
  close(lfd);

  /* invalid */
  gs_http_request_t *req;
  o = opts0();
  const char *bad[] = {"https://127.0.0.1/", "http://127.0.0.1:99999/", "http://:80/", "ftp://x/"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.url = bad[i];
    GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_done, &r, &req), GS_EINVAL);
  }
  o.url = "http://localhost:1/"; /* a name: resolved asynchronously, then refused */
  o.engine = GS_HTTP_ENGINE_AUTO;
  memset(&r, 0, sizeof r);
  GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_done, &r, &req), 0);
  fx_run_until(&fx, &r.calls, 5);
  GS_CHECK_INT(r.error, GS_ECONNECT);
  fx_teardown(&fx);
}

/* ---- streaming with pause/resume ---------------------------------------- */

typedef struct {
  char got[256];
  size_t len;
  int offers, refusals;
  char last_refused[64];
  size_t last_refused_len;
  int reoffered_same; /* every re-offer began with the bytes refused before */
  gs_http_request_t *req;
  uv_timer_t resume;
  int done, error;
  long status;
} stream_t;

static void on_resume_timer(uv_timer_t *t);

static int on_stream_data(gs_http_request_t *req, const gs_http_response_t *head, const char *bytes,
                          size_t len, void *data) {
  stream_t *s = data;
  s->offers++;
  if (s->last_refused_len) {
    if (len < s->last_refused_len || memcmp(bytes, s->last_refused, s->last_refused_len) != 0)
      s->reoffered_same = 0;
    s->last_refused_len = 0;
  } else if (s->refusals < 3) { /* refuse the first offers of three pieces */
    s->refusals++;
    s->last_refused_len = len < sizeof s->last_refused ? len : sizeof s->last_refused;
    memcpy(s->last_refused, bytes, s->last_refused_len);
    uv_timer_start(&s->resume, on_resume_timer, 20, 0);
    return GS_HTTP_PAUSE;
  }
  if (head->status != 200)
    s->reoffered_same = 0;
  if (s->len + len < sizeof s->got) {
    memcpy(s->got + s->len, bytes, len);
    s->len += len;
  }
  return 0;
}

static void on_resume_timer(uv_timer_t *t) {
  stream_t *s = t->data;
  if (s->req && !s->done)
    GS_CHECK_INT(gs_http_request_resume(s->req), 0);
}

static void on_stream_done(gs_http_request_t *req, const gs_http_response_t *res, void *data) {
  stream_t *s = data;
  s->done = 1;
  s->error = res->error;
  s->status = res->status;
  GS_CHECK_INT(res->body_len, 0);
  gs_http_request_free(req);
  s->req = NULL;
}

static void test_stream_pause(void) {
  fx_t fx;
  stream_t s;
  fx_setup(&fx, answer_main);
  memset(&s, 0, sizeof s);
  s.reoffered_same = 1;
  uv_timer_init(&fx.loop, &s.resume);
  s.resume.data = &s;
  gs_http_request_opts_t o = opts0();
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d/stream", fx.srv.base.port);
  o.url = g_url;
  o.on_data = on_stream_data;
  GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_stream_done, &s, &s.req), 0);
  fx_run_until(&fx, &s.done, 5);
  GS_CHECK_INT(s.error, 0);
  GS_CHECK_INT(s.status, 200);
  s.got[s.len] = '\0';
  GS_CHECK_STR(s.got, "000001002003004005006007008009");
  GS_CHECK(s.refusals >= 1); /* refused bytes and what came after them are offered at once */
  GS_CHECK(s.reoffered_same);
  uv_close((uv_handle_t *)&s.resume, NULL);
  fx_teardown(&fx);
}

/* ---- the pool: idle expiry, idle EOF, cap ---------------------------------- */

static void test_pool(void) {
  fx_t fx;
  result_t r;
  fx_setup(&fx, answer_main);
  GS_CHECK_INT(gs_http_client_set_limits(fx.client, 0, 0.1), 0);
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.new_conns, 1);
  fx_run_for(&fx, 0.3);
  GS_CHECK_INT(fx.srv.base.closed, 0); /* expiry is swept when the engine next does something */
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.new_conns, 1); /* the expired connection was closed, not reused */
  GS_CHECK_INT(r.retries, 0);
  fx_run_for(&fx, 0.05);
  GS_CHECK_INT(fx.srv.base.closed, 1);

  /* The server closes an idle connection: the pool drops it, no re-send. */
  GS_CHECK_INT(gs_http_client_set_limits(fx.client, 0, 118), 0);
  gs_test_server_close_conns(&fx.srv.base);
  fx_run_for(&fx, 0.05);
  int reqs = fx.srv.base.requests;
  GS_CHECK_INT(fetch(&fx, "/ok", opts0(), &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.new_conns, 1);
  GS_CHECK_INT(r.retries, 0);
  GS_CHECK_INT(fx.srv.base.requests, reqs + 1);

  /* The same while the loop is not running (the REPL between lines): the
   * loop never saw the close, but a connection idle for over a millisecond
   * is peeked at before reuse, so a POST goes out on a new connection
   * instead of failing with network_reset. */
  gs_test_server_close_conns(&fx.srv.base); /* the sockets are closed now: FIN sent */
  usleep(20000);
  gs_http_request_opts_t post = opts0();
  post.method = "POST";
  post.body = "abc=1";
  post.body_len = 5;
  GS_CHECK_INT(fetch(&fx, "/echo", post, &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_STR(r.body, "POST /echo 5 abc=1");
  GS_CHECK_INT(r.new_conns, 1);
  GS_CHECK_INT(r.retries, 0);

  /* A cap of 2 connections per origin: 20 concurrent requests share them. */
  GS_CHECK_INT(gs_http_client_set_limits(fx.client, 2, 0), 0);
  gs_test_server_close_conns(&fx.srv.base);
  fx_run_for(&fx, 0.05);
  int accepted = fx.srv.base.accepted;
  result_t many[20];
  int all = 0;
  gs_http_request_t *req;
  gs_http_request_opts_t o = opts0();
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d/ok", fx.srv.base.port);
  o.url = g_url;
  memset(many, 0, sizeof many);
  for (int i = 0; i < 20; i++)
    GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_done, &many[i], &req), 0);
  uint64_t deadline = uv_hrtime() + 5000000000ull;
  while (!all && uv_hrtime() < deadline) {
    uv_run(&fx.loop, UV_RUN_ONCE);
    all = 1;
    for (int i = 0; i < 20; i++)
      all &= many[i].calls == 1;
  }
  GS_CHECK(all);
  int ok = 0;
  for (int i = 0; i < 20; i++)
    ok += many[i].status == 200;
  GS_CHECK_INT(ok, 20);
  GS_CHECK_INT(fx.srv.base.accepted - accepted, 2);
  fx_teardown(&fx);
}

/* ---- the re-send rule ------------------------------------------------------ */

static void test_resend_rule(void) {
  fx_t fx;
  result_t r;
  fx_setup(&fx, answer_drop_second);
  /* GET: the second request's reused connection closes unanswered: re-sent once. */
  GS_CHECK_INT(fetch(&fx, "/a", opts0(), &r), 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_INT(fetch(&fx, "/b", opts0(), &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_INT(r.retries, 1);
  GS_CHECK_INT(r.new_conns, 1);
  GS_CHECK_INT(fx.srv.base.requests, 3);

  /* POST: not re-sent; network_reset; the server saw each POST once. */
  gs_http_request_opts_t o = opts0();
  o.method = "POST";
  o.body = "{}";
  o.body_len = 2;
  GS_CHECK_INT(fetch(&fx, "/p", o, &r), 0); /* on the connection the GET's retry opened */
  GS_CHECK_INT(r.error, GS_ERESET);
  GS_CHECK_STR(gs_err_type(r.error), "network_reset");
  GS_CHECK(strstr(r.msg, "before any response byte") && strstr(r.msg, "not re-sent"));
  printf("  POST on a reused connection: %s \"%s\"\n", gs_err_type(r.error), r.msg);
  GS_CHECK_INT(r.retries, 0);
  GS_CHECK_INT(fx.srv.posts, 1);
  GS_CHECK_INT(fetch(&fx, "/p", o, &r), 0); /* a new connection: answered */
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_INT(fx.srv.posts, 2);

  /* retry_unsafe: the caller allows the re-send. */
  o.retry_unsafe = 1;
  GS_CHECK_INT(fetch(&fx, "/p", o, &r), 0);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_INT(r.retries, 1);
  GS_CHECK_INT(fx.srv.posts, 4);
  fx_teardown(&fx);
}

/* AUTO and a proxy: a client created while http_proxy names the test
 * server sends AUTO http:// requests through it on libcurl (the absolute
 * URL as the request target); a client created before the variable was set
 * runs them natively (the environment is read at creation): the made-up
 * host does not resolve, and the server sees nothing. */
static void test_auto_engine_and_proxy(void) {
  fx_t fx;
  result_t r = {.copy = 1};
  char proxy[64];
  static const char url[] = "http://gofr-sim.invalid/via-proxy";
  static const char target[] = "GET http://gofr-sim.invalid/via-proxy HTTP/1.1\r\n";
  gs_http_request_t *req;
  gs_http_request_opts_t o = opts0();
  o.engine = GS_HTTP_ENGINE_AUTO;
  o.url = url;

  fx_setup(&fx, answer_echo_head); /* a first client, created with no proxy set */
  gs_http_client_t *plain = fx.client;
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", fx.srv.base.port);
  GS_CHECK_INT(setenv("http_proxy", proxy, 1), 0);
  GS_CHECK_INT(gs_http_client_new(&fx.loop, &fx.client), 0);

  GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_done, &r, &req), 0);
  fx_run_until(&fx, &r.calls, 10);
  GS_CHECK_INT(r.error, 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK(strncmp(fx.srv.last_head, target, sizeof target - 1) == 0);
  GS_CHECK_INT(fx.srv.base.requests, 1);

  memset(&r, 0, sizeof r);
  r.copy = 1;
  GS_CHECK_INT(gs_http_request_start(plain, &o, on_done, &r, &req), 0);
  fx_run_until(&fx, &r.calls, 10);
  GS_CHECK_INT(r.error, GS_ECONNECT);
  GS_CHECK_INT(fx.srv.base.requests, 1);
  GS_CHECK_INT(unsetenv("http_proxy"), 0);

  gs_http_client_free(plain); /* fx_teardown frees the proxied one */
  fx_teardown(&fx);
}

/* ---- allocations on the steady state --------------------------------------- */

static void test_allocations(void) {
#if COUNT_MALLOC
  fx_t fx;
  result_t r;
  fx_setup(&fx, answer_main);
  r.copy = 0;
  for (int i = 0; i < 20; i++) /* warm up: connection, spare request, URL cache */
    fetch_port(&fx, fx.srv.base.port, "/ok", opts0(), &r);
  long before = g_allocs;
  for (int i = 0; i < 200; i++)
    fetch_port(&fx, fx.srv.base.port, "/ok", opts0(), &r);
  long per = (g_allocs - before);
  printf("  allocations for 200 keep-alive GETs (client and server): %ld\n", per);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK(per <= 200); /* at most one per request, with the server's */
  fx_teardown(&fx);
#endif
}

/* ---- many idle connections ------------------------------------------------- */

static void test_client_free_with_idle_and_live(void) {
  fx_t fx;
  fx_setup(&fx, answer_main);
  result_t rs[50];
  gs_http_request_t *req;
  gs_http_request_opts_t o = opts0();
  char hang[128];
  snprintf(g_url, sizeof g_url, "http://127.0.0.1:%d/ok", fx.srv.base.port);
  snprintf(hang, sizeof hang, "http://127.0.0.1:%d/hang", fx.srv.base.port);
  memset(rs, 0, sizeof rs);
  for (int i = 0; i < 50; i++) {
    o.url = i % 2 ? hang : g_url;
    GS_CHECK_INT(gs_http_request_start(fx.client, &o, on_done, &rs[i], &req), 0);
  }
  fx_run_for(&fx, 0.1);
  gs_http_client_free(fx.client); /* 25 idle connections, 25 live requests */
  fx.client = NULL;
  rsrv_stop(&fx.srv);
  uv_close((uv_handle_t *)&fx.guard, NULL);
  uv_run(&fx.loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(uv_loop_close(&fx.loop), 0);
  int calls = 0;
  for (int i = 0; i < 50; i++)
    calls += rs[i].calls;
  GS_CHECK_INT(calls, 25);
}

int main(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
    rl.rlim_cur = 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  memset(g_big_line, 'h', sizeof g_big_line);
  GS_RUN(test_keepalive_and_bodies);
  GS_RUN(test_redirects);
  GS_RUN(test_errors);
  GS_RUN(test_stream_pause);
  GS_RUN(test_pool);
  GS_RUN(test_resend_rule);
  GS_RUN(test_auto_engine_and_proxy);
  GS_RUN(test_allocations);
  GS_RUN(test_client_free_with_idle_and_live);
  return gs_test_report();
}
