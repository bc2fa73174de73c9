/* A mailbox: byte messages posted from any thread and taken, oldest first,
 * on the one loop that receives them (thread-per-core workers talk to their
 * coordinator only through these: every message is a copy).
 *
 * Ownership and lifetime: the mailbox is embedded in its owner's memory.
 * gs_mailbox_init and gs_mailbox_close run on the receiving loop's thread;
 * gs_mailbox_post may run on any thread until gs_mailbox_close, after which
 * posts are refused (GS_ECANCELED) — never a send on a closed handle. The
 * memory may be freed, with gs_mailbox_free, once the close callback ran
 * and no thread can post any more (e.g. after joining the posters). */
#ifndef GS_MAILBOX_H
#define GS_MAILBOX_H

#include <stddef.h>
#include <uv.h>

typedef struct gs_message_s {
  struct gs_message_s *next;
  size_t len;
  char bytes[]; /* len bytes, then a NUL (for the receiver's convenience) */
} gs_message_t;

typedef struct gs_mailbox_s gs_mailbox_t;
/* Called on the receiving loop when messages may be waiting (at least once
 * after each post; several posts may share one call). */
typedef void (*gs_mailbox_cb)(gs_mailbox_t *mb);

struct gs_mailbox_s {
  uv_mutex_t lock; /* guards everything below but `async`'s callback state */
  gs_message_t *head, *tail;
  size_t queued;    /* messages waiting */
  int closed;       /* gs_mailbox_close ran: posts are refused */
  uv_async_t async; /* on the receiving loop */
  gs_mailbox_cb on_message;
  void *data; /* the owner's */
};

/* Initialises mb on `loop` (the receiving thread); the async handle is
 * unreferenced: waiting for mail does not keep the loop alive. 0 or GS_E*. */
int gs_mailbox_init(gs_mailbox_t *mb, uv_loop_t *loop, gs_mailbox_cb on_message, void *data);

/* Copies len bytes into a new message and wakes the receiver. Any thread.
 * 0, GS_ENOMEM, or GS_ECANCELED once the mailbox is closed. */
int gs_mailbox_post(gs_mailbox_t *mb, const void *bytes, size_t len);

/* The oldest message, now the caller's (free() it), or NULL when none. */
gs_message_t *gs_mailbox_take(gs_mailbox_t *mb);

/* Refuses further posts and closes the async handle (done may be NULL). */
void gs_mailbox_close(gs_mailbox_t *mb, uv_close_cb done);

/* Frees the messages left and the lock. No thread may use mb afterwards. */
void gs_mailbox_free(gs_mailbox_t *mb);

#endif
