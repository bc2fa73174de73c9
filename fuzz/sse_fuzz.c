/* libFuzzer target for the SSE decoder (gs/sse.h).
 *
 * Input: byte 0 picks the line/event limit (below 128: the default; else
 * 1..128 bytes, so the GS_EBODYTOOLARGE paths are reached), byte 1 seeds
 * the split, the rest is the event stream.
 *
 * Oracle: the stream fed whole and fed in pseudo-random pieces (empty feeds
 * included) gives the same events (type, data, id, retry, in order), the
 * same sticky error, the same finish result, last event ID and counters.
 * Every event obeys the header's contract (NUL-terminated fields, a
 * non-empty type, data within the limit, no NUL in the id), the decoder
 * refuses re-entry from its callback, and an error stays sticky. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gs/buf.h"
#include "gs/error.h"
#include "gs/sse.h"

typedef struct {
  gs_sse_parser_t *p;
  gs_buf_t log; /* every event, serialised */
} gs__fuzz_run_t;

static void gs__fuzz_log(gs_buf_t *log, const char *s, size_t n) {
  GS_FUZZ_CHECK(gs_buf_add(log, &n, sizeof n) == 0 && gs_buf_add(log, s, n) == 0);
}

static int gs__fuzz_on_event(const gs_sse_event_t *ev, void *data) {
  gs__fuzz_run_t *r = data;
  GS_FUZZ_CHECK(ev->type[ev->type_len] == '\0' && ev->type_len > 0);
  GS_FUZZ_CHECK(ev->data[ev->data_len] == '\0' && ev->data_len <= r->p->max_bytes);
  GS_FUZZ_CHECK(ev->id[ev->id_len] == '\0' && memchr(ev->id, '\0', ev->id_len) == NULL);
  GS_FUZZ_CHECK(ev->retry >= -1);
  GS_FUZZ_CHECK(gs_sse_feed(r->p, "x", 1, NULL, NULL) == GS_EINVAL);
  GS_FUZZ_CHECK(gs_sse_reset(r->p) == GS_EINVAL && gs_sse_finish(r->p, NULL, NULL) == GS_EINVAL);
  gs__fuzz_log(&r->log, ev->type, ev->type_len);
  gs__fuzz_log(&r->log, ev->data, ev->data_len);
  gs__fuzz_log(&r->log, ev->id, ev->id_len);
  GS_FUZZ_CHECK(gs_buf_add(&r->log, &ev->retry, sizeof ev->retry) == 0);
  return 0;
}

/* Feeds s[0..n) in pieces (whole when split is 0), then finishes; appends
 * the outcome to r->log. */
static void gs__fuzz_decode(gs__fuzz_run_t *r, const char *s, size_t n, uint32_t split) {
  int err = 0;
  size_t off = 0;
  do {
    size_t k = split ? gs_fuzz_piece(&split, n - off, 64) : n - off;
    int rc = gs_sse_feed(r->p, s + off, k, gs__fuzz_on_event, r);
    GS_FUZZ_CHECK(rc == 0 || rc == GS_EBODYTOOLARGE);
    GS_FUZZ_CHECK(err == 0 || rc == err); /* sticky */
    if (rc)
      err = rc;
    off += k;
  } while (off < n);
  int fin = gs_sse_finish(r->p, gs__fuzz_on_event, r);
  GS_FUZZ_CHECK(err ? fin == err : fin == 0 || fin == 1);
  size_t id_len;
  const char *id = gs_sse_last_event_id(r->p, &id_len);
  GS_FUZZ_CHECK(id[id_len] == '\0');
  gs__fuzz_log(&r->log, id, id_len);
  uint64_t counts[3] = {r->p->events, r->p->comments, r->p->discarded};
  int codes[2] = {err, fin};
  GS_FUZZ_CHECK(gs_buf_add(&r->log, counts, sizeof counts) == 0 &&
                gs_buf_add(&r->log, codes, sizeof codes) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t max = data[0] < 128 ? 0 : (size_t)data[0] - 127;
  uint32_t split = data[1] | 0x100u; /* never 0: always split */
  const char *s = (const char *)data + 2;
  size_t n = size - 2;

  gs_sse_parser_t pw, ps;
  gs_sse_init(&pw, max);
  gs_sse_init(&ps, max);
  gs__fuzz_run_t whole = {.p = &pw}, parts = {.p = &ps};
  gs__fuzz_decode(&whole, s, n, 0);
  gs__fuzz_decode(&parts, s, n, split);
  GS_FUZZ_CHECK(whole.log.len == parts.log.len &&
                memcmp(whole.log.p, parts.log.p, whole.log.len) == 0);
  gs_sse_free(&pw);
  gs_sse_free(&ps);
  free(whole.log.p);
  free(parts.log.p);
  return 0;
}
