/* bench_histogram: nanoseconds per gs_hist_record.
 *
 * Records 100M pseudo-random values (log-uniform over 1 us .. 1 h, drawn
 * beforehand into a 64 Ki table so generating them is not measured) into one
 * histogram, five times, and prints the median:
 *
 *   record: X.X ns/sample (target < 50 ns)
 *
 * Usage: bench_histogram [samples per run]. Exits 1 when the median is at or
 * over the target, 2 on a setup failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gs/histogram.h"

#define RUNS 5
#define TABLE (1u << 16)
#define TARGET_NS 50.0

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  uint64_t samples = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000u;
  if (samples == 0) {
    fprintf(stderr, "usage: bench_histogram [samples per run > 0]\n");
    return 2;
  }
  uint64_t *values = malloc(TABLE * sizeof *values), seed = 42;
  gs_hist_t *h = NULL;
  if (!values || gs_hist_new(&h)) {
    fprintf(stderr, "bench_histogram: out of memory\n");
    return 2;
  }
  for (uint32_t i = 0; i < TABLE; i++) { /* log-uniform: a random bit length, then random bits */
    uint64_t r = splitmix64(&seed), bits = 1 + r % 32;
    uint64_t v = (splitmix64(&seed) >> (64 - bits)) | (UINT64_C(1) << (bits - 1));
    values[i] = v > GS_HIST_MAX_US ? GS_HIST_MAX_US : v;
  }

  double ns[RUNS];
  for (int run = 0; run < RUNS; run++) {
    gs_hist_reset(h);
    double t0 = now_ns();
    for (uint64_t i = 0; i < samples; i++)
      gs_hist_record(h, values[i & (TABLE - 1)]);
    ns[run] = (now_ns() - t0) / (double)samples;
    if (gs_hist_count(h) != samples) {
      fprintf(stderr, "bench_histogram: count %llu, expected %llu\n",
              (unsigned long long)gs_hist_count(h), (unsigned long long)samples);
      return 2;
    }
  }
  qsort(ns, RUNS, sizeof ns[0], cmp_double);
  double median = ns[RUNS / 2];
  printf("record: %.1f ns/sample (target < %.0f ns)\n", median, TARGET_NS);
  printf("  runs: %.2f %.2f %.2f %.2f %.2f ns; %llu samples each; p99 %llu us\n", ns[0], ns[1],
         ns[2], ns[3], ns[4], (unsigned long long)samples,
         (unsigned long long)gs_hist_percentile(h, 99));
  gs_hist_free(h);
  free(values);
  return median < TARGET_NS ? 0 : 1;
}
