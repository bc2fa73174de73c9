/* Binding of the HS256 tokens (gs/jwt.h); the Lua API is gofr_sim/jwt.lua.
 *
 *   core.jwt_mint{secret=, groups=, ttl=3600, aud=, now=, nbf=0} -> token
 *   core.jwt_verify(token, secret [, {aud=, now=, leeway=0}])
 *     -> claims_json | nil, "auth_error", reason
 *   core.jwt_decode(token) -> header_json, claims_json | nil, "invalid_argument", reason
 *   core.sha256_hex(s) -> 64 lower-case hex digits
 *   core.uuid4() -> a random UUID4, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
 *   core.jwt_sign(alg, key, claims_json [, header_json])
 *     -> token | nil, "invalid_argument", reason
 *   core.jwt_verify_key(token, alg, key) -> claims_json | nil, "auth_error", reason
 *   core.jwt_keygen(alg) -> private_pem, public_pem      (RS* or ES*)
 *   core.sha256(s) -> the 32 raw bytes of its SHA-256
 *   core.random_bytes(n) -> n random bytes (OpenSSL), 0 <= n <= 4096
 *   core.base64_encode(s [, "url"]) -> base64 ("std": padded; "url": base64url, no '=')
 *   core.base64_decode(s [, "url"]) -> bytes | nil  (strict; "url" accepts no '=')
 *
 * Times are epoch seconds and must be whole numbers; now defaults to the
 * wall clock. aud absent or false: no aud claim (mint) / aud not checked
 * (verify). Wrong argument types raise; the JSON is decoded in Lua.
 *
 * Ownership: strings from the core are pushed, then freed here; the group
 * pointer array is a Lua userdata, so a raise leaks nothing. */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs/base64.h"
#include "gs/error.h"
#include "gs/jwt.h"
#include "lua_bindings.h"

/* Field `k` of the table at t as whole seconds, or def when nil. */
static int64_t gs__ljwt_time(lua_State *L, int t, const char *fname, const char *k, int64_t def) {
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "%s: option '%s' must be a number, got %s", fname, k, luaL_typename(L, -1));
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v == floor(v)) || fabs(v) >= 9.2e18)
    luaL_error(L, "%s: option '%s' must be a whole number of seconds", fname, k);
  return (int64_t)v;
}

/* Field `k` of the table at t as a string without NUL bytes, or NULL when
 * nil or false. The string stays referenced by the table. */
static const char *gs__ljwt_optstr(lua_State *L, int t, const char *fname, const char *k) {
  lua_getfield(L, t, k);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t n;
    s = lua_tolstring(L, -1, &n);
    if (strlen(s) != n)
      luaL_error(L, "%s: option '%s' must not contain NUL bytes", fname, k);
  } else if (!lua_isnil(L, -1) && !(lua_isboolean(L, -1) && !lua_toboolean(L, -1))) {
    luaL_error(L, "%s: option '%s' must be a string, got %s", fname, k, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return s;
}

/* core.jwt_mint(opts) -> token */
static int gs__ljwt_mint(lua_State *L) {
  static const char fname[] = "jwt_mint";
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "secret");
  size_t secret_len = 0;
  const char *secret = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &secret_len) : NULL;
  if (!secret || secret_len == 0)
    return luaL_error(L, "%s: option 'secret' must be a non-empty string", fname);
  /* the secret stays on the stack (index 2) while it is used */

  lua_getfield(L, 1, "groups");
  int gidx = lua_gettop(L);
  size_t ngroups = 0;
  const char **groups = NULL;
  if (!lua_isnil(L, gidx)) {
    if (!lua_istable(L, gidx))
      return luaL_error(L, "%s: option 'groups' must be an array of strings, got %s", fname,
                        luaL_typename(L, gidx));
    ngroups = lua_objlen(L, gidx);
    if (ngroups > GS_JWT_MAX_GROUPS)
      return luaL_error(L, "%s: option 'groups' has more than %d entries", fname,
                        GS_JWT_MAX_GROUPS);
    groups = lua_newuserdata(L, (ngroups ? ngroups : 1) * sizeof *groups);
    for (size_t i = 0; i < ngroups; i++) {
      lua_rawgeti(L, gidx, (int)i + 1);
      size_t n;
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "%s: option 'groups' must be an array of strings (entry %d is a %s)",
                          fname, (int)i + 1, luaL_typename(L, -1));
      groups[i] = lua_tolstring(L, -1, &n); /* kept alive by the groups table */
      if (strlen(groups[i]) != n)
        return luaL_error(L, "%s: group %d contains a NUL byte", fname, (int)i + 1);
      lua_pop(L, 1);
    }
  }
  const char *aud = gs__ljwt_optstr(L, 1, fname, "aud");
  int64_t ttl = gs__ljwt_time(L, 1, fname, "ttl", 3600);
  int64_t now = gs__ljwt_time(L, 1, fname, "now", (int64_t)time(NULL));
  int64_t nbf = gs__ljwt_time(L, 1, fname, "nbf", 0);

  char *token = NULL;
  int rc = gs_jwt_mint(secret, secret_len, groups, ngroups, ttl, nbf, aud, now, &token);
  if (rc)
    return luaL_error(L, "%s: %s%s", fname, gs_strerror(rc),
                      rc == GS_EINVAL ? " (groups and aud must be valid UTF-8, times must fit in "
                                        "64 bits, groups at most 32 KiB)"
                                      : "");
  lua_pushstring(L, token);
  free(token);
  return 1;
}

/* core.jwt_verify(token, secret [, opts]) -> claims_json | nil, "auth_error", reason */
static int gs__ljwt_verify(lua_State *L) {
  static const char fname[] = "jwt_verify";
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "%s: token must be a string, got %s", fname, luaL_typename(L, 1));
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "%s: secret must be a string, got %s", fname, luaL_typename(L, 2));
  size_t tlen, secret_len;
  const char *token = lua_tolstring(L, 1, &tlen);
  const char *secret = lua_tolstring(L, 2, &secret_len);
  if (secret_len == 0)
    return luaL_error(L, "%s: secret must not be empty", fname);
  const char *aud = NULL;
  int64_t now = (int64_t)time(NULL), leeway = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    aud = gs__ljwt_optstr(L, 3, fname, "aud");
    now = gs__ljwt_time(L, 3, fname, "now", now);
    leeway = gs__ljwt_time(L, 3, fname, "leeway", 0);
    if (leeway < 0)
      return luaL_error(L, "%s: option 'leeway' must not be negative", fname);
  }
  if (strlen(token) != tlen) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(GS_EAUTH));
    lua_pushliteral(L, "Invalid token: contains a NUL byte");
    return 3;
  }
  char err[256];
  char *claims = NULL;
  int rc = gs_jwt_verify(token, secret, secret_len, aud, now, leeway, &claims, err, sizeof err);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushstring(L, err);
    return 3;
  }
  lua_pushstring(L, claims);
  free(claims);
  return 1;
}

/* core.jwt_decode(token) -> header_json, claims_json | nil, "invalid_argument", reason */
static int gs__ljwt_decode(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "jwt_decode: token must be a string, got %s", luaL_typename(L, 1));
  size_t tlen;
  const char *token = lua_tolstring(L, 1, &tlen);
  char *header = NULL, *claims = NULL;
  int rc = strlen(token) != tlen ? GS_EINVAL : gs_jwt_decode(token, &header, &claims);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    if (rc == GS_EINVAL)
      lua_pushliteral(L, "jwt_decode: not a JWT (three base64url segments, the first two "
                         "JSON objects)");
    else
      lua_pushfstring(L, "jwt_decode: %s", gs_strerror(rc));
    return 3;
  }
  lua_pushstring(L, header);
  lua_pushstring(L, claims);
  free(header);
  free(claims);
  return 2;
}

/* core.uuid4() -> a random UUID4 string (36 characters) */
static int gs__ljwt_uuid4(lua_State *L) {
  char id[37];
  if (gs_jwt_uuid4(id))
    return luaL_error(L, "uuid4: the random generator failed");
  lua_pushlstring(L, id, 36);
  return 1;
}

/* core.sha256_hex(s) -> hex */
static int gs__ljwt_sha256_hex(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "sha256_hex: expected a string, got %s", luaL_typename(L, 1));
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  char hex[65];
  if (gs_jwt_sha256_hex(s, n, hex))
    return luaL_error(L, "sha256_hex: out of memory");
  lua_pushlstring(L, hex, 64);
  return 1;
}

/* A string argument without NUL bytes. */
static const char *gs__ljwt_cstr(lua_State *L, int i, const char *fname, const char *what,
                                 size_t *len) {
  if (lua_type(L, i) != LUA_TSTRING)
    luaL_error(L, "%s: %s must be a string, got %s", fname, what, luaL_typename(L, i));
  size_t n;
  const char *s = lua_tolstring(L, i, &n);
  if (strlen(s) != n)
    luaL_error(L, "%s: %s must not contain NUL bytes", fname, what);
  if (len)
    *len = n;
  return s;
}

/* core.jwt_sign(alg, key, claims_json [, header_json]) -> token | nil, "invalid_argument", why */
static int gs__ljwt_sign(lua_State *L) {
  static const char fname[] = "jwt_sign";
  const char *alg = gs__ljwt_cstr(L, 1, fname, "alg", NULL);
  if (!gs_jwt_alg_supported(alg))
    return luaL_error(L,
                      "%s: alg must be HS256, HS384, HS512, RS256, RS384, RS512, ES256, "
                      "ES384 or ES512, got '%s'",
                      fname, alg);
  if (lua_type(L, 2) != LUA_TSTRING)
    return luaL_error(L, "%s: key must be a string, got %s", fname, luaL_typename(L, 2));
  size_t klen;
  const char *key = lua_tolstring(L, 2, &klen);
  if (klen == 0)
    return luaL_error(L, "%s: key must not be empty", fname);
  const char *claims = gs__ljwt_cstr(L, 3, fname, "claims_json", NULL);
  const char *header =
      lua_isnoneornil(L, 4) ? NULL : gs__ljwt_cstr(L, 4, fname, "header_json", NULL);
  char *token = NULL;
  int rc = gs_jwt_sign(alg, key, klen, header, claims, &token);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    if (rc == GS_EINVAL)
      lua_pushfstring(L,
                      "%s: cannot sign with %s (the key is not a %s key, or the claims or "
                      "header are not JSON objects, or the header names alg or typ)",
                      fname, alg, alg[0] == 'H' ? "usable" : "PEM private");
    else
      lua_pushfstring(L, "%s: %s", fname, gs_strerror(rc));
    return 3;
  }
  lua_pushstring(L, token);
  free(token);
  return 1;
}

/* core.jwt_verify_key(token, alg, key) -> claims_json | nil, "auth_error", reason */
static int gs__ljwt_verify_key(lua_State *L) {
  static const char fname[] = "jwt_verify_key";
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "%s: token must be a string, got %s", fname, luaL_typename(L, 1));
  const char *alg = gs__ljwt_cstr(L, 2, fname, "alg", NULL);
  if (!gs_jwt_alg_supported(alg))
    return luaL_error(L, "%s: unsupported alg '%s'", fname, alg);
  if (lua_type(L, 3) != LUA_TSTRING)
    return luaL_error(L, "%s: key must be a string, got %s", fname, luaL_typename(L, 3));
  size_t tlen, klen;
  const char *token = lua_tolstring(L, 1, &tlen);
  const char *key = lua_tolstring(L, 3, &klen);
  if (klen == 0)
    return luaL_error(L, "%s: key must not be empty", fname);
  char err[256];
  char *claims = NULL;
  int rc = strlen(token) != tlen
               ? GS_EAUTH
               : gs_jwt_verify_key(token, alg, key, klen, &claims, err, sizeof err);
  if (rc) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(rc));
    lua_pushstring(L, strlen(token) != tlen ? "Invalid token: contains a NUL byte" : err);
    return 3;
  }
  lua_pushstring(L, claims);
  free(claims);
  return 1;
}

/* core.jwt_keygen(alg) -> private_pem, public_pem */
static int gs__ljwt_keygen(lua_State *L) {
  const char *alg = gs__ljwt_cstr(L, 1, "jwt_keygen", "alg", NULL);
  char *priv = NULL, *pub = NULL;
  int rc = gs_jwt_keygen(alg, &priv, &pub);
  if (rc == GS_EINVAL)
    return luaL_error(L,
                      "jwt_keygen: alg must be RS256, RS384, RS512, ES256, ES384 or ES512, "
                      "got '%s'",
                      alg);
  if (rc)
    return luaL_error(L, "jwt_keygen: %s", gs_strerror(rc));
  lua_pushstring(L, priv);
  lua_pushstring(L, pub);
  free(priv);
  free(pub);
  return 2;
}

/* core.sha256(s) -> 32 bytes */
static int gs__ljwt_sha256(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "sha256: expected a string, got %s", luaL_typename(L, 1));
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  unsigned char md[32];
  if (gs_jwt_sha256(s, n, md))
    return luaL_error(L, "sha256: out of memory");
  lua_pushlstring(L, (const char *)md, sizeof md);
  return 1;
}

/* core.random_bytes(n) -> n random bytes */
static int gs__ljwt_random_bytes(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 0 || n > 4096)
    return luaL_error(L, "random_bytes: n must be 0 to 4096, got %d", (int)n);
  unsigned char buf[4096];
  if (gs_jwt_random(buf, (size_t)n))
    return luaL_error(L, "random_bytes: the random generator failed");
  lua_pushlstring(L, (const char *)buf, (size_t)n);
  return 1;
}

/* The flags of an optional variant argument: "std" (default) or "url". */
static unsigned gs__ljwt_b64_flags(lua_State *L, int i, const char *fname, int encode) {
  const char *v = luaL_optstring(L, i, "std");
  if (strcmp(v, "std") == 0)
    return GS_BASE64_PAD;
  if (strcmp(v, "url") == 0)
    return GS_BASE64_URL | (encode ? 0u : GS_BASE64_ANY_BITS);
  luaL_error(L, "%s: variant must be \"std\" or \"url\", got '%s'", fname, v);
  return 0;
}

/* core.base64_encode(s [, variant]) -> text */
static int gs__ljwt_b64_encode(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "base64_encode: expected a string, got %s", luaL_typename(L, 1));
  unsigned flags = gs__ljwt_b64_flags(L, 2, "base64_encode", 1);
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  if (n > GS_BASE64_MAX_BYTES)
    return luaL_error(L, "base64_encode: input too long");
  size_t out = gs_base64_encoded_len(n, flags);
  char *dst = lua_newuserdata(L, out + 1);
  size_t k = gs_base64_encode(s, n, flags, dst);
  lua_pushlstring(L, dst, k);
  return 1;
}

/* core.base64_decode(s [, variant]) -> bytes | nil */
static int gs__ljwt_b64_decode(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING)
    return luaL_error(L, "base64_decode: expected a string, got %s", luaL_typename(L, 1));
  unsigned flags = gs__ljwt_b64_flags(L, 2, "base64_decode", 0);
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  char *dst = lua_newuserdata(L, gs_base64_decoded_max(n) + 1);
  size_t k = 0;
  if (gs_base64_decode(s, n, flags, dst, &k)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, dst, k);
  return 1;
}

void gs_lua_open_jwt(lua_State *L) {
  static const luaL_Reg fns[] = {{"jwt_mint", gs__ljwt_mint},
                                 {"jwt_verify", gs__ljwt_verify},
                                 {"jwt_decode", gs__ljwt_decode},
                                 {"sha256_hex", gs__ljwt_sha256_hex},
                                 {"uuid4", gs__ljwt_uuid4},
                                 {"jwt_sign", gs__ljwt_sign},
                                 {"jwt_verify_key", gs__ljwt_verify_key},
                                 {"jwt_keygen", gs__ljwt_keygen},
                                 {"sha256", gs__ljwt_sha256},
                                 {"random_bytes", gs__ljwt_random_bytes},
                                 {"base64_encode", gs__ljwt_b64_encode},
                                 {"base64_decode", gs__ljwt_b64_decode},
                                 {NULL, NULL}};
  for (const luaL_Reg *f = fns; f->name; f++) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
}
