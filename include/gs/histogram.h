/* Latency histograms: HDR-style log-linear buckets (HdrHistogram's scheme).
 *
 * Values are unsigned microseconds, tracked from 1 us to GS_HIST_MAX_US (one
 * hour) to 3 significant decimal digits: 2048 sub-buckets (unit magnitude 0),
 * 22 buckets, so (22 + 1) * 1024 = GS_HIST_COUNTS uint64 counters. Values
 * 0..2047 are counted exactly; above that a counter covers a range whose width
 * is at most 1/1024 of its lowest value, so a value reported as the range's
 * midpoint is within 1/2048 (0.05%) of any value counted there.
 *
 * 0 is counted as 0 us (in the first counter); values above GS_HIST_MAX_US
 * are clamped to it and counted. min, max, the sum and the sum of squares are
 * kept exactly (the sums as 128-bit integers), apart from the buckets, so
 * count/min/max/mean are exact and merge is exact and associative.
 *
 * Memory: constant, one allocation per histogram of GS_HIST_BYTES (188,480
 * bytes, 184 KiB: 23,552 counters of 8 bytes plus a 64-byte header). Nothing
 * is allocated after gs_hist_new; recording is O(1) (no loop, no allocation).
 *
 * Not thread-safe: one histogram belongs to one thread at a time. */
#ifndef GS_HISTOGRAM_H
#define GS_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define GS_HIST_MAX_US UINT64_C(3600000000) /* highest trackable value: 1 h */
#define GS_HIST_COUNTS 23552                /* counters per histogram */
#define GS_HIST_BYTES (64 + GS_HIST_COUNTS * 8)

typedef struct gs_hist_s gs_hist_t;

/* A new, empty histogram in *out (NULL on failure); the caller frees it with
 * gs_hist_free. Returns 0 or GS_ENOMEM. */
int gs_hist_new(gs_hist_t **out);
/* Frees h; NULL is fine. */
void gs_hist_free(gs_hist_t *h);
/* Empties h (keeps its memory). */
void gs_hist_reset(gs_hist_t *h);

/* Counts one value of `us` microseconds (clamped to GS_HIST_MAX_US). */
void gs_hist_record(gs_hist_t *h, uint64_t us);
/* Counts n values of `us` microseconds at once (n == 0 does nothing). */
void gs_hist_record_n(gs_hist_t *h, uint64_t us, uint64_t n);
/* Adds src's counts (and count, min, max, sums) to dst. Exact: the result is
 * what recording both sets of values into one histogram gives. dst == src
 * doubles every count. */
void gs_hist_merge(gs_hist_t *dst, const gs_hist_t *src);

/* Number of values recorded. */
uint64_t gs_hist_count(const gs_hist_t *h);
/* Exact smallest / largest value recorded (after clamping); 0 when empty. */
uint64_t gs_hist_min(const gs_hist_t *h);
uint64_t gs_hist_max(const gs_hist_t *h);
/* Mean and population standard deviation in microseconds, from the exact sum
 * and sum of squares; 0 when empty. */
double gs_hist_mean(const gs_hist_t *h);
double gs_hist_stddev(const gs_hist_t *h);
/* The value at percentile p (clamped to 0..100; NaN counts as 0). p == 0 gives
 * min, p == 100 gives max; otherwise the value at 1-based rank
 * ceil(p / 100 * count) in sorted order, reported as the midpoint of its
 * counter's range, clamped to [min, max] (so it is exact below 2048 us and for
 * single-valued histograms). 0 when empty. */
uint64_t gs_hist_percentile(const gs_hist_t *h, double p);
/* Number of values counted below `us` microseconds, each value taken as the
 * lowest value of its counter's range (so exact below 2048 us, and within
 * 1/1024 of `us` above): 0 for us == 0, count for us > GS_HIST_MAX_US.
 * Non-decreasing in us; differences give the distribution between bounds. */
uint64_t gs_hist_count_below(const gs_hist_t *h, uint64_t us);

/* Encodes h as a NUL-terminated ASCII string in *out (malloc'd; the caller
 * frees it) of strlen *len (len may be NULL): "HG1:" then base64 (standard
 * alphabet, padded) of LEB128 varints: count, min, max, sum, sum of squares,
 * then one (index delta, count) pair per non-zero counter in index order (the
 * first delta is the index itself). Sparse: a few bytes per non-zero counter.
 * Returns 0 or GS_ENOMEM (then *out is NULL). */
int gs_hist_encode(const gs_hist_t *h, char **out, size_t *len);
/* Decodes the len bytes at s (no NUL needed) made by gs_hist_encode into a new
 * histogram in *out (the caller frees it with gs_hist_free) that encodes back
 * to the same string. Returns 0, GS_EINVAL for anything malformed or
 * inconsistent (never reads past len), or GS_ENOMEM; *out is NULL on error. */
int gs_hist_decode(const char *s, size_t len, gs_hist_t **out);

#endif
