/* Growable byte buffers and vectors (include/gs/buf.h). */
#include "gs/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"

#define GS__BUF_MIN_CAP 256

int gs_buf_reserve(gs_buf_t *b, size_t n) {
  if (b->cap - b->len > n)
    return 0; /* room for n bytes and the NUL */
  if (n >= SIZE_MAX - b->len)
    return GS_ENOMEM; /* len + n + 1 does not fit in a size_t */
  size_t need = b->len + n + 1;
  size_t cap = b->cap ? b->cap : GS__BUF_MIN_CAP;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->p, cap);
  if (!p)
    return GS_ENOMEM;
  p[b->len] = '\0';
  b->p = p;
  b->cap = cap;
  return 0;
}

int gs_buf_add(gs_buf_t *b, const void *s, size_t n) {
  char *dst = gs_buf_extend(b, n);
  if (!dst)
    return GS_ENOMEM;
  if (n)
    memcpy(dst, s, n);
  return 0;
}

char *gs_buf_extend(gs_buf_t *b, size_t n) {
  if (gs_buf_reserve(b, n))
    return NULL;
  char *dst = b->p + b->len;
  b->len += n;
  b->p[b->len] = '\0';
  return dst;
}

int gs_buf_addf(gs_buf_t *b, const char *fmt, ...) {
  size_t room = b->cap - b->len; /* bytes vsnprintf may write, NUL included */
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
  va_end(ap);
  int rc = n < 0 ? GS_EINVAL : (size_t)n < room ? 0 : gs_buf_reserve(b, (size_t)n);
  if (rc) {
    if (room)
      b->p[b->len] = '\0'; /* undo a partial write */
    return rc;
  }
  if ((size_t)n >= room) { /* it did not fit: again, into the room made */
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
  return 0;
}

void gs_buf_consume(gs_buf_t *b, size_t n) {
  if (n >= b->len) {
    gs_buf_clear(b);
    return;
  }
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
  b->p[b->len] = '\0';
}

void gs_buf_clear(gs_buf_t *b) {
  b->len = 0;
  if (b->p)
    b->p[0] = '\0';
}

void gs_buf_reset(gs_buf_t *b, size_t keep) {
  if (b->cap > keep)
    gs_buf_free(b);
  else
    gs_buf_clear(b);
}

void gs_buf_free(gs_buf_t *b) {
  free(b->p);
  *b = (gs_buf_t){0};
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
