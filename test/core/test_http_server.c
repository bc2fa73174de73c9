/* Tests of the embedded HTTP server over real sockets on 127.0.0.1.
 *
 * The loop runs in the main thread; each test's client code runs in a
 * pthread with blocking sockets and tells the loop to close the server via a
 * uv_async_t when done. Checks made in the client thread never overlap with
 * checks in the main thread (the main thread only checks after joining). */
#include "gs/error.h"
#include "gs/http_server.h"
#include "gs_test.h"
#include "gs_test_client.h"
#include "test_http_server_requests.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- test environment ------------------------------------------------------ */

typedef struct tenv_s tenv_t;
typedef void (*client_fn)(tenv_t *env);

struct tenv_s {
  uv_loop_t loop;
  uv_async_t stop;
  gs_http_server_t *srv;
  int port;
  client_fn client;
  pthread_t thread;
  int closed_called;
  size_t conns_at_stop;
  atomic_int aborted;
  atomic_int requests;
  atomic_long flood_written; /* body bytes /flood handed to the server */
  int stop_sent;             /* client thread only */
  int wait_idle;             /* on stop, wait for clients' closes to arrive */
  uv_timer_t idle_timer;
  int idle_polls;
};

typedef struct {
  uv_timer_t timer;
  gs_http_exchange_t *ex;
  tenv_t *env;
} deferred_t;

static void deferred_free(uv_handle_t *h) {
  free(h->data);
}

static void deferred_fire(uv_timer_t *t) {
  deferred_t *d = t->data;
  gs_http_header_t h = {"Content-Type", "text/plain"};
  gs_http_exchange_respond(d->ex, 200, &h, 1, "deferred", 8);
  uv_close((uv_handle_t *)&d->timer, deferred_free);
}

static void deferred_abort(gs_http_exchange_t *ex, void *data) {
  deferred_t *d = data;
  atomic_fetch_add(&d->env->aborted, 1);
  uv_close((uv_handle_t *)&d->timer, deferred_free);
}

static void hang_abort(gs_http_exchange_t *ex, void *data) {
  tenv_t *env = data;
  atomic_fetch_add(&env->aborted, 1);
}

static void respond_text(gs_http_exchange_t *ex, int status, const char *body, size_t len) {
  gs_http_header_t h = {"Content-Type", "text/plain"};
  gs_http_exchange_respond(ex, status, &h, 1, body, len);
}

static void handle_headers(gs_http_exchange_t *ex, const gs_http_request_info_t *req) {
  char out[4096] = "";
  for (size_t i = 0; i < req->nheaders; i++) {
    str_add(out, sizeof out, req->headers[i].name, strlen(req->headers[i].name));
    str_add(out, sizeof out, "=", 1);
    str_add(out, sizeof out, req->headers[i].value, strlen(req->headers[i].value));
    str_add(out, sizeof out, "\n", 1);
  }
  respond_text(ex, 200, out, strlen(out));
}

static void handle_stream(gs_http_exchange_t *ex, int chunked) {
  gs_http_header_t h = {"X-Stream", chunked ? "chunked" : "length"};
  gs_http_exchange_begin(ex, 200, &h, 1, chunked ? GS_HTTP_CHUNKED : 6);
  gs_http_exchange_write(ex, "abc", 3);
  gs_http_exchange_write(ex, "", 0);
  gs_http_exchange_write(ex, "def", 3);
  gs_http_exchange_end(ex);
}

/* /flood?N: N MiB streamed the way a well-behaved handler streams: 64 KiB
 * pieces while the connection is not congested, then on_drain. */
typedef struct {
  tenv_t *env;
  size_t left;
} flood_t;

static void flood_abort(gs_http_exchange_t *ex, void *data) {
  flood_t *f = data;
  atomic_fetch_add(&f->env->aborted, 1);
  free(f);
}

static void flood_pump(gs_http_exchange_t *ex, void *data) {
  static char piece[64 * 1024];
  flood_t *f = data;
  memset(piece, 'f', sizeof piece);
  while (f->left && !gs_http_exchange_congested(ex)) {
    size_t n = f->left < sizeof piece ? f->left : sizeof piece;
    tenv_t *env = f->env;
    if (gs_http_exchange_write(ex, piece, n) < 0)
      return; /* the abort callback freed f */
    f->left -= n;
    atomic_fetch_add(&env->flood_written, (long)n);
  }
  if (f->left) {
    gs_http_exchange_on_drain(ex, flood_pump, f);
    return;
  }
  gs_http_exchange_end(ex);
  free(f);
}

static void handle_flood(gs_http_exchange_t *ex, tenv_t *env, const char *mib) {
  flood_t *f = calloc(1, sizeof *f);
  f->env = env;
  f->left = (size_t)atoi(mib) << 20;
  gs_http_exchange_on_abort(ex, flood_abort, f);
  gs_http_exchange_begin(ex, 200, NULL, 0, (int64_t)f->left);
  flood_pump(ex, f);
}

static void on_request(gs_http_exchange_t *ex, const gs_http_request_info_t *req, void *data) {
  tenv_t *env = data;
  atomic_fetch_add(&env->requests, 1);
  const char *t = req->target;
  if (strncmp(t, "/headers", 8) == 0) {
    handle_headers(ex, req);
  } else if (strncmp(t, "/defer", 6) == 0) {
    deferred_t *d = calloc(1, sizeof *d);
    d->ex = ex;
    d->env = env;
    uv_timer_init(gs_http_exchange_loop(ex), &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, deferred_fire, 50, 0);
    gs_http_exchange_on_abort(ex, deferred_abort, d);
  } else if (strncmp(t, "/hang", 5) == 0) {
    gs_http_exchange_on_abort(ex, hang_abort, env);
  } else if (strncmp(t, "/flood?", 7) == 0) {
    handle_flood(ex, env, t + 7);
  } else if (strcmp(t, "/chunked") == 0) {
    handle_stream(ex, 1);
  } else if (strcmp(t, "/length") == 0) {
    handle_stream(ex, 0);
  } else if (strcmp(t, "/drop") == 0) {
    gs_http_exchange_drop(ex);
  } else if (strcmp(t, "/close") == 0) {
    gs_http_header_t h = {"Connection", "close"};
    gs_http_exchange_respond(ex, 200, &h, 1, "bye", 3);
  } else if (strcmp(t, "/nocontent") == 0) {
    gs_http_exchange_respond(ex, 204, NULL, 0, NULL, 0);
  } else if (strcmp(t, "/bad") == 0) {
    gs_http_header_t h = {"X-Evil", "a\r\nSet-Cookie: x"};
    gs_http_exchange_respond(ex, 200, &h, 1, "x", 1);
  } else {
    /* echo: "METHOD TARGET\nBODY" */
    char *out = malloc(strlen(req->method) + req->target_len + req->body_len + 3);
    int n = sprintf(out, "%s %s\n", req->method, req->target);
    memcpy(out + n, req->body, req->body_len);
    respond_text(ex, 200, out, (size_t)n + req->body_len);
    free(out);
  }
}

static void on_server_closed(void *data) {
  ((tenv_t *)data)->closed_called = 1;
}

static void env_close_server(tenv_t *env) {
  env->conns_at_stop = gs_http_server_connections(env->srv);
  gs_http_server_close(env->srv, on_server_closed, env);
}

/* Waits (up to 10 s) for the server to see every client close. */
static void on_idle_poll(uv_timer_t *t) {
  tenv_t *env = t->data;
  if (gs_http_server_connections(env->srv) == 0 || ++env->idle_polls > 1000) {
    uv_close((uv_handle_t *)t, NULL);
    env_close_server(env);
  }
}

static void on_stop(uv_async_t *a) {
  tenv_t *env = a->data;
  uv_close((uv_handle_t *)a, NULL);
  if (env->wait_idle) {
    uv_timer_init(&env->loop, &env->idle_timer);
    env->idle_timer.data = env;
    uv_timer_start(&env->idle_timer, on_idle_poll, 0, 10);
    return;
  }
  env_close_server(env);
}

static void *client_main(void *arg) {
  tenv_t *env = arg;
  env->client(env);
  if (!env->stop_sent)
    uv_async_send(&env->stop);
  return NULL;
}

/* Starts a server, runs `client` in a thread, closes the server when the
 * client is done and checks that everything was released. */
static void run_env(tenv_t *env, client_fn client, const gs_http_server_opts_t *limits,
                    int wait_idle) {
  memset(env, 0, sizeof *env);
  env->wait_idle = wait_idle;
  GS_CHECK_INT(uv_loop_init(&env->loop), 0);
  gs_http_server_opts_t opts = {0};
  if (limits)
    opts = *limits;
  opts.on_request = on_request;
  opts.data = env;
  GS_CHECK_INT(gs_http_server_start(&env->loop, &opts, &env->srv), 0);
  env->port = gs_http_server_port(env->srv);
  GS_CHECK(env->port > 0);
  uv_async_init(&env->loop, &env->stop, on_stop);
  env->stop.data = env;
  env->client = client;
  pthread_create(&env->thread, NULL, client_main, env);
  uv_run(&env->loop, UV_RUN_DEFAULT);
  pthread_join(env->thread, NULL);
  GS_CHECK_INT(env->closed_called, 1);
  GS_CHECK_INT(uv_loop_close(&env->loop), 0);
}

/* ---- tests ----------------------------------------------------------------- */

static void client_basic(tenv_t *env) {
  tresp_t r;
  GS_CHECK_INT(tc_request(env->port, "GET /echo?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", &r, 0), 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_STR(r.body, "GET /echo?x=1\n");
  GS_CHECK_STR(tresp_header(&r, "content-length"), "14");
  GS_CHECK_STR(tresp_header(&r, "content-type"), "text/plain");
  GS_CHECK(tresp_header(&r, "date") != NULL);
  GS_CHECK(tresp_header(&r, "connection") == NULL);
  tresp_free(&r);

  GS_CHECK_INT(
      tc_request(env->port, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &r, 0), 0);
  GS_CHECK_STR(r.body, "POST /echo\nhello");
  tresp_free(&r);

  GS_CHECK_INT(tc_request(env->port,
                          "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                          &r, 0),
               0);
  GS_CHECK_STR(r.body, "POST /c\nabcde");
  tresp_free(&r);
}

static void test_basic(void) {
  tenv_t env;
  run_env(&env, client_basic, NULL, 0);
}

static void client_split_headers(tenv_t *env) {
  static const char *parts[] = {"GET /headers HTTP/1.1\r\nX-Fo",
                                "o-BAR: val",
                                "ue1\r\nHo",
                                "st: h\r\nAccept",
                                ": */*\r\n",
                                "\r\n"};
  tconn_t c;
  tc_connect(&c, env->port);
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    tc_sends(&c, parts[i]);
    sleep_ms(15);
  }
  tresp_t r;
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "x-foo-bar=value1\nhost=h\naccept=*/*\n");
  tresp_free(&r);
  tc_close(&c);
}

static void test_split_headers(void) {
  tenv_t env;
  run_env(&env, client_split_headers, NULL, 0);
}

static void client_keep_alive(tenv_t *env) {
  tconn_t c;
  tresp_t r;
  tc_connect(&c, env->port);
  for (int i = 0; i < 3; i++) {
    tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
    GS_CHECK_INT(tc_read(&c, &r, 0), 0);
    GS_CHECK_INT(r.status, 200);
    GS_CHECK(r.keep_alive);
    tresp_free(&r);
  }
  /* HEAD: length announced, no body; the next response parses cleanly. */
  tc_sends(&c, "HEAD /echo HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 1), 0);
  GS_CHECK_STR(tresp_header(&r, "content-length"), "11");
  GS_CHECK_INT(r.body_len, 0);
  tresp_free(&r);
  tc_sends(&c, "GET /x HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "GET /x\n");
  tresp_free(&r);
  /* 204: no body, no length; the connection stays usable. */
  tc_sends(&c, "GET /nocontent HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 204);
  GS_CHECK(tresp_header(&r, "content-length") == NULL);
  tresp_free(&r);
  tc_sends(&c, "GET /y HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "GET /y\n");
  tresp_free(&r);
  /* A handler's "Connection: close" closes after the answer. */
  tc_sends(&c, "GET /close HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "bye");
  GS_CHECK_STR(tresp_header(&r, "connection"), "close");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);
}

static void test_keep_alive(void) {
  tenv_t env;
  run_env(&env, client_keep_alive, NULL, 0);
}

static void client_http10(tenv_t *env) {
  tconn_t c;
  tresp_t r;
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /old HTTP/1.0\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "GET /old\n");
  GS_CHECK_STR(tresp_header(&r, "connection"), "close");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1); /* EOF */
  tc_close(&c);

  tc_connect(&c, env->port);
  tc_sends(&c, "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(tresp_header(&r, "connection"), "keep-alive");
  tresp_free(&r);
  /* chunked streaming to an HTTP/1.0 peer becomes close-delimited */
  tc_sends(&c, "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "abcdef");
  GS_CHECK(tresp_header(&r, "transfer-encoding") == NULL);
  tresp_free(&r);
  tc_close(&c);
}

static void test_http10(void) {
  tenv_t env;
  run_env(&env, client_http10, NULL, 0);
}

static void client_pipelining(tenv_t *env) {
  tconn_t c;
  tresp_t r;
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /defer HTTP/1.1\r\n\r\n"
               "POST /second HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
               "GET /chunked HTTP/1.1\r\n\r\n"
               "GET /length HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "deferred");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "POST /second\nxyz");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "abcdef");
  GS_CHECK_STR(tresp_header(&r, "transfer-encoding"), "chunked");
  GS_CHECK_STR(tresp_header(&r, "x-stream"), "chunked");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "abcdef");
  GS_CHECK_STR(tresp_header(&r, "content-length"), "6");
  tresp_free(&r);
  tc_close(&c);
}

static void test_pipelining(void) {
  tenv_t env;
  run_env(&env, client_pipelining, NULL, 0);
}

static void client_limits(tenv_t *env) {
  tresp_t r;
  /* 431: a 20 KiB header against the 16 KiB default */
  size_t big = 20000;
  char *req = malloc(big + 100);
  strcpy(req, "GET / HTTP/1.1\r\nX-Big: ");
  size_t n = strlen(req);
  memset(req + n, 'a', big);
  strcpy(req + n + big, "\r\n\r\n");
  tconn_t c;
  tc_connect(&c, env->port);
  tc_sends(&c, req);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 431);
  GS_CHECK_STR(tresp_header(&r, "connection"), "close");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);
  free(req);

  /* 413 announced by Content-Length, answered before the body is sent */
  GS_CHECK_INT(tc_request(env->port, "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", &r, 0), 0);
  GS_CHECK_INT(r.status, 413);
  tresp_free(&r);

  /* 413 for a chunked body growing past the limit (4 KiB in this env) */
  tc_connect(&c, env->port);
  tc_sends(&c, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  char chunk[1100];
  memset(chunk, 'z', sizeof chunk);
  memcpy(chunk, "400\r\n", 5);
  memcpy(chunk + 5 + 1024, "\r\n", 2);
  for (int i = 0; i < 5; i++)
    tc_send(&c, chunk, 5 + 1024 + 2);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 413);
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);

  /* 400 for garbage, then the connection closes */
  tc_connect(&c, env->port);
  tc_sends(&c, "HELLO\x01 WORLD\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 400);
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);

  /* a valid request followed by garbage in the same write: 200 then 400 */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /ok HTTP/1.1\r\n\r\nGET / HTTP/9x\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 200);
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 400);
  tresp_free(&r);
  tc_close(&c);

  /* header injection by a handler is refused with a 500 */
  GS_CHECK_INT(tc_request(env->port, "GET /bad HTTP/1.1\r\n\r\n", &r, 0), 0);
  GS_CHECK_INT(r.status, 500);
  GS_CHECK(tresp_header(&r, "set-cookie") == NULL);
  tresp_free(&r);

  /* Expect: 100-continue gets the interim answer before the body */
  tc_connect(&c, env->port);
  tc_sends(&c, "POST /exp HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  char buf[64] = "";
  ssize_t got = recv(c.fd, buf, sizeof buf - 1, 0);
  GS_CHECK(got > 0 && strncmp(buf, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
  tc_sends(&c, "ok");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "POST /exp\nok");
  tresp_free(&r);
  tc_close(&c);
}

static void test_limits(void) {
  tenv_t env;
  gs_http_server_opts_t limits = {.max_body_bytes = 4096};
  run_env(&env, client_limits, &limits, 0);
}

static void client_abort(tenv_t *env) {
  tconn_t c;
  tresp_t r;
  /* peer closes while the answer is pending: EOF may be a half-close, so the
   * exchange stays until the server closes (abort then) */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /hang HTTP/1.1\r\n\r\n");
  sleep_ms(50);
  tc_close(&c);
  /* deferred exchange whose peer leaves: answered into the void, no abort */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /defer HTTP/1.1\r\n\r\n");
  sleep_ms(10);
  tc_close(&c);
  /* drop: EOF without a byte */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /drop HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);
  sleep_ms(100);
  /* server closing with a pending exchange: abort, then EOF for the client */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /hang HTTP/1.1\r\n\r\n");
  sleep_ms(50);
  env->stop_sent = 1;
  uv_async_send(&env->stop);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);
}

static void test_abort(void) {
  tenv_t env;
  run_env(&env, client_abort, NULL, 0);
  GS_CHECK_INT(atomic_load(&env.aborted), 2);
  GS_CHECK_INT(env.conns_at_stop, 2);
}

#define MANY 5000

static void client_many(tenv_t *env) {
  tconn_t *cs = malloc(MANY * sizeof *cs);
  int ok = 0;
  for (int i = 0; i < MANY; i++)
    if (tc_connect(&cs[i], env->port) == 0)
      ok++;
  GS_CHECK_INT(ok, MANY);
  for (int i = 0; i < MANY; i++)
    tc_sends(&cs[i], "GET /many HTTP/1.1\r\n\r\n");
  int good = 0;
  for (int i = 0; i < MANY; i++) {
    tresp_t r;
    if (tc_read(&cs[i], &r, 0) == 0 && r.status == 200)
      good++;
    tresp_free(&r);
  }
  GS_CHECK_INT(good, MANY);
  for (int i = 0; i < MANY; i++)
    tc_close(&cs[i]);
  free(cs);
}

static void test_many_connections(void) {
  tenv_t env;
  run_env(&env, client_many, NULL, 1);
  GS_CHECK_INT(atomic_load(&env.requests), MANY);
  GS_CHECK_INT(env.conns_at_stop, 0);
}

/* ---- hardening (issue 12) ---------------------------------------------------- */

static void client_trailers(tenv_t *env) {
  static char raw[64 * 1024];
  tresp_t r;
  /* issue 12's request: 14 and more short trailer fields, then 600 bytes */
  int counts[] = {1, 14, 40, 300};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    trailer_request(raw, sizeof raw, "POST", "/headers", counts[i], 1);
    GS_CHECK_INT(tc_request(env->port, raw, &r, 0), 0);
    GS_CHECK_INT(r.status, 200);
    GS_CHECK_STR(r.body, "host=h\ntransfer-encoding=chunked\n"); /* trailers discarded */
    tresp_free(&r);
  }
  trailer_request(raw, sizeof raw, "POST", "/echo", 1, 600);
  GS_CHECK_INT(tc_request(env->port, raw, &r, 0), 0);
  GS_CHECK_STR(r.body, "POST /echo\n{}");
  tresp_free(&r);
  /* trailers count against max_header_bytes (16 KiB) */
  trailer_request(raw, sizeof raw, "POST", "/echo", 40, 600);
  GS_CHECK_INT(tc_request(env->port, raw, &r, 0), 0);
  GS_CHECK_INT(r.status, 431);
  tresp_free(&r);
  /* a request pipelined after the trailers is answered */
  tconn_t c;
  tc_connect(&c, env->port);
  size_t len = trailer_request(raw, sizeof raw, "POST", "/headers", 20, 3);
  snprintf(raw + len, sizeof raw - len, "GET /second HTTP/1.1\r\n\r\n");
  tc_sends(&c, raw);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 200);
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "GET /second\n");
  tresp_free(&r);
  tc_close(&c);
  /* fuzzer-style: random field counts and sizes, cut at random points */
  unsigned seed = 12;
  int answered = 0;
  for (int i = 0; i < 150; i++) {
    seed = seed * 1103515245u + 12345u;
    int n = (int)((seed >> 16) % 120);
    size_t fill = (seed >> 8) % 300;
    len = trailer_request(raw, sizeof raw, "POST", i % 2 ? "/headers" : "/echo", n, fill);
    int status = -1;
    GS_CHECK_INT(send_cut(env->port, raw, len, &seed, &status), 0);
    GS_CHECK(status == 200 || status == 431);
    answered += status != 0;
  }
  GS_CHECK_INT(answered, 150);
}

static void test_trailers(void) {
  tenv_t env;
  run_env(&env, client_trailers, NULL, 0);
}

static void client_strict(tenv_t *env) {
  static const char *const bad[] = {
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",         /* whitespace before the colon */
      "GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n", /* obs-fold */
      "GET / HTTP/1.1\r\nX:\r\n\tfolded\r\n\r\n",   /* obs-fold after an empty value */
      "GET / HTTP/1.1\r\nX Y: z\r\n\r\n",           /* a space in a name */
      "GET / HTTP/1.1\r\n X: a\r\n\r\n",            /* whitespace before the first field */
      "GET / HTTP/1.1\nHost: a\n\n",                /* LF-only lines */
      "GET / HTTP/1.1\r\nHost: a\n\r\n",            /* one LF-only line */
      "GET / HTTP/1.1\r\nHost: a\r\n\n",            /* LF-only empty line */
      "\nGET / HTTP/1.1\r\n\r\n",                   /* LF-only line before the request */
      "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",    /* bare CR */
  };
  unsigned seed = 7;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tresp_t r;
    GS_CHECK_INT(tc_request(env->port, bad[i], &r, 0), 0);
    GS_CHECK_INT(r.status, 400);
    tresp_free(&r);
    int status = -1; /* the same, cut into pieces */
    GS_CHECK_INT(send_cut(env->port, bad[i], strlen(bad[i]), &seed, &status), 0);
    GS_CHECK_INT(status, 400);
  }
  static const char *const good[] = {
      "\r\n\r\nGET /ok HTTP/1.1\r\n\r\n",            /* empty lines before the request */
      "GET /ok HTTP/1.1\r\nX:\t v \t\r\nY:\r\n\r\n", /* OWS around values, an empty value */
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    tresp_t r;
    GS_CHECK_INT(tc_request(env->port, good[i], &r, 0), 0);
    GS_CHECK_INT(r.status, 200);
    tresp_free(&r);
  }
}

static void test_strict(void) {
  tenv_t env;
  run_env(&env, client_strict, NULL, 0);
}

/* Reads until the server closes; returns how long that took (ms), or -1 if
 * it did not within 5 s. *status gets the status of an answer first. */
static double wait_closed(tconn_t *c, double t0, int *status) {
  tresp_t r;
  int rc = tc_read(c, &r, 0);
  *status = rc == 0 ? r.status : 0;
  tresp_free(&r);
  if (rc == 0)
    rc = tc_read(c, &r, 0);
  tresp_free(&r);
  return rc == -1 ? now_ms() - t0 : -1;
}

static void client_timeouts(tenv_t *env) {
  tconn_t c;
  int status;
  /* slowloris: a header line every 50 ms; 408 at the 200 ms header deadline */
  tc_connect(&c, env->port);
  double t0 = now_ms();
  tc_sends(&c, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 8 && tc_sends(&c, "X: a\r\n") == 0; i++)
    sleep_ms(50);
  double took = wait_closed(&c, t0, &status);
  GS_CHECK_INT(status, 408);
  GS_CHECK(took >= 150 && took < 3000);
  tc_close(&c);
  /* a connection that sends nothing is closed at the header deadline */
  tc_connect(&c, env->port);
  t0 = now_ms();
  took = wait_closed(&c, t0, &status);
  GS_CHECK_INT(status, 0);
  GS_CHECK(took >= 150 && took < 3000);
  tc_close(&c);
  /* idle keep-alive: closed 300 ms after the answer, CRLFs do not extend it.
   * t0 precedes the answer, so the close cannot come before t0 + 300 (less
   * the loop's cached clock); CRLFs stop well before the deadline, since one
   * that arrives as the timer fires makes the close a reset; were they to
   * extend it, the close could not come before the last one + 300. */
  tc_connect(&c, env->port);
  tresp_t r;
  t0 = now_ms();
  tc_sends(&c, "GET /a HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  tresp_free(&r);
  double last_crlf = 0;
  for (int i = 0; i < 3 && now_ms() - t0 < 200; i++) {
    tc_sends(&c, "\r\n");
    last_crlf = now_ms() - t0;
    sleep_ms(60);
  }
  took = wait_closed(&c, t0, &status);
  GS_CHECK_INT(status, 0);
  GS_CHECK(took >= 250 && took < last_crlf + 300);
  tc_close(&c);
  /* a body that trickles: 408 at the body deadline (idle_timeout) */
  tc_connect(&c, env->port);
  t0 = now_ms();
  tc_sends(&c, "POST /b HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
  for (int i = 0; i < 10 && tc_sends(&c, "x") == 0; i++)
    sleep_ms(50);
  took = wait_closed(&c, t0, &status);
  GS_CHECK_INT(status, 408);
  GS_CHECK(took >= 250 && took < 3000);
  tc_close(&c);
  /* a client that never reads: the stalled write is aborted */
  tc_connect(&c, env->port);
  int rcv = 4096;
  setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  tc_sends(&c, "GET /flood?64 HTTP/1.1\r\n\r\n");
  for (int i = 0; i < 500 && atomic_load(&env->aborted) == 0; i++)
    sleep_ms(10);
  GS_CHECK_INT(atomic_load(&env->aborted), 1);
  GS_CHECK(atomic_load(&env->flood_written) < 16L << 20);
  tc_close(&c);
}

static void test_timeouts(void) {
  tenv_t env;
  gs_http_server_opts_t limits = {
      .header_timeout_ms = 200, .idle_timeout_ms = 300, .write_timeout_ms = 300};
  run_env(&env, client_timeouts, &limits, 0);
}

static void client_max_connections(tenv_t *env) {
  tconn_t held[3];
  tresp_t r;
  for (int i = 0; i < 3; i++) {
    tc_connect(&held[i], env->port);
    tc_sends(&held[i], "GET /held HTTP/1.1\r\n\r\n");
    GS_CHECK_INT(tc_read(&held[i], &r, 0), 0);
    tresp_free(&r);
  }
  /* the fourth and later: 503 and closed, or refused outright once 3 are
   * being turned away; never left hanging */
  int got503 = 0;
  tconn_t extra[8];
  for (int i = 0; i < 8; i++) {
    tc_connect(&extra[i], env->port);
    tc_sends(&extra[i], "GET /extra HTTP/1.1\r\n\r\n");
  }
  for (int i = 0; i < 8; i++) {
    int rc = tc_read(&extra[i], &r, 0);
    GS_CHECK(rc == 0 || rc == -1 || rc == -3);
    if (rc == 0) {
      GS_CHECK_INT(r.status, 503);
      GS_CHECK_STR(tresp_header(&r, "connection"), "close");
      got503++;
    }
    tresp_free(&r);
    tc_close(&extra[i]);
  }
  GS_CHECK(got503 >= 3);
  /* the held connections still work; once one closes, a new one is served */
  tc_sends(&held[0], "GET /again HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&held[0], &r, 0), 0);
  GS_CHECK_STR(r.body, "GET /again\n");
  tresp_free(&r);
  tc_close(&held[0]);
  int served = 0;
  for (int i = 0; i < 100 && !served; i++) {
    sleep_ms(20);
    served = tc_request(env->port, "GET /new HTTP/1.1\r\n\r\n", &r, 0) == 0 && r.status == 200;
    tresp_free(&r);
  }
  GS_CHECK(served);
  tc_close(&held[1]);
  tc_close(&held[2]);
}

static void test_max_connections(void) {
  tenv_t env;
  gs_http_server_opts_t limits = {.max_connections = 3};
  run_env(&env, client_max_connections, &limits, 0);
}

static void client_backpressure(tenv_t *env) {
  tconn_t c;
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /flood?64 HTTP/1.1\r\n\r\n");
  sleep_ms(300); /* not reading: the handler must stop at the mark */
  long held = atomic_load(&env->flood_written);
  /* max_output (256 KiB) plus a piece plus the kernel's socket buffers */
  GS_CHECK(held > 0 && held < 24L << 20);
  tresp_t r;
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.body_len, 64u << 20);
  tresp_free(&r);
  tc_close(&c);
}

static void test_backpressure(void) {
  tenv_t env;
  gs_http_server_opts_t limits = {.max_output_bytes = 256 * 1024};
  run_env(&env, client_backpressure, &limits, 0);
  GS_CHECK_INT(atomic_load(&env.aborted), 0);
}

static void client_half_close(tenv_t *env) {
  tconn_t c;
  tresp_t r;
  /* an answer that comes later still reaches a client that sent FIN */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /defer HTTP/1.1\r\n\r\n");
  shutdown(c.fd, SHUT_WR);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "deferred");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);
  /* pipelined requests, then FIN: every one is answered, in order */
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /defer1 HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\nGET /defer3 HTTP/1.1\r\n\r\n");
  shutdown(c.fd, SHUT_WR);
  const char *want[] = {"deferred", "GET /two\n", "deferred"};
  for (int i = 0; i < 3; i++) {
    GS_CHECK_INT(tc_read(&c, &r, 0), 0);
    GS_CHECK_STR(r.body, want[i]);
    tresp_free(&r);
  }
  GS_CHECK_INT(tc_read(&c, &r, 0), -1);
  tc_close(&c);
}

static void test_half_close(void) {
  tenv_t env;
  run_env(&env, client_half_close, NULL, 1);
  GS_CHECK_INT(env.conns_at_stop, 0);
}

static void set_flag(void *data) {
  *(int *)data = 1;
}

static void test_start_errors(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  gs_http_server_t *a = NULL, *b = NULL;
  gs_http_server_opts_t opts = {0};
  GS_CHECK_INT(gs_http_server_start(&loop, &opts, &a), GS_EINVAL); /* no handler */
  opts.on_request = on_request;
  opts.host = "not an address";
  GS_CHECK_INT(gs_http_server_start(&loop, &opts, &a), GS_EADDR);
  opts.host = NULL;
  GS_CHECK_INT(gs_http_server_start(&loop, &opts, &a), 0);
  opts.port = gs_http_server_port(a);
  GS_CHECK_INT(gs_http_server_start(&loop, &opts, &b), GS_EADDRINUSE); /* port in use */
  GS_CHECK_STR(gs_err_type(GS_EADDRINUSE), "address_error");           /* one type for metrics */
  GS_CHECK_STR(gs_strerror(GS_EADDRINUSE), "address already in use");
  GS_CHECK(b == NULL);
  int closed = 0;
  gs_http_server_close(a, set_flag, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(closed, 1);
  GS_CHECK_INT(uv_loop_close(&loop), 0);
  GS_CHECK_STR(gs_http_status_text(404), "Not Found");
  GS_CHECK_STR(gs_http_status_text(799), "Unknown");
}

int main(void) {
  GS_RUN(test_start_errors);
  GS_RUN(test_basic);
  GS_RUN(test_split_headers);
  GS_RUN(test_keep_alive);
  GS_RUN(test_http10);
  GS_RUN(test_pipelining);
  GS_RUN(test_limits);
  GS_RUN(test_abort);
  GS_RUN(test_many_connections);
  GS_RUN(test_trailers);
  GS_RUN(test_strict);
  GS_RUN(test_timeouts);
  GS_RUN(test_max_connections);
  GS_RUN(test_backpressure);
  GS_RUN(test_half_close);
  return gs_test_report();
}
