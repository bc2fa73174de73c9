/* core.http_request(opts): one HTTP transfer on the persona's worker.
 *
 *   opts = { url = "http://...",            -- required
 *            method = "GET", headers = {...}, body = "...",
 *            timeout = 30, connect_timeout = 5, follow_redirects = false,
 *            max_redirects = 10, max_body = 64 MiB, stream = false,
 *            engine = "auto" | "curl" | "native", retry_unsafe = false }
 *
 * engine: which HTTP engine runs the transfer (gs/http_client.h); without
 * it, the process-wide default core.http_set_engine(name) set ("auto" until
 * then). retry_unsafe: a non-idempotent request may be re-sent on a new
 * connection when its reused one closed before any response byte (native
 * engine; otherwise it fails with network_reset).
 *
 * max_body: bytes of body accepted (default GS__LHTTP_MAX_BODY, 64 MiB; 0:
 * no limit); a longer body fails with body_too_large.
 *
 * `headers` is either a map name -> value or an array of "Name: value"
 * lines (both may be mixed). Returns
 *   { status =, headers = { [lower-case name] = value, ... }, body =, url =,
 *     redirects =, reused =, connection_retries =,
 *     timings = { dns =, connect =, tls =, ttfb =, total = } }
 * or nil, err_type, message when the network fails. Repeated response
 * headers are joined with ", ". Bad options raise.
 *
 * stream = true returns as soon as the response's head is in (or the
 * transfer ended): { status =, headers =, url =, connection_retries =,
 * stream = s } without body, redirects, reused or timings; the body is then
 * read with
 *   s:read([wait]) -> bytes (what arrived since the last read, never "")
 *                   | "" at the end of the body | false when `wait` seconds
 *                   passed with nothing new | nil, err_type, message
 *   s:finish(wait) -> ended: done with it; lets the transfer end by itself
 *                   within `wait` seconds (the rest of the body dropped),
 *                   then closes the stream (ended: whether it had ended)
 *   s:close()      -> cancels the transfer if it is still going (idempotent;
 *                   also done by __gc)
 * At most GS__LHTTP_HIGH_WATER bytes wait unread: beyond that the transfer
 * pauses until the next read, so a slow reader bounds the memory, and the
 * timeout still runs.
 *
 * Ownership: the gs__lhttp_op_t below is taken from the Lua state's op pool
 * per call and owned by the scheduler between the yield and exactly one of
 * retvals/cleanup, which free it (back to the pool) together with the
 * request; in stream mode retvals hands it to the stream userdata instead,
 * whose close/finish/__gc frees it (its read yields do not own it; a stream
 * collected while a persona waits on it leaves op to that wait's end). */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/buf.h"
#include "gs/error.h"
#include "gs/http_client.h"
#include "lua_bindings.h"
#include "lua_runtime.h"

#define GS__LHTTP_NAME "sim.http.request"
#define GS__LHTTP_STREAM_MT "gofr_sim.http_stream"
#define GS__LHTTP_MAX_BODY ((size_t)64 << 20)   /* default max_body */
#define GS__LHTTP_HIGH_WATER ((size_t)64 << 10) /* unread stream bytes before pausing */

/* The engine names of opts.engine and core.http_set_engine, in
 * GS_HTTP_ENGINE_* order. */
static const char *const gs__lhttp_engines[] = {"auto", "curl", "native", NULL};

/* The engine of requests that name none: process-wide, set by
 * core.http_set_engine (the runner's --http-engine, GOFR_SIM_HTTP_ENGINE). */
static int gs__lhttp_default_engine = GS_HTTP_ENGINE_AUTO;

typedef struct gs__lhttp_pool_s gs__lhttp_pool_t;
typedef struct gs__lhttp_op_s gs__lhttp_op_t;

struct gs__lhttp_op_s {
  gs__lhttp_pool_t *pool;        /* where it goes back when freed */
  gs__lhttp_op_t *next;          /* in the pool's free list */
  gs__lhttp_op_t **box;          /* its stream userdata's, or NULL (none, or collected) */
  gs_persona_t *p;               /* waiting for this transfer, or NULL */
  gs_http_request_t *req;        /* NULL once freed */
  const gs_http_response_t *res; /* set when done; owned by req */
  /* stream mode */
  int stream;
  int has_head; /* status/headers/url below are set */
  long status;
  long connection_retries; /* the head's */
  gs_buf_t headers, url;   /* copies of the head's */
  gs_buf_t unread;         /* body bytes received, not read yet */
  uv_timer_t *timer;       /* read(wait)'s; malloc'd, freed in its close callback */
  int waited_out;          /* the timer fired before anything arrived */
  int discard;             /* s:finish is waiting for the end: body bytes are dropped */
};

/* Freed ops, kept for the next requests of the same Lua state with their
 * buffers (up to GS__LHTTP_POOL_KEEP bytes each): no malloc per request.
 * Malloc'd, and referenced by the pool userdata of the state table and by
 * every op in use: it outlives both, whichever the collector finalises
 * last (a stream's __gc may run after the pool's). */
struct gs__lhttp_pool_s {
  gs__lhttp_op_t *free; /* linked by next */
  size_t nfree;
  size_t refs; /* ops in use, plus one until the userdata's __gc */
  int drained; /* the userdata is gone: freed ops are freed for good */
};

#define GS__LHTTP_POOL_MAX 1024  /* ops kept */
#define GS__LHTTP_POOL_KEEP 4096 /* bytes a kept op's buffer may hold on to */

/* ---- the binding's strings ----------------------------------------------- */
/* The option and result field names, the header names most responses carry
 * and the stream metatable, made once per Lua state into its "state table"
 * (in the registry under gs__lhttp_state_key, and upvalue 1 of this module's
 * C functions). The request path pushes these strings from it with
 * lua_rawgeti rather than interning them anew: lua_getfield, lua_setfield
 * and lua_pushstring hash their bytes and walk LuaJIT's string table every
 * time (cache misses: a tenth of the user time of an MCP call). */
enum {
  GS__LK_URL = 1, /* state table indices: fields first */
  GS__LK_METHOD,
  GS__LK_BODY,
  GS__LK_TIMEOUT,
  GS__LK_CONNECT_TIMEOUT,
  GS__LK_FOLLOW_REDIRECTS,
  GS__LK_PATH_AS_IS,
  GS__LK_RETRY_UNSAFE,
  GS__LK_METERED,
  GS__LK_ENGINE,
  GS__LK_MAX_REDIRECTS,
  GS__LK_MAX_BODY,
  GS__LK_STREAM,
  GS__LK_HEADERS,
  GS__LK_STATUS,
  GS__LK_REDIRECTS,
  GS__LK_REUSED,
  GS__LK_CONNECTION_RETRIES,
  GS__LK_TIMINGS,
  GS__LK_DNS,
  GS__LK_CONNECT,
  GS__LK_TLS,
  GS__LK_TTFB,
  GS__LK_TOTAL,
  GS__LK_HEADER_NAMES, /* then the header names, in gs__lhttp_header_names order */
};

static const char *const gs__lhttp_fields[GS__LK_HEADER_NAMES] = {
    [GS__LK_URL] = "url",
    [GS__LK_METHOD] = "method",
    [GS__LK_BODY] = "body",
    [GS__LK_TIMEOUT] = "timeout",
    [GS__LK_CONNECT_TIMEOUT] = "connect_timeout",
    [GS__LK_FOLLOW_REDIRECTS] = "follow_redirects",
    [GS__LK_PATH_AS_IS] = "path_as_is",
    [GS__LK_RETRY_UNSAFE] = "retry_unsafe",
    [GS__LK_METERED] = "metered",
    [GS__LK_ENGINE] = "engine",
    [GS__LK_MAX_REDIRECTS] = "max_redirects",
    [GS__LK_MAX_BODY] = "max_body",
    [GS__LK_STREAM] = "stream",
    [GS__LK_HEADERS] = "headers",
    [GS__LK_STATUS] = "status",
    [GS__LK_REDIRECTS] = "redirects",
    [GS__LK_REUSED] = "reused",
    [GS__LK_CONNECTION_RETRIES] = "connection_retries",
    [GS__LK_TIMINGS] = "timings",
    [GS__LK_DNS] = "dns",
    [GS__LK_CONNECT] = "connect",
    [GS__LK_TLS] = "tls",
    [GS__LK_TTFB] = "ttfb",
    [GS__LK_TOTAL] = "total",
};

#define GS__LHTTP_HEADER_NAME(s, same)                                                             \
  { s, sizeof s - 1, same }

/* Lower case, shortest first (the lookup stops at the first longer one);
 * a response's names are matched to them in any case. At most 32 (a
 * bitmask tells which a response has had). `same`: its value is usually
 * the one of the last response (of any origin), so that value is kept as a
 * Lua string and reused when it is (no interning: the usual case). */
static const struct {
  const char *s;
  size_t n;
  int same;
} gs__lhttp_header_names[] = {
    GS__LHTTP_HEADER_NAME("date", 1),
    GS__LHTTP_HEADER_NAME("etag", 0),
    GS__LHTTP_HEADER_NAME("vary", 1),
    GS__LHTTP_HEADER_NAME("server", 1),
    GS__LHTTP_HEADER_NAME("location", 0),
    GS__LHTTP_HEADER_NAME("connection", 1),
    GS__LHTTP_HEADER_NAME("keep-alive", 1),
    GS__LHTTP_HEADER_NAME("set-cookie", 0),
    GS__LHTTP_HEADER_NAME("retry-after", 0),
    GS__LHTTP_HEADER_NAME("content-type", 1),
    GS__LHTTP_HEADER_NAME("cache-control", 1),
    GS__LHTTP_HEADER_NAME("last-modified", 1),
    GS__LHTTP_HEADER_NAME("content-length", 1),
    GS__LHTTP_HEADER_NAME("mcp-session-id", 0),
    GS__LHTTP_HEADER_NAME("transfer-encoding", 1),
};

#define GS__LHTTP_NHEADER_NAMES (sizeof gs__lhttp_header_names / sizeof *gs__lhttp_header_names)
_Static_assert(GS__LHTTP_NHEADER_NAMES <= 32, "a response's known names are a 32-bit mask");
/* After the header names: the last value of each (nil until seen, or when
 * not `same`), the stream metatable and the op pool's userdata. */
#define GS__LK_HEADER_VALUES ((int)(GS__LK_HEADER_NAMES + GS__LHTTP_NHEADER_NAMES))
#define GS__LK_STREAM_MT ((int)(GS__LK_HEADER_VALUES + GS__LHTTP_NHEADER_NAMES))
#define GS__LK_POOL (GS__LK_STREAM_MT + 1)

static char gs__lhttp_state_key; /* its address: the registry key of the state table */

static char gs__lhttp_lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Which known header name s[0..n) spells in any case (its index in
 * gs__lhttp_header_names), or -1. */
static int gs__lhttp_known_header(const char *s, size_t n) {
  for (size_t i = 0; i < GS__LHTTP_NHEADER_NAMES && gs__lhttp_header_names[i].n <= n; i++) {
    if (gs__lhttp_header_names[i].n != n || gs__lhttp_header_names[i].s[0] != gs__lhttp_lower(s[0]))
      continue;
    const char *k = gs__lhttp_header_names[i].s;
    size_t j = 0;
    while (j < n && gs__lhttp_lower(s[j]) == k[j])
      j++;
    if (j == n)
      return (int)i;
  }
  return -1;
}

/* Pushes the state table (from the registry: for code that runs outside
 * this module's C functions, which have it as upvalue 1); returns its index. */
static int gs__lhttp_push_state(lua_State *L) {
  lua_pushlightuserdata(L, &gs__lhttp_state_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  return lua_gettop(L);
}

/* t[key k of the state table st] = the value on top (popped), raw: t is a
 * table this module made (absolute index). */
static void gs__lhttp_set(lua_State *L, int st, int t, int k) {
  lua_rawgeti(L, st, k);
  lua_insert(L, -2);
  lua_rawset(L, t);
}

/* ---- completion ---------------------------------------------------------- */

static void gs__lhttp_wake(gs__lhttp_op_t *op) {
  if (op->p)
    gs_persona_wake(op->p); /* retvals runs later, from the scheduler */
}

static void gs__lhttp_done(gs_http_request_t *req, const gs_http_response_t *res, void *data) {
  gs__lhttp_op_t *op = data;
  op->res = res;
  gs__lhttp_wake(op);
}

static int gs__lhttp_copy(gs_buf_t *b, const char *s, size_t n) {
  b->len = 0;
  return gs_buf_add(b, s, n) || gs_buf_add(b, "", 0);
}

/* Stream mode: keeps the head, queues the bytes, pauses past the high water. */
static int gs__lhttp_data(gs_http_request_t *req, const gs_http_response_t *head, const char *bytes,
                          size_t len, void *data) {
  gs__lhttp_op_t *op = data;
  if (op->discard)
    return 0;
  if (op->unread.len >= GS__LHTTP_HIGH_WATER)
    return GS_HTTP_PAUSE;
  if (!op->has_head) {
    if (gs__lhttp_copy(&op->headers, head->headers, head->headers_len) ||
        gs__lhttp_copy(&op->url, head->effective_url, strlen(head->effective_url)))
      return GS_HTTP_PAUSE; /* out of memory: try again on the next read */
    op->status = head->status;
    op->connection_retries = head->connection_retries;
    op->has_head = 1;
  }
  if (gs_buf_add(&op->unread, bytes, len))
    return GS_HTTP_PAUSE;
  gs__lhttp_wake(op);
  return 0;
}

static void gs__lhttp_timer_closed(uv_handle_t *h) {
  free(h);
}

/* Frees op and its request (cancelled if in flight). */
static void gs__lhttp_op_release(gs__lhttp_op_t *op) {
  free(op->headers.p);
  free(op->url.p);
  free(op->unread.p);
  free(op);
}

static void gs__lhttp_pool_unref(gs__lhttp_pool_t *pool) {
  if (--pool->refs == 0)
    free(pool);
}

/* A zeroed op (but for its buffers' memory) holding a reference on pool,
 * or NULL when out of memory. */
static gs__lhttp_op_t *gs__lhttp_op_new(gs__lhttp_pool_t *pool) {
  gs__lhttp_op_t *op = pool->free;
  if (op) {
    pool->free = op->next;
    pool->nfree--;
    gs_buf_t headers = op->headers, url = op->url, unread = op->unread;
    *op = (gs__lhttp_op_t){.headers = headers, .url = url, .unread = unread};
  } else if (!(op = calloc(1, sizeof *op))) {
    return NULL;
  }
  op->pool = pool;
  pool->refs++;
  return op;
}

/* Frees op's request (cancelled if in flight) and timer, and gives op back
 * to its pool. */
static void gs__lhttp_op_free(gs__lhttp_op_t *op) {
  gs_http_request_free(op->req);
  if (op->timer)
    uv_close((uv_handle_t *)op->timer, gs__lhttp_timer_closed);
  gs__lhttp_pool_t *pool = op->pool;
  if (!pool->drained && pool->nfree < GS__LHTTP_POOL_MAX) {
    gs_buf_reset(&op->headers, GS__LHTTP_POOL_KEEP);
    gs_buf_reset(&op->url, GS__LHTTP_POOL_KEEP);
    gs_buf_reset(&op->unread, GS__LHTTP_POOL_KEEP);
    op->next = pool->free;
    pool->free = op;
    pool->nfree++;
  } else {
    gs__lhttp_op_release(op);
  }
  gs__lhttp_pool_unref(pool);
}

/* The pool userdata's __gc: frees the kept ops and lets the pool go once
 * the ops in use are freed too. */
static int gs__lhttp_pool_gc(lua_State *L) {
  gs__lhttp_pool_t **box = lua_touserdata(L, 1);
  gs__lhttp_pool_t *pool = *box;
  *box = NULL;
  if (!pool)
    return 0;
  for (gs__lhttp_op_t *op = pool->free, *next; op; op = next) {
    next = op->next;
    gs__lhttp_op_release(op);
  }
  pool->free = NULL;
  pool->nfree = 0;
  pool->drained = 1;
  gs__lhttp_pool_unref(pool);
  return 0;
}

static int gs__lhttp_is_space(char c) {
  return c == ' ' || c == '\t';
}

/* Pushes s[0..n) lower-cased (ASCII), through a stack buffer when it fits. */
static void gs__lhttp_push_lower(lua_State *L, const char *s, size_t n) {
  char small[128];
  if (n > sizeof small) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++)
      luaL_addchar(&b, gs__lhttp_lower(s[i]));
    luaL_pushresult(&b);
    return;
  }
  for (size_t i = 0; i < n; i++)
    small[i] = gs__lhttp_lower(s[i]);
  lua_pushlstring(L, small, n);
}

/* Pushes the value v[0..n) of known header `known` (an index in
 * gs__lhttp_header_names): the string kept in the state table st when it
 * is the same, else a new one (kept in turn when the name's are `same`). */
static void gs__lhttp_push_value(lua_State *L, int st, int known, const char *v, size_t n) {
  if (!gs__lhttp_header_names[known].same) {
    lua_pushlstring(L, v, n);
    return;
  }
  size_t kn;
  lua_rawgeti(L, st, GS__LK_HEADER_VALUES + known);
  const char *k = lua_tolstring(L, -1, &kn);
  if (k && kn == n && memcmp(k, v, n) == 0)
    return;
  lua_pop(L, 1);
  lua_pushlstring(L, v, n);
  lua_pushvalue(L, -1);
  lua_rawseti(L, st, GS__LK_HEADER_VALUES + known);
}

/* Pushes a table of the raw "Name: value\r\n" lines. Names are lower-cased
 * (known ones pushed from the state table st); a repeated name gets its
 * values joined with ", ". */
static void gs__lhttp_push_headers(lua_State *L, int st, const char *p, size_t len) {
  const char *end = p + len;
  uint32_t seen = 0; /* the known names met so far, by index */
  lua_createtable(L, 0, 8);
  int t = lua_gettop(L);
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *next = eol ? eol + 1 : end;
    const char *le = eol ? eol : end;
    if (le > p && le[-1] == '\r')
      le--;
    const char *colon = memchr(p, ':', (size_t)(le - p));
    if (colon && colon > p) {
      int known = gs__lhttp_known_header(p, (size_t)(colon - p));
      int repeat = 1; /* the name may be in t already */
      if (known >= 0) {
        repeat = (seen >> known) & 1;
        seen |= 1u << known;
        lua_rawgeti(L, st, GS__LK_HEADER_NAMES + known);
      } else {
        gs__lhttp_push_lower(L, p, (size_t)(colon - p));
      }
      const char *v = colon + 1, *ve = le;
      while (v < ve && gs__lhttp_is_space(*v))
        v++;
      while (ve > v && gs__lhttp_is_space(ve[-1]))
        ve--;
      if (repeat) {
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
      }
      if (!repeat) {
        gs__lhttp_push_value(L, st, known, v, (size_t)(ve - v));
      } else if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      } else {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      }
      lua_rawset(L, t);
    }
    p = next;
  }
}

/* Pushes nil, err_type, message for a failed (or cancelled) transfer. */
static int gs__lhttp_push_error(lua_State *co, const gs_http_response_t *res) {
  lua_pushnil(co);
  if (!res) {
    lua_pushstring(co, gs_err_type(GS_ECANCELED));
    lua_pushstring(co, GS__LHTTP_NAME ": no response");
  } else {
    lua_pushstring(co, gs_err_type(res->error));
    lua_pushstring(co, res->error_message[0] ? res->error_message : gs_strerror(res->error));
  }
  return 3;
}

static void gs__lhttp_setnum(lua_State *L, int st, int t, int k, double v) {
  lua_pushnumber(L, v);
  gs__lhttp_set(L, st, t, k);
}

/* Pushes the response table (keys from the state table st). */
static void gs__lhttp_push_response(lua_State *co, int st, const gs_http_response_t *res) {
  lua_createtable(co, 0, 8);
  int t = lua_gettop(co);
  lua_pushinteger(co, (lua_Integer)res->status);
  gs__lhttp_set(co, st, t, GS__LK_STATUS);
  gs__lhttp_push_headers(co, st, res->headers, res->headers_len);
  gs__lhttp_set(co, st, t, GS__LK_HEADERS);
  lua_pushlstring(co, res->body, res->body_len);
  gs__lhttp_set(co, st, t, GS__LK_BODY);
  lua_pushstring(co, res->effective_url);
  gs__lhttp_set(co, st, t, GS__LK_URL);
  lua_pushinteger(co, (lua_Integer)res->redirects);
  gs__lhttp_set(co, st, t, GS__LK_REDIRECTS);
  lua_pushboolean(co, res->new_connections == 0);
  gs__lhttp_set(co, st, t, GS__LK_REUSED);
  lua_pushinteger(co, (lua_Integer)res->connection_retries);
  gs__lhttp_set(co, st, t, GS__LK_CONNECTION_RETRIES);
  lua_createtable(co, 0, 5);
  int tm = lua_gettop(co);
  gs__lhttp_setnum(co, st, tm, GS__LK_DNS, res->timings.dns);
  gs__lhttp_setnum(co, st, tm, GS__LK_CONNECT, res->timings.connect);
  gs__lhttp_setnum(co, st, tm, GS__LK_TLS, res->timings.tls);
  gs__lhttp_setnum(co, st, tm, GS__LK_TTFB, res->timings.ttfb);
  gs__lhttp_setnum(co, st, tm, GS__LK_TOTAL, res->timings.total);
  gs__lhttp_set(co, st, t, GS__LK_TIMINGS);
}

/* Stream mode's first answer: the head and the stream userdata, which takes
 * op over (keys and metatable from the state table st). */
static void gs__lhttp_push_head(lua_State *co, int st, gs__lhttp_op_t *op) {
  const gs_http_response_t *res = op->res;
  lua_createtable(co, 0, 5);
  int t = lua_gettop(co);
  lua_pushinteger(co, (lua_Integer)(op->has_head ? op->status : res->status));
  gs__lhttp_set(co, st, t, GS__LK_STATUS);
  if (op->has_head)
    gs__lhttp_push_headers(co, st, op->headers.p, op->headers.len);
  else
    gs__lhttp_push_headers(co, st, res->headers, res->headers_len);
  gs__lhttp_set(co, st, t, GS__LK_HEADERS);
  lua_pushstring(co, op->has_head ? op->url.p : res->effective_url);
  gs__lhttp_set(co, st, t, GS__LK_URL);
  lua_pushinteger(co,
                  (lua_Integer)(op->has_head ? op->connection_retries : res->connection_retries));
  gs__lhttp_set(co, st, t, GS__LK_CONNECTION_RETRIES);
  gs__lhttp_op_t **box = lua_newuserdata(co, sizeof *box);
  *box = op;
  op->box = box;
  lua_rawgeti(co, st, GS__LK_STREAM_MT);
  lua_setmetatable(co, -2);
  gs__lhttp_set(co, st, t, GS__LK_STREAM);
}

/* Pushes the results on the persona's coroutine and frees op and its
 * request, unless a stream takes them. (A Lua memory error while building
 * the table would leak them.) */
static int gs__lhttp_retvals(lua_State *co, void *data) {
  gs__lhttp_op_t *op = data;
  const gs_http_response_t *res = op->res;
  op->p = NULL;
  if (!res || res->error) {
    if (!op->stream || !op->has_head) {
      int n = gs__lhttp_push_error(co, res);
      gs__lhttp_op_free(op);
      return n;
    }
  }
  int st = gs__lhttp_push_state(co);
  if (op->stream) {
    gs__lhttp_push_head(co, st, op);
  } else {
    gs__lhttp_push_response(co, st, res);
    gs__lhttp_op_free(op);
  }
  lua_remove(co, st);
  return 1;
}

/* The persona is aborted: cancel the transfer (its callback never runs). */
static void gs__lhttp_cleanup(void *data) {
  gs__lhttp_op_free(data);
}

static const gs_op_type_t gs__lhttp_op_type = {
    .name = GS__LHTTP_NAME,
    .retvals = gs__lhttp_retvals,
    .cleanup = gs__lhttp_cleanup,
};

/* ---- streams -------------------------------------------------------------- */

#define GS__LHTTP_READ_NAME "sim.http stream:read"
#define GS__LHTTP_READ_SSE_NAME "sim.http stream:read_sse"

/* The unread bytes were taken: empties the buffer (a big one is let go)
 * and resumes a transfer paused past the high water. */
static void gs__lhttp_consumed(gs__lhttp_op_t *op) {
  op->unread.len = 0;
  if (op->unread.cap > 2 * GS__LHTTP_HIGH_WATER) { /* a big first piece: let it go */
    free(op->unread.p);
    op->unread = (gs_buf_t){0};
  }
  gs_http_request_resume(op->req);
}

/* What a read returns now, or 0 when it has to wait. Reading the bytes may
 * resume a paused transfer, whose data callback then queues more. */
static int gs__lhttp_read_now(lua_State *L, gs__lhttp_op_t *op) {
  if (op->unread.len) {
    lua_pushlstring(L, op->unread.p, op->unread.len);
    gs__lhttp_consumed(op);
    return 1;
  }
  if (!op->req || (op->res && op->res->error))
    return gs__lhttp_push_error(L, op->req ? op->res : NULL);
  if (op->res) {
    lua_pushliteral(L, "");
    return 1;
  }
  if (op->waited_out) {
    op->waited_out = 0;
    lua_pushboolean(L, 0);
    return 1;
  }
  return 0;
}

static int gs__lhttp_read_retvals(lua_State *co, void *data) {
  gs__lhttp_op_t *op = data;
  op->p = NULL;
  if (op->timer)
    uv_timer_stop(op->timer);
  int n = gs__lhttp_read_now(co, op);
  if (n == 0) { /* woken with nothing new: cannot happen; say so rather than hang */
    lua_pushboolean(co, 0);
    n = 1;
  }
  if (!op->box) /* its stream was collected meanwhile */
    gs__lhttp_op_free(op);
  return n;
}

/* Aborted while reading: the transfer is cancelled; the stream keeps op
 * (freed here if the stream was collected meanwhile). */
static void gs__lhttp_read_cleanup(void *data) {
  gs__lhttp_op_t *op = data;
  op->p = NULL;
  if (op->timer)
    uv_timer_stop(op->timer);
  if (!op->box) {
    gs__lhttp_op_free(op);
    return;
  }
  gs_http_request_free(op->req);
  op->req = NULL;
  op->res = NULL;
}

static const gs_op_type_t gs__lhttp_read_op_type = {
    .name = GS__LHTTP_READ_NAME,
    .retvals = gs__lhttp_read_retvals,
    .cleanup = gs__lhttp_read_cleanup,
};

static void gs__lhttp_waited(uv_timer_t *t) {
  gs__lhttp_op_t *op = t->data;
  op->waited_out = 1;
  gs__lhttp_wake(op);
}

/* The stream handle at index 1, as luaL_checkudata would find it (raising
 * likewise), by its metatable from the state table (upvalue 1) rather than
 * by name. */
static gs__lhttp_op_t **gs__lhttp_box(lua_State *L) {
  void *box = lua_touserdata(L, 1);
  if (box && lua_getmetatable(L, 1)) {
    lua_rawgeti(L, lua_upvalueindex(1), GS__LK_STREAM_MT);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (same)
      return box;
  }
  luaL_typerror(L, 1, GS__LHTTP_STREAM_MT);
  return NULL;
}

static gs__lhttp_op_t *gs__lhttp_check_stream(lua_State *L, const char *fname) {
  gs__lhttp_op_t **box = gs__lhttp_box(L);
  if (!*box)
    luaL_error(L, "%s: the stream is closed", fname);
  if ((*box)->p)
    luaL_error(L, "%s: another persona is reading this stream", fname);
  return *box;
}

/* s:read([wait]) */
static int gs__lhttp_stream_read(lua_State *L) {
  gs__lhttp_op_t *op = gs__lhttp_check_stream(L, GS__LHTTP_READ_NAME);
  double wait = -1;
  if (!lua_isnoneornil(L, 2)) {
    wait = luaL_checknumber(L, 2);
    if (!(wait >= 0 && wait < 1e9))
      return luaL_argerror(L, 2, "wait must be a number of seconds >= 0");
  }
  op->waited_out = 0;
  int n = gs__lhttp_read_now(L, op);
  if (n)
    return n;
  gs_persona_t *p = gs_persona_current(L, GS__LHTTP_READ_NAME);
  if (wait >= 0) {
    if (!op->timer) {
      op->timer = malloc(sizeof *op->timer);
      if (!op->timer)
        return luaL_error(L, "%s: out of memory", GS__LHTTP_READ_NAME);
      uv_timer_init(&gs_runtime_worker(gs_runtime_get(L))->loop, op->timer);
      op->timer->data = op;
    }
    uv_timer_start(op->timer, gs__lhttp_waited, (uint64_t)(wait * 1000.0 + 0.999), 0);
  }
  op->p = p;
  return gs_persona_yield(L, p, &gs__lhttp_read_op_type, op);
}

/* Woken in s:read_sse: something is there now; it says "call again". */
static int gs__lhttp_wait_retvals(lua_State *co, void *data) {
  gs__lhttp_op_t *op = data;
  op->p = NULL;
  lua_pushboolean(co, 1);
  if (!op->box) /* its stream was collected meanwhile */
    gs__lhttp_op_free(op);
  return 1;
}

static const gs_op_type_t gs__lhttp_wait_op_type = {
    .name = GS__LHTTP_READ_SSE_NAME,
    .retvals = gs__lhttp_wait_retvals,
    .cleanup = gs__lhttp_read_cleanup,
};

/* s:read_sse(parser) -> events, dropped, nbytes | "" | nil, err_type, message | true
 * The body bytes received so far go to parser as sse:feed(bytes) would take
 * them, without becoming a Lua string: events and dropped as sse:feed
 * returns them (dropped 0 without a selection), nbytes how many were fed; an
 * SSE error is sse:feed's nil, err_type, message. "" at the end of the body,
 * nil, err_type, message for a failed transfer. When nothing has arrived it
 * waits, then returns true: call it again (something is there then; the
 * parser is never held across the wait). */
static int gs__lhttp_stream_read_sse(lua_State *L) {
  gs__lhttp_op_t *op = gs__lhttp_check_stream(L, GS__LHTTP_READ_SSE_NAME);
  gs_lua_sse_check(L, 2, "read_sse");
  if (op->unread.len) {
    size_t n = op->unread.len;
    int nret = gs_lua_sse_feed(L, 2, op->unread.p, n);
    gs__lhttp_consumed(op);
    if (lua_isnil(L, -nret))
      return nret;
    if (nret == 1)
      lua_pushnumber(L, 0);
    lua_pushnumber(L, (lua_Number)n);
    return 3;
  }
  if (!op->req || (op->res && op->res->error))
    return gs__lhttp_push_error(L, op->req ? op->res : NULL);
  if (op->res) {
    lua_pushliteral(L, "");
    return 1;
  }
  gs_persona_t *p = gs_persona_current(L, GS__LHTTP_READ_SSE_NAME);
  op->p = p;
  return gs_persona_yield(L, p, &gs__lhttp_wait_op_type, op);
}

#define GS__LHTTP_FINISH_NAME "sim.http stream:finish"

/* The transfer is over (ended, failed or cancelled). */
static int gs__lhttp_ended(const gs__lhttp_op_t *op) {
  return !op->req || op->res;
}

/* Closes op's stream (unless it was collected) and frees op; pushes
 * whether the transfer had ended by itself. */
static int gs__lhttp_finished(lua_State *L, gs__lhttp_op_t *op) {
  lua_pushboolean(L, gs__lhttp_ended(op));
  if (op->box)
    *op->box = NULL;
  gs__lhttp_op_free(op);
  return 1;
}

static int gs__lhttp_finish_retvals(lua_State *co, void *data) {
  gs__lhttp_op_t *op = data;
  op->p = NULL;
  if (op->timer)
    uv_timer_stop(op->timer);
  return gs__lhttp_finished(co, op);
}

/* Aborted while finishing: the stream is closed all the same. */
static void gs__lhttp_finish_cleanup(void *data) {
  gs__lhttp_op_t *op = data;
  if (op->box)
    *op->box = NULL;
  gs__lhttp_op_free(op);
}

static const gs_op_type_t gs__lhttp_finish_op_type = {
    .name = GS__LHTTP_FINISH_NAME,
    .retvals = gs__lhttp_finish_retvals,
    .cleanup = gs__lhttp_finish_cleanup,
};

/* s:finish(wait) -> ended
 * Done with the stream: lets the transfer end by itself within `wait`
 * seconds (its body bytes dropped as they come, no wake for them), then
 * closes the stream, cancelling what is left. ended: whether it had ended
 * (successfully or not). Returns at once when it has. */
static int gs__lhttp_stream_finish(lua_State *L) {
  gs__lhttp_op_t *op = gs__lhttp_check_stream(L, GS__LHTTP_FINISH_NAME);
  double wait = luaL_checknumber(L, 2);
  if (!(wait >= 0 && wait < 1e9))
    return luaL_argerror(L, 2, "wait must be a number of seconds >= 0");
  if (op->unread.len)
    gs__lhttp_consumed(op);
  if (gs__lhttp_ended(op) || wait == 0)
    return gs__lhttp_finished(L, op);
  gs_persona_t *p = gs_persona_current(L, GS__LHTTP_FINISH_NAME);
  if (!op->timer) {
    op->timer = malloc(sizeof *op->timer);
    if (!op->timer)
      return luaL_error(L, "%s: out of memory", GS__LHTTP_FINISH_NAME);
    uv_timer_init(&gs_runtime_worker(gs_runtime_get(L))->loop, op->timer);
    op->timer->data = op;
  }
  uv_timer_start(op->timer, gs__lhttp_waited, (uint64_t)(wait * 1000.0 + 0.999), 0);
  op->discard = 1;
  op->p = p;
  return gs_persona_yield(L, p, &gs__lhttp_finish_op_type, op);
}

/* s:close() and __gc */
static int gs__lhttp_stream_close(lua_State *L) {
  gs__lhttp_op_t **box = gs__lhttp_box(L);
  if (*box && (*box)->p)
    return luaL_error(L, "sim.http stream:close: another persona is reading this stream");
  if (*box)
    gs__lhttp_op_free(*box);
  *box = NULL;
  return 0;
}

/* ---- option parsing ----------------------------------------------------- */
/* Values fetched from opts stay on the stack until the request is started,
 * so the pointers handed to gs_http_request_start stay valid. Fields are
 * named by GS__LK_* (their keys come from the state table, upvalue 1 of
 * core.http_request). */

/* Pushes opts[field k] (opts: argument 1, read as by opts.k); returns
 * whether it is set, raising when it is neither nil nor of type `type`. */
static int gs__lhttp_field(lua_State *L, int k, int type, const char *what) {
  lua_rawgeti(L, lua_upvalueindex(1), k);
  lua_gettable(L, 1);
  int t = lua_type(L, -1);
  if (t != LUA_TNIL && t != type)
    return luaL_argerror(L, 1,
                         lua_pushfstring(L, "opts.%s must be %s, got %s", gs__lhttp_fields[k], what,
                                         luaL_typename(L, -1)));
  return t != LUA_TNIL;
}

static const char *gs__lhttp_string(lua_State *L, int k, size_t *len) {
  if (!gs__lhttp_field(L, k, LUA_TSTRING, "a string"))
    return NULL;
  return lua_tolstring(L, -1, len);
}

/* opts[field k] as a number >= 0 (a whole one when `integer`; raises
 * otherwise), or `unset` when it is nil. */
static double gs__lhttp_number(lua_State *L, int k, int integer, double unset) {
  if (!gs__lhttp_field(L, k, LUA_TNUMBER, integer ? "a non-negative integer" : "a number"))
    return unset;
  lua_Number n = lua_tonumber(L, -1);
  if (!(n >= 0) || (integer && (n > 9007199254740992.0 || (lua_Number)(long long)n != n)))
    luaL_argerror(L, 1,
                  lua_pushfstring(L, "opts.%s must be a non-negative %s, got %f",
                                  gs__lhttp_fields[k], integer ? "integer" : "number", n));
  return (double)n;
}

static void gs__lhttp_check_line(lua_State *L, const char *s) {
  if (strpbrk(s, "\r\n"))
    luaL_argerror(L, 1, lua_pushfstring(L, "opts.headers: '%s' contains CR or LF", s));
}

#define GS__LHTTP_SMALL_HEADERS 32 /* header pointers kept on the C stack up to this */

/* Collects the lines of opts.headers (an array of "Name: value" strings, a
 * map name -> value, or both) as pointers: into `small` (nsmall slots) when
 * they fit, else into a userdata left on the stack. Array lines are anchored
 * by the headers table, map lines (formatted here) by the Lua stack, where
 * they are left: no table per request. */
static const char *const *gs__lhttp_headers(lua_State *L, const char **small, size_t nsmall,
                                            size_t *count) {
  *count = 0;
  if (!gs__lhttp_field(L, GS__LK_HEADERS, LUA_TTABLE, "a table"))
    return NULL;
  int h = lua_gettop(L);
  size_t nmap = 0, narr = lua_objlen(L, h);
  for (size_t i = 1; i <= narr; i++) {
    lua_rawgeti(L, h, (int)i);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, 1,
                    lua_pushfstring(L, "opts.headers[%d] must be a \"Name: value\" string, got %s",
                                    (int)i, luaL_typename(L, -1)));
    const char *line = lua_tostring(L, -1);
    if (!strchr(line, ':'))
      luaL_argerror(L, 1, lua_pushfstring(L, "opts.headers[%d] ('%s') has no ':'", (int)i, line));
    gs__lhttp_check_line(L, line);
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, h)) { /* stack: map lines so far, key, value */
    int kt = lua_type(L, -2);
    if (kt == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -2);
      if (k >= 1 && k <= (lua_Number)narr && (lua_Number)(size_t)k == k) {
        lua_pop(L, 1);
        continue;
      }
      luaL_argerror(L, 1, "opts.headers must be a map name -> value or an array of lines");
    }
    if (kt != LUA_TSTRING || (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      luaL_argerror(L, 1,
                    lua_pushfstring(L, "opts.headers: value of '%s' must be a string, got %s",
                                    kt == LUA_TSTRING ? lua_tostring(L, -2) : "?",
                                    luaL_typename(L, -1)));
    const char *name = lua_tostring(L, -2);
    if (!name[0] || strpbrk(name, ":\r\n"))
      luaL_argerror(L, 1, lua_pushfstring(L, "opts.headers: bad header name '%s'", name));
    luaL_checkstack(L, 4, GS__LHTTP_NAME);
    lua_pushfstring(L, "%s: %s", name, lua_tostring(L, -1)); /* value is a copy: safe */
    gs__lhttp_check_line(L, lua_tostring(L, -1));
    lua_replace(L, -2); /* key, line */
    lua_insert(L, -2);  /* line, key: the key on top for lua_next */
    nmap++;
  }
  size_t n = narr + nmap;
  const char **lines = small;
  if (n > nsmall)
    lines = lua_newuserdata(L, n * sizeof *lines);
  for (size_t i = 0; i < narr; i++) {
    lua_rawgeti(L, h, (int)(i + 1));
    lines[i] = lua_tostring(L, -1); /* anchored in the headers table */
    lua_pop(L, 1);
  }
  for (size_t i = 0; i < nmap; i++)
    lines[narr + i] = lua_tostring(L, h + 1 + (int)i); /* anchored on the stack */
  *count = n;
  return lines;
}

/* The GS_HTTP_ENGINE_* named by the string at idx; raises an argument error
 * on argument arg naming `what` for any other name. */
static int gs__lhttp_engine(lua_State *L, int idx, int arg, const char *what) {
  const char *name = lua_tostring(L, idx);
  for (int i = 0; gs__lhttp_engines[i]; i++)
    if (strcmp(name, gs__lhttp_engines[i]) == 0)
      return i;
  return luaL_argerror(
      L, arg,
      lua_pushfstring(L, "%s must be \"auto\", \"curl\" or \"native\", got '%s'", what, name));
}

/* ---- the function ------------------------------------------------------ */

static int gs__lhttp_request(lua_State *L) {
  gs_http_request_opts_t o;
  memset(&o, 0, sizeof o);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkstack(L, 32, GS__LHTTP_NAME);
  o.url = gs__lhttp_string(L, GS__LK_URL, NULL);
  if (!o.url)
    luaL_argerror(L, 1, "opts.url is required");
  o.method = gs__lhttp_string(L, GS__LK_METHOD, NULL);
  o.body = gs__lhttp_string(L, GS__LK_BODY, &o.body_len);
  o.timeout = gs__lhttp_number(L, GS__LK_TIMEOUT, 0, 0);
  o.connect_timeout = gs__lhttp_number(L, GS__LK_CONNECT_TIMEOUT, 0, 0);
  if (gs__lhttp_field(L, GS__LK_FOLLOW_REDIRECTS, LUA_TBOOLEAN, "a boolean"))
    o.follow_redirects = lua_toboolean(L, -1);
  if (gs__lhttp_field(L, GS__LK_PATH_AS_IS, LUA_TBOOLEAN, "a boolean"))
    o.path_as_is = lua_toboolean(L, -1);
  if (gs__lhttp_field(L, GS__LK_RETRY_UNSAFE, LUA_TBOOLEAN, "a boolean"))
    o.retry_unsafe = lua_toboolean(L, -1);
  if (gs__lhttp_field(L, GS__LK_METERED, LUA_TBOOLEAN, "a boolean"))
    o.unmetered = !lua_toboolean(L, -1);
  o.engine = gs__lhttp_default_engine;
  if (gs__lhttp_field(L, GS__LK_ENGINE, LUA_TSTRING, "a string"))
    o.engine = gs__lhttp_engine(L, -1, 1, "opts.engine");
  o.max_redirects = (long)gs__lhttp_number(L, GS__LK_MAX_REDIRECTS, 1, 0);
  o.max_body = (size_t)gs__lhttp_number(L, GS__LK_MAX_BODY, 1, (double)GS__LHTTP_MAX_BODY);
  int stream = 0;
  if (gs__lhttp_field(L, GS__LK_STREAM, LUA_TBOOLEAN, "a boolean"))
    stream = lua_toboolean(L, -1);
  if (stream)
    o.on_data = gs__lhttp_data;
  const char *small_headers[GS__LHTTP_SMALL_HEADERS];
  o.headers = gs__lhttp_headers(L, small_headers, GS__LHTTP_SMALL_HEADERS, &o.nheaders);

  gs_persona_t *p = gs_persona_current(L, GS__LHTTP_NAME); /* raises outside a persona */
  gs_worker_t *w = gs_runtime_worker(gs_runtime_get(L));

  lua_rawgeti(L, lua_upvalueindex(1), GS__LK_POOL);
  gs__lhttp_pool_t *pool = *(gs__lhttp_pool_t **)lua_touserdata(L, -1);
  lua_pop(L, 1);

  /* Nothing below may raise before the op is either started or freed. */
  gs__lhttp_op_t *op = gs__lhttp_op_new(pool);
  if (!op)
    return luaL_error(L, "%s: out of memory", GS__LHTTP_NAME);
  op->p = p;
  op->stream = stream;
  int rc = gs_http_request_start(w->http, &o, gs__lhttp_done, op, &op->req);
  if (rc != 0) {
    gs__lhttp_op_free(op);
    if (rc == GS_EINVAL)
      return luaL_error(L, "%s: invalid request (url '%s', method '%s')", GS__LHTTP_NAME, o.url,
                        o.method ? o.method : "GET");
    return luaL_error(L, "%s: %s", GS__LHTTP_NAME, gs_strerror(rc));
  }
  return gs_persona_yield(L, p, &gs__lhttp_op_type, op);
}

/* core.http_set_engine(name): the engine of requests that name none. */
static int gs__lhttp_set_engine(lua_State *L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  gs__lhttp_default_engine = gs__lhttp_engine(L, 1, 1, "engine");
  return 0;
}

/* core.http_bytes() -> sent, received: the bytes the process's HTTP client
 * has written and read so far (gs_http_client_bytes). */
static int gs__lhttp_bytes(lua_State *L) {
  uint64_t sent = 0, received = 0;
  gs_http_client_bytes(gs_runtime_worker(gs_runtime_get(L))->http, &sent, &received);
  lua_pushnumber(L, (lua_Number)sent);
  lua_pushnumber(L, (lua_Number)received);
  return 2;
}

static int gs__lhttp_stream_gc(lua_State *L) {
  gs__lhttp_op_t **box = gs__lhttp_box(L);
  if (*box && (*box)->p)
    (*box)->box = NULL; /* a persona waits on it (no reference kept): its wake frees op */
  else if (*box)
    gs__lhttp_op_free(*box);
  *box = NULL;
  return 0;
}

/* Pushes this Lua state's state table, made (with the stream metatable,
 * whose functions have it as upvalue 1) on first use. */
static void gs__lhttp_state(lua_State *L) {
  gs__lhttp_push_state(L);
  if (!lua_isnil(L, -1))
    return;
  lua_pop(L, 1);
  lua_createtable(L, GS__LK_POOL, 0);
  int st = lua_gettop(L);
  for (int k = 1; k < GS__LK_HEADER_NAMES; k++) {
    lua_pushstring(L, gs__lhttp_fields[k]);
    lua_rawseti(L, st, k);
  }
  for (size_t i = 0; i < GS__LHTTP_NHEADER_NAMES; i++) {
    lua_pushlstring(L, gs__lhttp_header_names[i].s, gs__lhttp_header_names[i].n);
    lua_rawseti(L, st, GS__LK_HEADER_NAMES + (int)i);
  }
  static const luaL_Reg methods[] = {{"read", gs__lhttp_stream_read},
                                     {"read_sse", gs__lhttp_stream_read_sse},
                                     {"finish", gs__lhttp_stream_finish},
                                     {"close", gs__lhttp_stream_close},
                                     {NULL, NULL}};
  lua_createtable(L, 0, 2); /* the metatable */
  lua_createtable(L, 0, 4);
  for (const luaL_Reg *m = methods; m->name; m++) {
    lua_pushvalue(L, st);
    lua_pushcclosure(L, m->func, 1);
    lua_setfield(L, -2, m->name);
  }
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, st);
  lua_pushcclosure(L, gs__lhttp_stream_gc, 1);
  lua_setfield(L, -2, "__gc");
  lua_rawseti(L, st, GS__LK_STREAM_MT);
  gs__lhttp_pool_t **pool = lua_newuserdata(L, sizeof *pool);
  *pool = calloc(1, sizeof **pool);
  if (!*pool)
    luaL_error(L, "gofr_sim.core: out of memory");
  (*pool)->refs = 1;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, gs__lhttp_pool_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawseti(L, st, GS__LK_POOL);
  lua_pushlightuserdata(L, &gs__lhttp_state_key);
  lua_pushvalue(L, st);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void gs_lua_open_http(lua_State *L) {
  gs__lhttp_state(L);
  lua_pushcclosure(L, gs__lhttp_request, 1);
  lua_setfield(L, -2, "http_request");
  lua_pushcfunction(L, gs__lhttp_set_engine);
  lua_setfield(L, -2, "http_set_engine");
  lua_pushcfunction(L, gs__lhttp_bytes);
  lua_setfield(L, -2, "http_bytes");
}
