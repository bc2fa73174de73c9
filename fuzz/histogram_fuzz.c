/* libFuzzer target for the histogram codec (gs/histogram.h).
 *
 * An input starting with "HG1:" is decoded. Oracle: decoding never fails
 * with anything but GS_EINVAL; an accepted string encodes back to exactly
 * the same bytes (decode∘encode is the identity on what decode accepts),
 * and the decoded histogram is self-consistent: min <= mean <= max, the
 * population standard deviation is at most (max - min) / 2, percentiles are
 * non-decreasing within [min, max] with p0 = min and p100 = max, count_below
 * is non-decreasing from 0 to count, and merging it into an empty histogram
 * copies it.
 *
 * Any other input is a list of values recorded into a histogram (8 bytes
 * each: a value, shifted right by the low 6 bits of the first byte so small
 * values are common, and repeated 1..16 times). Oracle: its encoding decodes
 * and encodes back to the same string, with the same count, min, max and
 * percentiles, and passes the checks above. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gs/error.h"
#include "gs/histogram.h"

static const double gs__fuzz_ps[] = {0, 1e-9, 50, 99.9, 100};
#define GS__FUZZ_NPS (sizeof gs__fuzz_ps / sizeof gs__fuzz_ps[0])

static char *gs__fuzz_encode(const gs_hist_t *h, size_t *len) {
  char *s;
  GS_FUZZ_CHECK(gs_hist_encode(h, &s, len) == 0 && s[*len] == '\0' && strlen(s) == *len);
  return s;
}

/* Checks what must hold for every histogram; returns its encoding. */
static char *gs__fuzz_check(const gs_hist_t *h, size_t *len) {
  uint64_t n = gs_hist_count(h), min = gs_hist_min(h), max = gs_hist_max(h);
  GS_FUZZ_CHECK(min <= max && max <= GS_HIST_MAX_US && (n || max == 0));
  double mean = gs_hist_mean(h), sd = gs_hist_stddev(h);
  GS_FUZZ_CHECK(mean >= (double)min * (1 - 1e-12) && mean <= (double)max * (1 + 1e-12));
  GS_FUZZ_CHECK(sd >= 0 && sd <= (double)(max - min) / 2 * (1 + 1e-9) + 1e-6);
  uint64_t prev = 0;
  for (size_t i = 0; i < GS__FUZZ_NPS; i++) {
    uint64_t v = gs_hist_percentile(h, gs__fuzz_ps[i]);
    GS_FUZZ_CHECK(v >= prev && (!n || (v >= min && v <= max)));
    prev = v;
  }
  GS_FUZZ_CHECK(gs_hist_percentile(h, 0) == min && gs_hist_percentile(h, 100) == max);
  uint64_t below = gs_hist_count_below(h, 0),
           steps[] = {min, (min + max) / 2, max, max + 1, GS_HIST_MAX_US + 1}; /* ascending */
  GS_FUZZ_CHECK(below == 0);
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    uint64_t b = gs_hist_count_below(h, steps[i]);
    GS_FUZZ_CHECK(b >= below && b <= n);
    below = b;
  }
  GS_FUZZ_CHECK(below == n);

  char *s = gs__fuzz_encode(h, len);
  gs_hist_t *copy;
  size_t clen;
  GS_FUZZ_CHECK(gs_hist_new(&copy) == 0);
  gs_hist_merge(copy, h);
  char *cs = gs__fuzz_encode(copy, &clen);
  GS_FUZZ_CHECK(clen == *len && memcmp(cs, s, clen) == 0);
  free(cs);
  gs_hist_free(copy);
  return s;
}

static void gs__fuzz_decode(const char *in, size_t n) {
  gs_hist_t *h;
  int rc = gs_hist_decode(in, n, &h);
  GS_FUZZ_CHECK(rc == 0 || rc == GS_EINVAL);
  if (rc) {
    GS_FUZZ_CHECK(h == NULL);
    return;
  }
  size_t len;
  char *s = gs__fuzz_check(h, &len);
  GS_FUZZ_CHECK(len == n && memcmp(s, in, n) == 0);
  free(s);
  gs_hist_free(h);
}

static void gs__fuzz_record(const uint8_t *data, size_t size) {
  gs_hist_t *h;
  GS_FUZZ_CHECK(gs_hist_new(&h) == 0);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v;
    memcpy(&v, data + i, sizeof v);
    gs_hist_record_n(h, v >> (data[i] & 63), (uint64_t)(data[i] >> 4) + 1);
  }
  size_t len;
  char *s = gs__fuzz_check(h, &len);
  gs_hist_t *back;
  GS_FUZZ_CHECK(gs_hist_decode(s, len, &back) == 0);
  size_t blen;
  char *bs = gs__fuzz_encode(back, &blen);
  GS_FUZZ_CHECK(blen == len && memcmp(bs, s, len) == 0);
  GS_FUZZ_CHECK(gs_hist_count(back) == gs_hist_count(h) && gs_hist_min(back) == gs_hist_min(h) &&
                gs_hist_max(back) == gs_hist_max(h));
  for (size_t i = 0; i < GS__FUZZ_NPS; i++)
    GS_FUZZ_CHECK(gs_hist_percentile(back, gs__fuzz_ps[i]) ==
                  gs_hist_percentile(h, gs__fuzz_ps[i]));
  free(bs);
  free(s);
  gs_hist_free(back);
  gs_hist_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 4 && memcmp(data, "HG1:", 4) == 0)
    gs__fuzz_decode((const char *)data, size);
  else
    gs__fuzz_record(data, size);
  return 0;
}
