/* Growable byte buffers and vectors for the C core's scratch work.
 *
 * Ownership: the caller owns the struct (start it zeroed: {0}) and frees
 * its memory with gs_buf_free(&b) / free(v.p); nothing else is allocated.
 *
 * Growth: every gs_buf operation that adds bytes goes through
 * gs_buf_reserve, the one place where the capacity grows (doubling from 256
 * bytes) and where size_t overflow is checked. Limits on how large a buffer
 * may get (a request body, an SSE event) are the caller's to check first. */
#ifndef GS_BUF_H
#define GS_BUF_H

#include <stddef.h>

/* Bytes. Once b holds memory (p != NULL) it is NUL-terminated:
 * p[len] == '\0', and cap > len. */
typedef struct {
  char *p;
  size_t len, cap;
} gs_buf_t;

/* Makes room for n more bytes after len (and the NUL), without changing len
 * or the contents; allocates even for n == 0 (p is then not NULL). Returns
 * 0, or GS_ENOMEM (out of memory, or len + n + 1 overflows) leaving b
 * unchanged. Pointers into b are invalid once it grows. */
int gs_buf_reserve(gs_buf_t *b, size_t n);

/* Appends n bytes of s (s may be NULL when n is 0). Returns 0, or GS_ENOMEM
 * leaving b unchanged. gs_buf_add(b, "", 0) makes p a valid "" string. */
int gs_buf_add(gs_buf_t *b, const void *s, size_t n);

/* Appends n bytes for the caller to write: returns where they start
 * (b->p + the old len; their contents are undefined, the NUL after them is
 * written), or NULL (out of memory; b unchanged). */
char *gs_buf_extend(gs_buf_t *b, size_t n);

/* Appends printf-formatted text. Returns 0, GS_ENOMEM or GS_EINVAL (an
 * encoding error in vsnprintf), leaving b unchanged on failure. */
int gs_buf_addf(gs_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drops the first n bytes (all of them when n >= len), moving the rest to
 * the front. Keeps the memory. */
void gs_buf_consume(gs_buf_t *b, size_t n);

/* Empties b; keeps the memory for reuse. */
void gs_buf_clear(gs_buf_t *b);

/* Empties b and, when its capacity is over keep bytes, frees the memory (b
 * is then {0}): a buffer that once grew large does not hold on to it. */
void gs_buf_reset(gs_buf_t *b, size_t keep);

/* Frees b's memory; b is {0} again. */
void gs_buf_free(gs_buf_t *b);

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
