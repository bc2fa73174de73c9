/* Child processes on a libuv loop (gs/process.h).
 *
 * Ownership: the gs_process_t is malloc'd here and freed once the close
 * callbacks of all its handles have run (open_handles counts them down).
 * - A file child has its uv_process_t and, with a timeout, a timer; both are
 *   closed once the child has exited (after the owner's exit callback, or
 *   silently once detached).
 * - A piped child has the uv_process_t, a timer (the stages of a shutdown,
 *   then the drain deadline) and three uv_pipe_t. The pipes are closed as
 *   their streams end (stdin also at the child's exit); the process handle
 *   and the timer only once the owner has released it and everything is
 *   done, so the struct outlives every callback. Writes are malloc'd copies
 *   freed by their write callbacks, which libuv runs (with UV_ECANCELED at
 *   the latest when stdin is closed) before stdin's close callback. */
#include "gs/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gs/error.h"

#define GS__READ_SIZE 65536 /* one read of stdout or stderr */

enum gs__stage {
  GS_STAGE_NONE,
  GS_STAGE_EOF,  /* stdin closed; SIGTERM when the timer fires */
  GS_STAGE_TERM, /* SIGTERM sent; SIGKILL when the timer fires */
  GS_STAGE_DRAIN /* exited; the pipes are closed when the timer fires */
};

typedef struct {
  uv_write_t req;
  gs_process_t *proc;
  void *wdata;
  size_t len;
  char bytes[]; /* the caller's bytes, copied */
} gs__write_t;

struct gs_process_s {
  uv_process_t handle;
  uv_timer_t timer;
  int has_timer;
  int open_handles; /* handles whose close callback has not run yet */
  int timed_out;
  gs_process_exit_cb cb; /* file child: NULL once detached */
  void *data;
  int piped;
  /* piped children */
  gs_process_pipe_cbs_t cbs;
  uv_pipe_t in, out, err;
  int in_open, out_open, err_open; /* the pipe's close callback has not run */
  int in_closing;                  /* stdin closes after the queued writes */
  int out_ended;                   /* on_eof has been called (or skipped) */
  uv_shutdown_t shutdown_req;
  int exited, done, released, finishing;
  int paused;
  int stage;
  uint64_t term_grace_ms;
  gs_process_exit_t how;
  gs_lines_t lines;
  size_t write_queued;
  char *ring; /* the stderr tail: ring_len bytes from ring_start, wrapping */
  size_t ring_cap, ring_start, ring_len;
  uint64_t ring_total;
  char rbuf[GS__READ_SIZE]; /* shared by both readers: libuv reads one at a time */
};

/* ---- the line splitter ------------------------------------------------- */

void gs_lines_init(gs_lines_t *s, size_t max_line) {
  memset(s, 0, sizeof *s);
  s->max_line = max_line ? max_line : GS_PROCESS_MAX_LINE;
}

void gs_lines_free(gs_lines_t *s) {
  gs_buf_reset(&s->partial, 0);
}

/* Refuses the current line (status: GS_EBODYTOOLARGE, or GS_ENOMEM when
 * it could not be buffered) and starts skipping to its end. -> cb's verdict. */
static int gs__lines_refuse(gs_lines_t *s, int status, gs_lines_cb cb, void *data) {
  gs_buf_reset(&s->partial, 0);
  s->skipping = 1;
  s->too_long++;
  return cb(status, NULL, 0, data);
}

/* The line ending at the '\n' that closes seg[0..n) (partial prefix
 * included). -> cb's verdict. */
static int gs__lines_end(gs_lines_t *s, const char *seg, size_t n, gs_lines_cb cb, void *data) {
  if (s->skipping) {
    s->skipping = 0;
    return 0;
  }
  if (s->partial.len == 0) {
    if (n > s->max_line) {
      s->too_long++;
      return cb(GS_EBODYTOOLARGE, NULL, 0, data);
    }
    s->lines++;
    return cb(0, seg, n, data);
  }
  if (n > s->max_line - s->partial.len) {
    int stop = gs__lines_refuse(s, GS_EBODYTOOLARGE, cb, data);
    s->skipping = 0; /* its end is here */
    return stop;
  }
  if (gs_buf_add(&s->partial, seg, n) != 0) {
    gs_buf_reset(&s->partial, 0);
    s->too_long++;
    return cb(GS_ENOMEM, NULL, 0, data); /* refused; the next line starts clean */
  }
  s->lines++;
  int stop = cb(0, s->partial.p, s->partial.len, data);
  gs_buf_reset(&s->partial, 4096);
  return stop;
}

/* Keeps seg[0..n), the start of a line whose '\n' has not come yet. */
static int gs__lines_keep(gs_lines_t *s, const char *seg, size_t n, gs_lines_cb cb, void *data) {
  if (s->skipping || n == 0)
    return 0;
  if (n > s->max_line - s->partial.len)
    return gs__lines_refuse(s, GS_EBODYTOOLARGE, cb, data);
  if (gs_buf_add(&s->partial, seg, n) != 0) {
    return gs__lines_refuse(s, GS_ENOMEM, cb, data);
  }
  return 0;
}

int gs_lines_feed(gs_lines_t *s, const char *p, size_t n, gs_lines_cb cb, void *data) {
  const char *end = p + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
      return gs__lines_keep(s, p, (size_t)(end - p), cb, data) == 0 ? 0 : GS_ECANCELED;
    if (gs__lines_end(s, p, (size_t)(nl - p), cb, data) != 0)
      return GS_ECANCELED;
    p = nl + 1;
  }
  return 0;
}

int gs_lines_finish(gs_lines_t *s, gs_lines_cb cb, void *data) {
  int stop = 0;
  if (!s->skipping && s->partial.len > 0) {
    s->lines++;
    stop = cb(0, s->partial.p, s->partial.len, data);
  }
  s->skipping = 0;
  gs_buf_reset(&s->partial, 0);
  return stop ? GS_ECANCELED : 0;
}

/* ---- lifetime ---------------------------------------------------------- */

static void gs__process_free(gs_process_t *p) {
  if (p->piped) {
    gs_lines_free(&p->lines);
    free(p->ring);
  }
  free(p);
}

static void gs__process_closed(uv_handle_t *h) {
  gs_process_t *p = h->data;
  if (--p->open_handles == 0)
    gs__process_free(p);
}

static void gs__process_close(gs_process_t *p) {
  if (p->has_timer) {
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, gs__process_closed);
  }
  uv_close((uv_handle_t *)&p->handle, gs__process_closed);
}

static void gs__process_exited(uv_process_t *h, int64_t exit_status, int term_signal) {
  gs_process_t *p = h->data;
  gs_process_exit_t how = {exit_status, term_signal, p->timed_out};
  if (p->cb)
    p->cb(p, &how, p->data);
  gs__process_close(p);
}

static void gs__process_timeout(uv_timer_t *t) {
  gs_process_t *p = t->data;
  p->timed_out = 1;
  uv_process_kill(&p->handle, SIGTERM);
}

/* Opens path for the child's output; -1 and errbuf on failure. */
static int gs__process_open_out(const char *path, char *errbuf, size_t errlen) {
  if (!path)
    path = "/dev/null";
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 && errbuf && errlen)
    snprintf(errbuf, errlen, "cannot open '%s': %s", path, strerror(errno));
  return fd;
}

static void gs__process_set_err(char *errbuf, size_t errlen, const char *what, int uv_rc) {
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s: %s", what, uv_strerror(uv_rc));
}

static int gs__process_spawn_code(int uv_rc) {
  return uv_rc == UV_ENOENT ? GS_ENOENT : uv_rc == UV_ENOMEM ? GS_ENOMEM : GS_EIO;
}

/* uv_spawn of file/args/env/cwd with the given stdio; returns a uv code. */
static int gs__process_uv_spawn(uv_loop_t *loop, gs_process_t *p, const char *file, char **args,
                                char **env, const char *cwd, uv_stdio_container_t *stdio,
                                uv_exit_cb exit_cb) {
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.exit_cb = exit_cb;
  o.file = file;
  o.args = args;
  o.env = env;
  o.cwd = cwd;
  o.stdio = stdio;
  o.stdio_count = 3;
  p->handle.data = p;
  return uv_spawn(loop, &p->handle, &o);
}

/* uv_spawn with stdout/stderr on the given fds; returns a uv error code. */
static int gs__process_start(uv_loop_t *loop, gs_process_t *p, const gs_process_opts_t *opts,
                             int out_fd, int err_fd) {
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = out_fd;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = err_fd;
  return gs__process_uv_spawn(loop, p, opts->file, opts->args, opts->env, opts->cwd, stdio,
                              gs__process_exited);
}

int gs_process_spawn(uv_loop_t *loop, const gs_process_opts_t *opts, gs_process_exit_cb cb,
                     void *data, gs_process_t **out, char *errbuf, size_t errlen) {
  if (errbuf && errlen)
    errbuf[0] = '\0';
  if (!loop || !opts || !opts->file || !opts->args || !opts->args[0] || !cb || !out)
    return GS_EINVAL;
  *out = NULL;
  gs_process_t *p = calloc(1, sizeof *p);
  if (!p)
    return GS_ENOMEM;
  p->cb = cb;
  p->data = data;
  int out_fd = gs__process_open_out(opts->stdout_path, errbuf, errlen);
  int err_fd = out_fd < 0 ? -1 : gs__process_open_out(opts->stderr_path, errbuf, errlen);
  if (out_fd < 0 || err_fd < 0) {
    if (out_fd >= 0)
      close(out_fd);
    free(p);
    return GS_EIO;
  }
  int rc = gs__process_start(loop, p, opts, out_fd, err_fd);
  close(out_fd); /* the child has its own copies */
  close(err_fd);
  p->open_handles = 1; /* uv_spawn initialises the handle even when it fails */
  if (rc != 0) {
    gs__process_set_err(errbuf, errlen, opts->file, rc);
    p->cb = NULL;
    uv_close((uv_handle_t *)&p->handle, gs__process_closed);
    return gs__process_spawn_code(rc);
  }
  if (opts->timeout_ms > 0) {
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    p->has_timer = 1;
    p->open_handles++;
    uv_timer_start(&p->timer, gs__process_timeout, opts->timeout_ms, 0);
  }
  *out = p;
  return 0;
}

/* ---- piped children: closing and completion ---------------------------- */

/* Closes the process handle and the timer (once): the struct is freed when
 * the pipes are closed too. */
static void gs__piped_finish(gs_process_t *p) {
  if (p->finishing)
    return;
  p->finishing = 1;
  uv_timer_stop(&p->timer);
  uv_close((uv_handle_t *)&p->timer, gs__process_closed);
  uv_close((uv_handle_t *)&p->handle, gs__process_closed);
}

/* Calls on_exit once the child has exited and the three pipes are closed;
 * then, once released, closes the rest. */
static void gs__piped_maybe_done(gs_process_t *p) {
  if (p->done || !p->exited || p->in_open || p->out_open || p->err_open)
    return;
  p->done = 1;
  uv_timer_stop(&p->timer);
  if (!p->released)
    p->cbs.on_exit(p, &p->how, p->data);
  if (p->released)
    gs__piped_finish(p);
}

static void gs__pipe_closed(uv_handle_t *h) {
  gs_process_t *p = h->data;
  if (h == (uv_handle_t *)&p->in)
    p->in_open = 0;
  else if (h == (uv_handle_t *)&p->out)
    p->out_open = 0;
  else
    p->err_open = 0;
  gs__piped_maybe_done(p);
  gs__process_closed(h);
}

static void gs__pipe_close(uv_pipe_t *pipe) {
  if (!uv_is_closing((uv_handle_t *)pipe))
    uv_close((uv_handle_t *)pipe, gs__pipe_closed);
}

/* stdout has ended (status as on_eof's): tells the owner, closes the pipe. */
static void gs__stdout_end(gs_process_t *p, int status) {
  if (!p->out_ended) {
    p->out_ended = 1;
    if (!p->released && p->cbs.on_eof)
      p->cbs.on_eof(p, status, p->data);
  }
  gs__pipe_close(&p->out);
}

/* ---- piped children: reading ------------------------------------------- */

static void gs__pipe_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  gs_process_t *p = h->data;
  (void)suggested;
  buf->base = p->rbuf;
  buf->len = sizeof p->rbuf;
}

static int gs__deliver_line(int status, const char *line, size_t len, void *data) {
  gs_process_t *p = data;
  if (p->released)
    return 1;
  if (p->cbs.on_line)
    p->cbs.on_line(p, status, line, len, p->data);
  return p->released; /* released from the callback: stop */
}

static void gs__read_out(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  gs_process_t *p = s->data;
  if (nread > 0) {
    if (!p->released)
      gs_lines_feed(&p->lines, buf->base, (size_t)nread, gs__deliver_line, p);
    return;
  }
  if (nread == 0)
    return; /* EAGAIN */
  if (nread == UV_EOF && !p->released)
    gs_lines_finish(&p->lines, gs__deliver_line, p);
  gs__stdout_end(p, nread == UV_EOF ? 0 : GS_EIO);
}

/* Appends n bytes to the stderr ring, dropping its oldest bytes. */
static void gs__ring_add(gs_process_t *p, const char *b, size_t n) {
  size_t cap = p->ring_cap;
  p->ring_total += n;
  if (n >= cap) {
    memcpy(p->ring, b + (n - cap), cap);
    p->ring_start = 0;
    p->ring_len = cap;
    return;
  }
  size_t end = (p->ring_start + p->ring_len) % cap;
  size_t first = cap - end < n ? cap - end : n;
  memcpy(p->ring + end, b, first);
  memcpy(p->ring, b + first, n - first);
  size_t len = p->ring_len + n;
  if (len > cap) {
    p->ring_start = (p->ring_start + (len - cap)) % cap;
    len = cap;
  }
  p->ring_len = len;
}

static void gs__read_err(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  gs_process_t *p = s->data;
  if (nread > 0)
    gs__ring_add(p, buf->base, (size_t)nread);
  else if (nread < 0)
    gs__pipe_close(&p->err);
}

static void gs__read_out_start(gs_process_t *p) {
  if (p->out_open && !uv_is_closing((uv_handle_t *)&p->out))
    uv_read_start((uv_stream_t *)&p->out, gs__pipe_alloc, gs__read_out);
}

void gs_process_pause_stdout(gs_process_t *proc, int paused) {
  if (!proc || !proc->piped || proc->exited || proc->released || !paused == !proc->paused)
    return;
  proc->paused = paused != 0;
  if (proc->paused)
    uv_read_stop((uv_stream_t *)&proc->out);
  else
    gs__read_out_start(proc);
}

const char *gs_process_stderr(gs_process_t *proc, size_t *len, uint64_t *dropped) {
  if (dropped)
    *dropped = 0;
  *len = 0;
  if (!proc || !proc->piped)
    return NULL;
  size_t cap = proc->ring_cap, start = proc->ring_start;
  if (start + proc->ring_len > cap) { /* wrapped: rotate left by start, in place */
    char *r = proc->ring;
    for (size_t i = 0, j = start - 1; i < j; i++, j--) {
      char c = r[i];
      r[i] = r[j];
      r[j] = c;
    }
    for (size_t i = start, j = cap - 1; i < j; i++, j--) {
      char c = r[i];
      r[i] = r[j];
      r[j] = c;
    }
    for (size_t i = 0, j = cap - 1; i < j; i++, j--) {
      char c = r[i];
      r[i] = r[j];
      r[j] = c;
    }
    proc->ring_start = start = 0;
  }
  *len = proc->ring_len;
  if (dropped)
    *dropped = proc->ring_total - proc->ring_len;
  return proc->ring + start;
}

/* ---- piped children: the child's end ---------------------------------- */

static void gs__stage_fired(uv_timer_t *t) {
  gs_process_t *p = t->data;
  switch (p->stage) {
  case GS_STAGE_EOF:
    uv_process_kill(&p->handle, SIGTERM);
    p->stage = GS_STAGE_TERM;
    uv_timer_start(&p->timer, gs__stage_fired, p->term_grace_ms, 0);
    break;
  case GS_STAGE_TERM:
    uv_process_kill(&p->handle, SIGKILL);
    p->stage = GS_STAGE_NONE;
    break;
  case GS_STAGE_DRAIN: /* a grandchild holds the pipes: stop waiting */
    p->stage = GS_STAGE_NONE;
    gs__stdout_end(p, GS_ECANCELED);
    gs__pipe_close(&p->err);
    break;
  }
}

static void gs__piped_exited(uv_process_t *h, int64_t exit_status, int term_signal) {
  gs_process_t *p = h->data;
  p->exited = 1;
  p->how.exit_status = exit_status;
  p->how.term_signal = term_signal;
  uv_timer_stop(&p->timer);
  p->stage = GS_STAGE_NONE;
  gs__pipe_close(&p->in); /* queued writes can no longer be read: cancelled */
  if (p->paused) {        /* read what it left in the pipe */
    p->paused = 0;
    gs__read_out_start(p);
  }
  if (p->out_open || p->err_open) {
    p->stage = GS_STAGE_DRAIN;
    uv_timer_start(&p->timer, gs__stage_fired, GS_PROCESS_DRAIN_MS, 0);
  }
  gs__piped_maybe_done(p);
}

/* ---- piped children: spawn --------------------------------------------- */

/* Initialises the handles of a piped child (none of these calls can fail
 * on Unix) and its buffers; -> 0 or GS_ENOMEM. */
static int gs__piped_init(uv_loop_t *loop, gs_process_t *p, const gs_process_pipe_opts_t *opts) {
  p->piped = 1;
  gs_lines_init(&p->lines, opts->max_line);
  p->ring_cap = opts->stderr_limit ? opts->stderr_limit : GS_PROCESS_STDERR_LIMIT;
  p->ring = malloc(p->ring_cap);
  if (!p->ring)
    return GS_ENOMEM;
  uv_pipe_init(loop, &p->in, 0);
  uv_pipe_init(loop, &p->out, 0);
  uv_pipe_init(loop, &p->err, 0);
  uv_timer_init(loop, &p->timer);
  p->in.data = p->out.data = p->err.data = p->timer.data = p;
  p->in_open = p->out_open = p->err_open = 1;
  p->has_timer = 1;
  p->open_handles = 5; /* + the process handle, which uv_spawn initialises */
  return 0;
}

int gs_process_spawn_piped(uv_loop_t *loop, const gs_process_pipe_opts_t *opts,
                           const gs_process_pipe_cbs_t *cbs, void *data, gs_process_t **out,
                           char *errbuf, size_t errlen) {
  if (errbuf && errlen)
    errbuf[0] = '\0';
  if (!loop || !opts || !opts->file || !opts->args || !opts->args[0] || !cbs || !cbs->on_exit ||
      !out)
    return GS_EINVAL;
  *out = NULL;
  gs_process_t *p = calloc(1, sizeof *p);
  if (!p || gs__piped_init(loop, p, opts) != 0) {
    if (p)
      free(p->ring);
    free(p);
    return GS_ENOMEM;
  }
  p->cbs = *cbs;
  p->data = data;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&p->in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&p->out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&p->err;
  int rc = gs__process_uv_spawn(loop, p, opts->file, opts->args, opts->env, opts->cwd, stdio,
                                gs__piped_exited);
  if (rc != 0) {
    gs__process_set_err(errbuf, errlen, opts->file, rc);
    p->released = p->exited = p->done = 1; /* no callbacks: just close */
    gs__pipe_close(&p->in);
    gs__pipe_close(&p->out);
    gs__pipe_close(&p->err);
    gs__piped_finish(p);
    return gs__process_spawn_code(rc);
  }
  uv_read_start((uv_stream_t *)&p->err, gs__pipe_alloc, gs__read_err);
  gs__read_out_start(p);
  *out = p;
  return 0;
}

/* ---- piped children: writing ------------------------------------------- */

static void gs__written(uv_write_t *req, int status) {
  gs__write_t *w = (gs__write_t *)req;
  gs_process_t *p = w->proc;
  void *wdata = w->wdata;
  p->write_queued -= w->len;
  free(w);
  int rc = status == 0 ? 0 : status == UV_ECANCELED ? GS_ECANCELED : GS_EIO;
  if (!p->released && p->cbs.on_written)
    p->cbs.on_written(p, rc, wdata, p->data);
}

int gs_process_write(gs_process_t *proc, const char *bytes, size_t len, void *wdata) {
  if (!proc || !proc->piped || !bytes || len == 0)
    return GS_EINVAL;
  if (proc->in_closing || proc->exited || proc->released)
    return GS_ECANCELED;
  if (len > UINT32_MAX) /* uv_buf_t's length on Unix is a size_t, uv_buf_init's is not */
    return GS_EINVAL;
  gs__write_t *w = malloc(sizeof *w + len);
  if (!w)
    return GS_ENOMEM;
  w->proc = proc;
  w->wdata = wdata;
  w->len = len;
  memcpy(w->bytes, bytes, len);
  uv_buf_t b = uv_buf_init(w->bytes, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&proc->in, &b, 1, gs__written) != 0) {
    free(w);
    return GS_EIO;
  }
  proc->write_queued += len;
  return 0;
}

size_t gs_process_write_queue_size(const gs_process_t *proc) {
  return proc && proc->piped ? proc->write_queued : 0;
}

static void gs__stdin_shut(uv_shutdown_t *req, int status) {
  gs_process_t *p = req->handle->data;
  (void)status; /* shut or not, the handle is closed: that is the child's EOF */
  gs__pipe_close(&p->in);
}

int gs_process_close_stdin(gs_process_t *proc) {
  if (!proc || !proc->piped)
    return GS_EINVAL;
  if (proc->in_closing)
    return 0;
  proc->in_closing = 1;
  if (uv_is_closing((uv_handle_t *)&proc->in))
    return 0;
  /* uv_shutdown waits for the queued writes, then shuts the socketpair
   * down; closing the handle afterwards drops our end. */
  if (uv_shutdown(&proc->shutdown_req, (uv_stream_t *)&proc->in, gs__stdin_shut) != 0)
    gs__pipe_close(&proc->in);
  return 0;
}

/* ---- piped children: stopping ----------------------------------------- */

int gs_process_shutdown(gs_process_t *proc, uint64_t eof_grace_ms, uint64_t term_grace_ms) {
  if (!proc || !proc->piped)
    return GS_EINVAL;
  if (proc->exited)
    return 0;
  gs_process_close_stdin(proc);
  proc->term_grace_ms = term_grace_ms;
  proc->stage = GS_STAGE_EOF;
  if (eof_grace_ms == 0)
    gs__stage_fired(&proc->timer); /* SIGTERM now, SIGKILL after term_grace_ms */
  else
    uv_timer_start(&proc->timer, gs__stage_fired, eof_grace_ms, 0);
  return 0;
}

void gs_process_release(gs_process_t *proc, uint64_t grace_ms) {
  if (!proc || !proc->piped || proc->released)
    return;
  proc->released = 1;
  if (proc->done) {
    gs__piped_finish(proc);
    return;
  }
  if (!proc->exited) {
    gs_process_shutdown(proc, 0, grace_ms);
    if (proc->paused) { /* drop its output so it never blocks on a full pipe */
      proc->paused = 0;
      gs__read_out_start(proc);
    }
  }
  /* else: exited, pipes draining; gs__piped_maybe_done finishes it */
}

/* Waits for pid to exit, up to grace_ms, then SIGKILLs it and reaps it. */
static void gs__reap_sync(pid_t pid, uint64_t grace_ms) {
  int status;
  uint64_t deadline = uv_hrtime() + grace_ms * 1000000u;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR))
      return; /* reaped (or not ours to reap) */
    if (uv_hrtime() >= deadline)
      break;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

void gs_process_destroy(gs_process_t *proc, uint64_t grace_ms) {
  if (!proc || !proc->piped || proc->released)
    return;
  int running = !proc->exited;
  pid_t pid = proc->handle.pid;
  proc->released = proc->exited = proc->done = 1; /* no callbacks, nothing more */
  gs__pipe_close(&proc->in);
  gs__pipe_close(&proc->out);
  gs__pipe_close(&proc->err);
  /* Closing the process handle takes it off libuv's list of children, so
   * libuv never waits for this pid: it is ours to reap, below. */
  gs__piped_finish(proc);
  if (running) {
    kill(pid, SIGTERM);
    gs__reap_sync(pid, grace_ms);
  }
}

/* ---- both kinds -------------------------------------------------------- */

int gs_process_alive(long pid) {
  return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

int gs_process_pid(const gs_process_t *proc) {
  return proc ? proc->handle.pid : 0;
}

int gs_process_exited(const gs_process_t *proc) {
  return proc && proc->exited;
}

int gs_process_kill(gs_process_t *proc, int signum) {
  if (!proc)
    return GS_EINVAL;
  if (proc->exited)
    return GS_EIO; /* reaped: the pid may be another process's by now */
  return uv_process_kill(&proc->handle, signum) == 0 ? 0 : GS_EIO;
}

void gs_process_detach(gs_process_t *proc) {
  if (!proc)
    return;
  if (proc->piped) {
    gs_process_release(proc, GS_PROCESS_KILL_GRACE_MS);
    return;
  }
  proc->cb = NULL;
  uv_process_kill(&proc->handle, SIGTERM);
}
