/* Growable byte buffers and vectors (include/gs/buf.h). */
#include "gs/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

int gs_buf_add(gs_buf_t *b, const void *s, size_t n) {
  if (b->cap - b->len < n + 1) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n + 1) {
      if (cap > SIZE_MAX / 2)
        return GS_ENOMEM;
      cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
      return GS_ENOMEM;
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

void *gs_vec_push(gs_vec_t *v, size_t size) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    if (cap > SIZE_MAX / size)
      return NULL;
    void *p = realloc(v->p, cap * size);
    if (!p)
      return NULL;
    v->p = p;
    v->cap = cap;
  }
  void *slot = (char *)v->p + v->len++ * size;
  memset(slot, 0, size);
  return slot;
}
