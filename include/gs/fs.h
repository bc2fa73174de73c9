/* Small synchronous file-system helpers for start-up work (never on a hot
 * path: they block the loop). */
#ifndef GS_FS_H
#define GS_FS_H

#include <stddef.h>

/* Called with each regular file's path relative to the root ("blog/post-1.html"),
 * valid only during the call. Return non-zero to stop the walk. */
typedef int (*gs_fs_file_cb)(const char *relpath, void *data);

/* Walks `root` recursively (not following symlinks, skipping dot files) and
 * calls cb for every regular file whose name ends with `suffix` (NULL: all).
 * Order is unspecified. Returns 0, GS_ENOENT when root is not a readable
 * directory, or GS_EIO. */
int gs_fs_walk(const char *root, const char *suffix, gs_fs_file_cb cb, void *data);

#endif
