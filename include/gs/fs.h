/* Small synchronous file-system helpers for start-up work and for the
 * twin's session store (never on a hot path: they block the loop).
 *
 * Every function returns 0 or a negative GS_E* code: GS_ENOENT when a path
 * (or one of its directories) does not exist (an empty path included),
 * GS_EINVAL for a too long path, GS_ENOMEM, and GS_EIO for anything else.
 * On failure errno still holds the cause reported by the system (for
 * messages such as "Permission denied"). Paths are plain C strings owned
 * by the caller. */
#ifndef GS_FS_H
#define GS_FS_H

#include <stddef.h>
#include <stdint.h>

/* Called with each regular file's path relative to the root ("blog/post-1.html"),
 * valid only during the call. Return non-zero to stop the walk. */
typedef int (*gs_fs_file_cb)(const char *relpath, void *data);

/* Walks `root` recursively (not following symlinks, skipping dot files) and
 * calls cb for every regular file whose name ends with `suffix` (NULL: all).
 * Order is unspecified. Returns 0, GS_ENOENT when root is not a readable
 * directory, or GS_EIO. */
int gs_fs_walk(const char *root, const char *suffix, gs_fs_file_cb cb, void *data);

/* What gs_fs_stat and gs_fs_write_atomic report about a file. The exact
 * mtime (mtime_sec, mtime_nsec), size, inode and device together are the
 * file's change stamp: a rename over the path changes the inode, an
 * in-place write the mtime (at the file system's clock granularity) and
 * usually the size. */
typedef struct {
  double mtime;       /* last modification, seconds since the epoch, with the fraction */
  int64_t size;       /* bytes */
  int64_t mtime_sec;  /* last modification exactly: whole seconds since the epoch */
  int32_t mtime_nsec; /* ... and nanoseconds 0..999999999 */
  uint64_t ino;       /* inode number */
  uint64_t dev;       /* device of the file system holding it */
} gs_fs_stat_t;

/* Creates `path` and its missing parents with mode 0755 (as `mkdir -p`, the
 * umask applies). An existing directory is success; an existing
 * non-directory on the way is GS_EIO (errno ENOTDIR). */
int gs_fs_mkdirs(const char *path);

/* Creates `path` exclusively (O_CREAT|O_EXCL, mode 0644 under the usual
 * umask) and writes data[0..len) into it. Sets *existed to 1, writes
 * nothing and returns 0 when the path already existed; otherwise sets it to
 * 0. A failed write removes the new file again. */
int gs_fs_create_excl(const char *path, const void *data, size_t len, int *existed);

/* Fills every field of *st for `path` (symlinks followed: the target's):
 * mtime, size, the exact mtime_sec/mtime_nsec, ino and dev. *st is not
 * touched on failure. */
int gs_fs_stat(const char *path, gs_fs_stat_t *st);

/* Removes the file or empty directory `path` (a symlink itself, never its
 * target); GS_ENOENT when it is missing, GS_EIO for a non-empty directory. */
int gs_fs_remove(const char *path);

/* How gs_fs_write_atomic writes. */
enum {
  GS_FS_DURABLE = 1 /* fsync the file before the rename and its directory after it */
};

/* Replaces `path` with data[0..len) atomically: the bytes go to a hidden
 * temporary file in the same directory (".<name>.<pid>.<random>.tmp", mode
 * 0644 under the umask), which is then renamed over `path`, so a concurrent
 * reader sees the old or the new content, never a mix. Without
 * GS_FS_DURABLE in flags it is atomic against readers, not durable across a
 * power loss; with it the file is fsync'ed before the rename and the
 * directory after it. On a failure up to the rename the temporary file is
 * removed and `path` is unchanged; the directory's fsync failing (after the
 * rename: `path` is already replaced) is reported too. When st is not NULL
 * it receives the new file's stat, every field of gs_fs_stat_t (mtime, size,
 * mtime_sec/mtime_nsec, ino, dev; the rename keeps the inode, so ino and dev
 * are those `path` then has), taken from the written file before the
 * rename, so a writer racing after it cannot be mistaken for this one. On
 * failure *st is unspecified. */
int gs_fs_write_atomic(const char *path, const void *data, size_t len, gs_fs_stat_t *st, int flags);

/* Removes the temporary files that gs_fs_write_atomic left next to `path`
 * when its process died between creating and renaming one (SIGKILL, power
 * loss): those whose pid is no longer a live process. Sets *removed (when
 * not NULL) to how many went. A missing directory is success. */
int gs_fs_sweep_temps(const char *path, int *removed);

/* Calls cb with the name of each entry of directory `dir` (all entries,
 * dot files included, "." and ".." excluded), in readdir order; the name is
 * valid only during the call. Non-zero from cb stops the listing (still 0). */
int gs_fs_list(const char *dir, gs_fs_file_cb cb, void *data);

/* The wall clock (CLOCK_REALTIME, the clock that stamps mtimes) as whole
 * seconds since the epoch and microseconds 0..999999. */
int gs_fs_now(int64_t *sec, int32_t *usec);

/* Takes an exclusive advisory lock (flock) on `path`, created (mode 0644
 * under the umask) when missing and never removed: a lock file beside the
 * file it guards, for read-modify-write cycles of processes sharing that
 * file. Blocks the calling thread up to timeout_ms (about: 1 ms between
 * tries); a lock still held by another then is GS_EIO with errno
 * EWOULDBLOCK. On success *fd_out owns the lock until gs_fs_unlock(*fd_out);
 * a process that dies releases it. */
int gs_fs_lock(const char *path, int timeout_ms, int *fd_out);

/* Releases a lock of gs_fs_lock and closes its descriptor. */
void gs_fs_unlock(int fd);

#endif
