/* Helpers shared by the fuzz targets; see fuzz.h. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void gs_fuzz_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", file, line, what);
  abort();
}

size_t gs_fuzz_piece(uint32_t *state, size_t left, size_t max) {
  uint32_t x = *state ? *state : 0x9e3779b9u; /* xorshift32: never 0 */
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  size_t n = x % (max + 1);
  return n < left ? n : left;
}

int gs_fuzz_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t k;
    unsigned cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (n - i <= k)
      return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((p[i + j] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (p[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += k + 1;
  }
  return 1;
}
