/* A blocking HTTP/1.1 test client for the C tests: plain sockets and the
 * http-parser library, meant to run in a thread while the loop under test
 * runs in the main thread. Test code only. */
#ifndef GS_TEST_CLIENT_H
#define GS_TEST_CLIENT_H

#include <http_parser.h>
#include <stddef.h>

#define TC_MAXH 32

typedef struct {
  int status;
  char names[TC_MAXH][64];
  char values[TC_MAXH][512];
  int nh;
  char *body; /* owned; tresp_free */
  size_t body_len, body_cap;
  int complete;
  int keep_alive;
} tresp_t;

typedef struct {
  int fd;
  http_parser p;
  http_parser_settings s;
  char buf[65536];
  size_t off, len;
  tresp_t *cur;
  int head;
  int in_value;
  double first_byte_ms; /* when the last tc_read got its first bytes */
} tconn_t;

/* Monotonic milliseconds; sleeps ms milliseconds. */
double now_ms(void);
void sleep_ms(int ms);
/* Appends at[0..len) to the NUL-terminated dst of capacity cap, truncating. */
void str_add(char *dst, size_t cap, const char *at, size_t len);
/* Frees the response body and clears r. */
void tresp_free(tresp_t *r);
/* The value of a response header (case-insensitive name), or NULL. */
const char *tresp_header(const tresp_t *r, const char *name);
/* Connects to 127.0.0.1:port (-1 on failure); closes. */
int tc_connect(tconn_t *c, int port);
void tc_close(tconn_t *c);
/* Sends all bytes (-1 on failure). */
int tc_send(tconn_t *c, const char *data, size_t len);
int tc_sends(tconn_t *c, const char *s);
/* Reads one response. Returns 0 (complete), -1 (EOF before any byte),
 * -2 (parse error or truncated), -3 (timeout or reset). */
int tc_read(tconn_t *c, tresp_t *r, int head);
/* One request on a fresh connection; tc_read's result, -4 if no connection. */
int tc_request(int port, const char *raw, tresp_t *r, int head);

#endif
