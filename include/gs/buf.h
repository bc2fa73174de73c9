/* Growable byte buffers and vectors for the C core's scratch work.
 *
 * Ownership: the caller owns the struct (start it zeroed: {0}) and frees
 * its memory with free(b.p) / free(v.p); nothing else is allocated. */
#ifndef GS_BUF_H
#define GS_BUF_H

#include <stddef.h>

/* Bytes, always NUL-terminated once anything was added (p[len] == '\0'). */
typedef struct {
  char *p;
  size_t len, cap;
} gs_buf_t;

/* Appends n bytes of s (s may be NULL when n is 0). Returns 0, or GS_ENOMEM
 * leaving b unchanged. */
int gs_buf_add(gs_buf_t *b, const void *s, size_t n);

/* Elements of one size, chosen by the caller at each push. */
typedef struct {
  void *p;
  size_t len, cap;
} gs_vec_t;

/* A zeroed new slot of `size` bytes at the end of v, or NULL (out of memory;
 * v unchanged). Earlier slots may move: do not keep pointers across pushes. */
void *gs_vec_push(gs_vec_t *v, size_t size);

/* Pointer to element i of v, which holds elements of type T. */
#define GS_VEC_AT(v, T, i) (&((T *)(v).p)[i])

#endif
