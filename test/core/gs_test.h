/* A minimal test harness for the C core tests: each test file is one
 * executable; GS_CHECK records a failure with file:line and goes on;
 * main returns gs_test_report(). */
#ifndef GS_TEST_H
#define GS_TEST_H

#include <stdio.h>
#include <string.h>

static int gs_test_failures;
static int gs_test_checks;

#define GS_CHECK(cond)                                                                             \
  do {                                                                                             \
    gs_test_checks++;                                                                              \
    if (!(cond)) {                                                                                 \
      gs_test_failures++;                                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
    }                                                                                              \
  } while (0)

#define GS_CHECK_INT(a, b)                                                                         \
  do {                                                                                             \
    long long gs_a_ = (long long)(a), gs_b_ = (long long)(b);                                      \
    gs_test_checks++;                                                                              \
    if (gs_a_ != gs_b_) {                                                                          \
      gs_test_failures++;                                                                          \
      fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, gs_a_,   \
              #b, gs_b_);                                                                          \
    }                                                                                              \
  } while (0)

#define GS_CHECK_STR(a, b)                                                                         \
  do {                                                                                             \
    const char *gs_a_ = (a), *gs_b_ = (b);                                                         \
    gs_test_checks++;                                                                              \
    if (!gs_a_ || !gs_b_ || strcmp(gs_a_, gs_b_) != 0) {                                           \
      gs_test_failures++;                                                                          \
      fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,            \
              gs_a_ ? gs_a_ : "(null)", gs_b_ ? gs_b_ : "(null)");                                 \
    }                                                                                              \
  } while (0)

#define GS_RUN(test)                                                                               \
  do {                                                                                             \
    int gs_before_ = gs_test_failures;                                                             \
    test();                                                                                        \
    printf("%s %s\n", gs_test_failures == gs_before_ ? "ok" : "FAIL", #test);                      \
  } while (0)

static inline int gs_test_report(void) {
  printf("%d checks, %d failed\n", gs_test_checks, gs_test_failures);
  return gs_test_failures ? 1 : 0;
}

#endif
