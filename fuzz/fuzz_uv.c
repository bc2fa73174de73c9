/* Writing a fuzz input in pieces, the client targets' listener; see
 * fuzz_uv.h. */
#include "fuzz_uv.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "fuzz.h"

static void gs__fuzz_writer_next(gs_fuzz_writer_t *w);

static void gs__fuzz_writer_turn(uv_timer_t *t) {
  gs__fuzz_writer_next(t->data);
}

static void gs__fuzz_writer_done(uv_write_t *req, int status) {
  gs_fuzz_writer_t *w = req->data;
  if (status < 0 || uv_is_closing((uv_handle_t *)w->stream))
    w->cb(w, status < 0 ? status : UV_ECANCELED);
  else if (w->off < w->len)
    uv_timer_start(&w->turn, gs__fuzz_writer_turn, 0, 0);
  else
    w->cb(w, 0);
}

static void gs__fuzz_writer_next(gs_fuzz_writer_t *w) {
  size_t left = w->len - w->off;
  size_t k = w->split ? gs_fuzz_piece(&w->split, left, w->max_piece) : left;
  if (k == 0)
    k = 1; /* left > 0 here */
  uv_buf_t b = uv_buf_init((char *)w->bytes + w->off, (unsigned)k);
  w->off += k;
  int rc = uv_write(&w->req, w->stream, &b, 1, gs__fuzz_writer_done);
  if (rc < 0)
    w->cb(w, rc);
}

int gs_fuzz_writer_init(gs_fuzz_writer_t *w, uv_loop_t *loop, uv_stream_t *stream,
                        const char *bytes, size_t len, uint32_t split, size_t max_piece,
                        gs_fuzz_written_cb cb, void *data) {
  *w = (gs_fuzz_writer_t){.stream = stream,
                          .bytes = bytes,
                          .len = len,
                          .max_piece = max_piece,
                          .split = split,
                          .cb = cb,
                          .data = data};
  w->req.data = w;
  int rc = uv_timer_init(loop, &w->turn);
  w->turn.data = w;
  return rc;
}

void gs_fuzz_writer_start(gs_fuzz_writer_t *w) {
  if (w->len)
    gs__fuzz_writer_next(w);
  else
    w->cb(w, 0);
}

void gs_fuzz_writer_close(gs_fuzz_writer_t *w, uv_close_cb close_cb) {
  uv_close((uv_handle_t *)&w->turn, close_cb);
}

int gs_fuzz_listen(uv_loop_t *loop, uv_tcp_t *listener, uv_connection_cb on_connection, char *url,
                   size_t url_size) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound, rc;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if ((rc = uv_tcp_init(loop, listener)) != 0 ||
      (rc = uv_tcp_bind(listener, (const struct sockaddr *)&addr, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)listener, 64, on_connection)) != 0 ||
      (rc = uv_tcp_getsockname(listener, (struct sockaddr *)&bound, &len)) != 0)
    return rc;
  snprintf(url, url_size, "http://127.0.0.1:%d/", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  return 0;
}

void gs_fuzz_read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char space[16 * 1024];
  *buf = uv_buf_init(space, sizeof space);
}
