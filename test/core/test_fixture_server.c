/* Tests of the fixture site server over real sockets on 127.0.0.1.
 *
 * Each test builds nothing itself: main() creates a temporary site under
 * /tmp (mkdtemp) with files, directories and symlinks, and removes it at the
 * end. The loop runs in the main thread; client code runs in a pthread with
 * blocking sockets and asks the loop to close the server via uv_async_t. */
#include "gs/error.h"
#include "gs/fixture_server.h"
#include "gs_test.h"
#include "gs_test_client.h"
#include "test_http_server_requests.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- the temporary site ---------------------------------------------------- */

#define BIG_FILE 300000 /* big.bin: streamed, (i * 7) % 251 at offset i */

typedef struct {
  char base[64]; /* /tmp/gsfx.XXXXXX: holds secret.txt and root/ */
  char root[96];
} site_t;

static void write_file(const char *dir, const char *name, const char *content, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  GS_CHECK(f != NULL);
  if (f) {
    fwrite(content, 1, len, f);
    fclose(f);
  }
}

static void write_text(const char *dir, const char *name, const char *content) {
  write_file(dir, name, content, strlen(content));
}

static void make_dir(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  GS_CHECK_INT(mkdir(path, 0755), 0);
}

static void make_link(const char *dir, const char *name, const char *target) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  GS_CHECK_INT(symlink(target, path), 0);
}

static int site_make(site_t *s) {
  strcpy(s->base, "/tmp/gsfx.XXXXXX");
  if (!mkdtemp(s->base))
    return -1;
  snprintf(s->root, sizeof s->root, "%s/root", s->base);
  write_text(s->base, "secret.txt", "top secret\n");
  make_dir(s->base, "root");
  const char *r = s->root;
  write_text(r, "index.html", "<html>home</html>\n");
  write_text(r, "style.css", "body{}\n");
  write_text(r, "app.js", "let a=1;\n");
  write_text(r, "data.json", "{\"a\":1}\n");
  write_text(r, "robots.txt", "User-agent: *\n");
  write_text(r, "feed.xml", "<feed/>\n");
  write_text(r, "icon.svg", "<svg/>\n");
  write_file(r, "logo.png", "\x89PNG\r\n\x1a\n\0\0", 10);
  write_text(r, "pic.JPEG", "jpeg");
  write_text(r, "anim.gif", "GIF89a");
  write_text(r, "img.webp", "RIFF");
  write_text(r, "favicon.ico", "ico");
  write_text(r, "font.woff2", "wOF2");
  write_text(r, "doc.pdf", "%PDF-1.4");
  write_text(r, "page.htm", "<p>htm</p>");
  write_text(r, "noext", "raw");
  static char big[BIG_FILE];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 7 % 251);
  write_file(r, "big.bin", big, sizeof big);
  write_text(r, "space file.txt", "spaced");
  make_dir(r, "sub");
  char sub[160];
  snprintf(sub, sizeof sub, "%s/sub", r);
  write_text(sub, "index.html", "<html>sub</html>\n");
  make_dir(r, "empty");
  make_dir(r, "a");
  char a[160];
  snprintf(a, sizeof a, "%s/a", r);
  write_text(a, "b.txt", "bee\n");
  make_link(r, "etc_link", "/etc");
  make_link(r, "secret_link", "../secret.txt");
  make_link(r, "inner_link", "index.html");
  make_link(r, "inner_dir", "sub");
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

static void site_remove(site_t *s) {
  nftw(s->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- test environment ------------------------------------------------------ */

typedef struct tenv_s tenv_t;
typedef void (*client_fn)(tenv_t *env);

struct tenv_s {
  uv_loop_t loop;
  uv_async_t stop;
  gs_fixture_server_t *fx;
  int port;
  client_fn client;
  pthread_t thread;
  int closed_called;
  int stop_sent; /* client thread only */
};

static const site_t *g_site_for_tests; /* set once in main, read-only after */

static void on_fixture_closed(void *data) {
  ((tenv_t *)data)->closed_called = 1;
}

static void on_stop(uv_async_t *a) {
  tenv_t *env = a->data;
  gs_fixture_server_close(env->fx, on_fixture_closed, env);
  uv_close((uv_handle_t *)a, NULL);
}

static void *client_main(void *arg) {
  tenv_t *env = arg;
  env->client(env);
  if (!env->stop_sent)
    uv_async_send(&env->stop);
  return NULL;
}

static void run_env(client_fn client) {
  tenv_t env;
  memset(&env, 0, sizeof env);
  GS_CHECK_INT(uv_loop_init(&env.loop), 0);
  gs_fixture_opts_t opts = {0};
  opts.root = g_site_for_tests->root;
  GS_CHECK_INT(gs_fixture_server_start(&env.loop, &opts, &env.fx), 0);
  env.port = gs_fixture_server_port(env.fx);
  GS_CHECK(env.port > 0);
  uv_async_init(&env.loop, &env.stop, on_stop);
  env.stop.data = &env;
  env.client = client;
  pthread_create(&env.thread, NULL, client_main, &env);
  uv_run(&env.loop, UV_RUN_DEFAULT);
  pthread_join(env.thread, NULL);
  GS_CHECK_INT(env.closed_called, 1);
  GS_CHECK_INT(uv_loop_close(&env.loop), 0);
}

/* GET target on a fresh connection. */
static int get(tenv_t *env, const char *target, tresp_t *r) {
  char req[1024];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
  return tc_request(env->port, req, r, 0);
}

/* ---- static files ---------------------------------------------------------- */

static void check_file(tenv_t *env, const char *target, const char *type, const char *body,
                       size_t len) {
  tresp_t r;
  GS_CHECK_INT(get(env, target, &r), 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_STR(tresp_header(&r, "content-type"), type);
  char cl[32];
  snprintf(cl, sizeof cl, "%zu", len);
  GS_CHECK_STR(tresp_header(&r, "content-length"), cl);
  GS_CHECK_INT(r.body_len, len);
  GS_CHECK(r.body && memcmp(r.body, body, len) == 0);
  if (r.status != 200)
    fprintf(stderr, "  (target %s)\n", target);
  tresp_free(&r);
}

static void client_static(tenv_t *env) {
  check_file(env, "/", "text/html; charset=utf-8", "<html>home</html>\n", 18);
  check_file(env, "/index.html", "text/html; charset=utf-8", "<html>home</html>\n", 18);
  check_file(env, "/style.css", "text/css; charset=utf-8", "body{}\n", 7);
  check_file(env, "/app.js", "application/javascript", "let a=1;\n", 9);
  check_file(env, "/data.json", "application/json", "{\"a\":1}\n", 8);
  check_file(env, "/robots.txt", "text/plain; charset=utf-8", "User-agent: *\n", 14);
  check_file(env, "/feed.xml", "application/xml", "<feed/>\n", 8);
  check_file(env, "/icon.svg", "image/svg+xml", "<svg/>\n", 7);
  check_file(env, "/logo.png", "image/png", "\x89PNG\r\n\x1a\n\0\0", 10);
  check_file(env, "/pic.JPEG", "image/jpeg", "jpeg", 4);
  check_file(env, "/anim.gif", "image/gif", "GIF89a", 6);
  check_file(env, "/img.webp", "image/webp", "RIFF", 4);
  check_file(env, "/favicon.ico", "image/x-icon", "ico", 3);
  check_file(env, "/font.woff2", "font/woff2", "wOF2", 4);
  check_file(env, "/doc.pdf", "application/pdf", "%PDF-1.4", 8);
  check_file(env, "/page.htm", "text/html; charset=utf-8", "<p>htm</p>", 10);
  check_file(env, "/noext", "application/octet-stream", "raw", 3);
  check_file(env, "/space%20file.txt", "text/plain; charset=utf-8", "spaced", 6);
  check_file(env, "/a/b.txt?cache=123&x", "text/plain; charset=utf-8", "bee\n", 4);
  check_file(env, "/sub/", "text/html; charset=utf-8", "<html>sub</html>\n", 17);
  check_file(env, "/inner_link", "application/octet-stream", "<html>home</html>\n", 18);
  check_file(env, "/inner_dir/", "text/html; charset=utf-8", "<html>sub</html>\n", 17);

  tresp_t r;
  GS_CHECK_INT(get(env, "/sub", &r), 0);
  GS_CHECK_INT(r.status, 301);
  GS_CHECK_STR(tresp_header(&r, "location"), "/sub/");
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/sub?x=1&y=2", &r), 0);
  GS_CHECK_INT(r.status, 301);
  GS_CHECK_STR(tresp_header(&r, "location"), "/sub/?x=1&y=2");
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/empty/", &r), 0);
  GS_CHECK_INT(r.status, 404);
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/missing.html", &r), 0);
  GS_CHECK_INT(r.status, 404);
  GS_CHECK_STR(tresp_header(&r, "content-type"), "text/html; charset=utf-8");
  GS_CHECK(r.body && strstr(r.body, "404 Not Found") != NULL);
  tresp_free(&r);

  GS_CHECK_INT(tc_request(env->port, "HEAD /index.html HTTP/1.1\r\n\r\n", &r, 1), 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_STR(tresp_header(&r, "content-length"), "18");
  GS_CHECK_INT(r.body_len, 0);
  tresp_free(&r);

  static const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS"};
  for (size_t i = 0; i < 4; i++) {
    char req[128];
    snprintf(req, sizeof req, "%s /index.html HTTP/1.1\r\nContent-Length: 0\r\n\r\n", methods[i]);
    GS_CHECK_INT(tc_request(env->port, req, &r, 0), 0);
    GS_CHECK_INT(r.status, 405);
    GS_CHECK_STR(tresp_header(&r, "allow"), "GET, HEAD");
    tresp_free(&r);
  }
}

static void test_static(void) {
  run_env(client_static);
}

/* keep-alive and pipelining through the fixture server */
static void client_connection_reuse(tenv_t *env) {
  tconn_t c;
  tresp_t r;
  tc_connect(&c, env->port);
  tc_sends(&c, "GET /robots.txt HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "User-agent: *\n");
  tresp_free(&r);
  tc_sends(&c, "HEAD /robots.txt HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 1), 0);
  GS_CHECK_INT(r.status, 200);
  tresp_free(&r);
  tc_sends(&c, "GET /a/b.txt?delay_ms=100 HTTP/1.1\r\n\r\nGET /index.html HTTP/1.1\r\n\r\n"
               "GET /?bytes=10&slow_ms=50 HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "bee\n");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "<html>home</html>\n");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_STR(r.body, "abcdefghij");
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK_INT(r.status, 404);
  tresp_free(&r);
  tc_close(&c);
}

static void test_connection_reuse(void) {
  run_env(client_connection_reuse);
}

/* ---- traversal --------------------------------------------------------------- */

static void client_traversal(tenv_t *env) {
  static const char *targets[] = {
      "/../etc/passwd",
      "/../secret.txt",
      "/%2e%2e/",
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/%2e%2e%2fetc/passwd",
      "/%2e%2e%2fsecret.txt",
      "/a/..%2f..",
      "/a/..%2f..%2fsecret.txt",
      "/a/%2e%2e/%2e%2e/secret.txt",
      "/..\\secret.txt",
      "/a\\..\\..\\secret.txt",
      "/a%5c..%5c..%5csecret.txt",
      "/%5c..%5csecret.txt",
      "/index.html%00.txt",
      "/%00",
      "/a/%00/b.txt",
      "/etc_link/passwd",
      "/etc_link/",
      "/etc_link",
      "/secret_link",
      "//etc/passwd",
      "//",
      "/a//b.txt",
      "/./index.html",
      "/a/./b.txt",
      "/a/.",
      "/a/..",
      "/..",
      "/.",
      "/%2e",
      "/%2e/index.html",
      "/a/b.txt/..",
      "/%zz",
      "/%2",
      "/%0d%0aX-Injected:%201",
      "/?status=200&x=/../secret.txt/..",
      "/../secret.txt?bytes=10&status=200",
      "/etc_link/passwd?bytes=10",
      "/secret_link?status=200&delay_ms=10",
  };
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    tresp_t r;
    int rc = get(env, targets[i], &r);
    int expect = strcmp(targets[i], "/?status=200&x=/../secret.txt/..") == 0 ? 200 : 404;
    GS_CHECK_INT(rc, 0);
    GS_CHECK_INT(r.status, expect);
    GS_CHECK(!r.body || (!strstr(r.body, "root:") && !strstr(r.body, "top secret")));
    if (r.status != expect)
      fprintf(stderr, "  (target %s)\n", targets[i]);
    tresp_free(&r);
  }
  /* not starting with '/': http-parser refuses the request line itself */
  tresp_t r;
  GS_CHECK_INT(tc_request(env->port, "GET etc/passwd HTTP/1.1\r\n\r\n", &r, 0), 0);
  GS_CHECK(r.status == 400 || r.status == 404);
  tresp_free(&r);
  GS_CHECK_INT(tc_request(env->port, "GET http://x/../secret.txt HTTP/1.1\r\n\r\n", &r, 0), 0);
  GS_CHECK_INT(r.status, 404);
  tresp_free(&r);
}

static void test_traversal(void) {
  run_env(client_traversal);
}

/* ---- fault injection ------------------------------------------------------- */

static int check_pattern(const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != (i % 64 == 63 ? '\n' : (char)('a' + (i % 64) % 26)))
      return 0;
  return 1;
}

static void expect_400(tenv_t *env, const char *target, const char *param) {
  tresp_t r;
  GS_CHECK_INT(get(env, target, &r), 0);
  GS_CHECK_INT(r.status, 400);
  GS_CHECK(r.body && strstr(r.body, param) != NULL);
  if (r.status != 400)
    fprintf(stderr, "  (target %s)\n", target);
  tresp_free(&r);
}

static void client_faults(tenv_t *env) {
  tresp_t r;
  /* status */
  GS_CHECK_INT(get(env, "/index.html?status=503", &r), 0);
  GS_CHECK_INT(r.status, 503);
  GS_CHECK_STR(r.body, "<html>home</html>\n");
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/nothing-here?status=200", &r), 0);
  GS_CHECK_INT(r.status, 200);
  tresp_free(&r);
  expect_400(env, "/?status=abc", "'status'");
  expect_400(env, "/?status=99", "'status'");
  expect_400(env, "/?status=600", "'status'");
  expect_400(env, "/?status=", "'status'");

  /* retry_after */
  GS_CHECK_INT(get(env, "/?status=429&retry_after=120", &r), 0);
  GS_CHECK_INT(r.status, 429);
  GS_CHECK_STR(tresp_header(&r, "retry-after"), "120");
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/?status=503&retry_after=Wed,%2021%20Oct%202015%2007:28:00+GMT", &r), 0);
  GS_CHECK_STR(tresp_header(&r, "retry-after"), "Wed, 21 Oct 2015 07:28:00 GMT");
  tresp_free(&r);
  expect_400(env, "/?retry_after=%0d%0aX:1", "'retry_after'");
  expect_400(env, "/?retry_after=", "'retry_after'");
  expect_400(env, "/?retry_after=<script>", "'retry_after'");

  /* delay_ms */
  double t0 = now_ms();
  GS_CHECK_INT(get(env, "/robots.txt?delay_ms=200", &r), 0);
  double dt = now_ms() - t0;
  GS_CHECK(dt >= 200);
  GS_CHECK_STR(r.body, "User-agent: *\n");
  tresp_free(&r);
  expect_400(env, "/?delay_ms=-1", "'delay_ms'");
  expect_400(env, "/?delay_ms=1e3", "'delay_ms'");
  expect_400(env, "/?delay_ms=600001", "'delay_ms'");
  expect_400(env, "/?delay_ms=99999999999999999999", "'delay_ms'");

  /* close */
  GS_CHECK_INT(get(env, "/?close=1", &r), -1);
  GS_CHECK_INT(r.status, 0);
  t0 = now_ms();
  GS_CHECK_INT(get(env, "/?close=1&delay_ms=100", &r), -1);
  GS_CHECK(now_ms() - t0 >= 100);
  GS_CHECK_INT(get(env, "/?close=0", &r), 0);
  GS_CHECK_INT(r.status, 200);
  tresp_free(&r);
  expect_400(env, "/?close=yes", "'close'");

  /* bytes */
  GS_CHECK_INT(get(env, "/sub?bytes=1000", &r), 0); /* not a redirect any more */
  GS_CHECK(tresp_header(&r, "location") == NULL);
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/any/path?bytes=1000", &r), 0);
  GS_CHECK_INT(r.status, 200);
  GS_CHECK_INT(r.body_len, 1000);
  GS_CHECK_STR(tresp_header(&r, "content-length"), "1000");
  GS_CHECK_STR(tresp_header(&r, "content-type"), "text/plain");
  GS_CHECK(r.body && check_pattern(r.body, r.body_len));
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/?bytes=0&status=500", &r), 0);
  GS_CHECK_INT(r.status, 500);
  GS_CHECK_INT(r.body_len, 0);
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/?bytes=3000000", &r), 0);
  GS_CHECK_INT(r.body_len, 3000000);
  GS_CHECK(r.body && check_pattern(r.body, r.body_len));
  tresp_free(&r);
  GS_CHECK_INT(tc_request(env->port, "HEAD /?bytes=10 HTTP/1.1\r\n\r\n", &r, 1), 0);
  GS_CHECK_STR(tresp_header(&r, "content-length"), "10");
  GS_CHECK_INT(r.body_len, 0);
  tresp_free(&r);
  expect_400(env, "/?bytes=67108865", "'bytes'");
  expect_400(env, "/?bytes=-5", "'bytes'");

  /* slow_ms: first bytes early, the whole body after about slow_ms */
  tconn_t c;
  tc_connect(&c, env->port);
  t0 = now_ms();
  tc_sends(&c, "GET /?bytes=5000&slow_ms=300 HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  dt = now_ms() - t0;
  GS_CHECK(dt >= 295);
  GS_CHECK(dt < 2000);
  GS_CHECK(c.first_byte_ms - t0 < 150);
  GS_CHECK_INT(r.body_len, 5000);
  GS_CHECK(r.body && check_pattern(r.body, r.body_len));
  tresp_free(&r);
  /* the connection stays usable after a trickled answer */
  tc_sends(&c, "GET /robots.txt?slow_ms=100&delay_ms=100&status=202 HTTP/1.1\r\n\r\n");
  t0 = now_ms();
  GS_CHECK_INT(tc_read(&c, &r, 0), 0);
  GS_CHECK(now_ms() - t0 >= 195);
  GS_CHECK_INT(r.status, 202);
  GS_CHECK_STR(r.body, "User-agent: *\n");
  tresp_free(&r);
  tc_close(&c);
  GS_CHECK_INT(get(env, "/?bytes=1&slow_ms=50", &r), 0);
  GS_CHECK_STR(r.body, "a");
  tresp_free(&r);
  expect_400(env, "/?slow_ms=x", "'slow_ms'");
}

static void test_faults(void) {
  run_env(client_faults);
}

/* A delayed answer does not hold up other connections. */
static void client_delay_not_blocking(tenv_t *env) {
  tconn_t slow, fast;
  tresp_t r;
  double t0 = now_ms();
  tc_connect(&slow, env->port);
  tc_sends(&slow, "GET /index.html?delay_ms=300 HTTP/1.1\r\n\r\n");
  tc_connect(&fast, env->port);
  tc_sends(&fast, "GET /robots.txt HTTP/1.1\r\n\r\n");
  GS_CHECK_INT(tc_read(&fast, &r, 0), 0);
  double fast_ms = now_ms() - t0;
  GS_CHECK_INT(r.status, 200);
  GS_CHECK(fast_ms < 150);
  tresp_free(&r);
  GS_CHECK_INT(tc_read(&slow, &r, 0), 0);
  double slow_ms = now_ms() - t0;
  GS_CHECK_INT(r.status, 200);
  GS_CHECK(slow_ms >= 300);
  tresp_free(&r);
  tc_close(&fast);
  tc_close(&slow);
}

static void test_delay_not_blocking(void) {
  run_env(client_delay_not_blocking);
}

/* Issue 14: delay_ms and slow_ms are accurate, not only lower bounds. Each
 * request is timed with uv_hrtime from its write to the complete response on
 * a kept-alive connection. The median must lie in [N, N + 0.9) ms and no
 * answer may come before N ms. The median absorbs a noisy shared machine.
 * The old whole-millisecond timers (delay_ms + 1) gave medians of about
 * N + 1.3 ms, and slow_ms=130 ended after about 127 ms. (The bound is the
 * timerfd path's; built with GS_FIXTURE_NO_TIMERFD, deadlines round up to
 * whole milliseconds and this test is expected to fail.) */
#define ACCURACY_RUNS 21
#define ACCURACY_SLACK_MS 0.9

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Times runs requests of target; returns the median and the minimum in ms. */
static double timed_median(tenv_t *env, const char *target, int runs, double *min) {
  double ms[ACCURACY_RUNS];
  char req[256];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", target);
  tconn_t c;
  GS_CHECK_INT(tc_connect(&c, env->port), 0);
  for (int i = 0; i < runs; i++) {
    tresp_t r;
    uint64_t t0 = uv_hrtime();
    GS_CHECK_INT(tc_sends(&c, req), 0);
    GS_CHECK_INT(tc_read(&c, &r, 0), 0);
    ms[i] = (double)(uv_hrtime() - t0) / 1e6;
    GS_CHECK_INT(r.status, 200);
    tresp_free(&r);
  }
  tc_close(&c);
  qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
  *min = ms[0];
  return ms[runs / 2];
}

static void check_accuracy(tenv_t *env, const char *target, int runs, double want_ms) {
  double min = 0, median = timed_median(env, target, runs, &min);
  printf("# %s: median %.3f ms, min %.3f ms over %d requests (want [%.1f, %.1f))\n", target, median,
         min, runs, want_ms, want_ms + ACCURACY_SLACK_MS);
  GS_CHECK(min >= want_ms);
  GS_CHECK(median >= want_ms && median < want_ms + ACCURACY_SLACK_MS);
}

static void client_timing_accuracy(tenv_t *env) {
  check_accuracy(env, "/robots.txt?delay_ms=50", ACCURACY_RUNS, 50.0);
  check_accuracy(env, "/robots.txt?delay_ms=3", ACCURACY_RUNS, 3.0);
  /* 7 pieces 21.67 ms apart (the old whole-ms interval, 21, ended at 126) */
  check_accuracy(env, "/?bytes=5000&slow_ms=130", 5, 130.0);
  check_accuracy(env, "/?bytes=5000&slow_ms=40&delay_ms=30", 5, 70.0);
}

static void test_timing_accuracy(void) {
  run_env(client_timing_accuracy);
}

/* Closing the server with a delayed and a trickling answer pending, plus a
 * client that leaves during a delay: everything is released. */
static void client_close_pending(tenv_t *env) {
  tconn_t gone, delayed, trickle;
  tresp_t r;
  tc_connect(&gone, env->port);
  tc_sends(&gone, "GET /?delay_ms=5000 HTTP/1.1\r\n\r\n");
  tc_connect(&delayed, env->port);
  tc_sends(&delayed, "GET /?delay_ms=5000 HTTP/1.1\r\n\r\n");
  tc_connect(&trickle, env->port);
  tc_sends(&trickle, "GET /?bytes=100000&slow_ms=5000 HTTP/1.1\r\n\r\n");
  sleep_ms(100);
  tc_close(&gone);
  sleep_ms(50);
  double t0 = now_ms();
  env->stop_sent = 1;
  uv_async_send(&env->stop);
  GS_CHECK_INT(tc_read(&delayed, &r, 0), -1);
  GS_CHECK(now_ms() - t0 < 1000);
  GS_CHECK(tc_read(&trickle, &r, 0) == -2); /* truncated body, then EOF */
  tresp_free(&r);
  tc_close(&delayed);
  tc_close(&trickle);
}

static void test_close_pending(void) {
  run_env(client_close_pending);
}

/* ---- hardening (issue 12) ---------------------------------------------------- */

static int big_ok(const tresp_t *r) {
  if (r->body_len != BIG_FILE)
    return 0;
  for (size_t i = 0; i < BIG_FILE; i++)
    if (r->body[i] != (char)(i * 7 % 251))
      return 0;
  return 1;
}

static void client_streamed(tenv_t *env) {
  tresp_t r;
  const char *targets[] = {"/big.bin", "/big.bin?slow_ms=100", "/big.bin?delay_ms=20"};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    GS_CHECK_INT(get(env, targets[i], &r), 0);
    GS_CHECK_INT(r.status, 200);
    GS_CHECK(big_ok(&r));
    tresp_free(&r);
  }
  GS_CHECK_INT(tc_request(env->port, "HEAD /big.bin HTTP/1.1\r\n\r\n", &r, 1), 0);
  GS_CHECK_STR(tresp_header(&r, "content-length"), "300000");
  tresp_free(&r);
  GS_CHECK_INT(get(env, "/?bytes=1000000&slow_ms=50&status=203", &r), 0);
  GS_CHECK_INT(r.status, 203);
  GS_CHECK(r.body_len == 1000000 && check_pattern(r.body, r.body_len));
  tresp_free(&r);
}

static void test_streamed(void) {
  run_env(client_streamed);
}

static void client_trailers(tenv_t *env) {
  static char raw[64 * 1024];
  tresp_t r;
  int counts[] = {14, 40, 300};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    trailer_request(raw, sizeof raw, "GET", "/index.html", counts[i], 1);
    GS_CHECK_INT(tc_request(env->port, raw, &r, 0), 0);
    GS_CHECK_INT(r.status, 200);
    GS_CHECK_STR(r.body, "<html>home</html>\n");
    tresp_free(&r);
    trailer_request(raw, sizeof raw, "POST", "/mcp/", counts[i], 1);
    GS_CHECK_INT(tc_request(env->port, raw, &r, 0), 0);
    GS_CHECK_INT(r.status, 405);
    tresp_free(&r);
  }
  trailer_request(raw, sizeof raw, "GET", "/index.html", 1, 600);
  GS_CHECK_INT(tc_request(env->port, raw, &r, 0), 0);
  GS_CHECK_INT(r.status, 200);
  tresp_free(&r);
  unsigned seed = 3;
  for (int i = 0; i < 80; i++) {
    seed = seed * 1103515245u + 12345u;
    size_t len = trailer_request(raw, sizeof raw, i % 2 ? "GET" : "POST", "/a/b.txt",
                                 (int)((seed >> 16) % 120), (seed >> 8) % 300);
    int status = -1;
    GS_CHECK_INT(send_cut(env->port, raw, len, &seed, &status), 0);
    GS_CHECK(status == (i % 2 ? 200 : 405) || status == 431);
  }
}

static void test_trailers(void) {
  run_env(client_trailers);
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

#define NOT_READING 16

/* Issue 12: 16 clients that never read a 64 MiB answer used to pin 1 GB. */
static void client_not_reading(tenv_t *env) {
  tconn_t cs[NOT_READING];
  long before = rss_kib();
  for (int i = 0; i < NOT_READING; i++) {
    tc_connect(&cs[i], env->port);
    tc_sends(&cs[i], "GET /?bytes=67108864 HTTP/1.1\r\n\r\n");
  }
  sleep_ms(1000);
  long grown = rss_kib() - before;
  printf("# %d clients not reading 64 MiB each: RSS grew %ld KiB\n", NOT_READING, grown);
  GS_CHECK(grown < 96 * 1024);
  tresp_t r; /* one reads at last and gets all of it */
  GS_CHECK_INT(tc_read(&cs[0], &r, 0), 0);
  GS_CHECK(r.body_len == 64u << 20 && check_pattern(r.body, r.body_len));
  tresp_free(&r);
  for (int i = 0; i < NOT_READING; i++)
    tc_close(&cs[i]);
}

static void test_not_reading(void) {
  run_env(client_not_reading);
}

static void test_start_errors(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  gs_fixture_server_t *fx = NULL;
  gs_fixture_opts_t opts = {0};
  opts.root = "/nonexistent/gofr-sim-root";
  GS_CHECK_INT(gs_fixture_server_start(&loop, &opts, &fx), GS_ENOENT);
  char file[160];
  snprintf(file, sizeof file, "%s/secret.txt", g_site_for_tests->base);
  opts.root = file;
  GS_CHECK_INT(gs_fixture_server_start(&loop, &opts, &fx), GS_ENOENT);
  opts.root = g_site_for_tests->root;
  opts.host = "bad host";
  GS_CHECK_INT(gs_fixture_server_start(&loop, &opts, &fx), GS_EADDR);
  GS_CHECK(fx == NULL);
  GS_CHECK_INT(uv_run(&loop, UV_RUN_NOWAIT), 0);
  GS_CHECK_INT(uv_loop_close(&loop), 0);
}

int main(void) {
  site_t site;
  if (site_make(&site) < 0) {
    fprintf(stderr, "cannot create a temporary site\n");
    return 1;
  }
  g_site_for_tests = &site;
  GS_RUN(test_start_errors);
  GS_RUN(test_static);
  GS_RUN(test_connection_reuse);
  GS_RUN(test_traversal);
  GS_RUN(test_faults);
  GS_RUN(test_delay_not_blocking);
  GS_RUN(test_timing_accuracy);
  GS_RUN(test_close_pending);
  GS_RUN(test_streamed);
  GS_RUN(test_trailers);
  GS_RUN(test_not_reading);
  site_remove(&site);
  return gs_test_report();
}
