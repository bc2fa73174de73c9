/* Hostile requests shared by the C tests of the embedded HTTP server and of
 * the fixture server (issue 12): chunked bodies with trailer sections, sent
 * cut at pseudo-random points. Header-only test code: include it once per
 * test executable, after gs_test_client.h. */
#ifndef TEST_HTTP_SERVER_REQUESTS_H
#define TEST_HTTP_SERVER_REQUESTS_H

#include "gs_test_client.h"

#include <stdio.h>
#include <string.h>

/* A chunked request (method, target) whose trailer section has n fields of `fill` bytes each. */
static size_t trailer_request(char *out, size_t cap, const char *method, const char *target, int n,
                              size_t fill) {
  size_t len = (size_t)snprintf(out, cap,
                                "%s %s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "2\r\n{}\r\n0\r\n",
                                method, target);
  for (int i = 0; i < n && len + fill + 16 < cap; i++) {
    len += (size_t)snprintf(out + len, cap - len, "T%d: ", i);
    memset(out + len, 'v', fill);
    len += fill;
    len += (size_t)snprintf(out + len, cap - len, "\r\n");
  }
  len += (size_t)snprintf(out + len, cap - len, "\r\n");
  return len;
}

/* Sends raw in pieces cut by a deterministic generator; 0 once answered or
 * cleanly closed (*status: the status, or 0 for a close). */
static int send_cut(int port, const char *raw, size_t len, unsigned *seed, int *status) {
  tconn_t c;
  if (tc_connect(&c, port) < 0)
    return -1;
  for (size_t off = 0; off < len;) {
    *seed = *seed * 1103515245u + 12345u;
    size_t n = 1 + (*seed >> 16) % 97;
    n = n > len - off ? len - off : n;
    if (tc_send(&c, raw + off, n) < 0)
      break; /* the server answered early and closed */
    off += n;
  }
  tresp_t r;
  int rc = tc_read(&c, &r, 0);
  *status = rc == 0 ? r.status : 0;
  tresp_free(&r);
  tc_close(&c);
  return rc == 0 || rc == -1 ? 0 : rc;
}

#endif
