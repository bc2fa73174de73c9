/* bench_obfuscate: MB/s of gs_obfuscate_page.
 *
 * Two workloads, each timed over ROUNDS rounds, the median printed:
 *   - the pages named on the command line (the fixture site), each
 *     obfuscated in turn until a round has handled at least 32 MiB;
 *   - one large synthetic page (about 8 MiB: articles with bylines, e-mail
 *     addresses, phone numbers, dates, prices, images, a style block and
 *     JSON-LD), obfuscated 4 times a round.
 * Input bytes per second of wall time:
 *
 *   fixture pages: X.X MB/s (median of 5 rounds)
 *   synthetic page (8.0 MiB): X.X MB/s (median of 5 rounds)
 *
 * Usage: bench_obfuscate page.html... Exits 2 on a setup failure, 3 when
 * obfuscation fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gs/obfuscate.h"

#define ROUNDS 5
#define FIXTURE_BYTES (32u << 20)
#define SYNTH_BYTES (8u << 20)
#define SYNTH_REPEAT 4

typedef struct {
  char *p;
  size_t len;
} page_t;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int read_page(const char *path, page_t *pg) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  size_t cap = 1 << 16;
  pg->p = malloc(cap);
  pg->len = 0;
  size_t n;
  while (pg->p && (n = fread(pg->p + pg->len, 1, cap - pg->len, f)) > 0)
    if ((pg->len += n) == cap)
      pg->p = realloc(pg->p, cap *= 2);
  fclose(f);
  return pg->p ? 0 : -1;
}

static page_t synthetic(void) {
  static const char head[] =
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Bench</title>"
      "<meta name=\"author\" content=\"Jane Roe\"><style>.h{background:url(/h.jpg)}</style>"
      "<script type=\"application/ld+json\">{\"name\":\"Jane Roe\",\"image\":\"/p.jpg\","
      "\"datePublished\":\"2024-05-31\"}</script></head><body>\n";
  static const char article[] =
      "<article class=\"post\" data-id=\"48213\"><h2>Walking the headland at low tide</h2>\n"
      "<p class=\"byline\">By <a href=\"/about\">Jane Roe</a> on <time datetime=\"2024-05-31\">"
      "31 May 2024</time></p>\n<img src=\"/img/walk.jpg\" srcset=\"/img/walk.jpg 1x, "
      "/img/walk@2x.jpg 2x\" alt=\"The headland path\" width=\"640\" height=\"360\">\n"
      "<p>The path leaves the harbour wall and climbs for 2.5 km; boots cost $129.99 and the "
      "guide (ISBN 978-0-306-40615-7) is &pound;12.50. Write to jane.roe@example.org or call "
      "+44 20 7946 0958 before 5 June 2024 &mdash; the office is open 09:00&ndash;17:30.</p>\n"
      "<ul><li>Start: the lifeboat station</li><li>Finish: the old lime kilns</li></ul>\n"
      "<!-- comment -->\n</article>\n";
  page_t pg = {malloc(SYNTH_BYTES + sizeof article + sizeof head + 32), 0};
  if (!pg.p)
    return pg;
  memcpy(pg.p, head, sizeof head - 1);
  pg.len = sizeof head - 1;
  while (pg.len + sizeof article < SYNTH_BYTES) {
    memcpy(pg.p + pg.len, article, sizeof article - 1);
    pg.len += sizeof article - 1;
  }
  memcpy(pg.p + pg.len, "</body></html>\n", 15);
  pg.len += 15;
  return pg;
}

/* Obfuscates pages[0..n) in turn until at least min_bytes: MB/s. */
static double run(const page_t *pages, size_t n, size_t min_bytes) {
  gs_obfuscate_opts_t o = {.seed = "bench", .date_shift_days = 17};
  size_t done = 0;
  double t0 = now_s();
  for (size_t k = 0; done < min_bytes; k = (k + 1) % n) {
    char *out;
    size_t len;
    if (gs_obfuscate_page(pages[k].p, pages[k].len, &o, &out, &len, NULL, NULL, 0)) {
      fprintf(stderr, "bench_obfuscate: gs_obfuscate_page failed\n");
      exit(3);
    }
    free(out);
    done += pages[k].len;
  }
  return (double)done / 1e6 / (now_s() - t0);
}

static double median(const page_t *pages, size_t n, size_t min_bytes) {
  double r[ROUNDS];
  for (int i = 0; i < ROUNDS; i++)
    r[i] = run(pages, n, min_bytes);
  qsort(r, ROUNDS, sizeof *r, cmp_double);
  return r[ROUNDS / 2];
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_obfuscate page.html...\n");
    return 2;
  }
  page_t *pages = calloc((size_t)argc, sizeof *pages);
  for (int i = 1; i < argc; i++) {
    if (!pages || read_page(argv[i], &pages[i - 1])) {
      fprintf(stderr, "bench_obfuscate: cannot read %s\n", argv[i]);
      return 2;
    }
  }
  page_t big = synthetic();
  if (!big.p) {
    fprintf(stderr, "bench_obfuscate: out of memory\n");
    return 2;
  }
  printf("fixture pages: %.1f MB/s (median of %d rounds)\n",
         median(pages, (size_t)argc - 1, FIXTURE_BYTES), ROUNDS);
  printf("synthetic page (%.1f MiB): %.1f MB/s (median of %d rounds)\n",
         (double)big.len / (1 << 20), median(&big, 1, SYNTH_REPEAT * big.len), ROUNDS);
  for (int i = 0; i < argc - 1; i++)
    free(pages[i].p);
  free(pages);
  free(big.p);
  return 0;
}
