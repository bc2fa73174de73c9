/* Incremental Server-Sent Events decoder (WHATWG event-stream rules); see
 * gs/sse.h for the contract. */
#include "gs/sse.h"

#include <limits.h>
#include <string.h>

#include "gs/error.h"

/* Buffers above this capacity are released once their line/event is done, so
 * a parser that once saw a huge event does not keep the memory. */
#define GS_SSE_KEEP_BYTES ((size_t)64 << 10)

static const unsigned char GS_SSE_BOM[3] = {0xEF, 0xBB, 0xBF};

/* ---- buffers ------------------------------------------------------------- */

/* b becomes s[0..n); the memory is kept (the fields it holds are short). */
static int gs__sse_buf_set(gs_buf_t *b, const char *s, size_t n) {
  gs_buf_clear(b);
  return gs_buf_add(b, s, n);
}

/* b's bytes, "" when empty (b may hold no memory). */
static const char *gs__sse_buf_str(const gs_buf_t *b) {
  return b->len ? b->p : "";
}

/* ---- parser state -------------------------------------------------------- */

void gs_sse_init(gs_sse_parser_t *p, size_t max_bytes) {
  memset(p, 0, sizeof *p);
  p->max_bytes = max_bytes ? max_bytes : GS_SSE_DEFAULT_MAX_BYTES;
  p->retry = -1;
}

void gs_sse_free(gs_sse_parser_t *p) {
  gs_buf_free(&p->line);
  gs_buf_free(&p->data);
  gs_buf_free(&p->type);
  gs_buf_free(&p->id);
  gs_buf_free(&p->last_id);
}

/* Forgets the stream in progress (partial line, incomplete event, BOM state);
 * keeps the committed last event ID and the reconnection time. */
static void gs__sse_stream_restart(gs_sse_parser_t *p) {
  gs_buf_reset(&p->line, GS_SSE_KEEP_BYTES);
  gs_buf_reset(&p->data, GS_SSE_KEEP_BYTES);
  gs_buf_reset(&p->type, GS_SSE_KEEP_BYTES);
  gs_buf_reset(&p->id, GS_SSE_KEEP_BYTES); /* an uncommitted id goes with the incomplete event */
  p->id_dirty = 0;
  p->bom = 0;
  p->skip_lf = 0;
  p->in_event = 0;
}

int gs_sse_reset(gs_sse_parser_t *p) {
  if (p->in_callback)
    return GS_EINVAL;
  gs__sse_stream_restart(p);
  gs_buf_reset(&p->id, GS_SSE_KEEP_BYTES);
  gs_buf_reset(&p->last_id, GS_SSE_KEEP_BYTES);
  p->error = 0;
  p->retry = -1;
  p->events = p->comments = p->discarded = 0;
  return 0;
}

const char *gs_sse_last_event_id(const gs_sse_parser_t *p, size_t *len) {
  if (len)
    *len = p->last_id.len;
  return gs__sse_buf_str(&p->last_id);
}

/* ---- lines and events ---------------------------------------------------- */

/* A blank line: commit the id, dispatch the event if there is data. */
static int gs__sse_dispatch(gs_sse_parser_t *p, gs_sse_event_cb cb, void *data) {
  p->in_event = 0;
  if (p->id_dirty) { /* commit: swap, so nothing is allocated here */
    gs_buf_t t = p->last_id;
    p->last_id = p->id;
    p->id = t;
    gs_buf_reset(&p->id, GS_SSE_KEEP_BYTES);
    p->id_dirty = 0;
  }
  if (p->data.len == 0) {
    gs_buf_reset(&p->type, GS_SSE_KEEP_BYTES);
    return 0;
  }
  p->data.p[--p->data.len] = '\0'; /* the last data line's LF */
  gs_sse_event_t ev = {
      .type = p->type.len ? p->type.p : "message",
      .type_len = p->type.len ? p->type.len : 7,
      .data = p->data.p,
      .data_len = p->data.len,
      .id = gs__sse_buf_str(&p->last_id),
      .id_len = p->last_id.len,
      .retry = p->retry,
  };
  p->events++;
  int rc = 0;
  if (cb) {
    p->in_callback = 1;
    rc = cb(&ev, data);
    p->in_callback = 0;
  }
  gs_buf_reset(&p->data, GS_SSE_KEEP_BYTES);
  gs_buf_reset(&p->type, GS_SSE_KEEP_BYTES);
  return rc;
}

/* "retry" value: one or more ASCII digits, else -1 (ignored). */
static long long gs__sse_parse_retry(const char *v, size_t n) {
  if (n == 0)
    return -1;
  long long r = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned char)v[i] - (unsigned)'0';
    if (d > 9)
      return -1;
    r = r > (LLONG_MAX - (long long)d) / 10 ? LLONG_MAX : r * 10 + (long long)d;
  }
  return r;
}

/* One complete line (terminator excluded, len <= max_bytes). */
static int gs__sse_process_line(gs_sse_parser_t *p, const char *line, size_t len,
                                gs_sse_event_cb cb, void *data) {
  if (len == 0)
    return gs__sse_dispatch(p, cb, data);
  if (line[0] == ':') {
    p->comments++;
    return 0;
  }
  p->in_event = 1;
  const char *colon = memchr(line, ':', len);
  size_t flen = colon ? (size_t)(colon - line) : len;
  const char *value = colon ? colon + 1 : "";
  size_t vlen = colon ? len - flen - 1 : 0;
  if (vlen && value[0] == ' ') {
    value++;
    vlen--;
  }
  if (flen == 4 && memcmp(line, "data", 4) == 0) {
    /* Joined data after this line: the buffer (each earlier line plus its
     * LF) plus this value; the final LF is removed at dispatch. */
    if (p->data.len > p->max_bytes || vlen > p->max_bytes - p->data.len)
      return GS_EBODYTOOLARGE;
    char *dst = gs_buf_extend(&p->data, vlen + 1);
    if (!dst)
      return GS_ENOMEM;
    memcpy(dst, value, vlen);
    dst[vlen] = '\n';
  } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
    if (gs__sse_buf_set(&p->type, value, vlen))
      return GS_ENOMEM;
  } else if (flen == 2 && memcmp(line, "id", 2) == 0) {
    if (!memchr(value, '\0', vlen)) {
      if (gs__sse_buf_set(&p->id, value, vlen))
        return GS_ENOMEM;
      p->id_dirty = 1;
    }
  } else if (flen == 5 && memcmp(line, "retry", 5) == 0) {
    long long r = gs__sse_parse_retry(value, vlen);
    if (r >= 0)
      p->retry = r;
  }
  return 0;
}

/* Parses s[0..n) after the BOM check. */
static int gs__sse_process(gs_sse_parser_t *p, const char *s, size_t n, gs_sse_event_cb cb,
                           void *data) {
  const char *end = s + n;
  /* Cached positions of the next LF / CR at or after s (end: none left), so
   * each byte is scanned by memchr at most once per character searched. */
  const char *nlf = NULL, *ncr = NULL;
  int rc;
  if (p->skip_lf && s < end) {
    if (*s == '\n')
      s++;
    p->skip_lf = 0;
  }
  while (s < end) {
    if (!nlf || nlf < s) {
      nlf = memchr(s, '\n', (size_t)(end - s));
      if (!nlf)
        nlf = end;
    }
    if (!ncr || ncr < s) {
      ncr = memchr(s, '\r', (size_t)(end - s));
      if (!ncr)
        ncr = end;
    }
    const char *eol = nlf < ncr ? nlf : ncr;
    size_t seg = (size_t)(eol - s);
    if (seg > p->max_bytes - p->line.len)
      return GS_EBODYTOOLARGE;
    if (eol == end) /* no terminator: keep the partial line for the next feed */
      return gs_buf_add(&p->line, s, seg);
    if (p->line.len) {
      if (gs_buf_add(&p->line, s, seg))
        return GS_ENOMEM;
      rc = gs__sse_process_line(p, p->line.p, p->line.len, cb, data);
      gs_buf_reset(&p->line, GS_SSE_KEEP_BYTES);
    } else {
      rc = gs__sse_process_line(p, s, seg, cb, data);
    }
    if (rc)
      return rc;
    s = eol + 1;
    if (*eol == '\r') {
      if (s == end)
        p->skip_lf = 1;
      else if (*s == '\n')
        s++;
    }
  }
  return 0;
}

/* Skips a leading BOM (possibly split across feeds), then parses. */
static int gs__sse_feed(gs_sse_parser_t *p, const char *s, size_t n, gs_sse_event_cb cb,
                        void *data) {
  if (p->bom < 3) {
    size_t i = 0;
    while (i < n && p->bom < 3 && (unsigned char)s[i] == GS_SSE_BOM[p->bom]) {
      p->bom++;
      i++;
    }
    if (i == n && p->bom < 3)
      return 0; /* still a possible BOM: wait for more */
    if (p->bom < 3) {
      /* Not a BOM: the bytes matched in earlier feeds are content. */
      unsigned held = p->bom - (unsigned)i;
      p->bom = 3;
      if (held) {
        int rc = gs__sse_process(p, (const char *)GS_SSE_BOM, held, cb, data);
        if (rc)
          return rc;
      }
      i = 0; /* this feed's matched bytes are content too */
    }
    s += i;
    n -= i;
  }
  return gs__sse_process(p, s, n, cb, data);
}

int gs_sse_feed(gs_sse_parser_t *p, const char *bytes, size_t len, gs_sse_event_cb cb, void *data) {
  if (p->in_callback || (!bytes && len))
    return GS_EINVAL;
  if (p->error)
    return p->error;
  if (len == 0)
    return 0;
  int rc = gs__sse_feed(p, bytes, len, cb, data);
  if (rc)
    p->error = rc;
  return rc;
}

int gs_sse_finish(gs_sse_parser_t *p, gs_sse_event_cb cb, void *data) {
  (void)cb;
  (void)data;
  if (p->in_callback)
    return GS_EINVAL;
  if (p->error)
    return p->error;
  int pending = p->line.len > 0 || p->in_event || (p->bom > 0 && p->bom < 3);
  gs__sse_stream_restart(p);
  if (pending)
    p->discarded++;
  return pending;
}
