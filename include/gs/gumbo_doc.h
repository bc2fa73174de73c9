/* A gumbo parse whose whole tree is freed without recursion.
 *
 * gumbo_destroy_output recurses once per level of nesting and overflows the
 * stack on deep documents; here every gumbo allocation is linked into one
 * list owned by the gs_gumbo_doc_t, and gs_gumbo_doc_release walks the list.
 * Parse errors are not recorded (max_errors 0): gumbo copies the
 * open-element stack into each, which is quadratic in depth.
 *
 * Ownership: the caller owns the gs_gumbo_doc_t (on its stack is fine; it
 * must not move between parse and release); the tree and doc->out are valid
 * until gs_gumbo_doc_release. Out of memory aborts: gumbo dereferences what
 * it allocates without checking. */
#ifndef GS_GUMBO_DOC_H
#define GS_GUMBO_DOC_H

#include <gumbo.h>
#include <stddef.h>

typedef union gs_gumbo_block {
  struct {
    union gs_gumbo_block *prev, *next;
  } link;
  max_align_t align;
} gs_gumbo_block_t;

typedef struct {
  gs_gumbo_block_t head; /* circular list sentinel */
  GumboOutput *out;
} gs_gumbo_doc_t;

/* Parses len bytes of body (NULL: empty) into doc->out. */
void gs_gumbo_doc_parse(gs_gumbo_doc_t *doc, const char *body, size_t len);

/* Frees the whole tree; doc->out becomes NULL. */
void gs_gumbo_doc_release(gs_gumbo_doc_t *doc);

#endif
