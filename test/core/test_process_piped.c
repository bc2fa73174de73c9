/* Tests of the piped children of gs/process.h and of their line splitter:
 * lines split at every position, the max_line boundary, refused lines;
 * echo through cat, a last line without '\n', a long line refused, the
 * stderr tail bounded, a crashing child reported with its signal and
 * reaped, writes after close and to a closed stdin, the polite shutdown,
 * pausing stdout, release of a child that ignores SIGTERM, the synchronous
 * destroy, the drain deadline — and no zombie child at the end. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gs/buf.h"
#include "gs/error.h"
#include "gs/process.h"
#include "gs_test.h"

static uv_loop_t loop;

/* ---- the splitter ------------------------------------------------------ */

/* Appends "<line>|" or "!|" (a refused line) to the gs_buf_t data. */
static int log_line(int status, const char *line, size_t len, void *data) {
  gs_buf_t *log = data;
  if (status == 0)
    gs_buf_add(log, line, len);
  else
    gs_buf_add(log, status == GS_EBODYTOOLARGE ? "!" : "?", 1);
  gs_buf_add(log, "|", 1);
  return 0;
}

/* Splits s fed in two pieces at `at`, then finishes; -> the log (static). */
static const char *split2(const char *s, size_t at, size_t max_line) {
  static gs_buf_t log;
  gs_buf_clear(&log);
  gs_buf_add(&log, "", 0);
  gs_lines_t l;
  gs_lines_init(&l, max_line);
  size_t n = strlen(s);
  GS_CHECK_INT(gs_lines_feed(&l, s, at, log_line, &log), 0);
  GS_CHECK_INT(gs_lines_feed(&l, s + at, n - at, log_line, &log), 0);
  GS_CHECK_INT(gs_lines_finish(&l, log_line, &log), 0);
  gs_lines_free(&l);
  return log.p;
}

static void test_lines_split_anywhere(void) {
  const char *s = "one\n\ntwo\r\nlast";
  for (size_t at = 0; at <= strlen(s); at++)
    GS_CHECK_STR(split2(s, at, 0), "one||two\r|last|");
  /* max_line 4: "abcd" fits, "abcde" does not, at every split */
  const char *t = "abcd\nabcde\nxy\nabcdefghij\n\nz";
  for (size_t at = 0; at <= strlen(t); at++)
    GS_CHECK_STR(split2(t, at, 4), "abcd|!|xy|!||z|");
  /* a last line without '\n' that is too long is refused, once */
  GS_CHECK_STR(split2("abcdef", 3, 4), "!|");
  GS_CHECK_STR(split2("", 0, 4), "");
  GS_CHECK_STR(split2("\n", 0, 1), "|");
}

static int stop_after_first(int status, const char *line, size_t len, void *data) {
  log_line(status, line, len, data);
  return 1;
}

static void test_lines_stop_and_counts(void) {
  gs_buf_t log = {0};
  gs_lines_t l;
  gs_lines_init(&l, 3);
  GS_CHECK_INT(l.max_line, 3);
  GS_CHECK_INT(gs_lines_feed(&l, "a\nb\nc\n", 6, stop_after_first, &log), GS_ECANCELED);
  GS_CHECK_INT(gs_lines_feed(&l, "toolong", 7, log_line, &log), 0);
  GS_CHECK_INT(gs_lines_feed(&l, "still\nok\n", 9, log_line, &log), 0);
  GS_CHECK_STR(log.p, "a|!|ok|");
  GS_CHECK_INT(l.lines, 2);
  GS_CHECK_INT(l.too_long, 1);
  gs_lines_free(&l);
  gs_lines_init(&l, 0);
  GS_CHECK_INT(l.max_line, GS_PROCESS_MAX_LINE);
  gs_lines_free(&l);
  gs_buf_free(&log);
}

/* ---- a child and what it did ------------------------------------------ */

typedef struct {
  gs_process_t *proc;
  gs_buf_t lines; /* as log_line writes them */
  int nlines, eof_status, eofs, exits, writes, write_status, release_on_exit;
  int stop_on_line; /* uv_stop at the next line (wait_ready) */
  gs_process_exit_t how;
  uint64_t exit_at;
} child_t;

static void on_line(gs_process_t *proc, int status, const char *line, size_t len, void *data) {
  child_t *c = data;
  GS_CHECK(proc == c->proc);
  GS_CHECK_INT(c->eofs, 0);
  log_line(status, line, len, &c->lines);
  c->nlines++;
  if (c->stop_on_line) {
    c->stop_on_line = 0;
    uv_stop(&loop);
  }
}

/* Runs the loop until the child's next line ("ready": its traps are set). */
static void wait_ready(child_t *c) {
  c->stop_on_line = 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(c->stop_on_line, 0);
}

#define IGNORES_TERM "trap '' TERM; echo ready; exec sleep 30"

static void on_eof(gs_process_t *proc, int status, void *data) {
  child_t *c = data;
  c->eofs++;
  c->eof_status = status;
}

static void on_written(gs_process_t *proc, int status, void *wdata, void *data) {
  child_t *c = data;
  GS_CHECK(wdata == c);
  GS_CHECK_INT(c->exits, 0);
  c->writes++;
  c->write_status = status;
}

static void on_exit_cb(gs_process_t *proc, const gs_process_exit_t *how, void *data) {
  child_t *c = data;
  GS_CHECK_INT(c->eofs, 1); /* stdout ended before */
  c->exits++;
  c->how = *how;
  c->exit_at = uv_hrtime();
  if (c->release_on_exit)
    gs_process_release(proc, 0);
}

static const gs_process_pipe_cbs_t cbs = {on_line, on_eof, on_written, on_exit_cb};

static int spawn_opts(child_t *c, char **args, size_t max_line, size_t stderr_limit) {
  memset(c, 0, sizeof *c);
  gs_buf_add(&c->lines, "", 0);
  gs_process_pipe_opts_t o = {
      .file = args[0], .args = args, .max_line = max_line, .stderr_limit = stderr_limit};
  char err[256];
  int rc = gs_process_spawn_piped(&loop, &o, &cbs, c, &c->proc, err, sizeof err);
  if (rc)
    fprintf(stderr, "spawn %s: %s\n", args[0], err);
  return rc;
}

static int spawn_sh(child_t *c, const char *script) {
  char *args[] = {"sh", "-c", (char *)script, NULL};
  return spawn_opts(c, args, 0, 0);
}

static void done(child_t *c) {
  if (!c->release_on_exit)
    gs_process_release(c->proc, 0);
  gs_buf_free(&c->lines);
}

/* Whether a process whose parent is us is in /proc; with zombies_only,
 * only those in state Z. */
static int have_children(int zombies_only) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d))) {
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')'); /* "pid (comm) S ppid ..." */
    char state;
    int ppid;
    if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid() &&
        (!zombies_only || state == 'Z'))
      found++;
  }
  if (d)
    closedir(d);
  return found;
}

/* ---- piped children --------------------------------------------------- */

static void test_cat_echo(void) {
  child_t c;
  char *args[] = {"cat", NULL};
  GS_CHECK_INT(spawn_opts(&c, args, 0, 0), 0);
  GS_CHECK(gs_process_pid(c.proc) > 0);
  GS_CHECK_INT(gs_process_write(c.proc, "hello\nwor", 9, &c), 0);
  GS_CHECK_INT(gs_process_write(c.proc, "ld\n\npartial", 11, &c), 0);
  GS_CHECK(gs_process_write_queue_size(c.proc) <= 20);
  GS_CHECK_INT(gs_process_close_stdin(c.proc), 0);
  GS_CHECK_INT(gs_process_close_stdin(c.proc), 0); /* idempotent */
  GS_CHECK_INT(gs_process_write(c.proc, "late", 4, &c), GS_ECANCELED);
  GS_CHECK_INT(gs_process_write(c.proc, "", 0, &c), GS_EINVAL);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_STR(c.lines.p, "hello|world||partial|");
  GS_CHECK_INT(c.writes, 2);
  GS_CHECK_INT(c.write_status, 0);
  GS_CHECK_INT(c.eofs, 1);
  GS_CHECK_INT(c.eof_status, 0);
  GS_CHECK_INT(c.exits, 1);
  GS_CHECK_INT(c.how.exit_status, 0);
  GS_CHECK_INT(c.how.term_signal, 0);
  GS_CHECK(gs_process_exited(c.proc));
  GS_CHECK_INT(gs_process_kill(c.proc, SIGTERM), GS_EIO); /* reaped: never signalled */
  GS_CHECK_INT(gs_process_write_queue_size(c.proc), 0);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT); /* frees it */
}

static void test_long_line_refused(void) {
  child_t c;
  char *args[] = {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo ok; exit 4", NULL};
  GS_CHECK_INT(spawn_opts(&c, args, 1000, 0), 0);
  c.release_on_exit = 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_STR(c.lines.p, "!|ok|");
  GS_CHECK_INT(c.how.exit_status, 4);
  done(&c);
}

static void test_stderr_bounded(void) {
  child_t c;
  char *args[] = {"sh", "-c",
                  "i=0; while [ $i -lt 3000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; echo out",
                  NULL};
  GS_CHECK_INT(spawn_opts(&c, args, 0, 100), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  size_t len;
  uint64_t dropped;
  const char *tail = gs_process_stderr(c.proc, &len, &dropped);
  GS_CHECK_INT(len, 100);
  GS_CHECK(tail && len >= 10 && memcmp(tail + len - 10, "line 2999\n", 10) == 0);
  GS_CHECK(tail && memchr(tail, '\0', len) == NULL);
  size_t total = 0; /* "line N\n" for N = 0..2999 */
  for (int i = 0; i < 3000; i++)
    total += (size_t)snprintf(NULL, 0, "line %d\n", i);
  GS_CHECK_INT(dropped, total - 100);
  GS_CHECK_STR(c.lines.p, "out|");
  /* a second call sees the same, now unwrapped */
  const char *again = gs_process_stderr(c.proc, &len, NULL);
  GS_CHECK(again && len == 100 && memcmp(again + 90, "line 2999\n", 10) == 0);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);

  GS_CHECK_INT(spawn_sh(&c, "printf 'short' >&2"), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  tail = gs_process_stderr(c.proc, &len, &dropped);
  GS_CHECK(len == 5 && memcmp(tail, "short", 5) == 0);
  GS_CHECK_INT(dropped, 0);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_crash_reaped(void) {
  child_t c;
  GS_CHECK_INT(spawn_sh(&c, "echo before; kill -SEGV $$; echo after"), 0);
  int pid = gs_process_pid(c.proc);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(c.exits, 1);
  GS_CHECK_INT(c.how.term_signal, SIGSEGV);
  GS_CHECK_INT(c.how.exit_status, 0);
  GS_CHECK_STR(c.lines.p, "before|");
  int status;
  GS_CHECK_INT(waitpid(pid, &status, WNOHANG), -1); /* already reaped */
  GS_CHECK_INT(errno, ECHILD);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_write_to_closed_stdin(void) {
  child_t c;
  GS_CHECK_INT(spawn_sh(&c, "exec 0<&-; echo closed; sleep 0.3"), 0);
  static char big[1 << 20];
  memset(big, 'x', sizeof big);
  GS_CHECK_INT(gs_process_write(c.proc, big, sizeof big, &c), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(c.writes, 1);
  GS_CHECK(c.write_status == GS_EIO || c.write_status == GS_ECANCELED);
  GS_CHECK_INT(c.how.exit_status, 0);
  GS_CHECK_STR(c.lines.p, "closed|");
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_polite_shutdown(void) {
  child_t c;
  char *args[] = {"cat", NULL};
  GS_CHECK_INT(spawn_opts(&c, args, 0, 0), 0);
  GS_CHECK_INT(gs_process_write(c.proc, "bye\n", 4, &c), 0);
  GS_CHECK_INT(gs_process_shutdown(c.proc, 5000, 5000), 0); /* cat ends at EOF */
  uint64_t t0 = uv_hrtime();
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK((c.exit_at - t0) / 1000000 < 2000);
  GS_CHECK_INT(c.how.term_signal, 0);
  GS_CHECK_STR(c.lines.p, "bye|");
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);

  /* a child that ignores stdin: SIGTERM after the first grace */
  GS_CHECK_INT(spawn_sh(&c, "exec sleep 30"), 0);
  uv_update_time(&loop); /* the timers count from the loop's time */
  t0 = uv_hrtime();
  GS_CHECK_INT(gs_process_shutdown(c.proc, 100, 5000), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(c.how.term_signal, SIGTERM);
  GS_CHECK((c.exit_at - t0) / 1000000 >= 90);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);

  /* one that ignores SIGTERM too: SIGKILL after the second */
  GS_CHECK_INT(spawn_sh(&c, IGNORES_TERM), 0);
  wait_ready(&c);
  GS_CHECK_INT(gs_process_shutdown(c.proc, 0, 100), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(c.how.term_signal, SIGKILL);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void check_no_lines(uv_timer_t *t) {
  child_t *c = t->data;
  GS_CHECK_INT(c->nlines, 0);
  gs_process_pause_stdout(c->proc, 0);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_pause(void) {
  child_t c;
  GS_CHECK_INT(spawn_sh(&c, "echo a; echo b; sleep 0.5"), 0);
  gs_process_pause_stdout(c.proc, 1);
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = &c;
  uv_timer_start(&t, check_no_lines, 200, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_STR(c.lines.p, "a|b|");
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);

  /* paused until it exits: what it left is read all the same */
  GS_CHECK_INT(spawn_sh(&c, "echo left"), 0);
  gs_process_pause_stdout(c.proc, 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_STR(c.lines.p, "left|");
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_release_running(void) {
  child_t c;
  GS_CHECK_INT(spawn_sh(&c, IGNORES_TERM), 0);
  wait_ready(&c);
  int pid = gs_process_pid(c.proc);
  gs_process_pause_stdout(c.proc, 1);
  uint64_t t0 = uv_hrtime();
  gs_process_release(c.proc, 200); /* SIGTERM (ignored), SIGKILL 200 ms later */
  uv_run(&loop, UV_RUN_DEFAULT);   /* returns once reaped and freed */
  double took = (double)(uv_hrtime() - t0) / 1e9;
  GS_CHECK(took >= 0.15 && took < 5);
  GS_CHECK_INT(c.exits, 0); /* no callbacks after release */
  GS_CHECK(kill(pid, 0) != 0);
  gs_buf_free(&c.lines);

  GS_CHECK_INT(spawn_sh(&c, "exec sleep 30"), 0);
  pid = gs_process_pid(c.proc);
  gs_process_detach(c.proc);
  uv_run(&loop, UV_RUN_DEFAULT);
  GS_CHECK_INT(c.exits, 0);
  GS_CHECK(kill(pid, 0) != 0);
  gs_buf_free(&c.lines);
}

static void test_destroy(void) {
  child_t c;
  GS_CHECK_INT(spawn_sh(&c, IGNORES_TERM), 0);
  wait_ready(&c);
  int pid = gs_process_pid(c.proc);
  GS_CHECK_INT(gs_process_write(c.proc, "pending", 7, &c), 0);
  uint64_t t0 = uv_hrtime();
  gs_process_destroy(c.proc, 100); /* blocks: SIGTERM ignored, SIGKILL, waitpid */
  double took = (double)(uv_hrtime() - t0) / 1e9;
  GS_CHECK(took >= 0.09 && took < 5);
  GS_CHECK(kill(pid, 0) != 0);   /* reaped: no zombie either */
  uv_run(&loop, UV_RUN_DEFAULT); /* the close callbacks free it */
  GS_CHECK_INT(c.exits + c.writes + c.eofs, 0);
  gs_buf_free(&c.lines);

  /* a child that ends at SIGTERM: no waiting for the grace */
  GS_CHECK_INT(spawn_sh(&c, "exec sleep 30"), 0);
  pid = gs_process_pid(c.proc);
  t0 = uv_hrtime();
  gs_process_destroy(c.proc, 5000);
  GS_CHECK((double)(uv_hrtime() - t0) / 1e9 < 2);
  GS_CHECK(kill(pid, 0) != 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  gs_buf_free(&c.lines);
}

static void test_drain_deadline(void) {
  child_t c;
  /* the grandchild keeps stdout open after the child exits */
  GS_CHECK_INT(spawn_sh(&c, "sleep 30 & echo $!"), 0);
  uint64_t t0 = uv_hrtime();
  uv_run(&loop, UV_RUN_DEFAULT);
  double took = (double)(c.exit_at - t0) / 1e9;
  GS_CHECK(took >= GS_PROCESS_DRAIN_MS / 1000.0 - 0.1 && took < 10);
  GS_CHECK_INT(c.eof_status, GS_ECANCELED);
  GS_CHECK_INT(c.how.exit_status, 0);
  int grandchild = atoi(c.lines.p);
  GS_CHECK(grandchild > 0);
  if (grandchild > 0)
    kill(grandchild, SIGKILL);
  done(&c);
  uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_spawn_errors(void) {
  child_t c;
  char *args[] = {"/nonexistent/gs-no-such-program", NULL};
  GS_CHECK_INT(spawn_opts(&c, args, 0, 0), GS_ENOENT);
  GS_CHECK(c.proc == NULL);
  gs_process_pipe_opts_t o = {.file = "cat", .args = args};
  gs_process_pipe_cbs_t none = {0};
  GS_CHECK_INT(gs_process_spawn_piped(&loop, &o, &none, &c, &c.proc, NULL, 0), GS_EINVAL);
  uv_run(&loop, UV_RUN_DEFAULT);
  gs_buf_free(&c.lines);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as gs_worker_init does */
  uv_loop_init(&loop);
  GS_RUN(test_lines_split_anywhere);
  GS_RUN(test_lines_stop_and_counts);
  GS_RUN(test_cat_echo);
  GS_RUN(test_long_line_refused);
  GS_RUN(test_stderr_bounded);
  GS_RUN(test_crash_reaped);
  GS_RUN(test_write_to_closed_stdin);
  GS_RUN(test_polite_shutdown);
  GS_RUN(test_pause);
  GS_RUN(test_release_running);
  GS_RUN(test_destroy);
  GS_RUN(test_drain_deadline);
  GS_RUN(test_spawn_errors);
  GS_CHECK_INT(have_children(1), 0); /* no zombie */
  GS_CHECK_INT(have_children(0), 0); /* nor any child left */
  GS_CHECK_INT(uv_loop_close(&loop), 0);
  return gs_test_report();
}
