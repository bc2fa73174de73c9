/* libFuzzer target for gs_obfuscate_page: any bytes as a page, with a seed
 * and a date shift taken from the first input byte. Checks what must hold
 * for every input: success, a NUL-terminated result, determinism (the same
 * input twice gives the same bytes), and no sanitizer report.
 *
 * Build and run: fuzz/run.sh [seconds]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/obfuscate.h"

static char *gs__fuzz_run(const uint8_t *data, size_t size, int shift, size_t *len) {
  gs_obfuscate_opts_t o = {.seed = "fuzz", .date_shift_days = shift};
  char *out = NULL;
  if (gs_obfuscate_page((const char *)data, size, &o, &out, len, NULL, NULL, 0) != 0)
    abort(); /* only out of memory may fail */
  if (out[*len] != '\0')
    abort();
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int shift = size ? (int)data[0] * 97 - 12000 : 17;
  size_t n1, n2;
  char *a = gs__fuzz_run(data, size, shift, &n1);
  char *b = gs__fuzz_run(data, size, shift, &n2);
  if (n1 != n2 || memcmp(a, b, n1) != 0)
    abort();
  free(a);
  free(b);
  return 0;
}
