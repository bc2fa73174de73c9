/* The memory pool a result lives in (html_internal.h): chunks of
 * GS__CHUNK_BYTES filled front to back, freed all at once. */
#include "html_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct gs__chunk {
  struct gs__chunk *next;
  size_t used, cap;
  max_align_t data[]; /* cap bytes */
} gs__chunk_t;

struct gs_html_pool {
  gs__chunk_t *chunks; /* head: the chunk being filled */
};

#define GS__CHUNK_BYTES 16384

gs_html_pool_t *gs_html_pool_new(void) {
  return calloc(1, sizeof(gs_html_pool_t));
}

void gs_html_pool_free(gs_html_pool_t *p) {
  if (!p)
    return;
  for (gs__chunk_t *c = p->chunks, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(p);
}

/* Large blocks get a chunk of their own behind the head, so the head keeps
 * filling. */
void *gs_html_pool_alloc(gs_html_pool_t *p, size_t n) {
  const size_t a = sizeof(max_align_t);
  if (n > SIZE_MAX / 2)
    return NULL;
  n = n ? (n + a - 1) / a * a : a;
  gs__chunk_t *c = p->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > GS__CHUNK_BYTES ? n : GS__CHUNK_BYTES;
    gs__chunk_t *fresh = malloc(sizeof *fresh + cap);
    if (!fresh)
      return NULL;
    fresh->used = 0;
    fresh->cap = cap;
    if (c && n > GS__CHUNK_BYTES / 4) {
      fresh->next = c->next;
      c->next = fresh;
    } else {
      fresh->next = c;
      p->chunks = fresh;
    }
    c = fresh;
  }
  void *r = (unsigned char *)c->data + c->used;
  c->used += n;
  return r;
}

char *gs_html_pool_strndup(gs_html_pool_t *p, const char *s, size_t n) {
  char *r = gs_html_pool_alloc(p, n + 1);
  if (r) {
    memcpy(r, s, n);
    r[n] = '\0';
  }
  return r;
}
