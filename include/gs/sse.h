/* Incremental Server-Sent Events (text/event-stream) decoder, following the
 * WHATWG HTML "event stream interpretation" rules.
 *
 * Feed the body bytes as they arrive, split anywhere (inside a line, inside a
 * CRLF pair, inside a UTF-8 sequence); the callback sees each complete event.
 *
 *   - Lines end in CRLF, LF or CR. A leading UTF-8 BOM (EF BB BF) is skipped,
 *     once per stream.
 *   - A line starting with ':' is a comment: counted (p->comments), ignored.
 *   - "field:value" strips ONE space after the colon; a line without a colon
 *     is a field with an empty value. Field names are case-sensitive:
 *       event  sets the event type;
 *       data   appends the value and a LF to the data buffer;
 *       id     sets the last event ID buffer, unless the value contains NUL;
 *       retry  sets the reconnection time (ms) if the value is one or more
 *              ASCII digits (saturating at LLONG_MAX), else is ignored;
 *       others are ignored.
 *   - A blank line ends an event: the last event ID buffer becomes the last
 *     event ID; then, if the data buffer is empty (no data line), nothing is
 *     dispatched; otherwise its final LF is removed and the event dispatched.
 *     So `id: 7` + blank line dispatches nothing but sets the last event ID,
 *     while the MCP priming event `id: 7` + `data: ` + blank line IS
 *     dispatched, with empty data (data_len 0). Event type and data buffer
 *     are then cleared; the last event ID and reconnection time persist.
 *   - At the end of the stream (gs_sse_finish) an incomplete event (no blank
 *     line yet) is discarded, including an id line it carried.
 *
 * Bytes are passed through unchanged: no UTF-8 validation or U+FFFD
 * replacement (the MCP layer decodes the data as JSON and judges it there).
 *
 * Memory is bounded by max_bytes: a line longer than max_bytes (terminator
 * excluded), or an event whose data (data lines joined with LF) would be
 * longer than max_bytes, fails the stream with GS_EBODYTOOLARGE. Buffers grow
 * as needed; large ones are released after each line/event. A complete line
 * inside one fed chunk is parsed in place (memchr scan, no per-byte calls).
 *
 * Ownership: the caller owns the gs_sse_parser_t (stack, struct member, ...);
 * the parser owns its internal buffers, released by gs_sse_free. No globals;
 * one parser per stream; not thread-safe. */
#ifndef GS_SSE_H
#define GS_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "gs/buf.h"

#define GS_SSE_DEFAULT_MAX_BYTES ((size_t)16 << 20) /* 16 MiB */

/* One dispatched event. Every pointer is valid only during the callback and
 * points at NUL-terminated bytes (the lengths are authoritative: type and data
 * may contain NUL bytes). */
typedef struct {
  const char *type; /* the event field's value, "message" when absent or empty */
  size_t type_len;
  const char *data; /* the data lines joined with "\n" (may be empty) */
  size_t data_len;
  const char *id; /* the last event ID (persists across events), "" when none */
  size_t id_len;
  long long retry; /* reconnection time in ms in effect, -1 when never set */
} gs_sse_event_t;

/* Called for each dispatched event. Return 0 to go on, or a negative GS_E*
 * code to stop: gs_sse_feed then returns that code and the parser stays
 * failed until gs_sse_reset. It must not call feed/finish/reset/free on the
 * same parser (those return GS_EINVAL while a callback runs). */
typedef int (*gs_sse_event_cb)(const gs_sse_event_t *ev, void *data);

/* Fields are private except the read-only counters marked public. */
typedef struct {
  size_t max_bytes;
  int error;          /* sticky GS_E* after a stream-level failure, else 0 */
  int in_callback;    /* a callback is running */
  unsigned bom;       /* BOM bytes matched at stream start; 3: past the start */
  int skip_lf;        /* the last line ended in CR: skip one LF next */
  int in_event;       /* a field line was seen since the last blank line */
  int id_dirty;       /* id holds an id line not yet committed */
  long long retry;    /* reconnection time in ms, -1 when never set */
  gs_buf_t line;      /* a line split across feeds */
  gs_buf_t data;      /* the data buffer: each data line plus "\n" */
  gs_buf_t type;      /* the event type buffer */
  gs_buf_t id;        /* the last event ID buffer when id_dirty */
  gs_buf_t last_id;   /* the committed last event ID */
  uint64_t events;    /* public: events dispatched */
  uint64_t comments;  /* public: comment lines seen */
  uint64_t discarded; /* public: streams finished with pending bytes */
} gs_sse_parser_t;

/* Initialises p with a line/event limit of max_bytes (0: the default,
 * GS_SSE_DEFAULT_MAX_BYTES). Allocates nothing; cannot fail. */
void gs_sse_init(gs_sse_parser_t *p, size_t max_bytes);
/* Releases p's buffers; p must be initialised again before reuse. */
void gs_sse_free(gs_sse_parser_t *p);
/* Back to the state after gs_sse_init with the same max_bytes: clears the
 * error, the last event ID, the reconnection time and the counters. Keeps
 * small buffers for reuse. Returns 0, or GS_EINVAL from inside a callback. */
int gs_sse_reset(gs_sse_parser_t *p);

/* Parses len bytes (bytes may be NULL when len is 0), calling cb (may be
 * NULL) for each event completed. Returns 0, or: GS_EBODYTOOLARGE (a line or
 * an event over max_bytes), GS_ENOMEM, or the callback's non-zero code — all
 * sticky: later feeds and finish return the same code until gs_sse_reset;
 * GS_EINVAL (bytes NULL with len > 0, or called from a callback; not sticky). */
int gs_sse_feed(gs_sse_parser_t *p, const char *bytes, size_t len, gs_sse_event_cb cb, void *data);

/* End of the stream. Per the WHATWG rules nothing is dispatched here (cb and
 * data are accepted for symmetry with gs_sse_feed and are never called): an
 * incomplete event or line is discarded, including its uncommitted id line.
 * Returns 1 when bytes were pending (an unterminated line, a partial BOM, or
 * field lines without the closing blank line; p->discarded is incremented),
 * 0 when the stream ended cleanly (trailing comment lines are not pending),
 * or the sticky error / GS_EINVAL as gs_sse_feed does. Afterwards p is ready
 * for a new stream (BOM skipped again); the last event ID, the reconnection
 * time and the counters persist, as an EventSource's do across reconnects. */
int gs_sse_finish(gs_sse_parser_t *p, gs_sse_event_cb cb, void *data);

/* The last event ID (committed by a blank line), NUL-terminated, "" when
 * none; *len (may be NULL) gets its length. Valid until the next call on p. */
const char *gs_sse_last_event_id(const gs_sse_parser_t *p, size_t *len);

#endif
