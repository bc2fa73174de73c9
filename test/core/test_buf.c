/* Tests of gs_buf and gs_vec (include/gs/buf.h): the NUL-termination
 * invariant after every operation, growth, the overflow check, failures
 * leaving the buffer unchanged, consume/clear/reset and vector pushes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/buf.h"
#include "gs/error.h"
#include "gs_test.h"

/* p[len] == '\0' and cap > len whenever memory is held; {0} otherwise. */
static int well_formed(const gs_buf_t *b) {
  if (!b->p)
    return b->len == 0 && b->cap == 0;
  return b->cap > b->len && b->p[b->len] == '\0';
}

static void test_add(void) {
  gs_buf_t b = {0};
  GS_CHECK(well_formed(&b));
  GS_CHECK_INT(gs_buf_add(&b, "", 0), 0); /* allocates: p is "" */
  GS_CHECK(b.p != NULL);
  GS_CHECK_STR(b.p, "");
  GS_CHECK(well_formed(&b));
  GS_CHECK_INT(gs_buf_add(&b, NULL, 0), 0);
  GS_CHECK_INT(gs_buf_add(&b, "abc", 3), 0);
  GS_CHECK_INT(gs_buf_add(&b, "de\0f", 4), 0); /* bytes, NUL included */
  GS_CHECK_INT(b.len, 7);
  GS_CHECK(memcmp(b.p, "abcde\0f", 8) == 0);
  GS_CHECK(well_formed(&b));
  gs_buf_free(&b);
  GS_CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
}

static void test_growth(void) {
  gs_buf_t b = {0};
  char block[1000];
  for (size_t i = 0; i < sizeof block; i++)
    block[i] = (char)('a' + i % 26);
  for (int round = 0; round < 300; round++) {
    GS_CHECK_INT(gs_buf_add(&b, block, (size_t)round), 0);
    GS_CHECK(well_formed(&b));
  }
  size_t want = 299 * 300 / 2, at = 0;
  GS_CHECK_INT(b.len, want);
  int same = 1;
  for (int round = 0; round < 300; round++)
    for (int i = 0; i < round; i++)
      same = same && b.p[at++] == block[i];
  GS_CHECK(same);
  /* doubling from 256: the capacity is 256 times a power of two */
  size_t cap = b.cap;
  GS_CHECK(cap % 256 == 0 && ((cap / 256) & (cap / 256 - 1)) == 0);
  gs_buf_free(&b);
}

static void test_reserve(void) {
  gs_buf_t b = {0};
  GS_CHECK_INT(gs_buf_reserve(&b, 0), 0);
  GS_CHECK(b.p != NULL && b.len == 0 && well_formed(&b));
  GS_CHECK_INT(gs_buf_reserve(&b, 1000), 0);
  GS_CHECK(b.cap >= 1001 && b.len == 0 && well_formed(&b));
  char *before = b.p;
  size_t cap = b.cap;
  for (int i = 0; i < 1000; i++)
    GS_CHECK_INT(gs_buf_add(&b, "x", 1), 0);
  GS_CHECK(b.p == before && b.cap == cap); /* the reserved room sufficed */
  GS_CHECK(well_formed(&b));
  gs_buf_free(&b);
}

static void test_overflow(void) {
  gs_buf_t b = {0};
  GS_CHECK_INT(gs_buf_add(&b, "hello", 5), 0);
  gs_buf_t copy = b;
  /* len + n + 1 would wrap: refused, b unchanged */
  GS_CHECK_INT(gs_buf_reserve(&b, SIZE_MAX), GS_ENOMEM);
  GS_CHECK_INT(gs_buf_reserve(&b, SIZE_MAX - 5), GS_ENOMEM);
  GS_CHECK(gs_buf_extend(&b, SIZE_MAX - 5) == NULL);
  GS_CHECK_INT(gs_buf_add(&b, "", SIZE_MAX), GS_ENOMEM);
  GS_CHECK(b.p == copy.p && b.len == copy.len && b.cap == copy.cap);
  GS_CHECK_STR(b.p, "hello");
  gs_buf_free(&b);
}

static void test_extend(void) {
  gs_buf_t b = {0};
  GS_CHECK_INT(gs_buf_add(&b, "ab", 2), 0);
  char *dst = gs_buf_extend(&b, 3);
  GS_CHECK(dst == b.p + 2);
  GS_CHECK(well_formed(&b));
  memcpy(dst, "CDE", 3);
  GS_CHECK_STR(b.p, "abCDE");
  GS_CHECK(gs_buf_extend(&b, 0) == b.p + 5);
  GS_CHECK_INT(b.len, 5);
  dst = gs_buf_extend(&b, 5000); /* grows */
  GS_CHECK(dst != NULL && well_formed(&b) && b.len == 5005);
  memset(dst, 'z', 5000);
  GS_CHECK(memcmp(b.p, "abCDEzz", 7) == 0 && b.p[5004] == 'z');
  gs_buf_free(&b);
}

static void test_addf(void) {
  gs_buf_t b = {0};
  GS_CHECK_INT(gs_buf_addf(&b, "%d %s", 42, "x"), 0); /* nothing allocated yet */
  GS_CHECK_STR(b.p, "42 x");
  GS_CHECK_INT(b.len, 4);
  GS_CHECK_INT(gs_buf_addf(&b, "%s", ""), 0);
  GS_CHECK_INT(b.len, 4);
  /* longer than the room left: formatted again after growing */
  char big[600];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  GS_CHECK_INT(gs_buf_addf(&b, "[%s]%lld", big, (long long)-7), 0);
  GS_CHECK_INT(b.len, 4 + 1 + 599 + 1 + 2);
  GS_CHECK(memcmp(b.p, "42 x[qq", 7) == 0);
  GS_CHECK(memcmp(b.p + b.len - 4, "q]-7", 4) == 0);
  GS_CHECK(well_formed(&b));
  /* exactly filling the room (the NUL needs one more byte) */
  gs_buf_t c = {0};
  GS_CHECK_INT(gs_buf_reserve(&c, 9), 0);
  size_t room = c.cap - c.len;
  char fill[1024];
  memset(fill, 'f', room - 1);
  fill[room - 1] = '\0';
  GS_CHECK_INT(gs_buf_addf(&c, "%s", fill), 0); /* fits with its NUL */
  GS_CHECK_INT(c.len, room - 1);
  GS_CHECK_INT(gs_buf_addf(&c, "%c", 'g'), 0); /* needs one more byte */
  GS_CHECK_INT(c.len, room);
  GS_CHECK(c.p[room - 1] == 'g' && well_formed(&c));
  gs_buf_free(&c);
  gs_buf_free(&b);
}

static void test_consume(void) {
  gs_buf_t b = {0};
  gs_buf_consume(&b, 3); /* empty, nothing allocated: nothing happens */
  GS_CHECK(well_formed(&b));
  GS_CHECK_INT(gs_buf_add(&b, "0123456789", 10), 0);
  char *p = b.p;
  size_t cap = b.cap;
  gs_buf_consume(&b, 0);
  GS_CHECK_STR(b.p, "0123456789");
  gs_buf_consume(&b, 4);
  GS_CHECK_STR(b.p, "456789");
  GS_CHECK_INT(b.len, 6);
  GS_CHECK(b.p == p && b.cap == cap); /* memory kept */
  gs_buf_consume(&b, 6);
  GS_CHECK_INT(b.len, 0);
  GS_CHECK_STR(b.p, "");
  GS_CHECK_INT(gs_buf_add(&b, "ab", 2), 0);
  gs_buf_consume(&b, 100); /* more than there is: everything */
  GS_CHECK(b.len == 0 && well_formed(&b));
  gs_buf_free(&b);
}

static void test_clear_reset(void) {
  gs_buf_t b = {0};
  gs_buf_clear(&b);
  gs_buf_reset(&b, 0);
  GS_CHECK(b.p == NULL && well_formed(&b));
  GS_CHECK_INT(gs_buf_add(&b, "abc", 3), 0);
  char *p = b.p;
  gs_buf_clear(&b);
  GS_CHECK(b.p == p && b.len == 0 && well_formed(&b));
  GS_CHECK_INT(gs_buf_add(&b, "xy", 2), 0);
  gs_buf_reset(&b, b.cap); /* at the limit: kept */
  GS_CHECK(b.p == p && b.len == 0 && well_formed(&b));
  GS_CHECK_INT(gs_buf_add(&b, "xy", 2), 0);
  gs_buf_reset(&b, b.cap - 1); /* over it: freed */
  GS_CHECK(b.p == NULL && b.len == 0 && b.cap == 0);
  GS_CHECK_INT(gs_buf_add(&b, "again", 5), 0);
  GS_CHECK_STR(b.p, "again");
  gs_buf_free(&b);
  gs_buf_free(&b); /* twice is fine: b is {0} */
}

static void test_vec(void) {
  gs_vec_t v = {0};
  for (int i = 0; i < 100; i++) {
    long *slot = gs_vec_push(&v, sizeof *slot);
    GS_CHECK(slot != NULL && *slot == 0);
    if (slot)
      *slot = i * 3;
  }
  GS_CHECK_INT(v.len, 100);
  GS_CHECK_INT(*GS_VEC_AT(v, long, 0), 0);
  GS_CHECK_INT(*GS_VEC_AT(v, long, 99), 297);
  gs_vec_t huge = {0};
  GS_CHECK(gs_vec_push(&huge, SIZE_MAX / 8) == NULL); /* 16 slots overflow */
  GS_CHECK(huge.p == NULL && huge.len == 0);
  free(v.p);
}

int main(void) {
  GS_RUN(test_add);
  GS_RUN(test_growth);
  GS_RUN(test_reserve);
  GS_RUN(test_overflow);
  GS_RUN(test_extend);
  GS_RUN(test_addf);
  GS_RUN(test_consume);
  GS_RUN(test_clear_reset);
  GS_RUN(test_vec);
  return gs_test_report();
}
