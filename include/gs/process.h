/* Child processes on the worker's loop (uv_spawn): the matrix runner starts
 * one gofr-sim per cell and waits for it without blocking the loop.
 *
 * Ownership: gs_process_spawn copies nothing it does not need after it
 * returns (libuv copies argv/env into the child); the gs_process_t belongs
 * to the core and is freed after its exit callback has returned (or, once
 * detached, when the child exits). The caller's strings may be freed as
 * soon as gs_process_spawn returns. */
#ifndef GS_PROCESS_H
#define GS_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct gs_process_s gs_process_t;

/* How a child ended: exit_status as from exit(3) (0 when killed), and the
 * signal that killed it (0 when it exited); timed_out when the core sent it
 * SIGTERM because opts.timeout_ms ran out. */
typedef struct {
  int64_t exit_status;
  int term_signal;
  int timed_out;
} gs_process_exit_t;

/* Called once when the child has exited (not called after detach). The
 * process is freed after the callback returns: do not keep the pointer. */
typedef void (*gs_process_exit_cb)(gs_process_t *proc, const gs_process_exit_t *how, void *data);

typedef struct {
  const char *file;        /* the program; looked up in PATH when it has no '/' */
  char **args;             /* NULL-terminated argv; args[0] is the program name */
  char **env;              /* NULL-terminated "K=V" list, or NULL: inherit ours */
  const char *cwd;         /* NULL: ours */
  const char *stdout_path; /* created/truncated; NULL: /dev/null */
  const char *stderr_path; /* created/truncated; NULL: /dev/null */
  uint64_t timeout_ms;     /* 0: none; else SIGTERM after this long */
} gs_process_opts_t;

/* Starts the child on `loop` (stdin is /dev/null). On success *out is the
 * process and cb(proc, how, data) will be called when it exits. Returns 0,
 * GS_EINVAL (missing file/args/out/cb), GS_ENOENT (no such program),
 * GS_EIO (an output file cannot be opened, or the program cannot be
 * started), or GS_ENOMEM; errbuf (errlen bytes, may be NULL/0) says why. */
int gs_process_spawn(uv_loop_t *loop, const gs_process_opts_t *opts, gs_process_exit_cb cb,
                     void *data, gs_process_t **out, char *errbuf, size_t errlen);

/* Whether process `pid` (> 0) is alive: it exists (a process of another
 * user counts as alive). Used to tell the leftovers of dead gofr-sim runs
 * from those of running ones. */
int gs_process_alive(long pid);

/* The child's process id. */
int gs_process_pid(const gs_process_t *proc);

/* Sends signum to the child. Returns 0 or GS_EIO (e.g. it has already exited). */
int gs_process_kill(gs_process_t *proc, int signum);

/* Forgets the caller: the exit callback will not be called; the child gets
 * SIGTERM and the process is freed when it exits. (A loop closed before
 * that closes the handle without freeing it: keep the loop running until
 * the children have exited.) */
void gs_process_detach(gs_process_t *proc);

#endif
