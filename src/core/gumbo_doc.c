/* A gumbo parse whose whole tree is freed without recursion
 * (include/gs/gumbo_doc.h). */
#include "gs/gumbo_doc.h"

#include <stdint.h>
#include <stdlib.h>

static void *gs__gumbo_alloc(void *ud, size_t n) {
  gs_gumbo_doc_t *d = ud;
  gs_gumbo_block_t *b = n < SIZE_MAX - sizeof *b ? malloc(sizeof *b + n) : NULL;
  if (!b)
    abort(); /* gumbo dereferences what it allocates without checking */
  b->link.prev = &d->head;
  b->link.next = d->head.link.next;
  d->head.link.next->link.prev = b;
  d->head.link.next = b;
  return b + 1;
}

static void gs__gumbo_free(void *ud, void *p) {
  (void)ud;
  if (!p)
    return;
  gs_gumbo_block_t *b = (gs_gumbo_block_t *)p - 1;
  b->link.prev->link.next = b->link.next;
  b->link.next->link.prev = b->link.prev;
  free(b);
}

void gs_gumbo_doc_parse(gs_gumbo_doc_t *d, const char *body, size_t len) {
  d->head.link.next = d->head.link.prev = &d->head;
  GumboOptions opt = kGumboDefaultOptions;
  opt.allocator = gs__gumbo_alloc;
  opt.deallocator = gs__gumbo_free;
  opt.userdata = d;
  opt.max_errors = 0;
  d->out = gumbo_parse_with_options(&opt, body ? body : "", body ? len : 0);
}

void gs_gumbo_doc_release(gs_gumbo_doc_t *d) {
  gs_gumbo_block_t *b = d->head.link.next;
  while (b != &d->head) {
    gs_gumbo_block_t *next = b->link.next;
    free(b);
    b = next;
  }
  d->head.link.next = d->head.link.prev = &d->head;
  d->out = NULL;
}
