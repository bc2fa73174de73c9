/* Tests of the HDR-style latency histogram: percentiles against a sorted
 * copy of the data (random and adversarial), exact count/min/max/mean,
 * merge, encode/decode round trips, and decoding garbage. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/histogram.h"
#include "gs_test.h"

#define MAX_US GS_HIST_MAX_US

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rng_range(uint64_t lo, uint64_t hi) { /* lo..hi inclusive */
  return lo + rng_next() % (hi - lo + 1);
}

/* Log-uniform on 1 us .. 1 h: a uniform exponent, then uniform within. */
static uint64_t rng_log_uniform(void) {
  int e = (int)rng_range(0, 31);
  uint64_t lo = UINT64_C(1) << e, hi = (lo << 1) - 1;
  uint64_t v = rng_range(lo, hi);
  return v > MAX_US ? MAX_US : v;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double rel_diff(double got, double want) {
  double d = got > want ? got - want : want - got;
  if (want == 0)
    return d;
  return d / (want < 0 ? -want : want);
}

/* Percentiles in hundredths: rank = ceil(p100 * n / 10000), exact. */
static const uint64_t P100[] = {1, 1000, 5000, 9000, 9500, 9900, 9990, 9999};

/* Records vals[0..n) (as given), then checks everything against a sorted,
 * clamped copy. Returns the histogram (caller frees). */
static gs_hist_t *check_data(const char *name, const uint64_t *vals, size_t n) {
  gs_hist_t *h;
  GS_CHECK_INT(gs_hist_new(&h), 0);
  uint64_t *sorted = malloc(n * sizeof *sorted);
  long double sum = 0;
  for (size_t i = 0; i < n; i++) {
    gs_hist_record(h, vals[i]);
    sorted[i] = vals[i] > MAX_US ? MAX_US : vals[i];
    sum += (long double)sorted[i];
  }
  qsort(sorted, n, sizeof *sorted, cmp_u64);
  long double mean = sum / (long double)n, ss = 0;
  for (size_t i = 0; i < n; i++)
    ss += ((long double)sorted[i] - mean) * ((long double)sorted[i] - mean);
  double sd = (double)(ss / (long double)n);

  GS_CHECK_INT(gs_hist_count(h), n);
  GS_CHECK_INT(gs_hist_min(h), sorted[0]);
  GS_CHECK_INT(gs_hist_max(h), sorted[n - 1]);
  GS_CHECK_INT(gs_hist_percentile(h, 0), sorted[0]);
  GS_CHECK_INT(gs_hist_percentile(h, 100), sorted[n - 1]);
  double mean_err = rel_diff(gs_hist_mean(h), (double)mean);
  if (mean_err > 1e-9)
    fprintf(stderr, "%s: mean %.17g, expected %.17g\n", name, gs_hist_mean(h), (double)mean);
  GS_CHECK(mean_err <= 1e-9);
  double got_sd = gs_hist_stddev(h);
  double sd_err = rel_diff(got_sd * got_sd, sd);
  if (sd_err > 1e-9 && !(sd == 0 && got_sd == 0))
    fprintf(stderr, "%s: variance %.17g, expected %.17g\n", name, got_sd * got_sd, sd);
  GS_CHECK(sd_err <= 1e-9 || sd < 1e-6);

  for (size_t k = 0; k < sizeof P100 / sizeof P100[0]; k++) {
    uint64_t rank = (P100[k] * n + 9999) / 10000;
    uint64_t want = sorted[rank - 1], got = gs_hist_percentile(h, (double)P100[k] / 100.0);
    double err = rel_diff((double)got, (double)want);
    if (err > 0.001)
      fprintf(stderr, "%s: p%g = %llu, expected %llu (rank %llu of %zu)\n", name,
              (double)P100[k] / 100.0, (unsigned long long)got, (unsigned long long)want,
              (unsigned long long)rank, n);
    GS_CHECK(err <= 0.001);
    GS_CHECK(got >= sorted[0] && got <= sorted[n - 1]);
  }
  free(sorted);
  return h;
}

/* Encode, decode, encode again: the same string and the same answers. */
static void check_round_trip(const gs_hist_t *h) {
  char *s = NULL, *s2 = NULL;
  size_t len = 0, len2 = 0;
  gs_hist_t *d = NULL;
  GS_CHECK_INT(gs_hist_encode(h, &s, &len), 0);
  GS_CHECK_INT(strlen(s), len);
  GS_CHECK(strncmp(s, "HG1:", 4) == 0);
  GS_CHECK_INT(gs_hist_decode(s, len, &d), 0);
  if (!d) {
    free(s);
    return;
  }
  GS_CHECK_INT(gs_hist_encode(d, &s2, &len2), 0);
  GS_CHECK_STR(s2, s);
  GS_CHECK_INT(gs_hist_count(d), gs_hist_count(h));
  GS_CHECK_INT(gs_hist_min(d), gs_hist_min(h));
  GS_CHECK_INT(gs_hist_max(d), gs_hist_max(h));
  GS_CHECK(gs_hist_mean(d) == gs_hist_mean(h));
  GS_CHECK(gs_hist_stddev(d) == gs_hist_stddev(h));
  for (double p = 0; p <= 100; p += 0.5)
    GS_CHECK_INT(gs_hist_percentile(d, p), gs_hist_percentile(h, p));
  free(s);
  free(s2);
  gs_hist_free(d);
}

static char *encode(const gs_hist_t *h) {
  char *s = NULL;
  GS_CHECK_INT(gs_hist_encode(h, &s, NULL), 0);
  return s;
}

/* ---- tests -------------------------------------------------------------- */

static void test_empty(void) {
  gs_hist_t *h;
  GS_CHECK_INT(gs_hist_new(&h), 0);
  GS_CHECK_INT(gs_hist_count(h), 0);
  GS_CHECK_INT(gs_hist_min(h), 0);
  GS_CHECK_INT(gs_hist_max(h), 0);
  GS_CHECK(gs_hist_mean(h) == 0);
  GS_CHECK(gs_hist_stddev(h) == 0);
  GS_CHECK_INT(gs_hist_percentile(h, 50), 0);
  char *s = encode(h);
  GS_CHECK_STR(s, "HG1:AAAAAAA=");
  check_round_trip(h);
  free(s);
  gs_hist_free(h);
  gs_hist_free(NULL);
}

static void test_small_exact(void) {
  gs_hist_t *h;
  GS_CHECK_INT(gs_hist_new(&h), 0);
  gs_hist_record(h, 1234567);
  for (double p = 0; p <= 100; p += 0.25)
    GS_CHECK_INT(gs_hist_percentile(h, p), 1234567);
  GS_CHECK(gs_hist_mean(h) == 1234567.0);
  GS_CHECK(gs_hist_stddev(h) == 0);
  gs_hist_reset(h);
  static const uint64_t v[] = {2, 4, 4, 4, 5, 5, 7, 9}; /* mean 5, stddev 2 */
  for (size_t i = 0; i < 8; i++)
    gs_hist_record(h, v[i]);
  GS_CHECK(gs_hist_mean(h) == 5.0);
  GS_CHECK(gs_hist_stddev(h) == 2.0);
  GS_CHECK_INT(gs_hist_percentile(h, 50), 4);   /* rank 4 */
  GS_CHECK_INT(gs_hist_percentile(h, 50.1), 5); /* rank 5 */
  GS_CHECK_INT(gs_hist_percentile(h, 12.5), 2); /* rank 1 */
  GS_CHECK_INT(gs_hist_percentile(h, 12.6), 4); /* rank 2 */
  GS_CHECK_INT(gs_hist_percentile(h, 1e-9), 2);
  GS_CHECK_INT(gs_hist_percentile(h, -5), 2);        /* clamped to 0 */
  GS_CHECK_INT(gs_hist_percentile(h, 1000), 9);      /* clamped to 100 */
  GS_CHECK_INT(gs_hist_percentile(h, 0.0 / 0.0), 2); /* NaN: as 0 */
  gs_hist_free(h);
}

/* count_below: exact in the exact range, monotone, 0 and count at the ends. */
static void test_count_below(void) {
  gs_hist_t *h;
  GS_CHECK_INT(gs_hist_new(&h), 0);
  GS_CHECK_INT(gs_hist_count_below(h, 1000), 0);
  static const uint64_t v[] = {2, 4, 4, 4, 5, 5, 7, 9, 5000, 1000000};
  for (size_t i = 0; i < 10; i++)
    gs_hist_record(h, v[i]);
  GS_CHECK_INT(gs_hist_count_below(h, 0), 0);
  GS_CHECK_INT(gs_hist_count_below(h, 2), 0);
  GS_CHECK_INT(gs_hist_count_below(h, 3), 1);
  GS_CHECK_INT(gs_hist_count_below(h, 5), 4);
  GS_CHECK_INT(gs_hist_count_below(h, 6), 6);
  GS_CHECK_INT(gs_hist_count_below(h, 10), 8);
  GS_CHECK_INT(gs_hist_count_below(h, 4990), 8);
  GS_CHECK_INT(gs_hist_count_below(h, 5010), 9);
  GS_CHECK_INT(gs_hist_count_below(h, 999000), 9);
  GS_CHECK_INT(gs_hist_count_below(h, 1000001), 10);
  GS_CHECK_INT(gs_hist_count_below(h, GS_HIST_MAX_US + 1), 10);
  uint64_t prev = 0;
  for (uint64_t us = 1; us < 2000000; us = us * 3 / 2 + 1) {
    uint64_t n = gs_hist_count_below(h, us);
    GS_CHECK(n >= prev);
    prev = n;
  }
  gs_hist_free(h);
}

static void test_uniform(void) {
  static const size_t sizes[] = {3000, 100000, 1000000};
  static const uint64_t tops[] = {5000, 1000000, MAX_US};
  for (size_t t = 0; t < 3; t++) {
    size_t n = sizes[t];
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
      v[i] = rng_range(1, tops[t]);
    gs_hist_t *h = check_data("uniform", v, n);
    check_round_trip(h);
    gs_hist_free(h);
    free(v);
  }
}

static void test_log_uniform(void) {
  static const size_t sizes[] = {2000, 50000, 1000000};
  for (size_t t = 0; t < 3; t++) {
    size_t n = sizes[t];
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
      v[i] = rng_log_uniform();
    gs_hist_t *h = check_data("log-uniform", v, n);
    check_round_trip(h);
    gs_hist_free(h);
    free(v);
  }
}

static void test_adversarial(void) {
  enum { N = 20000 };
  uint64_t *v = malloc(N * sizeof *v);
  gs_hist_t *h;

  for (size_t i = 0; i < N; i++) /* all equal, in a wide bucket */
    v[i] = 987654321;
  h = check_data("all-equal", v, N);
  GS_CHECK_INT(gs_hist_percentile(h, 50), 987654321);
  check_round_trip(h);
  gs_hist_free(h);

  for (size_t i = 0; i < N; i++) /* two clusters far apart, 90/10 */
    v[i] = i % 10 ? rng_range(95, 105) : rng_range(3000000000u, 3000100000u);
  h = check_data("two-clusters", v, N);
  check_round_trip(h);
  gs_hist_free(h);

  for (size_t i = 0; i < N; i++) /* 50/50 around a rank boundary */
    v[i] = i % 2 ? 7 : 2000000000;
  h = check_data("half-half", v, N);
  GS_CHECK_INT(gs_hist_percentile(h, 50), 7);
  GS_CHECK_INT(gs_hist_percentile(h, 50.01), 2000000000);
  gs_hist_free(h);

  /* Bucket edges: 2^k - 1, 2^k, 2^k + 1 for every k, and 2047/2048/4095/4096. */
  size_t n = 0;
  static const uint64_t edges[] = {0,    1,    2,    1023, 1024, 1025, 2046, 2047,       2048,
                                   2049, 4094, 4095, 4096, 4097, 8191, 8192, MAX_US - 1, MAX_US};
  for (size_t r = 0; r < 50; r++) {
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
      v[n++] = edges[i];
    for (int k = 1; k < 32; k++) {
      v[n++] = (UINT64_C(1) << k) - 1;
      v[n++] = UINT64_C(1) << k;
      v[n++] = (UINT64_C(1) << k) + 1;
    }
  }
  h = check_data("edges", v, n);
  check_round_trip(h);
  gs_hist_free(h);

  for (size_t i = 0; i < N; i++) /* zeros */
    v[i] = 0;
  h = check_data("zeros", v, N);
  check_round_trip(h);
  gs_hist_free(h);

  for (size_t i = 0; i < N; i++) /* over the max: clamped */
    v[i] = i % 3 == 0 ? MAX_US : i % 3 == 1 ? MAX_US + 1 + i : UINT64_MAX - i;
  h = check_data("over-max", v, N);
  GS_CHECK_INT(gs_hist_max(h), MAX_US);
  GS_CHECK_INT(gs_hist_percentile(h, 50), MAX_US);
  GS_CHECK(gs_hist_mean(h) == (double)MAX_US);
  check_round_trip(h);
  gs_hist_free(h);

  for (size_t i = 0; i < N; i++) /* a few small among huge */
    v[i] = i < 3 ? i : MAX_US - rng_range(0, 1000000);
  h = check_data("mixed", v, N);
  check_round_trip(h);
  gs_hist_free(h);
  free(v);
}

static void test_record_n_and_reset(void) {
  gs_hist_t *a, *b;
  GS_CHECK_INT(gs_hist_new(&a), 0);
  GS_CHECK_INT(gs_hist_new(&b), 0);
  for (int i = 0; i < 1000; i++)
    gs_hist_record(a, 4242);
  for (int i = 0; i < 7; i++)
    gs_hist_record(a, MAX_US + 5);
  gs_hist_record_n(b, 4242, 1000);
  gs_hist_record_n(b, 77, 0); /* nothing */
  gs_hist_record_n(b, MAX_US + 5, 7);
  char *sa = encode(a), *sb = encode(b);
  GS_CHECK_STR(sa, sb);
  free(sa);
  free(sb);
  GS_CHECK_INT(gs_hist_min(b), 4242);

  gs_hist_reset(a);
  gs_hist_t *e;
  GS_CHECK_INT(gs_hist_new(&e), 0);
  sa = encode(a);
  sb = encode(e);
  GS_CHECK_STR(sa, sb);
  free(sa);
  free(sb);
  gs_hist_record(a, 5);
  GS_CHECK_INT(gs_hist_min(a), 5);
  GS_CHECK_INT(gs_hist_max(a), 5);
  gs_hist_record(e, 5);
  sa = encode(a);
  sb = encode(e);
  GS_CHECK_STR(sa, sb); /* nothing left over from before the reset */
  free(sa);
  free(sb);
  for (int i = 0; i < 100000; i++) /* a wide range, reset, then compare again */
    gs_hist_record(a, rng_log_uniform());
  gs_hist_reset(a);
  gs_hist_reset(e);
  gs_hist_record(a, 0);
  gs_hist_record(e, 0);
  gs_hist_record_n(a, MAX_US, 3);
  gs_hist_record_n(e, MAX_US, 3);
  sa = encode(a);
  sb = encode(e);
  GS_CHECK_STR(sa, sb);
  free(sa);
  free(sb);
  gs_hist_free(a);
  gs_hist_free(b);
  gs_hist_free(e);
}

static void test_merge(void) {
  enum { N = 200000 };
  gs_hist_t *a, *b, *all, *m, *e;
  GS_CHECK_INT(gs_hist_new(&a), 0);
  GS_CHECK_INT(gs_hist_new(&b), 0);
  GS_CHECK_INT(gs_hist_new(&all), 0);
  GS_CHECK_INT(gs_hist_new(&m), 0);
  GS_CHECK_INT(gs_hist_new(&e), 0);
  for (int i = 0; i < N; i++) {
    uint64_t v = i % 5 ? rng_log_uniform() : rng_range(100, 300); /* a and b overlap */
    if (i % 7 == 0)
      v = MAX_US + 1;
    gs_hist_record(rng_next() % 3 ? a : b, v);
    gs_hist_record(all, v);
  }
  gs_hist_merge(m, e); /* empty into empty */
  GS_CHECK_INT(gs_hist_count(m), 0);
  gs_hist_merge(m, a);
  gs_hist_merge(m, e); /* empty: no change */
  gs_hist_merge(m, b);
  char *sm = encode(m), *sall = encode(all);
  GS_CHECK_STR(sm, sall);
  GS_CHECK_INT(gs_hist_count(m), N);
  GS_CHECK_INT(gs_hist_min(m), gs_hist_min(all));
  GS_CHECK_INT(gs_hist_max(m), gs_hist_max(all));
  GS_CHECK(gs_hist_mean(m) == gs_hist_mean(all));
  GS_CHECK(gs_hist_stddev(m) == gs_hist_stddev(all));
  for (double p = 0; p <= 100; p += 0.1)
    GS_CHECK_INT(gs_hist_percentile(m, p), gs_hist_percentile(all, p));
  free(sm);

  /* The other order, and into a non-empty histogram. */
  gs_hist_merge(b, a);
  sm = encode(b);
  GS_CHECK_STR(sm, sall);
  free(sm);

  /* Merging into itself doubles everything. */
  gs_hist_t *twice;
  GS_CHECK_INT(gs_hist_new(&twice), 0);
  gs_hist_merge(twice, all);
  gs_hist_merge(twice, all);
  gs_hist_merge(all, all);
  char *s1 = encode(all), *s2 = encode(twice);
  GS_CHECK_STR(s1, s2);
  GS_CHECK_INT(gs_hist_count(all), 2 * N);
  free(s1);
  free(s2);
  free(sall);
  gs_hist_free(twice);
  gs_hist_free(a);
  gs_hist_free(b);
  gs_hist_free(all);
  gs_hist_free(m);
  gs_hist_free(e);
}

/* Decoding s either fails with GS_EINVAL or gives a histogram that encodes
 * back to exactly s. Returns the code. */
static int decode_checked(const char *s, size_t len) {
  gs_hist_t *h = (gs_hist_t *)&h; /* must be reset to NULL on failure */
  int rc = gs_hist_decode(s, len, &h);
  GS_CHECK(rc == 0 || rc == GS_EINVAL);
  if (rc) {
    GS_CHECK(h == NULL);
    return rc;
  }
  char *back = encode(h);
  GS_CHECK(back && strlen(back) == len && memcmp(back, s, len) == 0);
  free(back);
  gs_hist_free(h);
  return rc;
}

/* "HG1:" + base64 of payload (test-side encoder). */
static char *wrap(const uint8_t *p, size_t n) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *s = malloc(4 + (n + 2) / 3 * 4 + 1), *o = s + 4;
  memcpy(s, "HG1:", 4);
  for (size_t k = 0; k < n; k += 3) {
    uint32_t w = (uint32_t)p[k] << 16 | (k + 1 < n ? (uint32_t)p[k + 1] << 8 : 0) |
                 (k + 2 < n ? p[k + 2] : 0);
    *o++ = a[w >> 18];
    *o++ = a[(w >> 12) & 63];
    *o++ = k + 1 < n ? a[(w >> 6) & 63] : '=';
    *o++ = k + 2 < n ? a[w & 63] : '=';
  }
  *o = '\0';
  return s;
}

static int decode_payload(const uint8_t *p, size_t n) {
  char *s = wrap(p, n);
  int rc = decode_checked(s, strlen(s));
  free(s);
  return rc;
}

static void test_decode_rejects(void) {
  /* Hand-made payloads: count, min, max, sum, sumsq, (delta, count)... */
  static const uint8_t ok[] = {2, 5, 7, 12, 74, 5, 1, 2, 1}; /* 5 and 7 */
  GS_CHECK_INT(decode_payload(ok, sizeof ok), 0);
  static const uint8_t bad_sum[] = {2, 5, 7, 13, 74, 5, 1, 2, 1};
  GS_CHECK_INT(decode_payload(bad_sum, sizeof bad_sum), GS_EINVAL);
  static const uint8_t bad_sumsq[] = {2, 5, 7, 12, 75, 5, 1, 2, 1};
  GS_CHECK_INT(decode_payload(bad_sumsq, sizeof bad_sumsq), GS_EINVAL);
  static const uint8_t bad_total[] = {3, 5, 7, 12, 74, 5, 1, 2, 1};
  GS_CHECK_INT(decode_payload(bad_total, sizeof bad_total), GS_EINVAL);
  static const uint8_t zero_delta[] = {2, 5, 5, 10, 50, 5, 1, 0, 1};
  GS_CHECK_INT(decode_payload(zero_delta, sizeof zero_delta), GS_EINVAL);
  static const uint8_t zero_count[] = {2, 5, 7, 12, 74, 5, 2, 2, 0};
  GS_CHECK_INT(decode_payload(zero_count, sizeof zero_count), GS_EINVAL);
  static const uint8_t min_gt_max[] = {2, 7, 5, 12, 74, 5, 1, 2, 1};
  GS_CHECK_INT(decode_payload(min_gt_max, sizeof min_gt_max), GS_EINVAL);
  static const uint8_t wrong_first[] = {2, 5, 7, 12, 74, 4, 1, 3, 1};
  GS_CHECK_INT(decode_payload(wrong_first, sizeof wrong_first), GS_EINVAL);
  static const uint8_t non_minimal[] = {2, 5, 7, 12, 74, 0x85, 0x00, 1, 2, 1};
  GS_CHECK_INT(decode_payload(non_minimal, sizeof non_minimal), GS_EINVAL);
  static const uint8_t no_pairs[] = {2, 5, 7, 12, 74};
  GS_CHECK_INT(decode_payload(no_pairs, sizeof no_pairs), GS_EINVAL);
  static const uint8_t trailing[] = {0, 0, 0, 0, 0, 0};
  GS_CHECK_INT(decode_payload(trailing, sizeof trailing), GS_EINVAL);
  static const uint8_t empty_min[] = {0, 1, 0, 0, 0};
  GS_CHECK_INT(decode_payload(empty_min, sizeof empty_min), GS_EINVAL);
  /* count 1 with min != max in the same counter (3000 and 3001 share one) */
  static const uint8_t one_split[] = {1,    0xb8, 0x17, 0xb9, 0x17, 0xb8, 0x17,
                                      0xc0, 0xa8, 0xa5, 0x04, 0xdc, 0x13, 1};
  GS_CHECK_INT(decode_payload(one_split, sizeof one_split), GS_EINVAL);
  /* max over the trackable range */
  static const uint8_t over[] = {1,    0x81, 0xc8, 0xce, 0xb4, 0x0d, 0x81, 0xc8, 0xce, 0xb4,
                                 0x0d, 0x81, 0xc8, 0xce, 0xb4, 0x0d, 0x81, 0x90, 0xdd, 0xf1,
                                 0xf6, 0xea, 0xca, 0xed, 0xb3, 0x01, 0xb4, 0xb5, 0x01, 1};
  GS_CHECK_INT(decode_payload(over, sizeof over), GS_EINVAL);
  /* a 64-bit varint that overflows */
  static const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  GS_CHECK_INT(decode_payload(overflow, sizeof overflow), GS_EINVAL);

  /* Framing. */
  gs_hist_t *h = NULL;
  GS_CHECK_INT(gs_hist_decode(NULL, 0, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("", 0, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:", 4, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG2:AAAAAAA=", 12, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("hg1:AAAAAAA=", 12, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAAA", 11, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAAB=", 12, &h), GS_EINVAL); /* stray bits */
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAA==", 12, &h), GS_EINVAL); /* 4 bytes: no sumsq */
  GS_CHECK_INT(gs_hist_decode("HG1:AAAA=AA=", 12, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAA=A", 12, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAA.=", 12, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAAA=\n", 13, &h), GS_EINVAL);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAAA=", 12, &h), 0); /* the empty histogram */
  gs_hist_free(h);
  GS_CHECK_INT(gs_hist_decode("HG1:AAAAAAA=", 12, &h), 0); /* len, not NUL, ends it */
  gs_hist_free(h);
}

static void test_decode_fuzz(void) {
  gs_hist_t *h;
  GS_CHECK_INT(gs_hist_new(&h), 0);
  for (int i = 0; i < 3000; i++)
    gs_hist_record(h, i % 4 ? rng_log_uniform() : 0);
  char *s = encode(h);
  size_t len = strlen(s);
  GS_CHECK(len > 100);

  int rejected = 0;
  for (size_t k = 0; k < len; k++) /* every proper prefix */
    rejected += decode_checked(s, k) == GS_EINVAL;
  GS_CHECK_INT(rejected, len);

  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  char *m = malloc(len + 1);
  int accepted = 0;
  for (int i = 0; i < 3000; i++) { /* 1..3 substitutions in the base64 */
    memcpy(m, s, len + 1);
    int edits = 1 + (int)(rng_next() % 3);
    for (int e = 0; e < edits; e++)
      m[4 + rng_next() % (len - 4)] = alphabet[rng_next() % (sizeof alphabet - 1)];
    accepted += decode_checked(m, len) == 0;
  }
  GS_CHECK(accepted < 30); /* nearly all substitutions break a check */
  free(m);

  uint8_t buf[512];
  for (int i = 0; i < 20000; i++) { /* random bytes, with and without the magic */
    size_t n = rng_next() % sizeof buf;
    for (size_t k = 0; k < n; k++)
      buf[k] = (uint8_t)rng_next();
    if (i % 2 && n >= 4)
      memcpy(buf, "HG1:", 4);
    if (i % 4 == 1) /* random valid base64 characters */
      for (size_t k = 4; k < n; k++)
        buf[k] = (uint8_t)alphabet[buf[k] % 64];
    decode_checked((const char *)buf, n);
  }
  for (int i = 0; i < 20000; i++) { /* random payloads through a valid base64 */
    size_t n = rng_next() % 64;
    for (size_t k = 0; k < n; k++)
      buf[k] = (uint8_t)(rng_next() % 4 ? rng_next() % 8 : rng_next());
    decode_payload(buf, n);
  }
  free(s);
  gs_hist_free(h);
}

int main(void) {
  GS_RUN(test_empty);
  GS_RUN(test_small_exact);
  GS_RUN(test_count_below);
  GS_RUN(test_uniform);
  GS_RUN(test_log_uniform);
  GS_RUN(test_adversarial);
  GS_RUN(test_record_n_and_reset);
  GS_RUN(test_merge);
  GS_RUN(test_decode_rejects);
  GS_RUN(test_decode_fuzz);
  return gs_test_report();
}
