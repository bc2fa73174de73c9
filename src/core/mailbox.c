/* Mailboxes between threads (include/gs/mailbox.h): a mutex-guarded queue
 * of malloc'd messages and a uv_async_t that wakes the receiving loop. */
#include "gs/mailbox.h"

#include "gs/error.h"

#include <stdlib.h>
#include <string.h>

static void gs__mailbox_async_cb(uv_async_t *h) {
  gs_mailbox_t *mb = h->data;
  mb->on_message(mb);
}

int gs_mailbox_init(gs_mailbox_t *mb, uv_loop_t *loop, gs_mailbox_cb on_message, void *data) {
  memset(mb, 0, sizeof *mb);
  if (uv_mutex_init(&mb->lock) != 0)
    return GS_ENOMEM;
  if (uv_async_init(loop, &mb->async, gs__mailbox_async_cb) != 0) {
    uv_mutex_destroy(&mb->lock);
    return GS_EIO;
  }
  mb->async.data = mb;
  mb->on_message = on_message;
  mb->data = data;
  uv_unref((uv_handle_t *)&mb->async);
  return 0;
}

int gs_mailbox_post(gs_mailbox_t *mb, const void *bytes, size_t len) {
  gs_message_t *m = malloc(sizeof *m + len + 1);
  if (!m)
    return GS_ENOMEM;
  m->next = NULL;
  m->len = len;
  if (len)
    memcpy(m->bytes, bytes, len);
  m->bytes[len] = '\0';
  uv_mutex_lock(&mb->lock);
  if (mb->closed) {
    uv_mutex_unlock(&mb->lock);
    free(m);
    return GS_ECANCELED;
  }
  if (mb->tail)
    mb->tail->next = m;
  else
    mb->head = m;
  mb->tail = m;
  mb->queued++;
  uv_async_send(&mb->async); /* under the lock: close cannot run in between */
  uv_mutex_unlock(&mb->lock);
  return 0;
}

gs_message_t *gs_mailbox_take(gs_mailbox_t *mb) {
  uv_mutex_lock(&mb->lock);
  gs_message_t *m = mb->head;
  if (m) {
    mb->head = m->next;
    if (!mb->head)
      mb->tail = NULL;
    mb->queued--;
    m->next = NULL;
  }
  uv_mutex_unlock(&mb->lock);
  return m;
}

void gs_mailbox_close(gs_mailbox_t *mb, uv_close_cb done) {
  uv_mutex_lock(&mb->lock);
  int was_closed = mb->closed;
  mb->closed = 1;
  uv_mutex_unlock(&mb->lock);
  if (!was_closed && !uv_is_closing((uv_handle_t *)&mb->async))
    uv_close((uv_handle_t *)&mb->async, done);
}

void gs_mailbox_free(gs_mailbox_t *mb) {
  for (gs_message_t *m = mb->head, *next; m; m = next) {
    next = m->next;
    free(m);
  }
  mb->head = mb->tail = NULL;
  mb->queued = 0;
  uv_mutex_destroy(&mb->lock);
}
