/* Tests of the incremental SSE decoder: every WHATWG rule the parser follows
 * (line ends, BOM, comments, fields, space stripping, dispatch, id, retry),
 * gofr-dig- and MCP-SDK-shaped streams, limits, finish, callback contract,
 * and a property test: any chunking of a stream (byte by byte, every split
 * point, random chunkings) gives the same events as one feed, and random
 * SSE-like streams match a simple whole-input reference decoder. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/sse.h"
#include "gs_test.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
  char *s;
  size_t len, cap;
} str_t;

static void str_add(str_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    b->s = realloc(b->s, cap);
    if (!b->s)
      abort();
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void str_addf(str_t *b, const char *fmt, long long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, fmt, v);
  str_add(b, tmp, (size_t)n);
}

static void str_free(str_t *b) {
  free(b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

/* Appends one event, unambiguously: "[type|id|retry|len:data]\n". */
static void str_event(str_t *b, const char *type, size_t type_len, const char *id, size_t id_len,
                      long long retry, const char *data, size_t data_len) {
  str_add(b, "[", 1);
  str_add(b, type, type_len);
  str_add(b, "|", 1);
  str_add(b, id, id_len);
  str_addf(b, "|%lld|", retry);
  str_addf(b, "%lld:", (long long)data_len);
  str_add(b, data, data_len);
  str_add(b, "]\n", 2);
}

/* The events seen by the callback, serialised. */
typedef struct {
  str_t out;
  int n;
  int fail_at; /* > 0: return GS_ECANCELED from this event (1-based) */
  gs_sse_parser_t *reenter;
  int reenter_rc;
} collect_t;

static int collect_cb(const gs_sse_event_t *ev, void *data) {
  collect_t *c = data;
  /* Every pointer is NUL-terminated at its length. */
  GS_CHECK(ev->type[ev->type_len] == '\0');
  GS_CHECK(ev->data[ev->data_len] == '\0');
  GS_CHECK(ev->id[ev->id_len] == '\0');
  str_event(&c->out, ev->type, ev->type_len, ev->id, ev->id_len, ev->retry, ev->data, ev->data_len);
  c->n++;
  if (c->reenter) {
    c->reenter_rc = gs_sse_feed(c->reenter, "x", 1, collect_cb, c);
    GS_CHECK_INT(gs_sse_finish(c->reenter, NULL, NULL), GS_EINVAL);
    GS_CHECK_INT(gs_sse_reset(c->reenter), GS_EINVAL);
  }
  return c->fail_at == c->n ? GS_ECANCELED : 0;
}

/* Feeds s in one go to a fresh parser (limit max, 0: default), then finish;
 * returns the serialised events followed by the finish code, the last event
 * ID, and the comment count. Caller frees. */
static char *run_chunks(const char *s, size_t len, const size_t *cuts, size_t ncuts, size_t max) {
  gs_sse_parser_t p;
  gs_sse_init(&p, max);
  collect_t c = {0};
  size_t at = 0;
  int rc = 0;
  for (size_t i = 0; i <= ncuts && !rc; i++) {
    size_t to = i < ncuts ? cuts[i] : len;
    rc = gs_sse_feed(&p, s + at, to - at, collect_cb, &c);
    at = to;
  }
  str_addf(&c.out, "feed=%lld ", rc);
  str_addf(&c.out, "finish=%lld id=", gs_sse_finish(&p, NULL, NULL));
  size_t idlen;
  const char *id = gs_sse_last_event_id(&p, &idlen);
  str_add(&c.out, id, idlen);
  str_addf(&c.out, " comments=%lld", (long long)p.comments);
  str_addf(&c.out, " retry=%lld", p.retry);
  gs_sse_free(&p);
  if (!c.out.s)
    str_add(&c.out, "", 0);
  return c.out.s;
}

static char *run(const char *s, size_t len) {
  return run_chunks(s, len, NULL, 0, 0);
}

static char *run_bytewise(const char *s, size_t len, size_t max) {
  size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
  for (size_t i = 0; i + 1 < len; i++)
    cuts[i] = i + 1;
  char *r = run_chunks(s, len, cuts, len ? len - 1 : 0, max);
  free(cuts);
  return r;
}

/* Events only: feeds s (len bytes) at once to p and returns the serialised
 * events of this feed (caller frees); *rc gets the feed's code. */
static char *feed_events(gs_sse_parser_t *p, const char *s, size_t len, int *rc) {
  collect_t c = {0};
  int r = gs_sse_feed(p, s, len, collect_cb, &c);
  if (rc)
    *rc = r;
  else
    GS_CHECK_INT(r, 0);
  str_add(&c.out, "", 0);
  return c.out.s;
}

#define FEED_RC(p, lit, rc) feed_events((p), (lit), sizeof(lit) - 1, (rc))

#define FEED_EXPECT(p, lit, want)                                                                  \
  do {                                                                                             \
    char *got_ = feed_events((p), (lit), sizeof(lit) - 1, NULL);                                   \
    GS_CHECK_STR(got_, (want));                                                                    \
    free(got_);                                                                                    \
  } while (0)

/* Expected serialisation of one event. */
static char *ev(const char *type, const char *id, long long retry, const char *data) {
  static char buf[8][512];
  static int slot;
  char *b = buf[slot++ % 8];
  snprintf(b, sizeof buf[0], "[%s|%s|%lld|%zu:%s]\n", type, id, retry, strlen(data), data);
  return b;
}

static char *cat2(const char *a, const char *b) {
  static char buf[4][1024];
  static int slot;
  char *r = buf[slot++ % 4];
  snprintf(r, sizeof buf[0], "%s%s", a, b);
  return r;
}

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* ---- the rules ------------------------------------------------------------ */

static void test_gofr_dig_reply(void) {
  static const char reply[] =
      "event: message\r\n"
      "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\","
      "\"text\":\"{\\\"success\\\": true}\"}],\"isError\":false}}\r\n"
      "\r\n";
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  GS_CHECK(p.max_bytes == GS_SSE_DEFAULT_MAX_BYTES);
  GS_CHECK(GS_SSE_DEFAULT_MAX_BYTES == 16u * 1024 * 1024);
  FEED_EXPECT(&p, reply,
              ev("message", "", -1,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\","
                 "\"text\":\"{\\\"success\\\": true}\"}],\"isError\":false}}"));
  GS_CHECK_INT(p.events, 1);
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 0);
  GS_CHECK_INT(p.discarded, 0);
  /* The TS SDK shape (LF, id from an event store) and a keep-alive. */
  FEED_EXPECT(&p,
              ": keepalive\n\nevent: message\nid: 9f1c\ndata: {\"id\":2}\n\n"
              ": ping - 2026-11-25 17:00:00.000000+00:00\r\n\r\n",
              ev("message", "9f1c", -1, "{\"id\":2}"));
  GS_CHECK_INT(p.comments, 2);
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 0);
  gs_sse_free(&p);
}

static void test_line_ends(void) {
  const char *want = cat2(ev("a", "", -1, "1\n2"), ev("message", "", -1, "3"));
  static const char *const streams[] = {
      "event: a\ndata: 1\ndata: 2\n\ndata: 3\n\n",
      "event: a\r\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n",
      "event: a\rdata: 1\rdata: 2\r\rdata: 3\r\r",
      "event: a\rdata: 1\r\ndata: 2\n\r\ndata: 3\r\n\n",
  };
  for (size_t i = 0; i < sizeof streams / sizeof *streams; i++) {
    gs_sse_parser_t p;
    gs_sse_init(&p, 0);
    char *got = feed_events(&p, streams[i], strlen(streams[i]), NULL);
    GS_CHECK_STR(got, want);
    free(got);
    gs_sse_free(&p);
  }
  /* "\n\r" is two line ends, "\r\n" one. */
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "data: x\n\rdata: y\r\n", ev("message", "", -1, "x"));
  FEED_EXPECT(&p, "data: z\r\r\n", ev("message", "", -1, "y\nz"));
  gs_sse_free(&p);
}

static void test_crlf_split_between_feeds(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "data: a\r", "");
  FEED_EXPECT(&p, "\ndata: b\r", ""); /* the LF completes the CRLF: no blank line */
  FEED_EXPECT(&p, "\n\r", ev("message", "", -1, "a\nb"));
  FEED_EXPECT(&p, "\n", ""); /* the LF of the CRLF blank line: nothing */
  FEED_EXPECT(&p, "data: c\r", "");
  FEED_EXPECT(&p, "\r", ev("message", "", -1, "c")); /* CR then CR: a blank line */
  FEED_EXPECT(&p, "\n", "");                         /* ...whose LF this is */
  FEED_EXPECT(&p, "\n", "");                         /* a blank line, empty buffer */
  FEED_EXPECT(&p, "data", "");
  FEED_EXPECT(&p, ": d", "");
  FEED_EXPECT(&p, "\r", "");
  FEED_EXPECT(&p, "", "");
  FEED_EXPECT(&p, "\n\r\n", ev("message", "", -1, "d"));
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 0);
  gs_sse_free(&p);
}

static void test_fields_and_spaces(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  /* One space stripped, never more; tabs kept; no space is fine. */
  FEED_EXPECT(&p, "data:x\n\n", ev("message", "", -1, "x"));
  FEED_EXPECT(&p, "data: x\n\n", ev("message", "", -1, "x"));
  FEED_EXPECT(&p, "data:  x \n\n", ev("message", "", -1, " x "));
  FEED_EXPECT(&p, "data:\tx\n\n", ev("message", "", -1, "\tx"));
  /* Colons after the first belong to the value. */
  FEED_EXPECT(&p, "data: a:b: c\n\n", ev("message", "", -1, "a:b: c"));
  /* Multi-line data; "data" without a colon and "data:" add an empty line. */
  FEED_EXPECT(&p, "data: a\ndata:b\ndata\ndata:\ndata:  c\n\n",
              ev("message", "", -1, "a\nb\n\n\n c"));
  /* A data line with an empty value dispatches an event with empty data. */
  FEED_EXPECT(&p, "data\n\n", ev("message", "", -1, ""));
  FEED_EXPECT(&p, "data:\n\n", ev("message", "", -1, ""));
  FEED_EXPECT(&p, "data: \n\n", ev("message", "", -1, ""));
  FEED_EXPECT(&p, "data:\ndata:\n\n", ev("message", "", -1, "\n"));
  /* Unknown and wrong-case fields are ignored; names are exact. */
  FEED_EXPECT(&p, "foo: bar\nData: x\nDATA: y\ndata : w\n data: v\ndata: z\n\n",
              ev("message", "", -1, "z"));
  FEED_EXPECT(&p, "foo: bar\n\n", "");
  /* Event type: set, reset after each event, empty means "message". */
  FEED_EXPECT(&p, "event: ping\ndata: 1\n\ndata: 2\n\n",
              cat2(ev("ping", "", -1, "1"), ev("message", "", -1, "2")));
  FEED_EXPECT(&p, "event:\ndata: 3\n\nevent\ndata: 4\n\n",
              cat2(ev("message", "", -1, "3"), ev("message", "", -1, "4")));
  FEED_EXPECT(&p, "event: a\nevent: b\ndata: 5\n\n", ev("b", "", -1, "5"));
  /* An event type without data dispatches nothing and does not leak. */
  FEED_EXPECT(&p, "event: lost\n\ndata: 6\n\n", ev("message", "", -1, "6"));
  /* NUL bytes in data are data. */
  {
    collect_t c = {0};
    GS_CHECK_INT(gs_sse_feed(&p, "data: a\0b\n\n", 11, collect_cb, &c), 0);
    GS_CHECK(c.out.len == 20 && memcmp(c.out.s, "[message||-1|3:a\0b]\n", 20) == 0);
    str_free(&c.out);
  }
  /* Multi-byte UTF-8 passes through untouched. */
  FEED_EXPECT(&p, "data: h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80\n\n",
              ev("message", "", -1, "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80"));
  GS_CHECK_INT(p.comments, 0);
  gs_sse_free(&p);
}

static void test_comments(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, ": keepalive\n\n:\n:data: x\n\n", "");
  GS_CHECK_INT(p.comments, 3);
  /* A comment inside an event neither ends nor alters it. */
  FEED_EXPECT(&p, "data: a\n: between\ndata: b\n\n", ev("message", "", -1, "a\nb"));
  GS_CHECK_INT(p.comments, 4);
  GS_CHECK_INT(p.events, 1);
  gs_sse_free(&p);
}

static void test_id(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  GS_CHECK_STR(gs_sse_last_event_id(&p, NULL), "");
  /* id alone: not dispatched, but the blank line commits it. */
  FEED_EXPECT(&p, "id: 1\n", "");
  GS_CHECK_STR(gs_sse_last_event_id(&p, NULL), ""); /* not before the blank line */
  FEED_EXPECT(&p, "\n", "");
  GS_CHECK_STR(gs_sse_last_event_id(&p, NULL), "1");
  /* It persists into later events. */
  FEED_EXPECT(&p, "data: x\n\ndata: y\n\n",
              cat2(ev("message", "1", -1, "x"), ev("message", "1", -1, "y")));
  /* An id with NUL is ignored. */
  {
    collect_t c = {0};
    GS_CHECK_INT(gs_sse_feed(&p, "id: a\0b\ndata: z\n\n", 17, collect_cb, &c), 0);
    GS_CHECK_STR(c.out.s, ev("message", "1", -1, "z"));
    str_free(&c.out);
  }
  /* An id set after the data still applies to that event. */
  FEED_EXPECT(&p, "data: w\nid: 2\n\n", ev("message", "2", -1, "w"));
  /* An empty id (with or without the colon) clears it. */
  FEED_EXPECT(&p, "id\ndata: v\n\n", ev("message", "", -1, "v"));
  FEED_EXPECT(&p, "id: 3\n\nid:\ndata: u\n\n", ev("message", "", -1, "u"));
  /* An event type with an id but no data: not dispatched, id committed. */
  FEED_EXPECT(&p, "event: x\nid: 4\n\n", "");
  size_t len;
  GS_CHECK_STR(gs_sse_last_event_id(&p, &len), "4");
  GS_CHECK_INT(len, 1);
  /* An id in an incomplete event is discarded at finish. */
  FEED_EXPECT(&p, "id: 5\ndata: t\n", "");
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 1);
  GS_CHECK_STR(gs_sse_last_event_id(&p, NULL), "4");
  FEED_EXPECT(&p, "data: s\n\n", ev("message", "4", -1, "s")); /* persists across streams */
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  GS_CHECK_STR(gs_sse_last_event_id(&p, NULL), "");
  gs_sse_free(&p);
}

static void test_priming_event(void) {
  /* 2025-11-25 servers with an event store: "id" + "retry" + empty data. */
  static const char stream[] =
      "id: 0b5e-1\r\nretry: 3000\r\ndata: \r\n\r\n"
      "event: message\r\nid: 0b5e-2\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n\r\n";
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, stream,
              cat2(ev("message", "0b5e-1", 3000, ""),
                   ev("message", "0b5e-2", 3000, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}")));
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 0);
  GS_CHECK_INT(p.retry, 3000);
  gs_sse_free(&p);
  /* The TS SDK's form: "id: X\ndata: \n\n". */
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "id: 7\ndata: \n\n", ev("message", "7", -1, ""));
  gs_sse_free(&p);
}

static void test_retry(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  GS_CHECK_INT(p.retry, -1);
  FEED_EXPECT(&p, "retry: 10\n", "");
  GS_CHECK_INT(p.retry, 10); /* applies at once, before any blank line */
  static const char *const bad[] = {"retry: 1a\n",  "retry: -5\n", "retry: \n",   "retry\n",
                                    "retry:  5\n",  "retry: 5 \n", "retry: +5\n", "retry: 0x10\n",
                                    "retry: 1.5\n", "Retry: 6\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    GS_CHECK_INT(gs_sse_feed(&p, bad[i], strlen(bad[i]), NULL, NULL), 0);
    GS_CHECK_INT(p.retry, 10);
  }
  FEED_EXPECT(&p, "retry:0\ndata: a\n\n", ev("message", "", 0, "a"));
  FEED_EXPECT(&p, "retry: 0042\n\ndata: b\n\n", ev("message", "", 42, "b"));
  FEED_EXPECT(&p, "retry: 99999999999999999999999999\n\n", "");
  GS_CHECK(p.retry == LLONG_MAX);
  FEED_EXPECT(&p, "retry: 9223372036854775807\n\n", "");
  GS_CHECK(p.retry == LLONG_MAX);
  FEED_EXPECT(&p, "retry: 9223372036854775806\n\n", "");
  GS_CHECK(p.retry == LLONG_MAX - 1);
  /* Survives finish (stream end), not reset. */
  FEED_EXPECT(&p, "retry: 7\ndata: x\n", "");
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 1);
  GS_CHECK_INT(p.retry, 7);
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  GS_CHECK_INT(p.retry, -1);
  gs_sse_free(&p);
}

static void test_bom(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p,
              "\xEF\xBB\xBF"
              "data: x\n\n",
              ev("message", "", -1, "x"));
  /* Only once: a second BOM is part of the next line (an unknown field). */
  FEED_EXPECT(&p,
              "\xEF\xBB\xBF"
              "data: y\n\ndata: z\n\n",
              ev("message", "", -1, "z"));
  gs_sse_free(&p);
  /* Split byte by byte. */
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "\xEF", "");
  FEED_EXPECT(&p, "\xBB", "");
  FEED_EXPECT(&p, "\xBF", "");
  FEED_EXPECT(&p, "d", "");
  FEED_EXPECT(&p, "ata: w\n\n", ev("message", "", -1, "w"));
  gs_sse_free(&p);
  /* A partial BOM is content: here it turns "data" into an unknown field. */
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "\xEF\xBB", "");
  FEED_EXPECT(&p, "data: v\n\ndata: u\n\n", ev("message", "", -1, "u"));
  gs_sse_free(&p);
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "\xEF", "");
  FEED_EXPECT(&p,
              "\xBB"
              "data: v\n\ndata: u\n\n",
              ev("message", "", -1, "u"));
  gs_sse_free(&p);
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p,
              "\xEF\xBB"
              "data: v\n\ndata: u\n\n",
              ev("message", "", -1, "u"));
  gs_sse_free(&p);
  /* A BOM-prefixed comment, and a partial BOM then a line end. */
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "\xEF\xBB\xBF: hi\n", "");
  GS_CHECK_INT(p.comments, 1);
  gs_sse_free(&p);
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "\xEF\xBB\ndata: t\n\n", ev("message", "", -1, "t"));
  gs_sse_free(&p);
  /* A lone partial BOM at the end is pending; each new stream skips a BOM. */
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "\xEF\xBB", "");
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 1);
  FEED_EXPECT(&p,
              "\xEF\xBB\xBF"
              "data: s\n\n",
              ev("message", "", -1, "s"));
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 0);
  FEED_EXPECT(&p,
              "\xEF\xBB\xBF"
              "data: r\n\n",
              ev("message", "", -1, "r"));
  gs_sse_free(&p);
}

static void test_finish(void) {
  static const struct {
    const char *s;
    int pending;
  } cases[] = {
      {"", 0},
      {"data: x\n\n", 0},
      {"data: x\n\n: trailing comment\n", 0},
      {"data: x\n\n\n\n", 0},
      {"data: x\r", 1}, /* a complete field line, no blank line */
      {"data: x\n", 1},
      {"data: x", 1},
      {"data: x\n\nd", 1},
      {"data: x\n\n:partial comment", 1},
      {"id: 1\n", 1},
      {"event: e\n", 1},
      {"unknown\n", 1},
      {"\xEF\xBB\xBF", 0},
      {"\xEF", 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    gs_sse_parser_t p;
    gs_sse_init(&p, 0);
    GS_CHECK_INT(gs_sse_feed(&p, cases[i].s, strlen(cases[i].s), NULL, NULL), 0);
    collect_t c = {0};
    int rc = gs_sse_finish(&p, collect_cb, &c);
    if (rc != cases[i].pending)
      fprintf(stderr, "finish case %zu\n", i);
    GS_CHECK_INT(rc, cases[i].pending);
    GS_CHECK_INT(c.n, 0); /* nothing is dispatched at the end */
    GS_CHECK_INT(p.discarded, cases[i].pending);
    /* The parser is ready for the next stream, with nothing left over. */
    GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 0);
    FEED_EXPECT(&p, "\ndata: next\n\n", ev("message", "", -1, "next"));
    gs_sse_free(&p);
  }
  /* The incomplete event really is gone: nothing of it joins the next one. */
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  FEED_EXPECT(&p, "event: e\ndata: old\ndata: par", "");
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), 1);
  FEED_EXPECT(&p, "tial\ndata: new\n\n", ev("message", "", -1, "new"));
  gs_sse_free(&p);
}

static void test_limits(void) {
  gs_sse_parser_t p;
  /* A line of exactly max_bytes is fine; one more byte fails. */
  gs_sse_init(&p, 16);
  FEED_EXPECT(&p, "data: 0123456789\n\n", ev("message", "", -1, "0123456789"));
  FEED_EXPECT(&p, ": comment 6789ab\n", "");
  int rc;
  char *got = FEED_RC(&p, "data: 0123456789a\n\n", &rc);
  GS_CHECK_INT(rc, GS_EBODYTOOLARGE);
  GS_CHECK_STR(got, "");
  free(got);
  /* Sticky until reset. */
  GS_CHECK_INT(gs_sse_feed(&p, "data: y\n\n", 9, NULL, NULL), GS_EBODYTOOLARGE);
  GS_CHECK_INT(gs_sse_feed(&p, NULL, 0, NULL, NULL), GS_EBODYTOOLARGE);
  GS_CHECK_INT(gs_sse_finish(&p, NULL, NULL), GS_EBODYTOOLARGE);
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  GS_CHECK_INT(p.max_bytes, 16);
  FEED_EXPECT(&p, "data: y\n\n", ev("message", "", -1, "y"));
  /* A partial line fails as soon as it is too long, before its end arrives. */
  FEED_EXPECT(&p, "data: 01234", "");
  FEED_EXPECT(&p, "56789", "");
  GS_CHECK_INT(gs_sse_feed(&p, "a", 1, NULL, NULL), GS_EBODYTOOLARGE);
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  /* Events before the failing line in the same feed are delivered. */
  got = FEED_RC(&p, "data: ok\n\n:0123456789abcdef\n", &rc);
  GS_CHECK_INT(rc, GS_EBODYTOOLARGE);
  GS_CHECK_STR(got, ev("message", "", -1, "ok"));
  free(got);
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  /* Joined data: exactly max_bytes is fine ("0123456\n01234567"). */
  FEED_EXPECT(&p, "data: 0123456\ndata: 01234567\n\n", ev("message", "", -1, "0123456\n01234567"));
  FEED_EXPECT(&p, "data:\ndata:\n\n", ev("message", "", -1, "\n"));
  got = FEED_RC(&p, "data: 0123456\ndata: 012345678\n\n", &rc);
  GS_CHECK_INT(rc, GS_EBODYTOOLARGE);
  free(got);
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  /* A full buffer then even an empty data line is one byte too many. */
  FEED_EXPECT(&p, "data:0123456789\ndata:01234\n\n", ev("message", "", -1, "0123456789\n01234"));
  got = FEED_RC(&p, "data:0123456789\ndata:01234\ndata\n\n", &rc);
  GS_CHECK_INT(rc, GS_EBODYTOOLARGE);
  free(got);
  gs_sse_free(&p);

  /* A 1 MiB event, at once and in 4 KiB chunks; then memory is released. */
  size_t big = (size_t)1 << 20;
  char *s = malloc(big + 16);
  memcpy(s, "data: ", 6);
  for (size_t i = 0; i < big; i++)
    s[6 + i] = (char)('a' + i % 26);
  memcpy(s + 6 + big, "\r\n\r\n", 4);
  size_t len = big + 10;
  size_t ncuts = len / 4096, *cuts = malloc(ncuts * sizeof *cuts);
  for (size_t i = 0; i < ncuts; i++)
    cuts[i] = (i + 1) * 4096;
  char *once = run(s, len), *chunked = run_chunks(s, len, cuts, ncuts, 0);
  GS_CHECK(strcmp(once, chunked) == 0);
  GS_CHECK(strlen(once) > big);
  free(once);
  free(chunked);
  gs_sse_init(&p, big + 6); /* the line "data: ..." exactly at the limit */
  got = feed_events(&p, s, len, &rc);
  GS_CHECK_INT(rc, 0);
  free(got);
  GS_CHECK(p.data.cap <= 64 * 1024 && p.line.cap <= 64 * 1024);
  gs_sse_free(&p);
  gs_sse_init(&p, big + 5);
  got = feed_events(&p, s, len, &rc);
  GS_CHECK_INT(rc, GS_EBODYTOOLARGE);
  free(got);
  gs_sse_free(&p);
  free(cuts);
  free(s);
}

static void test_callback_contract(void) {
  gs_sse_parser_t p;
  gs_sse_init(&p, 0);
  /* A non-zero return stops the feed and sticks. */
  collect_t c = {0};
  c.fail_at = 2;
  GS_CHECK_INT(gs_sse_feed(&p, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27, collect_cb, &c),
               GS_ECANCELED);
  GS_CHECK_INT(c.n, 2);
  GS_CHECK_INT(gs_sse_feed(&p, "data: 4\n\n", 9, collect_cb, &c), GS_ECANCELED);
  GS_CHECK_INT(c.n, 2);
  str_free(&c.out);
  GS_CHECK_INT(gs_sse_reset(&p), 0);
  GS_CHECK_INT(p.events, 0);
  /* Re-entering from the callback is refused, without harm. */
  collect_t r = {0};
  r.reenter = &p;
  GS_CHECK_INT(gs_sse_feed(&p, "data: 5\n\ndata: 6\n\n", 18, collect_cb, &r), 0);
  GS_CHECK_INT(r.reenter_rc, GS_EINVAL);
  GS_CHECK_STR(r.out.s, cat2(ev("message", "", -1, "5"), ev("message", "", -1, "6")));
  str_free(&r.out);
  /* NULL callback, empty and invalid input. */
  GS_CHECK_INT(gs_sse_feed(&p, "data: 7\n\n", 9, NULL, NULL), 0);
  GS_CHECK_INT(p.events, 3);
  GS_CHECK_INT(gs_sse_feed(&p, NULL, 0, NULL, NULL), 0);
  GS_CHECK_INT(gs_sse_feed(&p, NULL, 1, NULL, NULL), GS_EINVAL);
  GS_CHECK_INT(gs_sse_feed(&p, "data: 8\n\n", 9, NULL, NULL), 0); /* EINVAL is not sticky */
  gs_sse_free(&p);
  gs_sse_free(&p); /* freeing twice is harmless */
}

/* ---- property tests ------------------------------------------------------ */

/* Everything at once: BOM, comments, priming, every line end, multi-line
 * data, UTF-8, ids, retry, event types, unknown fields, a trailing
 * incomplete event. */
static const char MIXED[] =
    "\xEF\xBB\xBF: hello\r\n"
    "id: p1\r\nretry: 1500\r\ndata: \r\n\r\n"
    "event: message\ndata: {\"id\":1,\"t\":\"h\xC3\xA9\xE2\x9C\x93\xF0\x9F\x98\x80\"}\n\n"
    "data: line1\rdata:line2\rdata\r\r"
    ": ping - 2026-11-25\r\n\r\n"
    "event: progress\r\nid: 2\r\nfoo: bar\r\ndata: a:b\r\ndata:  c\r\n\r\n"
    "id\n\n"
    "event: x\nid: 3\n\n"
    "retry: 12x\nretry: 250\ndata: z\n\n"
    "\r\n\n\r"
    "data: tail\r\nid: 4";

static void test_chunking_property(void) {
  size_t len = sizeof MIXED - 1;
  char *want = run(MIXED, len);
  /* Sanity: the expected decoding. */
  const char *expect =
      "[message|p1|1500|0:]\n"
      "[message|p1|1500|25:{\"id\":1,\"t\":\"h\xC3\xA9\xE2\x9C\x93\xF0\x9F\x98\x80\"}]\n"
      "[message|p1|1500|12:line1\nline2\n]\n"
      "[progress|2|1500|6:a:b\n c]\n"
      "[message|3|250|1:z]\n"
      "feed=0 finish=1 id=3 comments=2 retry=250";
  GS_CHECK_STR(want, expect);

  char *got = run_bytewise(MIXED, len, 0);
  GS_CHECK_STR(got, want);
  free(got);
  /* Every single split point, and every pair of split points. */
  int bad = 0;
  for (size_t i = 0; i <= len && bad < 5; i++) {
    size_t cuts[1] = {i};
    got = run_chunks(MIXED, len, cuts, 1, 0);
    if (strcmp(got, want) != 0 && bad++ < 5)
      fprintf(stderr, "split at %zu: %s\n", i, got);
    free(got);
  }
  for (size_t i = 0; i <= len && bad < 5; i++) {
    for (size_t j = i; j <= len && bad < 5; j++) {
      size_t cuts[2] = {i, j};
      got = run_chunks(MIXED, len, cuts, 2, 0);
      if (strcmp(got, want) != 0 && bad++ < 5)
        fprintf(stderr, "split at %zu,%zu: %s\n", i, j, got);
      free(got);
    }
  }
  GS_CHECK_INT(bad, 0);
  /* Random chunkings. */
  for (int round = 0; round < 2000; round++) {
    size_t cuts[64], n = 0, at = 0;
    while (n < 64) {
      at += rng_next() % 24;
      if (at > len)
        break;
      cuts[n++] = at;
    }
    got = run_chunks(MIXED, len, cuts, n, 0);
    GS_CHECK(strcmp(got, want) == 0);
    free(got);
  }
  /* With a limit the failure point and the events before it do not depend
   * on the chunking either. */
  char *lwant = run_chunks(MIXED, len, NULL, 0, 24);
  GS_CHECK_STR(lwant, "[message|p1|1500|0:]\nfeed=-7 finish=-7 id=p1 comments=1 retry=1500");
  got = run_bytewise(MIXED, len, 24);
  GS_CHECK_STR(got, lwant);
  free(got);
  for (int round = 0; round < 500; round++) {
    size_t cuts[64], n = 0, at = 0;
    while (n < 64) {
      at += rng_next() % 24;
      if (at > len)
        break;
      cuts[n++] = at;
    }
    got = run_chunks(MIXED, len, cuts, n, 24);
    GS_CHECK(strcmp(got, lwant) == 0);
    free(got);
  }
  free(lwant);
  free(want);
}

/* A deliberately naive decoder of a whole stream, written from the rules:
 * strip one BOM, split into lines at CRLF / CR / LF, interpret each line. */
static char *reference_decode(const char *s, size_t len) {
  str_t out = {0}, data = {0}, type = {0}, id = {0}, last_id = {0};
  long long retry = -1;
  long long comments = 0;
  int in_event = 0, pending = 0;
  size_t i = 0;
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  int id_dirty = 0;
  str_add(&data, "", 0);
  str_add(&type, "", 0);
  str_add(&id, "", 0);
  str_add(&last_id, "", 0);
  while (i < len) {
    size_t e = i;
    while (e < len && s[e] != '\r' && s[e] != '\n')
      e++;
    if (e == len) {
      pending = 1; /* unterminated line */
      break;
    }
    const char *line = s + i;
    size_t ll = e - i;
    i = e + 1;
    if (s[e] == '\r' && i < len && s[i] == '\n')
      i++;
    if (ll == 0) {
      in_event = 0;
      if (id_dirty) {
        last_id.len = 0;
        str_add(&last_id, id.s, id.len);
        id_dirty = 0;
      }
      if (data.len) {
        data.len--;
        str_event(&out, type.len ? type.s : "message", type.len ? type.len : 7, last_id.s,
                  last_id.len, retry, data.s, data.len);
      }
      data.len = type.len = 0;
      continue;
    }
    if (line[0] == ':') {
      comments++;
      continue;
    }
    in_event = 1;
    size_t c = 0;
    while (c < ll && line[c] != ':')
      c++;
    const char *v = c < ll ? line + c + 1 : "";
    size_t vl = c < ll ? ll - c - 1 : 0;
    if (vl && v[0] == ' ')
      v++, vl--;
    if (c == 4 && !memcmp(line, "data", 4)) {
      str_add(&data, v, vl);
      str_add(&data, "\n", 1);
    } else if (c == 5 && !memcmp(line, "event", 5)) {
      type.len = 0;
      str_add(&type, v, vl);
    } else if (c == 2 && !memcmp(line, "id", 2)) {
      if (!memchr(v, 0, vl)) {
        id.len = 0;
        str_add(&id, v, vl);
        id_dirty = 1;
      }
    } else if (c == 5 && !memcmp(line, "retry", 5) && vl) {
      int ok = 1;
      long long r = 0;
      for (size_t k = 0; k < vl; k++) {
        if (v[k] < '0' || v[k] > '9')
          ok = 0;
        else
          r = r > (LLONG_MAX - (v[k] - '0')) / 10 ? LLONG_MAX : r * 10 + (v[k] - '0');
      }
      if (ok)
        retry = r;
    }
  }
  if (len > 0 && len < 3 && memcmp(s, "\xEF\xBB\xBF", len) == 0)
    pending = 1; /* a partial BOM */
  str_addf(&out, "feed=%lld ", 0);
  str_addf(&out, "finish=%lld id=", pending || in_event);
  str_add(&out, last_id.s, last_id.len);
  str_addf(&out, " comments=%lld", comments);
  str_addf(&out, " retry=%lld", retry);
  str_free(&data);
  str_free(&type);
  str_free(&id);
  str_free(&last_id);
  return out.s;
}

static void test_random_streams(void) {
#define T(lit)                                                                                     \
  { lit, sizeof(lit) - 1 }
  static const struct {
    const char *s;
    size_t n;
  } tokens[] = {
      T("data"),     T("data:"),        T("data: "), T("event"), T("event:"),  T("event: "),
      T("id"),       T("id: "),         T("id:"),    T("retry"), T("retry: "), T("retry:"),
      T(":"),        T(": "),           T("x"),      T("y"),     T(" "),       T("1"),
      T("42"),       T("\r"),           T("\n"),     T("\r\n"),  T("\n\n"),    T("\r\r"),
      T("\xC3\xA9"), T("\xEF\xBB\xBF"), T("\0"),     T("ping"),  T("message"), T("9")};
#undef T
  size_t ntok = sizeof tokens / sizeof *tokens;
  int bad = 0;
  for (int round = 0; round < 3000 && bad < 5; round++) {
    str_t s = {0};
    if (rng_next() % 4 == 0)
      str_add(&s, "\xEF\xBB\xBF", 3 - rng_next() % 3 * (rng_next() % 2));
    size_t n = rng_next() % 60;
    for (size_t k = 0; k < n; k++) {
      size_t t = rng_next() % ntok;
      str_add(&s, tokens[t].s, tokens[t].n);
    }
    str_add(&s, "", 0);
    char *want = reference_decode(s.s, s.len);
    char *once = run(s.s, s.len);
    char *bytes = run_bytewise(s.s, s.len, 0);
    size_t cuts[32], nc = 0, at = 0;
    while (nc < 32) {
      at += rng_next() % 8;
      if (at > s.len)
        break;
      cuts[nc++] = at;
    }
    char *chunks = run_chunks(s.s, s.len, cuts, nc, 0);
    if (strcmp(once, want) || strcmp(bytes, want) || strcmp(chunks, want)) {
      bad++;
      fprintf(stderr, "random stream %d differs:\nwant %s\nonce %s\nbytes %s\nchunks %s\n", round,
              want, once, bytes, chunks);
    }
    free(want);
    free(once);
    free(bytes);
    free(chunks);
    str_free(&s);
  }
  GS_CHECK_INT(bad, 0);
}

int main(void) {
  GS_RUN(test_gofr_dig_reply);
  GS_RUN(test_line_ends);
  GS_RUN(test_crlf_split_between_feeds);
  GS_RUN(test_fields_and_spaces);
  GS_RUN(test_comments);
  GS_RUN(test_id);
  GS_RUN(test_priming_event);
  GS_RUN(test_retry);
  GS_RUN(test_bom);
  GS_RUN(test_finish);
  GS_RUN(test_limits);
  GS_RUN(test_callback_contract);
  GS_RUN(test_chunking_property);
  GS_RUN(test_random_streams);
  return gs_test_report();
}
