/* Binding of the embedded HTTP server (gs/http_server.h) with requests
 * handled by Lua personas:
 *
 *   core.server_listen(handler, host, port, limits)
 *     -> server | nil, err_type, message
 * limits: nil or {max_header=, max_body=, max_output=, max_connections= (counts
 * of bytes or connections), header_timeout=, idle_timeout=, write_timeout=
 * (seconds)}; validated by lua/gofr_sim/server.lua, absent ones default.
 *   server:port()  server:connections()  server:close()
 *
 * Every request runs handler(req, res) as a new persona (gs_runtime_spawn),
 * so the handler may yield (sim.sleep, sim.http ...).
 *   req = { method=, target= (raw), path= (before '?'), query= (after '?', or
 *           ""), headers= { [lower-case name] = value, repeats joined ", " },
 *           body= }
 *   res:send(status, headers, body) -> true | false
 *   res:start(status, headers)      -> true | false   (chunked body follows)
 *   res:write(chunk)                -> true | false
 *   res:finish()                    -> true | false
 *   res:drop()                         closes the connection, no answer
 *   res.closed                         true once the peer went away (or drop)
 * false means the connection is gone (peer closed, server closed, write
 * failed): the handler should stop. Misuse (send twice, write before start,
 * bad status or header) raises. `headers` maps names to a string, a number or
 * an array of strings (one line each); Content-Length and Transfer-Encoding
 * are the server's and ignored. Back-pressure: res:write copies the chunk
 * into the C server's output queue, then waits (yields) while more than
 * max_output bytes are queued for the connection; res:send with a body over
 * 64 KiB sends it in pieces as the client takes them, waiting likewise.
 *
 * When the handler's persona ends without answering: returned -> 500 and a
 * log line (once per server); raised (reported and counted by the runtime)
 * or aborted -> 500. A started stream is finished when the handler returns
 * and dropped (the peer sees a truncated body) when it raised or was aborted.
 *
 * Ownership:
 * - gs_lsrv_t (malloc) is shared by the server userdata, the C server (its
 *   on_request/on_closed data) and every exchange box; `refs` counts the C
 *   server (until on_closed) and the boxes. close() (or __gc) releases the
 *   Lua references (handler, dispatch thread) and closes the C server, whose
 *   abort callbacks run at once; on_closed drops the C server's reference.
 * - gs_lexch_t (malloc), one per request, is shared by the res userdata
 *   (released by its __gc) and the persona's done hook (released when the
 *   persona finishes); `refs` counts both. x->ex is the C exchange while it
 *   may still be answered; the abort callback, answering and dropping clear
 *   it, so the binding never touches an exchange the server has retired.
 *   The abort callback and the done hook never touch Lua. The __gc of a res
 *   whose exchange is still open (the handler lost it) drops the connection.
 * - While res:write or res:send waits for the queue to drain, the exchange
 *   box holds a reference for the wait (released by its retvals or cleanup)
 *   and `waiter` is the persona; a streamed res:send body is anchored in the
 *   res userdata's environment table and x->body points into it until the
 *   last piece is queued or the wait ends.
 * - Requests are turned into Lua values on a thread of the server's own
 *   (anchored in the registry while the server is open), under lua_cpcall, so
 *   a Lua memory error in an I/O callback is caught (the request gets 500). */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/http_server.h"
#include "lua_bindings.h"
#include "lua_runtime.h"

static const char *const GS_LSRV_MT = "gofr_sim.server";
static const char *const GS_LRES_MT = "gofr_sim.server.response";

typedef struct {
  gs_http_server_t *srv; /* NULL once close was asked */
  lua_State *L;          /* dispatch thread, NULL once closed */
  int L_ref, handler_ref;
  size_t refs;
  int warned;      /* "returned without answering" was logged */
  int dispatching; /* nesting depth of gs__lsrv_on_request */
  int release;     /* closed while dispatching: release L_ref/handler_ref after */
} gs_lsrv_t;

typedef struct {
  gs_http_exchange_t *ex; /* NULL once answered, dropped or aborted */
  gs_lsrv_t *s;
  int refs;
  gs_persona_t *waiter; /* waiting in res:write / res:send for the queue to drain */
  const char *body;     /* res:send streaming: the rest of the body, or NULL */
  size_t body_len, body_sent;
  int ok;                /* the waiting call's result */
  unsigned started : 1;  /* res:start succeeded */
  unsigned answered : 1; /* send, finish or drop was called (or the hook answered) */
  unsigned closed : 1;   /* the connection went away first, or drop */
} gs_lexch_t;

typedef struct {
  gs_lsrv_t *s; /* NULL once closed */
} gs_lsrv_ud_t;

typedef struct {
  gs_lexch_t *x; /* NULL after __gc */
} gs_lres_ud_t;

#define GS_LSRV_INLINE (64 * 1024) /* res:send bodies above this are streamed */

static const char gs_lsrv_500[] = "500 Internal Server Error\n";
static const gs_http_header_t gs_lsrv_500_ct = {"Content-Type", "text/plain; charset=utf-8"};

/* ---- shared state ------------------------------------------------------- */

/* Drops the server's Lua references (the dispatch thread may then be
 * collected: never while a request is being dispatched on it). */
static void gs__lsrv_release_lua(gs_lsrv_t *s, lua_State *L) {
  luaL_unref(L, LUA_REGISTRYINDEX, s->handler_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, s->L_ref);
  s->handler_ref = s->L_ref = LUA_NOREF;
  s->L = NULL;
  s->release = 0;
}

static void gs__lsrv_unref(gs_lsrv_t *s) {
  if (--s->refs == 0)
    free(s);
}

static void gs__lexch_unref(gs_lexch_t *x) {
  if (--x->refs == 0) {
    gs__lsrv_unref(x->s);
    free(x);
  }
}

static void gs__lexch_respond_500(gs_lexch_t *x) {
  gs_http_exchange_t *ex = x->ex;
  x->ex = NULL;
  x->answered = 1;
  gs_http_exchange_respond(ex, 500, &gs_lsrv_500_ct, 1, gs_lsrv_500, sizeof gs_lsrv_500 - 1);
}

/* Wakes a persona waiting for the queue to drain, with result ok. */
static void gs__lexch_wake(gs_lexch_t *x, int ok) {
  x->body = NULL;
  x->ok = ok;
  if (x->waiter)
    gs_persona_wake(x->waiter);
}

static void gs__lexch_drop(gs_lexch_t *x) {
  gs_http_exchange_t *ex = x->ex;
  x->ex = NULL;
  x->answered = 1;
  x->closed = 1;
  gs_http_exchange_drop(ex);
  gs__lexch_wake(x, 0);
}

/* The connection went away: the exchange is invalid from now on. */
static void gs__lexch_aborted(gs_http_exchange_t *ex, void *data) {
  gs_lexch_t *x = data;
  x->ex = NULL;
  x->closed = 1;
  gs__lexch_wake(x, 0);
}

static void gs__lexch_drained(gs_http_exchange_t *ex, void *data);

/* Queues the rest of a streamed res:send while the connection takes it.
 * Returns 1 when done (x->ok tells how), 0 when waiting for the drain. */
static int gs__lexch_pump(gs_lexch_t *x) {
  while (x->ex && x->body_sent < x->body_len && !gs_http_exchange_congested(x->ex)) {
    size_t n = x->body_len - x->body_sent;
    n = n < GS_LSRV_INLINE ? n : GS_LSRV_INLINE;
    if (gs_http_exchange_write(x->ex, x->body + x->body_sent, n) < 0)
      break; /* the abort callback cleared x->ex */
    x->body_sent += n;
  }
  if (!x->ex) {
    x->ok = 0;
    return 1;
  }
  if (x->body_sent < x->body_len) {
    gs_http_exchange_on_drain(x->ex, gs__lexch_drained, x);
    return 0;
  }
  gs_http_exchange_t *ex = x->ex;
  x->ex = NULL;
  x->body = NULL;
  x->ok = gs_http_exchange_end(ex) == 0;
  return 1;
}

/* The queue drained: a streamed send goes on, a waiting write returns. */
static void gs__lexch_drained(gs_http_exchange_t *ex, void *data) {
  gs_lexch_t *x = data;
  if (!x->body)
    gs__lexch_wake(x, 1);
  else if (gs__lexch_pump(x))
    gs__lexch_wake(x, x->ok);
}

/* The handler's persona finished (no Lua here). */
static void gs__lexch_done(int how, void *data) {
  gs_lexch_t *x = data;
  if (x->ex) {
    if (x->started) {
      if (how == GS_PERSONA_RETURNED) {
        gs_http_exchange_t *ex = x->ex;
        x->answered = 1;
        gs_http_exchange_end(ex); /* may abort (x->ex cleared) if the send fails */
        x->ex = NULL;
      } else {
        gs__lexch_drop(x);
      }
    } else {
      if (how == GS_PERSONA_RETURNED && !x->s->warned) {
        x->s->warned = 1;
        fprintf(stderr, "gofr-sim: sim.server: a handler returned without answering; "
                        "answered 500 (logged once per server)\n");
      }
      gs__lexch_respond_500(x);
    }
  }
  gs__lexch_unref(x);
}

/* ---- requests ----------------------------------------------------------- */

typedef struct {
  gs_lsrv_t *s;
  gs_lexch_t *x;
  const gs_http_request_info_t *req;
} gs_lsrv_dispatch_t;

static void gs__lsrv_setstr(lua_State *L, const char *k, const char *v, size_t len) {
  lua_pushlstring(L, v, len);
  lua_setfield(L, -2, k);
}

/* Under lua_cpcall on the server's thread: builds req and res and spawns
 * the handler. */
static int gs__lsrv_dispatch(lua_State *L) {
  gs_lsrv_dispatch_t *d = lua_touserdata(L, 1);
  const gs_http_request_info_t *r = d->req;
  lua_settop(L, 0);
  lua_rawgeti(L, LUA_REGISTRYINDEX, d->s->handler_ref);

  lua_createtable(L, 0, 6);
  gs__lsrv_setstr(L, "method", r->method, strlen(r->method));
  gs__lsrv_setstr(L, "target", r->target, r->target_len);
  const char *q = memchr(r->target, '?', r->target_len);
  size_t plen = q ? (size_t)(q - r->target) : r->target_len;
  gs__lsrv_setstr(L, "path", r->target, plen);
  if (q)
    gs__lsrv_setstr(L, "query", q + 1, r->target_len - plen - 1);
  else
    gs__lsrv_setstr(L, "query", "", 0);
  lua_createtable(L, 0, (int)r->nheaders);
  for (size_t i = 0; i < r->nheaders; i++) {
    lua_getfield(L, -1, r->headers[i].name);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushstring(L, r->headers[i].value);
    } else {
      lua_pushliteral(L, ", ");
      lua_pushstring(L, r->headers[i].value);
      lua_concat(L, 3);
    }
    lua_setfield(L, -2, r->headers[i].name);
  }
  lua_setfield(L, -2, "headers");
  gs__lsrv_setstr(L, "body", r->body, r->body_len);

  gs_lres_ud_t *ud = lua_newuserdata(L, sizeof *ud);
  ud->x = d->x;
  d->x->refs++; /* the userdata's */
  luaL_getmetatable(L, GS_LRES_MT);
  lua_setmetatable(L, -2);

  gs_runtime_spawn(L, 2, gs__lexch_done, d->x);
  d->x->refs++; /* the done hook's */
  return 0;
}

static void gs__lsrv_on_request(gs_http_exchange_t *ex, const gs_http_request_info_t *req,
                                void *data) {
  gs_lsrv_t *s = data;
  gs_lexch_t *x = s->srv && s->L ? calloc(1, sizeof *x) : NULL;
  if (!x) {
    gs_http_exchange_respond(ex, 500, &gs_lsrv_500_ct, 1, gs_lsrv_500, sizeof gs_lsrv_500 - 1);
    return;
  }
  x->ex = ex;
  x->s = s;
  x->refs = 1; /* held by this function until the end */
  s->refs++;
  gs_http_exchange_on_abort(ex, gs__lexch_aborted, x);
  gs_lsrv_dispatch_t d = {s, x, req};
  lua_State *L = s->L;
  int top = lua_gettop(L);
  s->dispatching++;
  if (lua_cpcall(L, gs__lsrv_dispatch, &d) != 0) {
    fprintf(stderr, "gofr-sim: sim.server: cannot start a handler: %s\n",
            lua_isstring(L, -1) ? lua_tostring(L, -1) : "(error object)");
    if (x->ex) /* no persona will answer: a res userdata may still be collected later */
      gs__lexch_respond_500(x);
  }
  lua_settop(L, top);
  if (--s->dispatching == 0 && s->release)
    gs__lsrv_release_lua(s, L); /* the server was closed (its __gc?) meanwhile */
  gs__lexch_unref(x);
}

/* ---- res ---------------------------------------------------------------- */

static int gs__lres_wait_retvals(lua_State *co, void *data) {
  gs_lexch_t *x = data;
  x->waiter = NULL;
  lua_pushboolean(co, x->ok);
  gs__lexch_unref(x);
  return 1;
}

/* The waiting persona was aborted: a half-sent body is cut off. */
static void gs__lres_wait_cleanup(void *data) {
  gs_lexch_t *x = data;
  x->waiter = NULL;
  if (x->ex && x->body)
    gs__lexch_drop(x);
  gs__lexch_unref(x);
}

static const gs_op_type_t gs_lres_wait_op = {"res:write", gs__lres_wait_retvals,
                                             gs__lres_wait_cleanup};

/* Yields until the connection's queue drains (or the connection goes). */
static int gs__lres_wait(lua_State *L, gs_persona_t *p, gs_lexch_t *x) {
  x->waiter = p;
  x->refs++; /* the wait's */
  if (!x->body)
    gs_http_exchange_on_drain(x->ex, gs__lexch_drained, x);
  return gs_persona_yield(L, p, &gs_lres_wait_op, x);
}

static gs_lexch_t *gs__check_res(lua_State *L) {
  gs_lres_ud_t *ud = luaL_checkudata(L, 1, GS_LRES_MT);
  if (!ud->x)
    luaL_error(L, "sim.server response: already collected");
  return ud->x;
}

static int gs__header_name_ok(const char *s, size_t len) {
  if (len == 0 || strlen(s) != len)
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c >= 127 || c == ':')
      return 0;
  }
  return 1;
}

static int gs__header_value_ok(const char *s, size_t len) {
  return strlen(s) == len && !strpbrk(s, "\r\n");
}

/* Adds one header line; the value is anchored in the table at `anchor`. */
static void gs__lres_add_header(lua_State *L, const char *fname, int anchor, const char *name,
                                int vidx, gs_http_header_t **hs, size_t *n, size_t *cap) {
  int t = lua_type(L, vidx);
  if (t != LUA_TSTRING && t != LUA_TNUMBER)
    luaL_error(L, "%s: header '%s' must be a string, a number or an array of strings, got %s",
               fname, name, luaL_typename(L, vidx));
  lua_pushvalue(L, vidx);
  size_t vlen;
  const char *v = lua_tolstring(L, -1, &vlen);
  if (!gs__header_value_ok(v, vlen))
    luaL_error(L, "%s: the value of header '%s' contains CR, LF or NUL", fname, name);
  lua_rawseti(L, anchor, (int)lua_objlen(L, anchor) + 1);
  lua_rawgeti(L, anchor, (int)lua_objlen(L, anchor));
  v = lua_tostring(L, -1); /* anchored: stays valid */
  lua_pop(L, 1);
  if (*n == *cap) {
    size_t ncap = *cap * 2;
    gs_http_header_t *nh = lua_newuserdata(L, ncap * sizeof *nh);
    memcpy(nh, *hs, *n * sizeof *nh);
    lua_rawseti(L, anchor, 0); /* keeps the array alive, drops the old one */
    *hs = nh;
    *cap = ncap;
  }
  (*hs)[*n].name = name;
  (*hs)[*n].value = v;
  (*n)++;
}

/* Collects the headers table at idx (nil: none) into an array anchored by a
 * table pushed on the stack. Raises on bad names or values. */
static const gs_http_header_t *gs__lres_headers(lua_State *L, const char *fname, int idx,
                                                size_t *count) {
  *count = 0;
  lua_newtable(L);
  int anchor = lua_gettop(L);
  if (lua_isnoneornil(L, idx))
    return NULL;
  if (!lua_istable(L, idx))
    luaL_error(L, "%s: headers must be a table, got %s", fname, luaL_typename(L, idx));
  size_t n = 0, cap = 8;
  gs_http_header_t *hs = lua_newuserdata(L, cap * sizeof *hs);
  lua_rawseti(L, anchor, 0);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: header names must be strings, got %s", fname, luaL_typename(L, -2));
    size_t nlen;
    const char *name = lua_tolstring(L, -2, &nlen); /* a key of the table: anchored */
    if (!gs__header_name_ok(name, nlen))
      luaL_error(L, "%s: bad header name '%s'", fname, name);
    if (lua_istable(L, -1)) {
      int arr = lua_gettop(L);
      size_t len = lua_objlen(L, arr);
      for (size_t i = 1; i <= len; i++) {
        lua_rawgeti(L, arr, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING)
          luaL_error(L, "%s: header '%s'[%d] must be a string, got %s", fname, name, (int)i,
                     luaL_typename(L, -1));
        gs__lres_add_header(L, fname, anchor, name, lua_gettop(L), &hs, &n, &cap);
        lua_pop(L, 1);
      }
    } else {
      gs__lres_add_header(L, fname, anchor, name, lua_gettop(L), &hs, &n, &cap);
    }
    lua_pop(L, 1);
  }
  *count = n;
  return hs;
}

static int gs__lres_status(lua_State *L, const char *fname) {
  lua_Number st = luaL_checknumber(L, 2);
  if (!(st >= 100 && st <= 999) || (lua_Number)(int)st != st)
    luaL_error(L, "%s: status must be an integer 100..999, got %s", fname, lua_tostring(L, 2));
  return (int)st;
}

/* Common misuse checks of send and start; returns 0 when the connection is
 * gone (the caller answers false). */
static int gs__lres_can_answer(lua_State *L, gs_lexch_t *x, const char *fname) {
  if (x->closed)
    return 0;
  if (x->started)
    luaL_error(L, "%s: the response was started with res:start; use res:write and res:finish",
               fname);
  if (x->answered)
    luaL_error(L, "%s: the response was already sent", fname);
  return x->ex != NULL;
}

/* A body over GS_LSRV_INLINE: Content-Length, then pieces as the client
 * takes them; the body string (argument 4) is anchored in the res
 * userdata's environment while pieces are pending. */
static int gs__lres_send_streamed(lua_State *L, gs_persona_t *p, gs_lexch_t *x, int status,
                                  const gs_http_header_t *hs, size_t nh, const char *body,
                                  size_t blen) {
  x->answered = 1;
  int rc = gs_http_exchange_begin(x->ex, status, hs, nh, (int64_t)blen);
  if (rc < 0) {
    if (x->ex)
      gs__lexch_drop(x);
    lua_pushboolean(L, 0);
    return 1;
  }
  x->body = body;
  x->body_len = blen;
  x->body_sent = 0;
  if (gs__lexch_pump(x)) {
    lua_pushboolean(L, x->ok);
    return 1;
  }
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 4);
  lua_rawseti(L, -2, 1);
  lua_setfenv(L, 1);
  return gs__lres_wait(L, p, x);
}

/* res:send(status, headers, body) -> true | false (the connection is gone) */
static int gs__lres_send(lua_State *L) {
  const char *fname = "res:send";
  gs_lexch_t *x = gs__check_res(L);
  lua_settop(L, 4); /* gs__lres_headers pushes above the arguments */
  int status = gs__lres_status(L, fname);
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 4, "", &blen);
  gs_persona_t *p = blen > GS_LSRV_INLINE ? gs_persona_current(L, fname) : NULL;
  size_t nh;
  const gs_http_header_t *hs = gs__lres_headers(L, fname, 3, &nh);
  if (!gs__lres_can_answer(L, x, fname) || !x->ex) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (p)
    return gs__lres_send_streamed(L, p, x, status, hs, nh, body, blen);
  gs_http_exchange_t *ex = x->ex;
  x->ex = NULL;
  x->answered = 1;
  int rc = gs_http_exchange_respond(ex, status, hs, nh, body, blen);
  if (rc < 0)
    x->closed = 1; /* the send failed: the server closed the connection */
  lua_pushboolean(L, rc == 0);
  return 1;
}

/* res:start(status, headers) -> true | false: a chunked response follows */
static int gs__lres_start(lua_State *L) {
  const char *fname = "res:start";
  gs_lexch_t *x = gs__check_res(L);
  lua_settop(L, 3); /* gs__lres_headers pushes above the arguments */
  int status = gs__lres_status(L, fname);
  size_t nh;
  const gs_http_header_t *hs = gs__lres_headers(L, fname, 3, &nh);
  if (!gs__lres_can_answer(L, x, fname) || !x->ex) {
    lua_pushboolean(L, 0);
    return 1;
  }
  int rc = gs_http_exchange_begin(x->ex, status, hs, nh, GS_HTTP_CHUNKED);
  if (rc == GS_ENOMEM && x->ex)
    return luaL_error(L, "%s: out of memory", fname);
  x->started = 1;
  lua_pushboolean(L, rc == 0 && x->ex != NULL);
  return 1;
}

/* Misuse checks of write and finish; returns 0 when the connection is gone
 * (the caller answers false). */
static int gs__lres_can_stream(lua_State *L, gs_lexch_t *x, const char *fname) {
  if (x->closed)
    return 0;
  if (!x->started)
    luaL_error(L, "%s: call res:start first", fname);
  if (x->answered)
    luaL_error(L, "%s: the response is already finished", fname);
  return x->ex != NULL;
}

/* res:write(chunk) -> true | false (the connection is gone) */
static int gs__lres_write(lua_State *L) {
  gs_lexch_t *x = gs__check_res(L);
  size_t len;
  const char *chunk = luaL_checklstring(L, 2, &len);
  if (!gs__lres_can_stream(L, x, "res:write")) {
    lua_pushboolean(L, 0);
    return 1;
  }
  int rc = gs_http_exchange_write(x->ex, chunk, len);
  if (rc == 0 && x->ex && gs_http_exchange_congested(x->ex))
    return gs__lres_wait(L, gs_persona_current(L, "res:write"), x);
  lua_pushboolean(L, rc == 0 && x->ex != NULL);
  return 1;
}

/* res:finish() -> true | false (the connection is gone) */
static int gs__lres_finish(lua_State *L) {
  gs_lexch_t *x = gs__check_res(L);
  if (!gs__lres_can_stream(L, x, "res:finish")) {
    lua_pushboolean(L, 0);
    return 1;
  }
  x->answered = 1;
  gs_http_exchange_t *ex = x->ex;
  int rc = gs_http_exchange_end(ex);
  int ok = rc == 0 && x->ex != NULL; /* the abort callback clears x->ex */
  x->ex = NULL;
  lua_pushboolean(L, ok);
  return 1;
}

/* res:drop(): closes the connection without (finishing) the answer. */
static int gs__lres_drop(lua_State *L) {
  gs_lexch_t *x = gs__check_res(L);
  if (x->ex)
    gs__lexch_drop(x);
  else if (!x->answered)
    x->answered = x->closed = 1;
  return 0;
}

/* res.closed, then the methods. */
static int gs__lres_index(lua_State *L) {
  gs_lexch_t *x = gs__check_res(L);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "closed") == 0) {
    lua_pushboolean(L, x->closed);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

static int gs__lres_tostring(lua_State *L) {
  gs_lres_ud_t *ud = luaL_checkudata(L, 1, GS_LRES_MT);
  gs_lexch_t *x = ud->x;
  const char *state = !x            ? "collected"
                      : x->closed   ? "closed"
                      : x->answered ? "answered"
                      : x->started  ? "streaming"
                                    : "open";
  lua_pushfstring(L, "gofr_sim.server.response (%s)", state);
  return 1;
}

static int gs__lres_gc(lua_State *L) {
  gs_lres_ud_t *ud = lua_touserdata(L, 1);
  gs_lexch_t *x = ud->x;
  if (!x)
    return 0;
  ud->x = NULL;
  if (x->ex)
    gs__lexch_drop(x); /* nobody can answer any more */
  gs__lexch_unref(x);
  return 0;
}

/* ---- server ------------------------------------------------------------- */

static void gs__lsrv_closed(void *data) {
  gs__lsrv_unref(data);
}

static gs_lsrv_ud_t *gs__check_server(lua_State *L) {
  return luaL_checkudata(L, 1, GS_LSRV_MT);
}

/* Field k of the table at idx, times scale; 0 when absent. */
static double gs__lsrv_limit(lua_State *L, int idx, const char *k, double scale) {
  lua_getfield(L, idx, k);
  double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) * scale : 0;
  lua_pop(L, 1);
  luaL_argcheck(L, v >= 0 && v < 9e15, idx, k);
  return v;
}

void gs_lua_server_limits(lua_State *L, int idx, gs_http_server_opts_t *o) {
  if (lua_isnoneornil(L, idx))
    return;
  luaL_checktype(L, idx, LUA_TTABLE);
  o->max_header_bytes = (size_t)gs__lsrv_limit(L, idx, "max_header", 1);
  o->max_body_bytes = (size_t)gs__lsrv_limit(L, idx, "max_body", 1);
  o->max_output_bytes = (size_t)gs__lsrv_limit(L, idx, "max_output", 1);
  o->max_connections = (size_t)gs__lsrv_limit(L, idx, "max_connections", 1);
  o->header_timeout_ms = (uint64_t)(gs__lsrv_limit(L, idx, "header_timeout", 1000) + 0.5);
  o->idle_timeout_ms = (uint64_t)(gs__lsrv_limit(L, idx, "idle_timeout", 1000) + 0.5);
  o->write_timeout_ms = (uint64_t)(gs__lsrv_limit(L, idx, "write_timeout", 1000) + 0.5);
}

/* core.server_listen(handler, host, port, limits)
 *   -> server | nil, err_type, message */
static int gs__lsrv_listen(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char *host = luaL_optstring(L, 2, "127.0.0.1");
  lua_Integer port = luaL_optinteger(L, 3, 0);
  luaL_argcheck(L, port >= 0 && port <= 65535, 3, "port must be 0..65535");
  gs_http_server_opts_t opts = {0};
  gs_lua_server_limits(L, 4, &opts);
  gs_worker_t *w = gs_runtime_worker(gs_runtime_get(L));
  gs_lsrv_ud_t *ud = lua_newuserdata(L, sizeof *ud);
  ud->s = NULL;
  luaL_getmetatable(L, GS_LSRV_MT);
  lua_setmetatable(L, -2);
  gs_lsrv_t *s = calloc(1, sizeof *s);
  if (!s)
    return luaL_error(L, "sim.server.listen: out of memory");
  s->L_ref = s->handler_ref = LUA_NOREF;
  s->refs = 1;
  ud->s = s; /* from here __gc frees s */
  s->L = lua_newthread(L);
  s->L_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 1);
  s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  opts.host = host;
  opts.port = (int)port;
  opts.on_request = gs__lsrv_on_request;
  opts.data = s;
  int err = gs_http_server_start(&w->loop, &opts, &s->srv);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, gs_err_type(err));
    lua_pushfstring(L, "cannot listen on %s:%d: %s", host, (int)port, gs_strerror(err));
    ud->s = NULL;
    gs__lsrv_release_lua(s, L);
    gs__lsrv_unref(s);
    return 3;
  }
  return 1;
}

static int gs__lsrv_port(lua_State *L) {
  gs_lsrv_ud_t *ud = gs__check_server(L);
  if (!ud->s)
    return luaL_error(L, "sim.server: already closed");
  lua_pushinteger(L, gs_http_server_port(ud->s->srv));
  return 1;
}

static int gs__lsrv_connections(lua_State *L) {
  gs_lsrv_ud_t *ud = gs__check_server(L);
  lua_pushinteger(L, ud->s ? (lua_Integer)gs_http_server_connections(ud->s->srv) : 0);
  return 1;
}

/* Stops listening and closes every connection: handlers in flight see
 * res.closed and false from their writes. Closing twice is harmless. */
static int gs__lsrv_close(lua_State *L) {
  gs_lsrv_ud_t *ud = gs__check_server(L);
  gs_lsrv_t *s = ud->s;
  if (!s)
    return 0;
  ud->s = NULL;
  if (s->dispatching)
    s->release = 1;
  else
    gs__lsrv_release_lua(s, L);
  if (s->srv) {
    gs_http_server_t *srv = s->srv;
    s->srv = NULL;
    gs_http_server_close(srv, gs__lsrv_closed, s); /* keeps s's reference until closed */
  } else {
    gs__lsrv_unref(s); /* never listened */
  }
  return 0;
}

static int gs__lsrv_tostring(lua_State *L) {
  gs_lsrv_ud_t *ud = gs__check_server(L);
  if (ud->s)
    lua_pushfstring(L, "gofr_sim.server (port %d)", gs_http_server_port(ud->s->srv));
  else
    lua_pushliteral(L, "gofr_sim.server (closed)");
  return 1;
}

void gs_lua_open_server(lua_State *L) {
  if (luaL_newmetatable(L, GS_LSRV_MT)) {
    static const luaL_Reg methods[] = {{"port", gs__lsrv_port},
                                       {"connections", gs__lsrv_connections},
                                       {"close", gs__lsrv_close},
                                       {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lsrv_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gs__lsrv_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, GS_LRES_MT)) {
    static const luaL_Reg methods[] = {{"send", gs__lres_send},   {"start", gs__lres_start},
                                       {"write", gs__lres_write}, {"finish", gs__lres_finish},
                                       {"drop", gs__lres_drop},   {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, methods);
    lua_pushcclosure(L, gs__lres_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gs__lres_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gs__lres_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, gs__lsrv_listen);
  lua_setfield(L, -2, "server_listen");
}
