/* libuv helpers of the network targets (fuzz/http_server_fuzz.c,
 * fuzz/http_client_fuzz.c, fuzz/http1_client_fuzz.c; built into them by
 * fuzz/run.sh): writing a fuzz input to a stream in pieces, and the
 * loopback peer's listener and read buffer of the client targets.
 *
 * Ownership: the caller owns the gs_fuzz_writer_t (it must not move while
 * writing) and the bytes, which must outlive the writing; the writer owns
 * its timer, closed by gs_fuzz_writer_close. The caller owns the listener
 * handle of gs_fuzz_listen (it stays open for the whole run). */
#ifndef GS_FUZZ_UV_H
#define GS_FUZZ_UV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct gs_fuzz_writer_s gs_fuzz_writer_t;

/* All bytes were written (status 0), or a write failed (status < 0: the
 * peer went away); called once. */
typedef void (*gs_fuzz_written_cb)(gs_fuzz_writer_t *w, int status);

struct gs_fuzz_writer_s {
  uv_stream_t *stream;
  uv_write_t req;
  uv_timer_t turn; /* the next piece, a loop turn later */
  const char *bytes;
  size_t len, off, max_piece;
  uint32_t split; /* gs_fuzz_piece's state; 0: one write */
  gs_fuzz_written_cb cb;
  void *data; /* the caller's */
};

/* Prepares w to write bytes[0..len) to stream: in one write when split is
 * 0, else in pieces of 1..max_piece bytes (gs_fuzz_piece seeded by split),
 * each a loop turn after the previous one completed. Returns 0 or a libuv
 * error (the timer could not be initialised). */
int gs_fuzz_writer_init(gs_fuzz_writer_t *w, uv_loop_t *loop, uv_stream_t *stream,
                        const char *bytes, size_t len, uint32_t split, size_t max_piece,
                        gs_fuzz_written_cb cb, void *data);

/* Starts writing; with len 0, cb(w, 0) runs at once. */
void gs_fuzz_writer_start(gs_fuzz_writer_t *w);

/* Closes the timer (close_cb gets it, may be NULL); pending writes end with
 * the stream. */
void gs_fuzz_writer_close(gs_fuzz_writer_t *w, uv_close_cb close_cb);

/* Initialises listener on loop, binds it to 127.0.0.1 on a free port and
 * listens (backlog 64) with on_connection; writes "http://127.0.0.1:PORT/"
 * to url[0..url_size). Returns 0, or a libuv error from the first step
 * that failed. */
int gs_fuzz_listen(uv_loop_t *loop, uv_tcp_t *listener, uv_connection_cb on_connection, char *url,
                   size_t url_size);

/* A uv_alloc_cb handing out one static 16 KiB buffer, for peers that only
 * look at the bytes they read during the read callback (one thread). */
void gs_fuzz_read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

#endif
