/* Child processes on the worker's loop (uv_spawn), in two kinds:
 *
 * - File children (gs_process_spawn): stdin is /dev/null, stdout and stderr
 *   go to files. The matrix runner starts one gofr-sim per cell this way and
 *   waits for it without blocking the loop.
 * - Piped children (gs_process_spawn_piped): we write to the child's stdin,
 *   read its stdout as newline-delimited lines and keep the tail of its
 *   stderr. The stdio transport of MCP (newline-delimited JSON-RPC) runs on
 *   these.
 *
 * The caller's strings (file, args, env, cwd) may be freed as soon as the
 * spawn function returns: libuv copies what the child needs.
 *
 * Ownership of a file child: the gs_process_t belongs to the core and is
 * freed after its exit callback has returned (or, once detached, when the
 * child exits).
 *
 * Ownership of a piped child: the caller owns the gs_process_t from spawn
 * until it calls gs_process_release (or gs_process_destroy) exactly once,
 * also after the exit callback: the struct stays valid in between, so the
 * exit status and the stderr tail can be read. After release no callback is
 * called; the core still reaps the child (see gs_process_release) and frees
 * the struct. Release may be called from inside any of the callbacks.
 *
 * A child is always reaped: by libuv's SIGCHLD handling while the loop runs
 * (the exit callback), or by gs_process_destroy when the loop is about to be
 * closed. Closing the loop with an unreleased or undestroyed child leaves it
 * running: owners tear their children down first. */
#ifndef GS_PROCESS_H
#define GS_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "gs/buf.h"

typedef struct gs_process_s gs_process_t;

/* How a child ended: exit_status as from exit(3) (0 when killed), and the
 * signal that killed it (0 when it exited); timed_out when the core sent it
 * SIGTERM because opts.timeout_ms ran out (file children only). */
typedef struct {
  int64_t exit_status;
  int term_signal;
  int timed_out;
} gs_process_exit_t;

/* File children: called once when the child has exited (not called after
 * detach); the process is freed after the callback returns, do not keep the
 * pointer. Piped children: called once when the child has exited and its
 * three pipes are closed (every line and write callback came before it);
 * the process stays valid until gs_process_release. */
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

/* Starts a file child on `loop` (stdin is /dev/null). On success *out is
 * the process and cb(proc, how, data) will be called when it exits. Returns
 * 0, GS_EINVAL (missing file/args/out/cb), GS_ENOENT (no such program),
 * GS_EIO (an output file cannot be opened, or the program cannot be
 * started), or GS_ENOMEM; errbuf (errlen bytes, may be NULL/0) says why. */
int gs_process_spawn(uv_loop_t *loop, const gs_process_opts_t *opts, gs_process_exit_cb cb,
                     void *data, gs_process_t **out, char *errbuf, size_t errlen);

/* ---- the line splitter of piped children's stdout ---------------------- */

#define GS_PROCESS_MAX_LINE ((size_t)16 << 20)     /* default max_line: 16 MiB */
#define GS_PROCESS_STDERR_LIMIT ((size_t)64 << 10) /* default stderr tail: 64 KiB */
#define GS_PROCESS_DRAIN_MS 2000                   /* how long pipes may outlive the child */
#define GS_PROCESS_KILL_GRACE_MS 1000              /* SIGTERM to SIGKILL of gs_process_detach */

/* Splits a byte stream into lines ended by '\n'. A line is delivered
 * without its '\n' (a '\r' before it is kept: bytes are passed through
 * unchanged); an empty line is a line. A line longer than max_line bytes
 * (the '\n' excluded) is an error, not a buffer: the splitter reports it
 * once, as soon as max_line is exceeded (before its end has arrived), drops
 * its bytes up to and including its '\n', and goes on with the next line.
 * At the end of the stream (gs_lines_finish) a last line without '\n' is
 * delivered as a line when it is not empty.
 *
 * Memory: at most max_line bytes are buffered (the partial line of a feed);
 * a complete line inside one fed chunk is delivered in place, uncopied.
 *
 * Ownership: the caller owns the gs_lines_t (start it with gs_lines_init)
 * and frees its buffer with gs_lines_free. No globals; not thread-safe. */
typedef struct {
  gs_buf_t partial; /* the start of the current line, when it spans feeds */
  size_t max_line;
  int skipping;      /* inside a too-long line: dropping bytes up to its '\n' */
  uint64_t lines;    /* lines delivered */
  uint64_t too_long; /* lines refused */
} gs_lines_t;

/* One line (status 0; line[0..len) is valid only during the call and is not
 * NUL-terminated), or a line refused (line NULL, len 0): status
 * GS_EBODYTOOLARGE when it is longer than max_line, GS_ENOMEM when memory
 * to buffer it ran out. Return 0 to go on, non-zero to stop the feed. */
typedef int (*gs_lines_cb)(int status, const char *line, size_t len, void *data);

/* max_line 0: GS_PROCESS_MAX_LINE. */
void gs_lines_init(gs_lines_t *s, size_t max_line);

/* Feeds n bytes (may be 0). Returns 0, or GS_ECANCELED when cb stopped it:
 * the rest of the bytes are dropped (feeding on resumes the stream as if
 * they had never been there). */
int gs_lines_feed(gs_lines_t *s, const char *p, size_t n, gs_lines_cb cb, void *data);

/* Ends the stream: delivers a last non-empty line without '\n'; readies the
 * splitter for a new stream. Returns 0 or GS_ECANCELED (cb returned non-zero). */
int gs_lines_finish(gs_lines_t *s, gs_lines_cb cb, void *data);

/* Frees the buffer; s may be initialised again. */
void gs_lines_free(gs_lines_t *s);

/* ---- piped children --------------------------------------------------- */

typedef struct {
  const char *file;    /* the program; looked up in PATH when it has no '/' */
  char **args;         /* NULL-terminated argv; args[0] is the program name */
  char **env;          /* NULL-terminated "K=V" list, or NULL: inherit ours */
  const char *cwd;     /* NULL: ours */
  size_t max_line;     /* longest stdout line; 0: GS_PROCESS_MAX_LINE */
  size_t stderr_limit; /* bytes of stderr kept (the last ones); 0: GS_PROCESS_STDERR_LIMIT */
} gs_process_pipe_opts_t;

/* The callbacks of a piped child; `data` is spawn's. Only on_exit is
 * required. None is called after gs_process_release, nor from inside a
 * gs_process_* call: always from the loop. */
typedef struct {
  /* A line of stdout, or status GS_EBODYTOOLARGE (or GS_ENOMEM): a line
   * longer than max_line was dropped (gs_lines_cb). In stream order. */
  void (*on_line)(gs_process_t *proc, int status, const char *line, size_t len, void *data);
  /* stdout ended, once, after its last line: status 0 at end of file,
   * GS_EIO on a read error, GS_ECANCELED when the core closed it (still open
   * GS_PROCESS_DRAIN_MS after the child exited: a grandchild holds it). */
  void (*on_eof)(gs_process_t *proc, int status, void *data);
  /* A gs_process_write finished, in the order they were made: status 0
   * (the bytes are in the pipe), GS_EIO (the child's stdin is gone: it
   * closed it) or GS_ECANCELED (stdin was closed first, by
   * gs_process_close_stdin or because the child exited). */
  void (*on_written)(gs_process_t *proc, int status, void *wdata, void *data);
  gs_process_exit_cb on_exit; /* the last callback */
} gs_process_pipe_cbs_t;

/* Starts a piped child on `loop`: its stdin, stdout and stderr are pipes
 * (libuv's socketpairs). stdout is read as lines (on_line), stderr into a
 * ring of the last stderr_limit bytes (gs_process_stderr). cbs is copied.
 * Returns 0 and *out, or as gs_process_spawn (GS_EINVAL also for a missing
 * cbs->on_exit). */
int gs_process_spawn_piped(uv_loop_t *loop, const gs_process_pipe_opts_t *opts,
                           const gs_process_pipe_cbs_t *cbs, void *data, gs_process_t **out,
                           char *errbuf, size_t errlen);

/* Queues len bytes for the child's stdin: they are copied (the caller's
 * buffer may be reused at once), and on_written(proc, status, wdata, data)
 * reports the outcome, once (unless the process is released first).
 * Returns 0, GS_EINVAL (not a piped child, len 0 or over 4 GiB),
 * GS_ECANCELED (stdin already closed, or the child exited: nothing queued,
 * no callback), GS_EIO (libuv refused the write) or GS_ENOMEM. */
int gs_process_write(gs_process_t *proc, const char *bytes, size_t len, void *wdata);

/* How many bytes are queued for stdin and not yet written. */
size_t gs_process_write_queue_size(const gs_process_t *proc);

/* Closes the child's stdin once the queued writes are written: the child
 * reads end of file. Idempotent. Returns 0 or GS_EINVAL (not piped). */
int gs_process_close_stdin(gs_process_t *proc);

/* Stops (paused != 0) or resumes reading stdout: a reader that has lines
 * enough pushes back, and the child blocks once the pipe is full. Ignored
 * once the child has exited: what it left in the pipe is read. */
void gs_process_pause_stdout(gs_process_t *proc, int paused);

/* The kept tail of stderr (at most stderr_limit bytes): *len bytes at the
 * returned pointer (valid until the loop runs again or the process is
 * released; not NUL-terminated), and in *dropped (may be NULL) how many
 * earlier bytes were discarded. Piped children only (else NULL, 0). */
const char *gs_process_stderr(gs_process_t *proc, size_t *len, uint64_t *dropped);

/* The polite stop of a running piped child: closes stdin (after the queued
 * writes), sends SIGTERM eof_grace_ms later (0: at once) unless it has
 * exited by then, and SIGKILL term_grace_ms after that. Callbacks go on as
 * usual; on_exit ends it. Does nothing once the child has exited. Returns 0
 * or GS_EINVAL (not piped). */
int gs_process_shutdown(gs_process_t *proc, uint64_t eof_grace_ms, uint64_t term_grace_ms);

/* Hands a piped child back to the core: no more callbacks. If it is still
 * running it gets gs_process_shutdown(proc, 0, grace_ms) — SIGTERM now,
 * SIGKILL grace_ms later — its output is read and dropped so it cannot
 * block, and it is reaped and freed once it has exited (the loop must keep
 * running until then: gs_process_destroy otherwise). If it has exited, its
 * handles are closed and it is freed. */
void gs_process_release(gs_process_t *proc, uint64_t grace_ms);

/* Releases a piped child synchronously, for an owner about to close the
 * loop (runtime shutdown): closes its pipes, and if it is still running
 * sends SIGTERM, waits up to grace_ms for it to exit (blocking the thread),
 * then SIGKILL, and reaps it with waitpid(2) — no zombie, no orphan. No
 * callback is called; the struct is freed by the close callbacks of its
 * handles, when the loop runs (gs_worker_close runs it). */
void gs_process_destroy(gs_process_t *proc, uint64_t grace_ms);

/* ---- both kinds -------------------------------------------------------- */

/* Whether process `pid` (> 0) is alive: it exists (a process of another
 * user counts as alive). Used to tell the leftovers of dead gofr-sim runs
 * from those of running ones. */
int gs_process_alive(long pid);

/* The child's process id. */
int gs_process_pid(const gs_process_t *proc);

/* Whether the child has exited (it has been reaped). */
int gs_process_exited(const gs_process_t *proc);

/* Sends signum to the child. Returns 0 or GS_EIO (e.g. it has already
 * exited: the core never signals a pid it has reaped). */
int gs_process_kill(gs_process_t *proc, int signum);

/* File children: forgets the caller: the exit callback will not be called;
 * the child gets SIGTERM and the process is freed when it exits. (A loop
 * closed before that closes the handle without freeing it: keep the loop
 * running until the children have exited.) For a piped child it is
 * gs_process_release(proc, GS_PROCESS_KILL_GRACE_MS). */
void gs_process_detach(gs_process_t *proc);

#endif
