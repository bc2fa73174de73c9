/* The fixture site server (see gs/fixture_server.h and docs/fixtures.md).
 *
 * Ownership:
 * - gs_fixture_server_t (malloc'd in start) owns the embedded HTTP server,
 *   the resolved root path and a scratch buffer for bodies answered at once.
 *   It is freed once the HTTP server has closed and every job's timer has run
 *   its close callback.
 * - fx_job_t (malloc'd only for delayed, trickled or streamed answers) owns
 *   its timer, its body source (a copy of at most INLINE_MAX bytes, an open
 *   file, or the bytes=N pattern) and its header strings; it is freed in the
 *   timer's close callback. Its exchange pointer is cleared when the
 *   exchange is answered, dropped or aborted. While it is in the server's
 *   due list the server points at it (not an ownership: finishing the job
 *   unlinks it).
 *
 * Timing: delay_ms and slow_ms's pieces are deadlines in uv_hrtime()
 * nanoseconds, from when the request was taken up (delay_ms) and from when
 * the head was due (slow_ms: piece k = 0..n-1 of n is due slow_ms * k /
 * (n - 1) after it). libuv's timers alone cannot keep them: the loop clock
 * is whole milliseconds, floored, cached at the start of a loop turn, and
 * the poll timeout derived from it counts from the moment epoll_wait is
 * called, so a timer fires anywhere in about [N - 1, N + 1] ms of its real
 * start (the old code added 1 ms to stay above N, and answered delay_ms=50
 * after about 51.3 ms; slow_ms's repeating timer truncated the interval and
 * drifted). A job first waits on its own uv timer until about 1 ms before
 * its deadline (that timer may fire up to about 1 ms late: still before the
 * deadline unless the loop is busy), then in the server's due list, sorted
 * by deadline, on one timerfd per server armed at the earliest deadline
 * (absolute, CLOCK_MONOTONIC: uv_hrtime's clock), so it is released at its
 * deadline to within the kernel's timer slack, never before, without
 * busy-waiting. Without timerfd (not Linux) the due list runs on a uv timer
 * rounded up to whole milliseconds.
 *
 * Bodies up to INLINE_MAX are read whole and answered at once; larger ones
 * are streamed in SLICE pieces, read (pread) or generated as the client
 * takes them: never more than the HTTP server's max_output_bytes plus one
 * piece is queued per connection (gs_http_exchange_congested / on_drain).
 * Files are read synchronously: fixture files are local. Nothing is cached. */
#include "gs/fixture_server.h"

#include "gs/buf.h"
#include "gs/error.h"
#include "gs/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__) && !defined(GS_FIXTURE_NO_TIMERFD)
#define GS_FX_TIMERFD 1
#include <sys/timerfd.h>
#endif

#define MAX_BYTES (64u * 1024 * 1024) /* bytes=N and file size limit */
#define MAX_MS 600000                 /* delay_ms and slow_ms limit (10 min) */
#define MAX_PIECES 64                 /* slow_ms: most pieces a body is cut into */
#define PIECE_MS 20                   /* slow_ms: aimed time between pieces */
#define KEEP_SCRATCH (1024 * 1024)    /* scratch above this is freed after use */
#define INLINE_MAX (64 * 1024)        /* larger bodies are streamed */
#define SLICE (64 * 1024)             /* bytes read or generated per streamed write */
#define RETRY_AFTER_MAX 64
#define NS_PER_MS 1000000ull
#define DUE_LIST_NS (2 * NS_PER_MS) /* deadlines this near go to the due list at once */

typedef struct fx_job_s fx_job_t;

struct gs_fixture_server_s {
  uv_loop_t *loop;
  gs_http_server_t *http;
  char *root; /* realpath of the root, owned */
  size_t root_len;
  size_t njobs; /* jobs whose timer is not closed yet */
  int closing;
  int http_closed;
  void (*on_closed)(void *data);
  void *closed_data;
  gs_buf_t scratch; /* body of an immediate answer, or a streamed slice (owned) */
  /* The due list: jobs within DUE_LIST_NS of their deadline, earliest first
   * (borrowed; a job unlinks itself when it finishes). */
  fx_job_t *due_head, *due_tail;
  uint64_t armed_ns; /* deadline the tick is armed for; 0: not armed */
#ifdef GS_FX_TIMERFD
  uv_poll_t tick; /* readable when the timerfd expires */
  int tfd;        /* the timerfd (owned), closed with the tick */
#else
  uv_timer_t tick;
#endif
  int tick_closed; /* the tick handle's close callback has run */
};

/* Fault-injection parameters of one request; -1 / 0 when absent. */
typedef struct {
  long delay_ms;
  long slow_ms;
  long bytes;
  int status;
  int close;
  char retry_after[RETRY_AFTER_MAX + 1];
} fx_faults_t;

/* One answer being prepared or delivered. */
struct fx_job_s {
  uv_timer_t timer; /* initialised only for deferred answers: the wait until
                     * the job goes to the due list */
  uint64_t due_ns;  /* deadline of the pending step (uv_hrtime clock) */
  void (*on_due)(fx_job_t *job);
  fx_job_t *due_prev, *due_next; /* in the server's due list when in_due */
  int in_due;
  gs_fixture_server_t *fx;
  gs_http_exchange_t *ex; /* NULL once answered, dropped or aborted */
  int status;
  const char *ctype; /* static string */
  char *location;    /* owned or NULL */
  char *body;        /* in memory: owned when body_owned, else borrowed (immediate only) */
  int fd;            /* else a file of body_len bytes (owned), or -1 */
  size_t body_len;   /* with neither body nor fd: the bytes=N pattern */
  int body_owned;
  int head; /* HEAD: nothing of the body is read or sent */
  fx_faults_t faults;
  size_t pieces, next_piece; /* trickle: pieces due so far */
  size_t sent, due;          /* body bytes written / allowed so far */
  uint64_t slow_start_ns;    /* slow_ms: when the head was due */
  int finishing;
};

static const char not_found_body[] =
    "<!doctype html>\n<html><head><title>404 Not Found</title></head>"
    "<body><h1>404 Not Found</h1></body></html>\n";
static const char moved_body[] = "<!doctype html>\n<html><body>Moved</body></html>\n";
static const char read_error_body[] = "cannot read file\n";

/* ---- content types ----------------------------------------------------------- */

static const char *gs__content_type(const char *path) {
  static const struct {
    const char *ext;
    const char *type;
  } types[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "application/javascript"},
      {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"pdf", "application/pdf"},
  };
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  const char *dot = strrchr(base, '.');
  if (dot && dot != base) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcasecmp(dot + 1, types[i].ext) == 0)
        return types[i].type;
  }
  return "application/octet-stream";
}

/* ---- query parameters ------------------------------------------------------- */

static int gs__hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes a query value ('+' is a space) into out (cap bytes with NUL).
 * Returns 0, or -1 when malformed or too long. */
static int gs__query_decode(const char *s, size_t len, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= len)
        return -1;
      int hi = gs__hexval(s[i + 1]), lo = gs__hexval(s[i + 2]);
      if (hi < 0 || lo < 0)
        return -1;
      c = (char)(hi * 16 + lo);
      i += 2;
    }
    if (n + 1 >= cap)
      return -1;
    out[n++] = c;
  }
  out[n] = '\0';
  return 0;
}

/* Parses a decimal integer 0..max: digits only, no sign. */
static int gs__parse_uint(const char *s, long max, long *out) {
  if (!*s)
    return -1;
  long v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
    if (v > max)
      return -1;
  }
  *out = v;
  return 0;
}

/* Retry-After: delay-seconds or an HTTP-date-like string. */
static int gs__retry_after_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > RETRY_AFTER_MAX || s[0] == ' ')
    return 0;
  return strspn(s, "0123456789 ,:-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

/* Applies one key=value pair. Returns NULL or the message of a 400. */
static const char *gs__fault_set(fx_faults_t *f, const char *key, size_t klen, const char *val,
                                 size_t vlen) {
  static const struct {
    const char *name;
    const char *msg;
  } params[] = {
      {"delay_ms", "bad query parameter 'delay_ms': expected an integer from 0 to 600000\n"},
      {"slow_ms", "bad query parameter 'slow_ms': expected an integer from 0 to 600000\n"},
      {"bytes", "bad query parameter 'bytes': expected an integer from 0 to 67108864\n"},
      {"status", "bad query parameter 'status': expected an integer from 100 to 599\n"},
      {"close", "bad query parameter 'close': expected 0 or 1\n"},
      {"retry_after", "bad query parameter 'retry_after': expected seconds or an HTTP date "
                      "(letters, digits, space, ',', ':', '-'; at most 64 characters)\n"},
  };
  size_t which = sizeof params / sizeof params[0];
  for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
    if (strlen(params[i].name) == klen && memcmp(params[i].name, key, klen) == 0)
      which = i;
  if (which == sizeof params / sizeof params[0])
    return NULL; /* unknown parameters are ignored (cache busters, ...) */
  char v[RETRY_AFTER_MAX + 1];
  long n = 0;
  int ok = gs__query_decode(val, vlen, v, sizeof v) == 0;
  switch (which) {
  case 0:
    ok = ok && gs__parse_uint(v, MAX_MS, &f->delay_ms) == 0;
    break;
  case 1:
    ok = ok && gs__parse_uint(v, MAX_MS, &f->slow_ms) == 0;
    break;
  case 2:
    ok = ok && gs__parse_uint(v, MAX_BYTES, &f->bytes) == 0;
    break;
  case 3:
    ok = ok && gs__parse_uint(v, 599, &n) == 0 && n >= 100;
    f->status = (int)n;
    break;
  case 4:
    ok = ok && gs__parse_uint(v, 1, &n) == 0;
    f->close = (int)n;
    break;
  default:
    ok = ok && gs__retry_after_ok(v);
    if (ok)
      memcpy(f->retry_after, v, strlen(v) + 1);
    break;
  }
  return ok ? NULL : params[which].msg;
}

/* Parses the query string (without '?'). Returns NULL or a 400 message. */
static const char *gs__faults_parse(fx_faults_t *f, const char *q, size_t len) {
  memset(f, 0, sizeof *f);
  f->delay_ms = f->slow_ms = f->bytes = -1;
  size_t i = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && q[end] != '&')
      end++;
    const char *eq = memchr(q + i, '=', end - i);
    size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
    const char *val = eq ? eq + 1 : q + end;
    size_t vlen = eq ? (size_t)(q + end - val) : 0;
    const char *err = gs__fault_set(f, q + i, klen, val, vlen);
    if (err)
      return err;
    i = end + 1;
  }
  return NULL;
}

/* ---- paths -------------------------------------------------------------------- */

/* Decodes the URL path into out (len + 1 bytes). Refuses (-1) anything that
 * could leave the root or name something odd: no leading '/', "//", a
 * backslash, an encoded '/', '\' or NUL, control bytes, a malformed escape,
 * "." or ".." segments. */
static int gs__path_decode(const char *raw, size_t len, char *out) {
  if (len == 0 || raw[0] != '/')
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)raw[i];
    if (c == '\\' || (c == '/' && i + 1 < len && raw[i + 1] == '/'))
      return -1;
    if (c == '%') {
      int hi = i + 1 < len ? gs__hexval(raw[i + 1]) : -1;
      int lo = i + 2 < len ? gs__hexval(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return -1;
      c = (unsigned char)(hi * 16 + lo);
      i += 2;
      if (c == '/' || c == '\\')
        return -1;
    }
    if (c < 0x20 || c == 0x7f)
      return -1; /* includes NUL */
    out[n++] = (char)c;
  }
  out[n] = '\0';
  for (const char *seg = out + 1; seg;) {
    const char *next = strchr(seg, '/');
    size_t sl = next ? (size_t)(next - seg) : strlen(seg);
    if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
      return -1;
    seg = next ? next + 1 : NULL;
  }
  return 0;
}

/* Is `real` (a realpath result) the root or below it? */
static int gs__inside_root(const gs_fixture_server_t *fx, const char *real) {
  size_t n = fx->root_len;
  if (strncmp(real, fx->root, n) != 0)
    return 0;
  return real[n] == '\0' || real[n] == '/';
}

typedef enum { R_FILE, R_DIR_REDIRECT, R_MISSING, R_REFUSED } resolve_t;

/* Maps a decoded URL path to a file. On R_FILE, real (PATH_MAX) holds the
 * resolved path and `name` the path whose extension gives the type. */
static resolve_t gs__path_resolve(const gs_fixture_server_t *fx, const char *upath, char *fs,
                                  char *real) {
  if (fx->root_len + strlen(upath) + sizeof "index.html" >= PATH_MAX)
    return R_MISSING;
  sprintf(fs, "%s%s", fx->root, upath);
  struct stat st;
  if (stat(fs, &st) < 0)
    return R_MISSING;
  if (!realpath(fs, real))
    return R_MISSING;
  if (!gs__inside_root(fx, real))
    return R_REFUSED;
  if (S_ISDIR(st.st_mode)) {
    size_t ul = strlen(upath);
    if (upath[ul - 1] != '/')
      return R_DIR_REDIRECT;
    strcat(fs, "index.html");
    if (stat(fs, &st) < 0 || !realpath(fs, real))
      return R_MISSING;
    if (!gs__inside_root(fx, real))
      return R_REFUSED;
  }
  return S_ISREG(st.st_mode) ? R_FILE : R_MISSING;
}

/* The server's scratch buffer as n bytes for the caller to fill (owned by
 * fx, valid until the next call), or NULL when out of memory. */
static char *gs__scratch_get(gs_fixture_server_t *fx, size_t n) {
  gs_buf_clear(&fx->scratch);
  return gs_buf_extend(&fx->scratch, n);
}

static void gs__scratch_trim(gs_fixture_server_t *fx) {
  gs_buf_reset(&fx->scratch, KEEP_SCRATCH);
}

/* Reads up to len bytes at off into buf; returns how many (fewer for a
 * file that shrank). */
static size_t gs__file_pread(int fd, char *buf, size_t len, size_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  return got;
}

/* Opens a regular file for the job: up to INLINE_MAX bytes are read into
 * the scratch buffer (job->body), a larger file stays open (job->fd).
 * Returns 0, GS_ENOENT, GS_EIO (too large) or GS_ENOMEM. */
static int gs__file_open(gs_fixture_server_t *fx, const char *path, fx_job_t *job) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0)
    return GS_ENOENT;
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    rc = GS_ENOENT;
  } else if ((unsigned long long)st.st_size > MAX_BYTES) {
    rc = GS_EIO;
  } else if (st.st_size > INLINE_MAX) {
    job->fd = fd;
    job->body = NULL;
    job->body_len = (size_t)st.st_size;
    return 0;
  } else {
    char *body = gs__scratch_get(fx, (size_t)st.st_size);
    if (body) {
      job->body = body;
      job->body_len = gs__file_pread(fd, body, (size_t)st.st_size, 0);
    } else {
      rc = GS_ENOMEM;
    }
  }
  close(fd);
  return rc;
}

/* bytes=N: 'a'..'z' repeating, a newline ending every 64-byte line; the n
 * bytes from offset off of that pattern. */
static void gs__pattern_fill(char *p, size_t off, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t col = (off + i) % 64;
    p[i] = col == 63 ? '\n' : (char)('a' + col % 26);
  }
}

/* ---- deadlines ---------------------------------------------------------------- */

static void gs__fx_maybe_finish(gs_fixture_server_t *fx);
static void gs__due_run(gs_fixture_server_t *fx);

#ifdef GS_FX_TIMERFD
static void gs__on_tick(uv_poll_t *h, int status, int events) {
  gs_fixture_server_t *fx = h->data;
  uint64_t expirations;
  while (read(fx->tfd, &expirations, sizeof expirations) < 0 && errno == EINTR) {
  }
  fx->armed_ns = 0; /* a one-shot timerfd is disarmed once it expired */
  gs__due_run(fx);
}

/* Arms the tick for due_ns (0: disarms it). */
static void gs__tick_set(gs_fixture_server_t *fx, uint64_t due_ns) {
  if (due_ns == fx->armed_ns)
    return;
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = (time_t)(due_ns / 1000000000u);
  its.it_value.tv_nsec = (long)(due_ns % 1000000000u);
  timerfd_settime(fx->tfd, TFD_TIMER_ABSTIME, &its, NULL);
  fx->armed_ns = due_ns;
}

static void gs__on_tick_closed(uv_handle_t *h) {
  gs_fixture_server_t *fx = h->data;
  close(fx->tfd);
  fx->tfd = -1;
  fx->tick_closed = 1;
  gs__fx_maybe_finish(fx);
}
#else
static void gs__on_tick(uv_timer_t *t) {
  gs_fixture_server_t *fx = t->data;
  fx->armed_ns = 0;
  gs__due_run(fx);
}

/* Arms the tick for due_ns (0: stops it), rounded up to whole milliseconds. */
static void gs__tick_set(gs_fixture_server_t *fx, uint64_t due_ns) {
  if (due_ns == fx->armed_ns)
    return;
  fx->armed_ns = due_ns;
  if (!due_ns) {
    uv_timer_stop(&fx->tick);
    return;
  }
  uv_update_time(fx->loop);
  uint64_t now = uv_hrtime();
  uint64_t ms = due_ns > now ? (due_ns - now + NS_PER_MS - 1) / NS_PER_MS : 0;
  uv_timer_start(&fx->tick, gs__on_tick, ms, 0);
}

static void gs__on_tick_closed(uv_handle_t *h) {
  gs_fixture_server_t *fx = h->data;
  fx->tick_closed = 1;
  gs__fx_maybe_finish(fx);
}
#endif

/* Puts the job into the due list, after every job due no later (jobs come
 * roughly in deadline order: the walk from the tail is short). */
static void gs__due_insert(fx_job_t *job) {
  gs_fixture_server_t *fx = job->fx;
  fx_job_t *p = fx->due_tail;
  while (p && p->due_ns > job->due_ns)
    p = p->due_prev;
  job->due_prev = p;
  job->due_next = p ? p->due_next : fx->due_head;
  if (job->due_next)
    job->due_next->due_prev = job;
  else
    fx->due_tail = job;
  if (p)
    p->due_next = job;
  else
    fx->due_head = job;
  job->in_due = 1;
  gs__tick_set(fx, fx->due_head->due_ns);
}

static void gs__due_unlink(fx_job_t *job) {
  gs_fixture_server_t *fx = job->fx;
  if (job->due_prev)
    job->due_prev->due_next = job->due_next;
  else
    fx->due_head = job->due_next;
  if (job->due_next)
    job->due_next->due_prev = job->due_prev;
  else
    fx->due_tail = job->due_prev;
  job->due_prev = job->due_next = NULL;
  job->in_due = 0;
}

/* Runs every job whose deadline has come, then arms the tick for the next. */
static void gs__due_run(gs_fixture_server_t *fx) {
  uint64_t now = uv_hrtime();
  fx_job_t *job;
  while ((job = fx->due_head) && job->due_ns <= now) {
    gs__due_unlink(job);
    job->on_due(job); /* may finish the job, or make it wait again */
  }
  gs__tick_set(fx, fx->due_head ? fx->due_head->due_ns : 0);
}

static void gs__on_job_timer(uv_timer_t *t) {
  gs__due_insert(t->data);
}

/* Calls on_due(job) from the loop once uv_hrtime() >= due_ns, never before
 * and never from within this call. */
static void gs__job_wait(fx_job_t *job, uint64_t due_ns, void (*on_due)(fx_job_t *)) {
  job->due_ns = due_ns;
  job->on_due = on_due;
  uv_update_time(job->fx->loop);
  uint64_t now = uv_hrtime();
  if (due_ns < now + DUE_LIST_NS) {
    gs__due_insert(job);
    return;
  }
  /* Whole milliseconds, one short of the remaining time: the timer may fire
   * up to about 1 ms after its nominal time, still before the deadline. */
  uv_timer_start(&job->timer, gs__on_job_timer, (due_ns - now) / NS_PER_MS - 1, 0);
}

/* ---- answering ---------------------------------------------------------------- */

static void gs__respond_simple(gs_http_exchange_t *ex, int status, const char *ctype,
                               const char *body, size_t len, const gs_http_header_t *extra) {
  gs_http_header_t h[2] = {{"Content-Type", ctype}, {0}};
  size_t n = 1;
  if (extra)
    h[n++] = *extra;
  gs_http_exchange_respond(ex, status, h, n, body, len);
}

/* The job's headers into h (at least 3 entries); returns how many. */
static size_t gs__job_headers(const fx_job_t *job, gs_http_header_t *h) {
  size_t n = 0;
  h[n++] = (gs_http_header_t){"Content-Type", job->ctype};
  if (job->location)
    h[n++] = (gs_http_header_t){"Location", job->location};
  if (job->faults.retry_after[0])
    h[n++] = (gs_http_header_t){"Retry-After", job->faults.retry_after};
  return n;
}

static void gs__job_respond(fx_job_t *job) {
  gs_http_header_t h[3];
  size_t n = gs__job_headers(job, h);
  gs_http_exchange_t *ex = job->ex;
  job->ex = NULL;
  gs_http_exchange_respond(ex, job->status, h, n, job->body, job->body_len);
}

static void gs__fx_maybe_finish(gs_fixture_server_t *fx) {
  if (!fx->closing || !fx->http_closed || !fx->tick_closed || fx->njobs)
    return;
  void (*cb)(void *) = fx->on_closed;
  void *data = fx->closed_data;
  free(fx->root);
  gs_buf_free(&fx->scratch);
  free(fx);
  if (cb)
    cb(data);
}

static void gs__job_closed(uv_handle_t *h) {
  fx_job_t *job = h->data;
  gs_fixture_server_t *fx = job->fx;
  free(job->location);
  if (job->body_owned)
    free(job->body);
  if (job->fd >= 0)
    close(job->fd);
  free(job);
  fx->njobs--;
  gs__fx_maybe_finish(fx);
}

/* Ends a deferred job: its exchange is no longer touched; freed on close. */
static void gs__job_finish(fx_job_t *job) {
  if (job->finishing)
    return;
  job->finishing = 1;
  job->ex = NULL;
  uv_timer_stop(&job->timer);
  if (job->in_due) {
    gs_fixture_server_t *fx = job->fx;
    gs__due_unlink(job);
    gs__tick_set(fx, fx->due_head ? fx->due_head->due_ns : 0);
  }
  uv_close((uv_handle_t *)&job->timer, gs__job_closed);
}

static void gs__job_abort(gs_http_exchange_t *ex, void *data) {
  gs__job_finish(data);
}

static void gs__job_drop(fx_job_t *job) {
  if (job->ex)
    gs_http_exchange_drop(job->ex);
  gs__job_finish(job);
}

/* The body bytes [off, off + len) of a streamed job, or NULL when the file
 * cannot be read (valid until the next call). */
static const char *gs__job_slice(fx_job_t *job, size_t off, size_t len) {
  if (job->body)
    return job->body + off;
  char *buf = gs__scratch_get(job->fx, SLICE);
  if (!buf)
    return NULL;
  if (job->fd < 0)
    gs__pattern_fill(buf, off, len);
  else if (gs__file_pread(job->fd, buf, len, off) != len)
    return NULL; /* the file shrank: the body cannot be completed */
  return buf;
}

static void gs__job_pump(fx_job_t *job);

static void gs__job_on_drain(gs_http_exchange_t *ex, void *data) {
  gs__job_pump(data);
}

/* Writes what is due while the connection is not congested; ends the
 * response once every piece is due and written. */
static void gs__job_pump(fx_job_t *job) {
  while (job->sent < job->due && !gs_http_exchange_congested(job->ex)) {
    size_t n = job->due - job->sent < SLICE ? job->due - job->sent : SLICE;
    const char *p = gs__job_slice(job, job->sent, n);
    if (!p || gs_http_exchange_write(job->ex, p, n) < 0 || !job->ex) {
      gs__job_drop(job); /* a failed write aborted the exchange already */
      return;
    }
    job->sent += n;
  }
  if (job->sent < job->due) {
    gs_http_exchange_on_drain(job->ex, gs__job_on_drain, job);
  } else if (job->sent == job->body_len && job->next_piece == job->pieces) {
    gs_http_exchange_t *ex = job->ex;
    job->ex = NULL;
    gs_http_exchange_end(ex);
    gs__job_finish(job);
  }
}

/* slow_ms: when piece k (1..pieces) is due: the first with the head, the
 * last slow_ms later, the others evenly between (one piece: after slow_ms). */
static uint64_t gs__piece_due(const fx_job_t *job, size_t k) {
  uint64_t slow = (uint64_t)job->faults.slow_ms * NS_PER_MS;
  if (job->pieces < 2)
    return job->slow_start_ns + slow;
  return job->slow_start_ns + slow * (k - 1) / (job->pieces - 1);
}

/* The next piece becomes due; the one after it is waited for. */
static void gs__job_piece(fx_job_t *job) {
  size_t k = ++job->next_piece;
  job->due = job->head ? job->body_len : job->body_len * k / job->pieces;
  if (k < job->pieces)
    gs__job_wait(job, gs__piece_due(job, k + 1), gs__job_piece);
  gs__job_pump(job); /* may finish the job, which cancels the wait */
}

/* Sends the head; with pieces == 1 the whole body is due at once. */
static int gs__job_begin(fx_job_t *job, size_t pieces) {
  gs_http_header_t h[3];
  size_t n = gs__job_headers(job, h);
  if (gs_http_exchange_begin(job->ex, job->status, h, n, (int64_t)job->body_len) < 0) {
    gs__job_drop(job);
    return -1;
  }
  job->pieces = pieces;
  job->next_piece = 0;
  job->sent = job->due = 0;
  if (job->head)
    job->sent = job->body_len; /* HEAD: nothing of the body is read */
  return 0;
}

/* slow_ms: pieces at equal intervals from when the head was due (job->due_ns),
 * the first at once and the last slow_ms later (bodies under 2 bytes:
 * everything after slow_ms). */
static void gs__job_start_slow(fx_job_t *job) {
  size_t pieces = 1;
  if (job->body_len >= 2) {
    pieces = (size_t)job->faults.slow_ms / PIECE_MS + 1;
    pieces = pieces < 2 ? 2 : pieces > MAX_PIECES ? MAX_PIECES : pieces;
    if (pieces > job->body_len)
      pieces = job->body_len;
  }
  job->slow_start_ns = job->due_ns;
  if (gs__job_begin(job, pieces) < 0)
    return;
  if (pieces >= 2)
    gs__job_piece(job);
  else
    gs__job_wait(job, gs__piece_due(job, 1), gs__job_piece);
}

/* A streamed body: all due at once, written as the client takes it. */
static void gs__job_start_stream(fx_job_t *job) {
  if (gs__job_begin(job, 1) < 0)
    return;
  gs__job_piece(job);
}

static void gs__job_start(fx_job_t *job) {
  if (job->faults.slow_ms > 0) {
    gs__job_start_slow(job);
  } else if (job->body) {
    gs__job_respond(job);
    gs__job_finish(job);
  } else {
    gs__job_start_stream(job);
  }
}

/* delay_ms is over. */
static void gs__job_delayed(fx_job_t *job) {
  if (job->faults.close) {
    gs_http_exchange_t *ex = job->ex;
    job->ex = NULL;
    gs_http_exchange_drop(ex);
    gs__job_finish(job);
  } else {
    gs__job_start(job);
  }
}

/* Moves a prepared answer into a heap job with a timer (an in-memory body
 * is copied, a file descriptor changes owner); its delay counts from
 * arrived_ns, when the request was taken up. On failure answers 500 at
 * once. */
static void gs__job_defer(gs_fixture_server_t *fx, gs_http_exchange_t *ex, fx_job_t *tmpl,
                          uint64_t arrived_ns) {
  fx_job_t *job = malloc(sizeof *job);
  char *body = NULL;
  if (job) {
    *job = *tmpl;
    job->location = NULL;
    body = tmpl->body ? malloc(tmpl->body_len ? tmpl->body_len : 1) : NULL;
  }
  if (!job || (tmpl->body && !body) ||
      (tmpl->location && !(job->location = strdup(tmpl->location)))) {
    free(body);
    free(job);
    gs__respond_simple(ex, 500, "text/plain", "out of memory\n", 14, NULL);
    return;
  }
  if (body)
    memcpy(body, tmpl->body, tmpl->body_len);
  tmpl->fd = -1; /* the job's now */
  job->body = body;
  job->body_owned = 1;
  job->fx = fx;
  job->ex = ex;
  uv_timer_init(fx->loop, &job->timer);
  job->timer.data = job;
  fx->njobs++;
  gs_http_exchange_on_abort(ex, gs__job_abort, job);
  /* The deadline is exact (see Timing above): never before delay_ms. */
  uint64_t delay_ms = job->faults.delay_ms > 0 ? (uint64_t)job->faults.delay_ms : 0;
  job->due_ns = arrived_ns + delay_ms * NS_PER_MS;
  if (job->faults.delay_ms > 0)
    gs__job_wait(job, job->due_ns, gs__job_delayed);
  else
    gs__job_start(job);
}

/* Fills job with the answer for the URL path: file, redirect or 404 (the
 * file is not opened when read_file is 0). Returns 0, or -1 when the path
 * was refused (the caller answers 404). */
static int gs__job_from_path(gs_fixture_server_t *fx, fx_job_t *job, const char *raw, size_t rlen,
                             const char *query, size_t qlen, int read_file) {
  char upath[PATH_MAX], fs[PATH_MAX], real[PATH_MAX];
  if (rlen >= sizeof upath)
    return 0; /* longer than any file name under the root: 404 */
  if (gs__path_decode(raw, rlen, upath) < 0)
    return -1;
  switch (gs__path_resolve(fx, upath, fs, real)) {
  case R_REFUSED:
    return -1;
  case R_MISSING:
    break;
  case R_DIR_REDIRECT:
    job->status = 301;
    job->ctype = "text/html; charset=utf-8";
    job->location = malloc(rlen + qlen + 3);
    if (job->location)
      sprintf(job->location, "%.*s/%s%.*s", (int)rlen, raw, qlen ? "?" : "", (int)qlen, query);
    job->body = (char *)moved_body;
    job->body_len = sizeof moved_body - 1;
    break;
  case R_FILE: {
    if (!read_file)
      break;
    int frc = gs__file_open(fx, real, job);
    if (frc == 0) {
      job->status = 200;
      job->ctype = gs__content_type(fs);
    } else if (frc != GS_ENOENT) {
      job->status = 500;
      job->ctype = "text/plain";
      job->body = (char *)read_error_body;
      job->body_len = sizeof read_error_body - 1;
    }
    break;
  }
  }
  return 0;
}

/* bytes=N: replaces whatever the path gave with N generated bytes (made
 * here up to INLINE_MAX, else as they are streamed). */
static int gs__fault_bytes(gs_fixture_server_t *fx, fx_job_t *job) {
  size_t n = (size_t)job->faults.bytes;
  free(job->location);
  job->location = NULL;
  job->status = 200;
  job->ctype = "text/plain";
  job->body = NULL;
  job->body_len = n;
  if (n > INLINE_MAX)
    return 0;
  char *p = gs__scratch_get(fx, n);
  if (!p)
    return GS_ENOMEM;
  gs__pattern_fill(p, 0, n);
  job->body = p;
  return 0;
}

static void gs__on_request(gs_http_exchange_t *ex, const gs_http_request_info_t *req, void *data) {
  uint64_t arrived_ns = uv_hrtime(); /* delay_ms counts from here */
  gs_fixture_server_t *fx = data;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    gs_http_header_t allow = {"Allow", "GET, HEAD"};
    gs__respond_simple(ex, 405, "text/plain", "method not allowed\n", 19, &allow);
    return;
  }
  const char *t = req->target, *q = memchr(t, '?', req->target_len);
  size_t plen = q ? (size_t)(q - t) : req->target_len;
  const char *query = q ? q + 1 : "";
  size_t qlen = q ? req->target_len - plen - 1 : 0;
  fx_job_t job;
  memset(&job, 0, sizeof job);
  job.fd = -1;
  job.head = req->method[0] == 'H';
  const char *err = gs__faults_parse(&job.faults, query, qlen);
  if (err) {
    gs__respond_simple(ex, 400, "text/plain", err, strlen(err), NULL);
    return;
  }
  job.status = 404;
  job.ctype = "text/html; charset=utf-8";
  job.body = (char *)not_found_body;
  job.body_len = sizeof not_found_body - 1;
  int gen = job.faults.bytes >= 0;
  if (gs__job_from_path(fx, &job, t, plen, query, qlen, !gen) < 0) {
    gs__respond_simple(ex, 404, "text/html; charset=utf-8", not_found_body,
                       sizeof not_found_body - 1, NULL);
    return;
  }
  if (gen && gs__fault_bytes(fx, &job) < 0) {
    gs__respond_simple(ex, 500, "text/plain", "out of memory\n", 14, NULL);
    return;
  }
  if (job.faults.status)
    job.status = job.faults.status;
  if (job.faults.delay_ms > 0 || (job.faults.slow_ms > 0 && !job.faults.close) ||
      (!job.body && !job.faults.close)) {
    gs__job_defer(fx, ex, &job, arrived_ns);
  } else if (job.faults.close) {
    gs_http_exchange_drop(ex);
  } else {
    job.ex = ex;
    gs__job_respond(&job);
  }
  free(job.location); /* gs__job_defer made its own copy */
  if (job.fd >= 0)
    close(job.fd); /* not handed to a job */
  gs__scratch_trim(fx);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void gs__on_http_closed(void *data);

int gs_fixture_server_start(uv_loop_t *loop, const gs_fixture_opts_t *opts,
                            gs_fixture_server_t **out) {
  if (!loop || !opts || !out || !opts->root)
    return GS_EINVAL;
  *out = NULL;
  struct stat st;
  if (stat(opts->root, &st) < 0 || !S_ISDIR(st.st_mode))
    return GS_ENOENT;
  gs_fixture_server_t *fx = calloc(1, sizeof *fx);
  if (!fx)
    return GS_ENOMEM;
  fx->root = realpath(opts->root, NULL);
  if (!fx->root) {
    free(fx);
    return errno == ENOMEM ? GS_ENOMEM : GS_ENOENT;
  }
  fx->root_len = strlen(fx->root);
  if (fx->root_len == 1)
    fx->root_len = 0; /* root is "/": paths are appended to "" */
  fx->loop = loop;
#ifdef GS_FX_TIMERFD
  fx->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fx->tfd < 0) {
    free(fx->root);
    free(fx);
    return GS_ENOMEM; /* out of file descriptors or kernel memory */
  }
#endif
  gs_http_server_opts_t hopts = opts->limits;
  hopts.host = opts->host;
  hopts.port = opts->port;
  hopts.on_request = gs__on_request;
  hopts.data = fx;
  int rc = gs_http_server_start(loop, &hopts, &fx->http);
  if (rc < 0) {
#ifdef GS_FX_TIMERFD
    close(fx->tfd);
#endif
    free(fx->root);
    free(fx);
    return rc;
  }
  /* The tick: always waiting, but unreferenced, so it never keeps the loop
   * alive by itself (the listener and the connections do). */
#ifdef GS_FX_TIMERFD
  rc = uv_poll_init(loop, &fx->tick, fx->tfd);
  if (rc < 0) {
    close(fx->tfd); /* a failed uv_poll_init leaves no handle to close */
    fx->tick_closed = 1;
  } else {
    fx->tick.data = fx;
    rc = uv_poll_start(&fx->tick, UV_READABLE, gs__on_tick);
  }
#else
  rc = uv_timer_init(loop, &fx->tick);
  fx->tick.data = fx;
#endif
  if (rc < 0) {
    /* The HTTP server (and the tick, if initialised) are live: closing them
     * frees everything once the loop has run their close callbacks. */
    fx->closing = 1;
    gs_http_server_close(fx->http, gs__on_http_closed, fx);
    return GS_ENOMEM;
  }
  uv_unref((uv_handle_t *)&fx->tick);
  *out = fx;
  return 0;
}

int gs_fixture_server_port(const gs_fixture_server_t *srv) {
  return gs_http_server_port(srv->http);
}

static void gs__on_http_closed(void *data) {
  gs_fixture_server_t *fx = data;
  fx->http = NULL;
  fx->http_closed = 1;
  /* Every exchange was aborted, so the due list is empty: the tick goes. */
  if (!fx->tick_closed && !uv_is_closing((uv_handle_t *)&fx->tick))
    uv_close((uv_handle_t *)&fx->tick, gs__on_tick_closed);
  gs__fx_maybe_finish(fx);
}

void gs_fixture_server_close(gs_fixture_server_t *srv, void (*on_closed)(void *data), void *data) {
  if (srv->closing)
    return;
  srv->closing = 1;
  srv->on_closed = on_closed;
  srv->closed_data = data;
  /* Aborts pending exchanges: gs__job_abort closes their timers. */
  gs_http_server_close(srv->http, gs__on_http_closed, srv);
}
