/* Writing a fuzz input to a libuv stream in pieces, for the network
 * targets (fuzz/http_server_fuzz.c, fuzz/http_client_fuzz.c; built into
 * them by fuzz/run.sh).
 *
 * Ownership: the caller owns the gs_fuzz_writer_t (it must not move while
 * writing) and the bytes, which must outlive the writing; the writer owns
 * its timer, closed by gs_fuzz_writer_close. */
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

#endif
