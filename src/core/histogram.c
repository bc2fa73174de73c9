/* HDR-style log-linear latency histogram; see gs/histogram.h.
 *
 * Layout (HdrHistogram with lowest value 1, 3 significant digits, unit
 * magnitude 0): bucket b (0..21) holds values [1024 << b, 2048 << b) in 1024
 * sub-buckets of width 1 << b; bucket 0 also holds 0..1023 exactly. Counter
 * index of v: ((b + 1) << 10) + (v >> b) - 1024 where b is the bucket of v. */
#include "gs/histogram.h"

#include <stdlib.h>
#include <string.h>

#include "gs/base64.h"
#include "gs/error.h"

#ifndef __SIZEOF_INT128__
#error "gs/histogram needs a compiler with unsigned __int128 (gcc or clang, 64-bit)"
#endif
__extension__ typedef unsigned __int128 gs_u128;

#define GS_SUB_BITS 11                        /* log2(sub-bucket count) */
#define GS_SUB_MASK ((1u << GS_SUB_BITS) - 1) /* 2047 */
#define GS_HALF_BITS (GS_SUB_BITS - 1)
#define GS_HALF_COUNT (1u << GS_HALF_BITS) /* 1024 */
#define GS_BUCKETS 22                      /* 2048 << 21 > GS_HIST_MAX_US */

struct gs_hist_s {
  uint64_t count;
  uint64_t min;  /* UINT64_MAX when empty */
  uint64_t max;  /* 0 when empty */
  gs_u128 sum;   /* exact sum of the values */
  gs_u128 sumsq; /* exact sum of their squares: cannot overflow while count fits */
  uint64_t counts[];
};

_Static_assert(GS_HIST_COUNTS == (GS_BUCKETS + 1) * GS_HALF_COUNT, "GS_HIST_COUNTS");
_Static_assert(GS_HIST_BYTES == sizeof(struct gs_hist_s) + GS_HIST_COUNTS * sizeof(uint64_t),
               "GS_HIST_BYTES");
_Static_assert((UINT64_C(2048) << (GS_BUCKETS - 1)) > GS_HIST_MAX_US, "buckets cover the range");

static inline uint32_t gs__hist_index(uint64_t v) {
  int bucket = 64 - __builtin_clzll(v | GS_SUB_MASK) - GS_SUB_BITS; /* 0..21 for v <= max */
  return (uint32_t)(((uint64_t)(bucket + 1) << GS_HALF_BITS) + (v >> bucket) - GS_HALF_COUNT);
}

/* Lowest value counted at index i, and the width of its range. */
static inline uint64_t gs__hist_lowest(uint32_t i, uint64_t *width) {
  if (i < GS_HALF_COUNT) {
    *width = 1;
    return i;
  }
  int bucket = (int)(i >> GS_HALF_BITS) - 1;
  *width = UINT64_C(1) << bucket;
  return (uint64_t)((i & (GS_HALF_COUNT - 1)) + GS_HALF_COUNT) << bucket;
}

int gs_hist_new(gs_hist_t **out) {
  *out = calloc(1, GS_HIST_BYTES);
  if (!*out)
    return GS_ENOMEM;
  (*out)->min = UINT64_MAX;
  return 0;
}

void gs_hist_free(gs_hist_t *h) {
  free(h);
}

/* Counters outside [index(min), index(max)] are always zero: only that range
 * is cleared, so a reset does not touch (or fault in) the whole array. */
void gs_hist_reset(gs_hist_t *h) {
  if (h->count) {
    uint32_t lo = gs__hist_index(h->min), hi = gs__hist_index(h->max);
    memset(h->counts + lo, 0, (hi - lo + 1) * sizeof h->counts[0]);
  }
  h->count = h->max = 0;
  h->min = UINT64_MAX;
  h->sum = h->sumsq = 0;
}

static inline void gs__hist_add(gs_hist_t *h, uint64_t us, uint64_t n) {
  if (us > GS_HIST_MAX_US)
    us = GS_HIST_MAX_US;
  h->counts[gs__hist_index(us)] += n;
  h->count += n;
  if (us < h->min)
    h->min = us;
  if (us > h->max)
    h->max = us;
  h->sum += (gs_u128)us * n;
  h->sumsq += (gs_u128)(us * us) * n; /* us * us < 2^64 after clamping */
}

void gs_hist_record(gs_hist_t *h, uint64_t us) {
  gs__hist_add(h, us, 1);
}

void gs_hist_record_n(gs_hist_t *h, uint64_t us, uint64_t n) {
  if (n)
    gs__hist_add(h, us, n);
}

void gs_hist_merge(gs_hist_t *dst, const gs_hist_t *src) {
  if (!src->count)
    return;
  uint32_t lo = gs__hist_index(src->min), hi = gs__hist_index(src->max);
  for (uint32_t i = lo; i <= hi; i++)
    dst->counts[i] += src->counts[i];
  dst->count += src->count;
  if (src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
  dst->sum += src->sum;
  dst->sumsq += src->sumsq;
}

uint64_t gs_hist_count(const gs_hist_t *h) {
  return h->count;
}

uint64_t gs_hist_min(const gs_hist_t *h) {
  return h->count ? h->min : 0;
}

uint64_t gs_hist_max(const gs_hist_t *h) {
  return h->max;
}

double gs_hist_mean(const gs_hist_t *h) {
  return h->count ? (double)((long double)h->sum / (long double)h->count) : 0.0;
}

/* Square root by Newton's method (the core does not link libm); x > 0. */
static double gs__sqrt(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  bits = (bits >> 1) + (UINT64_C(1023) << 51); /* halves the exponent: within 6% */
  double y;
  memcpy(&y, &bits, sizeof y);
  for (int i = 0; i < 6; i++)
    y = 0.5 * (y + x / y);
  return y;
}

double gs_hist_stddev(const gs_hist_t *h) {
  if (h->count < 2)
    return 0.0;
  gs_u128 n = h->count;
  long double var;
  if (h->sumsq <= ~(gs_u128)0 / n) {
    /* n * sumsq >= sum^2 (Cauchy-Schwarz), so both fit: exact numerator. */
    gs_u128 num = n * h->sumsq - h->sum * h->sum;
    var = (long double)num / ((long double)n * (long double)n);
  } else {
    long double mean = (long double)h->sum / (long double)n;
    var = (long double)h->sumsq / (long double)n - mean * mean;
  }
  return var > 0 ? gs__sqrt((double)var) : 0.0;
}

uint64_t gs_hist_percentile(const gs_hist_t *h, double p) {
  if (!h->count)
    return 0;
  if (!(p > 0)) /* also NaN */
    return h->min;
  if (p >= 100)
    return h->max;
  /* rank = ceil(p / 100 * count), 1..count, without libm. */
  double r = p * (double)h->count / 100.0;
  uint64_t rank;
  if (r >= (double)h->count) {
    rank = h->count;
  } else {
    rank = (uint64_t)r;
    if ((double)rank < r)
      rank++;
    if (rank == 0)
      rank = 1;
  }
  uint32_t i = gs__hist_index(h->min), last = gs__hist_index(h->max);
  uint64_t seen = 0;
  for (; i < last; i++) {
    seen += h->counts[i];
    if (seen >= rank)
      break;
  }
  uint64_t width, v = gs__hist_lowest(i, &width);
  v += width >> 1;
  if (v < h->min)
    v = h->min;
  if (v > h->max)
    v = h->max;
  return v;
}

uint64_t gs_hist_count_below(const gs_hist_t *h, uint64_t us) {
  if (!h->count || us <= h->min)
    return 0;
  if (us > h->max)
    return h->count;
  /* min < us <= max: counters lo..i-1 lie wholly below us; counter i (the
   * one holding us) counts when its lowest value is below us. */
  uint32_t lo = gs__hist_index(h->min), i = gs__hist_index(us);
  uint64_t width, n = 0;
  for (uint32_t j = lo; j < i; j++)
    n += h->counts[j];
  if (gs__hist_lowest(i, &width) < us)
    n += h->counts[i];
  return n;
}

/* ---- encoding ----------------------------------------------------------- */

static const char GS_HIST_MAGIC[] = "HG1:";
#define GS_HIST_MAGIC_LEN 4

static size_t gs__put_varint(uint8_t *p, gs_u128 v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

int gs_hist_encode(const gs_hist_t *h, char **out, size_t *len) {
  *out = NULL;
  size_t pairs = 0;
  uint32_t lo = 0, hi = 0;
  if (h->count) {
    lo = gs__hist_index(h->min);
    hi = gs__hist_index(h->max);
    for (uint32_t i = lo; i <= hi; i++)
      pairs += h->counts[i] != 0;
  }
  /* count, min, max: 10 bytes each; sums: 19 each; pairs: 3 + 10 */
  uint8_t *buf = malloc(3 * 10 + 2 * 19 + pairs * 13);
  if (!buf)
    return GS_ENOMEM;
  size_t n = 0;
  n += gs__put_varint(buf + n, h->count);
  n += gs__put_varint(buf + n, gs_hist_min(h));
  n += gs__put_varint(buf + n, h->max);
  n += gs__put_varint(buf + n, h->sum);
  n += gs__put_varint(buf + n, h->sumsq);
  uint32_t prev = 0;
  for (uint32_t i = lo; pairs && i <= hi; i++) {
    if (!h->counts[i])
      continue;
    n += gs__put_varint(buf + n, i - prev);
    n += gs__put_varint(buf + n, h->counts[i]);
    prev = i;
  }
  size_t slen = GS_HIST_MAGIC_LEN + gs_base64_encoded_len(n, GS_BASE64_PAD);
  char *s = malloc(slen + 1);
  if (!s) {
    free(buf);
    return GS_ENOMEM;
  }
  memcpy(s, GS_HIST_MAGIC, GS_HIST_MAGIC_LEN);
  gs_base64_encode(buf, n, GS_BASE64_PAD, s + GS_HIST_MAGIC_LEN);
  free(buf);
  *out = s;
  if (len)
    *len = slen;
  return 0;
}

/* Reads a canonical (minimal) LEB128 varint of at most `bits` bits. */
static int gs__get_varint(const uint8_t *p, size_t n, size_t *pos, int bits, gs_u128 *v) {
  gs_u128 x = 0;
  for (int shift = 0; *pos < n; shift += 7) {
    uint8_t b = p[(*pos)++];
    if (shift >= bits || (bits - shift < 7 && (b & 0x7f) >> (bits - shift)))
      return -1; /* too long / overflow */
    x |= (gs_u128)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (b == 0 && shift > 0)
        return -1; /* non-minimal */
      *v = x;
      return 0;
    }
  }
  return -1; /* truncated */
}

static int gs__get_u64(const uint8_t *p, size_t n, size_t *pos, uint64_t *v) {
  gs_u128 x;
  if (gs__get_varint(p, n, pos, 64, &x))
    return -1;
  *v = (uint64_t)x;
  return 0;
}

/* Parses and checks the payload into h (fresh, empty). */
static int gs__hist_parse(const uint8_t *p, size_t n, gs_hist_t *h) {
  size_t pos = 0;
  uint64_t count, min, max;
  gs_u128 sum, sumsq;
  if (gs__get_u64(p, n, &pos, &count) || gs__get_u64(p, n, &pos, &min) ||
      gs__get_u64(p, n, &pos, &max) || gs__get_varint(p, n, &pos, 128, &sum) ||
      gs__get_varint(p, n, &pos, 128, &sumsq))
    return GS_EINVAL;
  if (!count)
    return min == 0 && max == 0 && sum == 0 && sumsq == 0 && pos == n ? 0 : GS_EINVAL;
  if (min > max || max > GS_HIST_MAX_US)
    return GS_EINVAL;
  uint32_t lo = gs__hist_index(min), hi = gs__hist_index(max);
  uint64_t total = 0, index = 0;
  gs_u128 sum_lo = 0, sum_hi = 0, sq_lo = 0, sq_hi = 0; /* bounds from the counters */
  int first = 1;
  while (pos < n) {
    uint64_t delta, c;
    if (gs__get_u64(p, n, &pos, &delta) || gs__get_u64(p, n, &pos, &c))
      return GS_EINVAL;
    if ((!first && delta == 0) || delta > hi || c == 0)
      return GS_EINVAL;
    index += delta; /* no overflow: index <= hi and delta <= hi */
    if ((first && index != lo) || index > hi || c > count - total)
      return GS_EINVAL;
    first = 0;
    total += c;
    h->counts[index] = c;
    uint64_t width, low = gs__hist_lowest((uint32_t)index, &width), high = low + width - 1;
    if (low < min)
      low = min;
    if (high > max)
      high = max;
    sum_lo += (gs_u128)low * c;
    sum_hi += (gs_u128)high * c;
    sq_lo += (gs_u128)(low * low) * c;
    sq_hi += (gs_u128)(high * high) * c;
  }
  if (first || index != hi || total != count)
    return GS_EINVAL;
  /* min and max are each counted at least once. */
  if (sum < sum_lo || sum > sum_hi || sumsq < sq_lo || sumsq > sq_hi)
    return GS_EINVAL;
  if (count == 1 && (min != max || sum != min || sumsq != (gs_u128)min * min))
    return GS_EINVAL;
  h->count = count;
  h->min = min;
  h->max = max;
  h->sum = sum;
  h->sumsq = sumsq;
  return 0;
}

int gs_hist_decode(const char *s, size_t len, gs_hist_t **out) {
  *out = NULL;
  if (!s || len < GS_HIST_MAGIC_LEN + 4 || memcmp(s, GS_HIST_MAGIC, GS_HIST_MAGIC_LEN) != 0)
    return GS_EINVAL;
  size_t n = len - GS_HIST_MAGIC_LEN;
  if (n % 4)
    return GS_EINVAL;
  uint8_t *buf = malloc(gs_base64_decoded_max(n));
  if (!buf)
    return GS_ENOMEM;
  /* strict: padded, '=' only at the end, unused bits zero */
  size_t plen = 0;
  int rc = gs_base64_decode(s + GS_HIST_MAGIC_LEN, n, GS_BASE64_PAD, buf, &plen);
  gs_hist_t *h = NULL;
  if (rc == 0)
    rc = gs_hist_new(&h);
  if (rc == 0)
    rc = gs__hist_parse(buf, plen, h);
  free(buf);
  if (rc) {
    gs_hist_free(h);
    return rc;
  }
  *out = h;
  return 0;
}
