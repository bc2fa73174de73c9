/* Tests of the file-system helpers used by the twin's session store:
 * mkdir -p (nested, existing, a file in the way), exclusive creation (new,
 * existing, missing directory), stat (the exact mtime, inode and device),
 * remove (files, empty directories), atomic replacement (content, reported
 * stat, a new inode each time, no temporary left behind, mode, failure
 * leaves the target alone), directory listing (dot files, early stop,
 * missing directory) and the wall clock. Everything happens
 * under a fresh mkdtemp directory that is removed at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gs/error.h"
#include "gs/fs.h"
#include "gs_test.h"

static char root[64];

/* root + "/" + rel in a static buffer (one at a time). */
static const char *at(const char *rel) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s/%s", root, rel);
  return buf;
}

/* The content of path (at most 255 bytes), or "" when unreadable. */
static const char *slurp(const char *path) {
  static char buf[256];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  return buf;
}

typedef struct {
  char names[16][64];
  int count, stop_after;
} listing_t;

static int collect(const char *name, void *data) {
  listing_t *l = data;
  if (l->count < 16)
    snprintf(l->names[l->count], sizeof l->names[0], "%s", name);
  l->count++;
  return l->stop_after && l->count >= l->stop_after;
}

static int listed(const listing_t *l, const char *name) {
  for (int i = 0; i < l->count && i < 16; i++)
    if (strcmp(l->names[i], name) == 0)
      return 1;
  return 0;
}

/* rm -r of a directory tree made only of files and directories. */
static int remove_tree_entry(const char *name, void *data);
static void remove_tree(const char *path) {
  gs_fs_list(path, remove_tree_entry, (void *)path);
  rmdir(path);
}

static int remove_tree_entry(const char *name, void *data) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", (const char *)data, name);
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
    remove_tree(path);
  else
    unlink(path);
  return 0;
}

static void test_mkdirs(void) {
  struct stat st;
  GS_CHECK_INT(gs_fs_mkdirs(at("a/b/c")), 0);
  GS_CHECK(stat(at("a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
  GS_CHECK_INT(st.st_mode & 0777, 0755 & ~0022); /* the test runs under umask 022 */
  GS_CHECK_INT(gs_fs_mkdirs(at("a/b/c")), 0);    /* existing: fine */
  GS_CHECK_INT(gs_fs_mkdirs(at("a//b/d/")), 0);  /* doubled and trailing slashes */
  GS_CHECK(stat(at("a/b/d"), &st) == 0 && S_ISDIR(st.st_mode));

  int existed;
  GS_CHECK_INT(gs_fs_create_excl(at("a/file"), "x", 1, &existed), 0);
  errno = 0;
  GS_CHECK_INT(gs_fs_mkdirs(at("a/file")), GS_EIO); /* a file, not a directory */
  GS_CHECK_INT(errno, ENOTDIR);
  GS_CHECK_INT(gs_fs_mkdirs(at("a/file/sub")), GS_EIO);
  GS_CHECK_INT(gs_fs_mkdirs(""), GS_ENOENT);
}

static void test_create_excl(void) {
  int existed = -1;
  GS_CHECK_INT(gs_fs_create_excl(at("lock"), "pid=1\n", 6, &existed), 0);
  GS_CHECK_INT(existed, 0);
  GS_CHECK_STR(slurp(at("lock")), "pid=1\n");

  existed = -1;
  GS_CHECK_INT(gs_fs_create_excl(at("lock"), "pid=2\n", 6, &existed), 0);
  GS_CHECK_INT(existed, 1);
  GS_CHECK_STR(slurp(at("lock")), "pid=1\n"); /* untouched */

  GS_CHECK_INT(gs_fs_create_excl(at("empty"), NULL, 0, &existed), 0);
  GS_CHECK_INT(existed, 0);
  GS_CHECK_STR(slurp(at("empty")), "");

  GS_CHECK_INT(gs_fs_create_excl(at("missing/lock"), "x", 1, &existed), GS_ENOENT);
  GS_CHECK_INT(existed, 0);
}

static void test_stat_remove(void) {
  int existed;
  int64_t sec;
  int32_t usec;
  GS_CHECK_INT(gs_fs_create_excl(at("s"), "12345", 5, &existed), 0);
  GS_CHECK_INT(gs_fs_now(&sec, &usec), 0);
  gs_fs_stat_t st = {0};
  GS_CHECK_INT(gs_fs_stat(at("s"), &st), 0);
  GS_CHECK_INT(st.size, 5);
  double now = (double)sec + usec / 1e6;
  GS_CHECK(st.mtime > now - 5 && st.mtime <= now + 0.01);
  struct stat sb; /* the exact stamp: mtime to the nanosecond, inode, device */
  GS_CHECK(stat(at("s"), &sb) == 0);
  GS_CHECK_INT(st.mtime_sec, (int64_t)sb.st_mtim.tv_sec);
  GS_CHECK_INT(st.mtime_nsec, (int32_t)sb.st_mtim.tv_nsec);
  GS_CHECK(st.mtime_nsec >= 0 && st.mtime_nsec <= 999999999);
  GS_CHECK(st.ino == (uint64_t)sb.st_ino && st.ino != 0);
  GS_CHECK(st.dev == (uint64_t)sb.st_dev);

  GS_CHECK_INT(gs_fs_stat(at("nope"), &st), GS_ENOENT);
  GS_CHECK_INT(gs_fs_stat(at("s/under-a-file"), &st), GS_ENOENT);

  GS_CHECK_INT(gs_fs_remove(at("s")), 0);
  GS_CHECK_INT(gs_fs_remove(at("s")), GS_ENOENT);
  GS_CHECK_INT(gs_fs_mkdirs(at("dir/sub")), 0);
  GS_CHECK_INT(gs_fs_remove(at("dir")), GS_EIO); /* not empty */
  GS_CHECK_INT(gs_fs_remove(at("dir/sub")), 0);  /* empty directories go */
  GS_CHECK_INT(gs_fs_remove(at("dir")), 0);
  GS_CHECK_INT(gs_fs_stat(at("dir"), &st), GS_ENOENT);
}

static void test_write_atomic(void) {
  gs_fs_stat_t st = {0}, again = {0}, first = {0};
  GS_CHECK_INT(gs_fs_mkdirs(at("w")), 0);
  GS_CHECK_INT(gs_fs_write_atomic(at("w/metadata.json"), "{}", 2, &st, 0), 0);
  GS_CHECK_STR(slurp(at("w/metadata.json")), "{}");
  GS_CHECK_INT(st.size, 2);
  first = st;

  const char *doc = "{\n  \"a\": 1\n}";
  GS_CHECK_INT(gs_fs_write_atomic(at("w/metadata.json"), doc, strlen(doc), &st, 0), 0);
  GS_CHECK_STR(slurp(at("w/metadata.json")), doc);
  GS_CHECK_INT(gs_fs_stat(at("w/metadata.json"), &again), 0);
  GS_CHECK_INT(st.size, (int64_t)strlen(doc));
  GS_CHECK_INT(again.size, st.size);
  GS_CHECK(again.mtime == st.mtime); /* the rename keeps the reported mtime */
  GS_CHECK_INT(again.mtime_sec, st.mtime_sec);
  GS_CHECK_INT(again.mtime_nsec, st.mtime_nsec);
  GS_CHECK(again.ino == st.ino && again.dev == st.dev); /* the reported inode is the file's */
  GS_CHECK(st.ino != first.ino); /* each replacement is a new inode, even within a second */

  struct stat sb;
  GS_CHECK(stat(at("w/metadata.json"), &sb) == 0);
  GS_CHECK_INT(sb.st_mode & 0777, 0644 & ~0022);
  GS_CHECK_INT(gs_fs_write_atomic(at("w/blob.json"), "", 0, NULL, 0), 0); /* st may be NULL */

  listing_t l = {.count = 0};
  GS_CHECK_INT(gs_fs_list(at("w"), collect, &l), 0);
  GS_CHECK_INT(l.count, 2); /* no temporary file left behind */
  GS_CHECK(listed(&l, "metadata.json") && listed(&l, "blob.json"));

  GS_CHECK_INT(gs_fs_write_atomic(at("nodir/x.json"), "x", 1, NULL, 0), GS_ENOENT);
  /* renaming over a directory fails: the target and the directory stay clean */
  GS_CHECK_INT(gs_fs_mkdirs(at("w/sub")), 0);
  GS_CHECK(gs_fs_write_atomic(at("w/sub"), "x", 1, NULL, 0) < 0);
  l.count = 0;
  GS_CHECK_INT(gs_fs_list(at("w"), collect, &l), 0);
  GS_CHECK_INT(l.count, 3);
}

/* A pid that is certainly dead: a child that has exited and been reaped. */
static long dead_pid(void) {
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  int status;
  waitpid(pid, &status, 0);
  return (long)pid;
}

static void put(const char *path) {
  int existed;
  GS_CHECK_INT(gs_fs_create_excl(path, "partial", 7, &existed), 0);
}

static void test_durable_write_and_sweep(void) {
  GS_CHECK_INT(gs_fs_mkdirs(at("d")), 0);
  GS_CHECK_INT(gs_fs_write_atomic(at("d/report.json"), "{}", 2, NULL, GS_FS_DURABLE), 0);
  GS_CHECK_STR(slurp(at("d/report.json")), "{}");

  /* What a SIGKILLed writer leaves, next to what a live one is writing. */
  char name[256];
  snprintf(name, sizeof name, "d/.report.json.%ld.0badf00d.tmp", dead_pid());
  put(at(name));
  char live[256];
  snprintf(live, sizeof live, "d/.report.json.%ld.0badf00d.tmp", (long)getppid());
  put(at(live));
  put(at("d/.report.json.notapid.tmp"));
  put(at("d/.other.json.1.0badf00d.tmp"));

  int removed = -1;
  GS_CHECK_INT(gs_fs_sweep_temps(at("d/report.json"), &removed), 0);
  GS_CHECK_INT(removed, 1);
  gs_fs_stat_t st;
  GS_CHECK_INT(gs_fs_stat(at(name), &st), GS_ENOENT);
  GS_CHECK_INT(gs_fs_stat(at(live), &st), 0);                         /* a live writer's */
  GS_CHECK_INT(gs_fs_stat(at("d/.report.json.notapid.tmp"), &st), 0); /* not ours */
  GS_CHECK_INT(gs_fs_stat(at("d/.other.json.1.0badf00d.tmp"), &st), 0);
  GS_CHECK_INT(gs_fs_sweep_temps(at("missing/report.json"), &removed), 0);
  GS_CHECK_INT(removed, 0);
}

static void test_list(void) {
  int existed;
  GS_CHECK_INT(gs_fs_mkdirs(at("l")), 0);
  GS_CHECK_INT(gs_fs_create_excl(at("l/.prune_size.lock"), "", 0, &existed), 0);
  GS_CHECK_INT(gs_fs_create_excl(at("l/one.json"), "1", 1, &existed), 0);
  GS_CHECK_INT(gs_fs_mkdirs(at("l/subdir")), 0);

  listing_t l = {.count = 0};
  GS_CHECK_INT(gs_fs_list(at("l"), collect, &l), 0);
  GS_CHECK_INT(l.count, 3);
  GS_CHECK(listed(&l, ".prune_size.lock") && listed(&l, "one.json") && listed(&l, "subdir"));
  GS_CHECK(!listed(&l, ".") && !listed(&l, ".."));

  listing_t first = {.count = 0, .stop_after = 1};
  GS_CHECK_INT(gs_fs_list(at("l"), collect, &first), 0);
  GS_CHECK_INT(first.count, 1);

  GS_CHECK_INT(gs_fs_list(at("l/missing"), collect, &l), GS_ENOENT);
  GS_CHECK_INT(gs_fs_list(at("l/one.json"), collect, &l), GS_ENOENT); /* ENOTDIR */
}

static void test_now(void) {
  int64_t sec = 0;
  int32_t usec = -1;
  GS_CHECK_INT(gs_fs_now(&sec, &usec), 0);
  GS_CHECK(llabs((long long)(sec - (int64_t)time(NULL))) <= 1);
  GS_CHECK(usec >= 0 && usec <= 999999);
}

int main(void) {
  umask(0022);
  snprintf(root, sizeof root, "/tmp/gs_test_fs_XXXXXX");
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    return 1;
  }
  GS_RUN(test_mkdirs);
  GS_RUN(test_create_excl);
  GS_RUN(test_stat_remove);
  GS_RUN(test_write_atomic);
  GS_RUN(test_durable_write_and_sweep);
  GS_RUN(test_list);
  GS_RUN(test_now);
  remove_tree(root);
  return gs_test_report();
}
