/* Binding of the file-system helpers of gs/fs.h (src/core/fs.c) as
 * core.fs_*. Their Lua users: the twin (session storage, housekeeper, token
 * store), the recorder, reports (written durably), the matrix and the
 * target. They block the loop: start-up work and small files only.
 *
 *   core.fs_mkdirs(path) -> true | nil, err_type, message
 *       (mkdir -p, mode 0755 under the umask; an existing directory is fine)
 *   core.fs_create_excl(path [, data]) -> true (created, data written)
 *                                         | false (it existed, untouched)
 *                                         | nil, err_type, message
 *   core.fs_stat(path) -> stat | nil, err_type, message  (symlinks followed)
 *   core.fs_remove(path) -> true | nil, err_type, message
 *       (a file, a symlink itself, or an empty directory)
 *   core.fs_write_atomic(path, data [, durable]) -> stat of the new file
 *                                                  | nil, err_type, message
 *       (a hidden temporary file in the same directory, renamed over path;
 *       durable (any true value): fsync the file, and its directory after
 *       the rename, for reports; the stat is taken before the rename)
 *   core.fs_sweep_temps(path) -> how many temporary files of dead writers
 *                                next to path were removed | nil, err_type, message
 *   core.fs_list(dir) -> {name, ...} | nil, err_type, message
 *       (readdir order; dot files included, "." and ".." not)
 *   core.fs_now() -> seconds, microseconds (the wall clock that stamps
 *                    mtimes, two integers; raises if it is unavailable)
 *   core.fs_lock(path, timeout_seconds) -> lock | nil, err_type, message
 *       (an exclusive flock on the lock file `path`, created if missing;
 *       blocks the thread up to timeout_seconds; held by another process
 *       that long: "io_error", "<path>: still locked after N s")
 *   lock:unlock() -> true (releases it; again: a no-op; a collected lock
 *       is released too)
 *
 * stat is {mtime=, size=, mtime_sec=, mtime_nsec=, ino=, dev=}
 * (gs_fs_stat_t): mtime is seconds since the epoch with the fraction (a
 * double: about a quarter of a microsecond apart today); mtime_sec and
 * mtime_nsec are the exact whole seconds and nanoseconds; size is in bytes;
 * ino and dev are the inode and device numbers (exact below 2^53).
 * mtime_sec, mtime_nsec, size, ino and dev together are the stamp that tells
 * a file changed (a rename over the path changes ino).
 *
 * err_type is "not_found", "io_error", "invalid_argument" (a path too long)
 * or "out_of_memory"; message is "<path>: <the system's reason>". Paths and
 * data that are not strings, and paths containing NUL bytes, raise.
 *
 * A lock is a userdata owning the descriptor; util/fs.with_lock pairs lock
 * and unlock around a function (the only caller).
 *
 * Ownership: fs_list collects the names in a malloc'd buffer (no Lua call
 * can raise while the directory is open), copies them into a table under
 * lua_pcall and frees the buffer whatever happens. Nothing else is kept
 * past a call. */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/fs.h"
#include "lua_bindings.h"

/* Argument i as a path: a string without NUL bytes. */
static const char *gs__lfs_path(lua_State *L, int i, const char *fname) {
  if (lua_type(L, i) != LUA_TSTRING)
    luaL_error(L, "%s: path must be a string, got %s", fname, luaL_typename(L, i));
  size_t n;
  const char *path = lua_tolstring(L, i, &n);
  if (strlen(path) != n)
    luaL_error(L, "%s: path must not contain NUL bytes", fname);
  return path;
}

/* Pushes nil, err_type, "<path>: <strerror(errno)>"; errno must still hold
 * the cause of rc. */
static int gs__lfs_fail(lua_State *L, int rc, const char *path) {
  const char *why = errno ? strerror(errno) : gs_strerror(rc);
  lua_pushnil(L);
  lua_pushstring(L, gs_err_type(rc));
  lua_pushfstring(L, "%s: %s", path, why);
  return 3;
}

static int gs__lfs_push_stat(lua_State *L, const gs_fs_stat_t *st) {
  lua_createtable(L, 0, 6);
  lua_pushnumber(L, st->mtime);
  lua_setfield(L, -2, "mtime");
  lua_pushnumber(L, (lua_Number)st->size);
  lua_setfield(L, -2, "size");
  lua_pushnumber(L, (lua_Number)st->mtime_sec);
  lua_setfield(L, -2, "mtime_sec");
  lua_pushnumber(L, (lua_Number)st->mtime_nsec);
  lua_setfield(L, -2, "mtime_nsec");
  lua_pushnumber(L, (lua_Number)st->ino);
  lua_setfield(L, -2, "ino");
  lua_pushnumber(L, (lua_Number)st->dev);
  lua_setfield(L, -2, "dev");
  return 1;
}

/* core.fs_mkdirs(path) -> true | nil, err_type, message */
static int gs__lfs_mkdirs(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_mkdirs");
  int rc = gs_fs_mkdirs(path);
  if (rc)
    return gs__lfs_fail(L, rc, path);
  lua_pushboolean(L, 1);
  return 1;
}

/* core.fs_create_excl(path [, data]) -> created | nil, err_type, message */
static int gs__lfs_create_excl(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_create_excl");
  size_t len = 0;
  const char *data = "";
  if (!lua_isnoneornil(L, 2)) {
    if (lua_type(L, 2) != LUA_TSTRING)
      return luaL_error(L, "fs_create_excl: data must be a string, got %s", luaL_typename(L, 2));
    data = lua_tolstring(L, 2, &len);
  }
  int existed = 0;
  int rc = gs_fs_create_excl(path, data, len, &existed);
  if (rc)
    return gs__lfs_fail(L, rc, path);
  lua_pushboolean(L, !existed);
  return 1;
}

/* core.fs_stat(path) -> {mtime=, size=, mtime_sec=, mtime_nsec=, ino=, dev=} | nil, err_type,
 * message */
static int gs__lfs_stat(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_stat");
  gs_fs_stat_t st;
  int rc = gs_fs_stat(path, &st);
  return rc ? gs__lfs_fail(L, rc, path) : gs__lfs_push_stat(L, &st);
}

/* core.fs_remove(path) -> true | nil, err_type, message */
static int gs__lfs_remove(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_remove");
  int rc = gs_fs_remove(path);
  if (rc)
    return gs__lfs_fail(L, rc, path);
  lua_pushboolean(L, 1);
  return 1;
}

/* core.fs_write_atomic(path, data [, durable]) -> the new file's stat table | nil, err_type,
 * message */
static int gs__lfs_write_atomic(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_write_atomic");
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "fs_write_atomic: data must be a string, got %s", luaL_typename(L, 2));
  size_t len;
  const char *data = lua_tolstring(L, 2, &len);
  gs_fs_stat_t st;
  int rc = gs_fs_write_atomic(path, data, len, &st, lua_toboolean(L, 3) ? GS_FS_DURABLE : 0);
  return rc ? gs__lfs_fail(L, rc, path) : gs__lfs_push_stat(L, &st);
}

/* core.fs_sweep_temps(path) -> removed | nil, err_type, message */
static int gs__lfs_sweep_temps(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_sweep_temps");
  int removed = 0;
  int rc = gs_fs_sweep_temps(path, &removed);
  if (rc)
    return gs__lfs_fail(L, rc, path);
  lua_pushinteger(L, removed);
  return 1;
}

/* Entry names, NUL-terminated one after another. */
typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
} gs__lfs_names_t;

static int gs__lfs_collect(const char *name, void *data) {
  gs__lfs_names_t *names = data;
  size_t n = strlen(name) + 1;
  if (names->len + n > names->cap) {
    size_t cap = names->cap ? names->cap * 2 : 1024;
    while (cap < names->len + n)
      cap *= 2;
    char *buf = realloc(names->buf, cap);
    if (!buf) {
      names->oom = 1;
      return 1;
    }
    names->buf = buf;
    names->cap = cap;
  }
  memcpy(names->buf + names->len, name, n);
  names->len += n;
  return 0;
}

/* Copies the gs__lfs_names_t (light userdata at 1) into a new array table;
 * run under lua_pcall so that an allocation error cannot leak the buffer. */
static int gs__lfs_names_table(lua_State *L) {
  const gs__lfs_names_t *names = lua_touserdata(L, 1);
  lua_newtable(L);
  int i = 0;
  for (size_t off = 0; off < names->len; off += strlen(names->buf + off) + 1) {
    lua_pushstring(L, names->buf + off);
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

/* core.fs_list(dir) -> {name, ...} | nil, err_type, message */
static int gs__lfs_list(lua_State *L) {
  const char *dir = gs__lfs_path(L, 1, "fs_list");
  gs__lfs_names_t names = {NULL, 0, 0, 0};
  int rc = gs_fs_list(dir, gs__lfs_collect, &names);
  if (rc == 0 && names.oom) {
    errno = ENOMEM;
    rc = GS_ENOMEM;
  }
  if (rc) {
    free(names.buf);
    return gs__lfs_fail(L, rc, dir);
  }
  lua_pushcfunction(L, gs__lfs_names_table);
  lua_pushlightuserdata(L, &names);
  int status = lua_pcall(L, 1, 1, 0);
  free(names.buf);
  if (status)
    return lua_error(L);
  return 1;
}

/* core.fs_now() -> seconds, microseconds */
static int gs__lfs_now(lua_State *L) {
  int64_t sec;
  int32_t usec;
  if (gs_fs_now(&sec, &usec))
    return luaL_error(L, "fs_now: the wall clock is unavailable");
  lua_pushnumber(L, (lua_Number)sec);
  lua_pushinteger(L, usec);
  return 2;
}

#define GS_LFS_LOCK_MT "gofr_sim.fs_lock"
static const char gs__lfs_lock_mt_key; /* its address: the metatable's registry key */

/* A held lock: its descriptor, -1 once released. */
typedef struct {
  int fd;
} gs_lfs_lock_t;

/* core.fs_lock(path, timeout_seconds) -> lock | nil, err_type, message */
static int gs__lfs_lock(lua_State *L) {
  const char *path = gs__lfs_path(L, 1, "fs_lock");
  lua_Number timeout = luaL_checknumber(L, 2);
  if (!(timeout >= 0 && timeout <= 3600))
    return luaL_error(L, "fs_lock: timeout must be 0..3600 seconds");
  gs_lfs_lock_t *lock = lua_newuserdata(L, sizeof *lock); /* before the lock: may raise */
  lock->fd = -1;
  gs_lua_push_mt(L, &gs__lfs_lock_mt_key);
  lua_setmetatable(L, -2);
  errno = 0;
  int rc = gs_fs_lock(path, (int)(timeout * 1000), &lock->fd);
  if (rc && errno == EWOULDBLOCK) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushfstring(L, "%s: still locked after %f s", path, timeout);
    return 3;
  }
  return rc ? gs__lfs_fail(L, rc, path) : 1;
}

/* lock:unlock() -> true (again: a no-op); also the lock's __gc */
static int gs__lfs_unlock(lua_State *L) {
  gs_lfs_lock_t *lock = gs_lua_checkudata(L, 1, &gs__lfs_lock_mt_key, GS_LFS_LOCK_MT);
  if (lock->fd >= 0)
    gs_fs_unlock(lock->fd);
  lock->fd = -1;
  lua_pushboolean(L, 1);
  return 1;
}

void gs_lua_open_fs(lua_State *L) {
  static const luaL_Reg fns[] = {{"fs_mkdirs", gs__lfs_mkdirs},
                                 {"fs_create_excl", gs__lfs_create_excl},
                                 {"fs_stat", gs__lfs_stat},
                                 {"fs_remove", gs__lfs_remove},
                                 {"fs_write_atomic", gs__lfs_write_atomic},
                                 {"fs_sweep_temps", gs__lfs_sweep_temps},
                                 {"fs_list", gs__lfs_list},
                                 {"fs_now", gs__lfs_now},
                                 {"fs_lock", gs__lfs_lock},
                                 {NULL, NULL}};
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
  luaL_newmetatable(L, GS_LFS_LOCK_MT);
  lua_pushcfunction(L, gs__lfs_unlock);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  lua_pushcfunction(L, gs__lfs_unlock);
  lua_setfield(L, -2, "unlock");
  lua_setfield(L, -2, "__index");
  gs_lua_register_mt(L, -1, &gs__lfs_lock_mt_key);
  lua_pop(L, 1);
}
