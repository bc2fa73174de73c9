/* Child processes on a libuv loop (gs/process.h).
 *
 * Ownership: the gs_process_t is malloc'd here and freed by the close
 * callback of its uv_process_t, which is closed once the child has exited
 * (after the owner's exit callback, or silently once detached). The timeout
 * timer lives in the same struct and is closed with it: the struct is freed
 * when both close callbacks have run. */
#include "gs/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gs/error.h"

struct gs_process_s {
  uv_process_t handle;
  uv_timer_t timer;
  int has_timer;
  int open_handles; /* handles whose close callback has not run yet */
  int timed_out;
  gs_process_exit_cb cb; /* NULL once detached */
  void *data;
};

static void gs__process_closed(uv_handle_t *h) {
  gs_process_t *p = h->data;
  if (--p->open_handles == 0)
    free(p);
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

/* uv_spawn with stdout/stderr on the given fds; returns a uv error code. */
static int gs__process_start(uv_loop_t *loop, gs_process_t *p, const gs_process_opts_t *opts,
                             int out_fd, int err_fd) {
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = out_fd;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = err_fd;
  uv_process_options_t o;
  memset(&o, 0, sizeof o);
  o.exit_cb = gs__process_exited;
  o.file = opts->file;
  o.args = opts->args;
  o.env = opts->env;
  o.cwd = opts->cwd;
  o.stdio = stdio;
  o.stdio_count = 3;
  p->handle.data = p;
  return uv_spawn(loop, &p->handle, &o);
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
    return rc == UV_ENOENT ? GS_ENOENT : rc == UV_ENOMEM ? GS_ENOMEM : GS_EIO;
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

int gs_process_alive(long pid) {
  return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

int gs_process_pid(const gs_process_t *proc) {
  return proc ? proc->handle.pid : 0;
}

int gs_process_kill(gs_process_t *proc, int signum) {
  if (!proc)
    return GS_EINVAL;
  return uv_process_kill(&proc->handle, signum) == 0 ? 0 : GS_EIO;
}

void gs_process_detach(gs_process_t *proc) {
  if (!proc)
    return;
  proc->cb = NULL;
  uv_process_kill(&proc->handle, SIGTERM);
}
