#include "gs/fs.h"

#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "gs/error.h"

static int gs_has_suffix(const char *name, const char *suffix) {
  size_t n = strlen(name), s = strlen(suffix);
  return n >= s && memcmp(name + n - s, suffix, s) == 0;
}

/* path holds root + "/" + rel; rel_off is where rel starts inside path. */
static int gs_fs_walk_dir(char *path, size_t rel_off, const char *suffix, gs_fs_file_cb cb,
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
        rc = gs_fs_walk_dir(path, rel_off, suffix, cb, data);
      else if (S_ISREG(st.st_mode) && (!suffix || gs_has_suffix(e->d_name, suffix)))
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
  return gs_fs_walk_dir(path, n + 1, suffix, cb, data);
}
