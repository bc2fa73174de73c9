#include "gs/fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gs/error.h"
#include "gs/process.h"

static int gs__has_suffix(const char *name, const char *suffix) {
  size_t n = strlen(name), s = strlen(suffix);
  return n >= s && memcmp(name + n - s, suffix, s) == 0;
}

/* path holds root + "/" + rel; rel_off is where rel starts inside path. */
static int gs__fs_walk_dir(char *path, size_t rel_off, const char *suffix, gs_fs_file_cb cb,
                           void *data) {
  DIR *dir = opendir(path);
  if (!dir)
    return GS_EIO;
  size_t len = strlen(path);
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (len + 1 + strlen(e->d_name) >= PATH_MAX) {
      rc = GS_EIO;
      break;
    }
    path[len] = '/';
    strcpy(path + len + 1, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        rc = gs__fs_walk_dir(path, rel_off, suffix, cb, data);
      else if (S_ISREG(st.st_mode) && (!suffix || gs__has_suffix(e->d_name, suffix)))
        rc = cb(path + rel_off, data) ? 1 : 0;
    }
    path[len] = '\0';
  }
  closedir(dir);
  return rc > 0 ? 0 : rc;
}

int gs_fs_walk(const char *root, const char *suffix, gs_fs_file_cb cb, void *data) {
  char path[PATH_MAX];
  struct stat st;
  size_t n = strlen(root);
  if (n == 0 || n >= PATH_MAX - 1 || stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
    return GS_ENOENT;
  memcpy(path, root, n + 1);
  while (n > 1 && path[n - 1] == '/')
    path[--n] = '\0';
  return gs__fs_walk_dir(path, n + 1, suffix, cb, data);
}

/* The GS_E* code for a failed system call's errno. */
static int gs__fs_err(int e) {
  switch (e) {
  case ENOENT:
  case ENOTDIR:
    return GS_ENOENT;
  case ENOMEM:
    return GS_ENOMEM;
  case ENAMETOOLONG:
    return GS_EINVAL;
  default:
    return GS_EIO;
  }
}

/* Copies path into buf (PATH_MAX bytes); fails as the system would for an
 * empty (GS_ENOENT) or too long (GS_EINVAL) path. */
static int gs__fs_copy_path(char *buf, const char *path) {
  size_t n = strlen(path);
  if (n == 0 || n >= PATH_MAX) {
    errno = n ? ENAMETOOLONG : ENOENT;
    return gs__fs_err(errno);
  }
  memcpy(buf, path, n + 1);
  return 0;
}

/* mkdir that accepts an existing directory. */
static int gs__fs_mkdir_one(const char *path) {
  struct stat st;
  if (mkdir(path, 0755) == 0)
    return 0;
  if (errno != EEXIST)
    return errno == ENOTDIR ? GS_EIO : gs__fs_err(errno);
  if (stat(path, &st) != 0)
    return gs__fs_err(errno);
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return GS_EIO;
  }
  return 0;
}

int gs_fs_mkdirs(const char *path) {
  char buf[PATH_MAX];
  int rc = gs__fs_copy_path(buf, path);
  for (char *p = buf + 1; rc == 0 && *p; p++) {
    if (*p != '/' || p[-1] == '/')
      continue;
    *p = '\0';
    rc = gs__fs_mkdir_one(buf);
    *p = '/';
  }
  return rc ? rc : gs__fs_mkdir_one(buf);
}

/* Writes all of data to fd, retrying short writes and EINTR. */
static int gs__fs_write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return gs__fs_err(errno);
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The fields of a gs_fs_stat_t from a struct stat. */
static void gs__fs_fill_stat(gs_fs_stat_t *st, const struct stat *sb) {
  st->mtime = (double)sb->st_mtim.tv_sec + (double)sb->st_mtim.tv_nsec / 1e9;
  st->size = (int64_t)sb->st_size;
  st->mtime_sec = (int64_t)sb->st_mtim.tv_sec;
  st->mtime_nsec = (int32_t)sb->st_mtim.tv_nsec;
  st->ino = (uint64_t)sb->st_ino;
  st->dev = (uint64_t)sb->st_dev;
}

/* Writes data to the new file fd at path (fsync'ing it when sync is set)
 * and closes it; on failure removes the file, keeping the errno of the
 * failure. */
static int gs__fs_fill_new(int fd, const char *path, const void *data, size_t len, gs_fs_stat_t *st,
                           int sync) {
  struct stat sb;
  int rc = gs__fs_write_all(fd, data, len);
  if (rc == 0 && sync && fsync(fd) != 0)
    rc = gs__fs_err(errno);
  if (rc == 0 && st) {
    if (fstat(fd, &sb) == 0)
      gs__fs_fill_stat(st, &sb);
    else
      rc = gs__fs_err(errno);
  }
  if (close(fd) != 0 && rc == 0)
    rc = gs__fs_err(errno);
  if (rc) {
    int saved = errno;
    unlink(path);
    errno = saved;
  }
  return rc;
}

int gs_fs_create_excl(const char *path, const void *data, size_t len, int *existed) {
  *existed = 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    *existed = 1;
    return 0;
  }
  if (fd < 0)
    return gs__fs_err(errno);
  return gs__fs_fill_new(fd, path, data, len, NULL, 0);
}

int gs_fs_stat(const char *path, gs_fs_stat_t *st) {
  struct stat sb;
  if (stat(path, &sb) != 0)
    return gs__fs_err(errno);
  gs__fs_fill_stat(st, &sb);
  return 0;
}

int gs_fs_remove(const char *path) {
  return remove(path) == 0 ? 0 : gs__fs_err(errno);
}

/* Opens a new hidden temporary file next to path
 * (".<name>.<pid>.<8 hex>.tmp"), writing its name into tmp (PATH_MAX bytes).
 * Returns the fd or a GS_E*. The pid lets gs_fs_sweep_temps tell the
 * leftovers of dead writers from files being written. */
static int gs__fs_open_temp(const char *path, char *tmp) {
  const char *slash = strrchr(path, '/');
  int dir_len = slash ? (int)(slash - path + 1) : 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned seed = (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec * 2654435761u ^ (unsigned)getpid();
  for (int attempt = 0; attempt < 100; attempt++) {
    seed = seed * 1103515245u + 12345u;
    int n = snprintf(tmp, PATH_MAX, "%.*s.%s.%ld.%08x.tmp", dir_len, path, path + dir_len,
                     (long)getpid(), seed);
    if (n < 0 || n >= PATH_MAX) {
      errno = ENAMETOOLONG;
      return GS_EINVAL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0)
      return fd;
    if (errno != EEXIST)
      return gs__fs_err(errno);
  }
  return GS_EIO; /* errno is still EEXIST */
}

/* The directory part of path ("." when it has none) into dir (PATH_MAX). */
static int gs__fs_dir_of(const char *path, char *dir) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return snprintf(dir, PATH_MAX, ".") < PATH_MAX ? 0 : GS_EINVAL;
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return GS_EINVAL;
  }
  memcpy(dir, path, n);
  dir[n] = '\0';
  return 0;
}

/* fsyncs the directory holding path, so a rename in it survives a crash. */
static int gs__fs_sync_dir_of(const char *path) {
  char dir[PATH_MAX];
  int rc = gs__fs_dir_of(path, dir);
  if (rc)
    return rc;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return gs__fs_err(errno);
  rc = fsync(fd) == 0 ? 0 : gs__fs_err(errno);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

int gs_fs_write_atomic(const char *path, const void *data, size_t len, gs_fs_stat_t *st,
                       int flags) {
  char tmp[PATH_MAX];
  int fd = gs__fs_open_temp(path, tmp);
  if (fd < 0)
    return fd;
  int durable = (flags & GS_FS_DURABLE) != 0;
  int rc = gs__fs_fill_new(fd, tmp, data, len, st, durable);
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = gs__fs_err(errno);
    int saved = errno;
    unlink(tmp);
    errno = saved;
  }
  if (rc == 0 && durable)
    rc = gs__fs_sync_dir_of(path);
  return rc;
}

/* State of one sweep: the temporary-name prefix ".<name>." and the count. */
typedef struct {
  const char *dir;
  char prefix[NAME_MAX + 3];
  size_t prefix_len;
  int removed;
} gs_fs_sweep_t;

/* The pid of a temporary name "<prefix><pid>.<8 hex>.tmp", or 0. */
static long gs__fs_temp_pid(const char *rest) {
  char *end;
  errno = 0;
  long pid = strtol(rest, &end, 10);
  if (errno || pid <= 0 || end == rest || *end != '.')
    return 0;
  size_t tail = strlen(end);
  if (tail != 1 + 8 + 4 || strcmp(end + 9, ".tmp") != 0)
    return 0;
  for (int i = 1; i <= 8; i++)
    if (!isxdigit((unsigned char)end[i]))
      return 0;
  return pid;
}

static int gs__fs_sweep_one(const char *name, void *data) {
  gs_fs_sweep_t *sw = data;
  if (strncmp(name, sw->prefix, sw->prefix_len) != 0)
    return 0;
  long pid = gs__fs_temp_pid(name + sw->prefix_len);
  if (pid == 0 || gs_process_alive(pid))
    return 0; /* not a temporary name, or its writer is still at work (us too) */
  char full[PATH_MAX];
  int n = snprintf(full, sizeof full, "%s/%s", sw->dir, name);
  if (n > 0 && n < (int)sizeof full && unlink(full) == 0)
    sw->removed++;
  return 0;
}

int gs_fs_sweep_temps(const char *path, int *removed) {
  gs_fs_sweep_t sw = {.removed = 0};
  char dir[PATH_MAX];
  int rc = gs__fs_dir_of(path, dir);
  if (rc)
    return rc;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  int n = snprintf(sw.prefix, sizeof sw.prefix, ".%s.", base);
  if (n < 0 || n >= (int)sizeof sw.prefix) {
    errno = ENAMETOOLONG;
    return GS_EINVAL;
  }
  sw.prefix_len = (size_t)n;
  sw.dir = dir;
  rc = gs_fs_list(dir, gs__fs_sweep_one, &sw);
  if (rc == GS_ENOENT)
    rc = 0;
  if (removed)
    *removed = sw.removed;
  return rc;
}

int gs_fs_list(const char *dir, gs_fs_file_cb cb, void *data) {
  DIR *d = opendir(dir);
  if (!d)
    return gs__fs_err(errno);
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (cb(e->d_name, data))
      break;
    errno = 0;
  }
  int rc = e == NULL && errno ? gs__fs_err(errno) : 0;
  closedir(d);
  return rc;
}

int gs_fs_now(int64_t *sec, int32_t *usec) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
    return gs__fs_err(errno);
  *sec = (int64_t)ts.tv_sec;
  *usec = (int32_t)(ts.tv_nsec / 1000);
  return 0;
}

int gs_fs_lock(const char *path, int timeout_ms, int *fd_out) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return gs__fs_err(errno);
  /* flock has no timeout: try, then sleep 1 ms between tries */
  struct timespec pause = {0, 1000000};
  for (int waited = 0;; waited++) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      *fd_out = fd;
      return 0;
    }
    if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= timeout_ms) {
      int e = errno;
      close(fd);
      errno = e;
      return gs__fs_err(e);
    }
    nanosleep(&pause, NULL);
  }
}

void gs_fs_unlock(int fd) {
  close(fd); /* releases the flock */
}
