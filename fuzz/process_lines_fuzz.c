/* libFuzzer target for the line splitter of piped children's stdout
 * (gs_lines_t, gs/process.h): the bytes a child writes are outside input.
 *
 * Input: byte 0 picks max_line (below 192: 1..64 bytes, so refusals are
 * common; else the default), byte 1 seeds the split, the rest is the
 * stream.
 *
 * Oracle: the stream fed whole, and fed in pseudo-random pieces (empty
 * feeds included), gives exactly the lines and refusals, in order, of a
 * naive reference splitter run on the whole stream: split at every '\n';
 * a segment longer than max_line is one refusal; the last segment (no
 * '\n') is a line when it is not empty. Every line is within max_line and
 * holds no '\n'; the counters agree; a stop from the callback stops the
 * feed and the splitter goes on cleanly afterwards. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gs/buf.h"
#include "gs/error.h"
#include "gs/process.h"

typedef struct {
  gs_buf_t log; /* each event: status, length, bytes */
  size_t max_line;
  uint64_t events;
} gs__fuzz_log_t;

static void gs__fuzz_event(gs__fuzz_log_t *r, int status, const char *line, size_t len) {
  GS_FUZZ_CHECK(gs_buf_add(&r->log, &status, sizeof status) == 0);
  GS_FUZZ_CHECK(gs_buf_add(&r->log, &len, sizeof len) == 0);
  GS_FUZZ_CHECK(gs_buf_add(&r->log, line, len) == 0);
  r->events++;
}

static int gs__fuzz_on_line(int status, const char *line, size_t len, void *data) {
  gs__fuzz_log_t *r = data;
  if (status == 0) {
    GS_FUZZ_CHECK(line != NULL || len == 0);
    GS_FUZZ_CHECK(len <= r->max_line);
    GS_FUZZ_CHECK(len == 0 || memchr(line, '\n', len) == NULL);
  } else {
    GS_FUZZ_CHECK(status == GS_EBODYTOOLARGE && line == NULL && len == 0);
  }
  gs__fuzz_event(r, status, line, len);
  return 0;
}

/* The reference: the whole stream at once, by the rules of the header. */
static void gs__fuzz_reference(gs__fuzz_log_t *r, const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    int end = i == n;
    if (!end && s[i] != '\n')
      continue;
    size_t len = i - start;
    if (len > r->max_line)
      gs__fuzz_event(r, GS_EBODYTOOLARGE, NULL, 0);
    else if (!end || len > 0)
      gs__fuzz_event(r, 0, s + start, len);
    start = i + 1;
  }
}

static void gs__fuzz_split(gs__fuzz_log_t *r, const char *s, size_t n, uint32_t split) {
  gs_lines_t l;
  gs_lines_init(&l, r->max_line);
  size_t off = 0;
  do {
    size_t k = split ? gs_fuzz_piece(&split, n - off, 96) : n - off;
    GS_FUZZ_CHECK(gs_lines_feed(&l, s + off, k, gs__fuzz_on_line, r) == 0);
    GS_FUZZ_CHECK(l.partial.len <= r->max_line);
    off += k;
  } while (off < n);
  GS_FUZZ_CHECK(gs_lines_finish(&l, gs__fuzz_on_line, r) == 0);
  GS_FUZZ_CHECK(l.lines + l.too_long == r->events);
  GS_FUZZ_CHECK(l.partial.len == 0 && !l.skipping);
  gs_lines_free(&l);
}

static int gs__fuzz_stop(int status, const char *line, size_t len, void *data) {
  (void)status, (void)line, (void)len;
  ++*(int *)data;
  return 1;
}

/* A callback that stops at once: every feed that delivers something stops
 * after one event, and the splitter stays usable. */
static void gs__fuzz_stops(const char *s, size_t n, size_t max_line) {
  gs_lines_t l;
  gs_lines_init(&l, max_line);
  int calls = 0;
  int rc = gs_lines_feed(&l, s, n, gs__fuzz_stop, &calls);
  GS_FUZZ_CHECK(calls <= 1 && (rc == 0 || (rc == GS_ECANCELED && calls == 1)));
  calls = 0;
  GS_FUZZ_CHECK(gs_lines_feed(&l, "x\n", 2, gs__fuzz_stop, &calls) == GS_ECANCELED || calls == 0);
  gs_lines_finish(&l, gs__fuzz_stop, &calls);
  gs_lines_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  size_t max_line = data[0] < 192 ? (size_t)(data[0] % 64) + 1 : GS_PROCESS_MAX_LINE;
  uint32_t split = data[1] | 0x100u; /* never 0: always split */
  const char *s = (const char *)data + 2;
  size_t n = size - 2;

  gs__fuzz_log_t ref = {.max_line = max_line}, whole = {.max_line = max_line},
                 parts = {.max_line = max_line};
  gs__fuzz_reference(&ref, s, n);
  gs__fuzz_split(&whole, s, n, 0);
  gs__fuzz_split(&parts, s, n, split);
  GS_FUZZ_CHECK(ref.log.len == whole.log.len && ref.log.len == parts.log.len);
  GS_FUZZ_CHECK(ref.log.len == 0 || (memcmp(ref.log.p, whole.log.p, ref.log.len) == 0 &&
                                     memcmp(ref.log.p, parts.log.p, ref.log.len) == 0));
  gs__fuzz_stops(s, n, max_line);
  free(ref.log.p);
  free(whole.log.p);
  free(parts.log.p);
  return 0;
}
