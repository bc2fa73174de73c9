/* Tests of gs/process.h: exit status, output files and environment of a
 * child, a child killed by a signal, the timeout, a program that does not
 * exist, bad arguments, and detach (the child is killed and freed). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gs/error.h"
#include "gs/process.h"
#include "gs_test.h"

typedef struct {
  int calls;
  gs_process_exit_t how;
} exit_seen_t;

static void on_exit_cb(gs_process_t *proc, const gs_process_exit_t *how, void *data) {
  exit_seen_t *seen = data;
  (void)proc;
  seen->calls++;
  seen->how = *how;
}

static char *slurp(const char *path) {
  static char buf[256];
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Runs `sh -c script` to completion; -> the spawn's return code. */
static int run_sh(uv_loop_t *loop, const char *script, char **env, const char *out, const char *err,
                  uint64_t timeout_ms, exit_seen_t *seen) {
  char *args[] = {"sh", "-c", (char *)script, NULL};
  gs_process_opts_t o = {.file = "/bin/sh",
                         .args = args,
                         .env = env,
                         .stdout_path = out,
                         .stderr_path = err,
                         .timeout_ms = timeout_ms};
  gs_process_t *proc = NULL;
  char errbuf[256];
  int rc = gs_process_spawn(loop, &o, on_exit_cb, seen, &proc, errbuf, sizeof errbuf);
  if (rc == 0) {
    GS_CHECK(gs_process_pid(proc) > 0);
    uv_run(loop, UV_RUN_DEFAULT);
  }
  return rc;
}

static void test_exit_output_env(uv_loop_t *loop) {
  char out[] = "/tmp/gs_process_out_XXXXXX", err[] = "/tmp/gs_process_err_XXXXXX";
  close(mkstemp(out));
  close(mkstemp(err));
  char *env[] = {"GS_PROCESS_TEST=forty two", NULL};
  exit_seen_t seen = {0};
  GS_CHECK_INT(
      run_sh(loop, "echo \"$GS_PROCESS_TEST\"; echo oops >&2; exit 3", env, out, err, 0, &seen), 0);
  GS_CHECK_INT(seen.calls, 1);
  GS_CHECK_INT(seen.how.exit_status, 3);
  GS_CHECK_INT(seen.how.term_signal, 0);
  GS_CHECK_INT(seen.how.timed_out, 0);
  GS_CHECK_STR(slurp(out), "forty two\n");
  GS_CHECK_STR(slurp(err), "oops\n");
  unlink(out);
  unlink(err);
}

static void test_signal_and_timeout(uv_loop_t *loop) {
  exit_seen_t seen = {0};
  GS_CHECK_INT(run_sh(loop, "kill -KILL $$", NULL, NULL, NULL, 0, &seen), 0);
  GS_CHECK_INT(seen.calls, 1);
  GS_CHECK_INT(seen.how.term_signal, SIGKILL);
  GS_CHECK_INT(seen.how.timed_out, 0);

  exit_seen_t slow = {0};
  uint64_t t0 = uv_hrtime();
  GS_CHECK_INT(run_sh(loop, "exec sleep 10", NULL, NULL, NULL, 100, &slow), 0);
  double took = (double)(uv_hrtime() - t0) / 1e9;
  GS_CHECK_INT(slow.calls, 1);
  GS_CHECK_INT(slow.how.timed_out, 1);
  GS_CHECK_INT(slow.how.term_signal, SIGTERM);
  GS_CHECK(took < 5);
}

static void test_errors(uv_loop_t *loop) {
  exit_seen_t seen = {0};
  gs_process_t *proc = (gs_process_t *)&seen;
  char errbuf[256];
  char *args[] = {"gs-no-such-program", NULL};
  gs_process_opts_t o = {.file = "/nonexistent/gs-no-such-program", .args = args};
  GS_CHECK_INT(gs_process_spawn(loop, &o, on_exit_cb, &seen, &proc, errbuf, sizeof errbuf),
               GS_ENOENT);
  GS_CHECK(proc == NULL);
  GS_CHECK(strstr(errbuf, "gs-no-such-program") != NULL);
  o.stdout_path = "/nonexistent-dir/out.txt";
  o.file = "/bin/true";
  GS_CHECK_INT(gs_process_spawn(loop, &o, on_exit_cb, &seen, &proc, errbuf, sizeof errbuf), GS_EIO);
  GS_CHECK(strstr(errbuf, "/nonexistent-dir/out.txt") != NULL);
  o.stdout_path = NULL;
  GS_CHECK_INT(gs_process_spawn(loop, &o, NULL, &seen, &proc, NULL, 0), GS_EINVAL);
  GS_CHECK_INT(gs_process_spawn(NULL, &o, on_exit_cb, &seen, &proc, NULL, 0), GS_EINVAL);
  o.args = NULL;
  GS_CHECK_INT(gs_process_spawn(loop, &o, on_exit_cb, &seen, &proc, NULL, 0), GS_EINVAL);
  uv_run(loop, UV_RUN_DEFAULT); /* the failed spawn's handle closes */
  GS_CHECK_INT(seen.calls, 0);
}

static void test_detach(uv_loop_t *loop) {
  exit_seen_t seen = {0};
  char *args[] = {"sleep", "10", NULL};
  gs_process_opts_t o = {.file = "sleep", .args = args, .timeout_ms = 20000};
  gs_process_t *proc = NULL;
  GS_CHECK_INT(gs_process_spawn(loop, &o, on_exit_cb, &seen, &proc, NULL, 0), 0);
  int pid = gs_process_pid(proc);
  GS_CHECK(pid > 0);
  GS_CHECK_INT(gs_process_kill(proc, 0), 0); /* alive */
  uint64_t t0 = uv_hrtime();
  gs_process_detach(proc);
  uv_run(loop, UV_RUN_DEFAULT); /* returns once the child is reaped and freed */
  GS_CHECK((double)(uv_hrtime() - t0) / 1e9 < 5);
  GS_CHECK_INT(seen.calls, 0);
  GS_CHECK(kill(pid, 0) != 0); /* gone */
}

int main(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  test_exit_output_env(&loop);
  test_signal_and_timeout(&loop);
  test_errors(&loop);
  test_detach(&loop);
  GS_CHECK_INT(uv_loop_close(&loop), 0);
  return gs_test_report();
}
