/* Helpers shared by the libFuzzer targets of fuzz/ (built into each by
 * fuzz/run.sh). Nothing here allocates or keeps state. */
#ifndef GS_FUZZ_H
#define GS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Aborts (a finding libFuzzer reports with its input) with what broke when
 * cond is false. */
#define GS_FUZZ_CHECK(cond) ((cond) ? (void)0 : gs_fuzz_fail(__FILE__, __LINE__, #cond))
_Noreturn void gs_fuzz_fail(const char *file, int line, const char *what);

/* Splits an input into pieces of pseudo-random lengths: *state is the seed
 * (any value) and is advanced; returns the length of the next piece, from 0
 * (an empty feed) to max (>= 1) and never more than left. */
size_t gs_fuzz_piece(uint32_t *state, size_t left, size_t max);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF), else 0. */
int gs_fuzz_utf8_valid(const char *s, size_t n);

#endif
