/* The blocking test client (see gs_test_client.h). */
#include "gs_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

void tresp_free(tresp_t *r) {
  free(r->body);
  memset(r, 0, sizeof *r);
}

const char *tresp_header(const tresp_t *r, const char *name) {
  for (int i = 0; i < r->nh; i++)
    if (strcasecmp(r->names[i], name) == 0)
      return r->values[i];
  return NULL;
}

void str_add(char *dst, size_t cap, const char *at, size_t len) {
  size_t cur = strlen(dst);
  if (cur + len >= cap)
    len = cap - cur - 1;
  memcpy(dst + cur, at, len);
  dst[cur + len] = '\0';
}

static int tc_on_field(http_parser *p, const char *at, size_t len) {
  tconn_t *c = p->data;
  tresp_t *r = c->cur;
  if (c->in_value || r->nh == 0) {
    if (r->nh == TC_MAXH)
      return 0;
    r->nh++;
    c->in_value = 0;
  }
  str_add(r->names[r->nh - 1], sizeof r->names[0], at, len);
  return 0;
}

static int tc_on_value(http_parser *p, const char *at, size_t len) {
  tconn_t *c = p->data;
  c->in_value = 1;
  if (c->cur->nh)
    str_add(c->cur->values[c->cur->nh - 1], sizeof c->cur->values[0], at, len);
  return 0;
}

static int tc_on_headers(http_parser *p) {
  tconn_t *c = p->data;
  c->cur->status = p->status_code;
  c->cur->keep_alive = http_should_keep_alive(p);
  return c->head ? 1 : 0;
}

static int tc_on_body(http_parser *p, const char *at, size_t len) {
  tresp_t *r = ((tconn_t *)p->data)->cur;
  if (r->body_len + len + 1 > r->body_cap) {
    r->body_cap = (r->body_len + len + 1) * 2;
    r->body = realloc(r->body, r->body_cap);
  }
  memcpy(r->body + r->body_len, at, len);
  r->body_len += len;
  r->body[r->body_len] = '\0';
  return 0;
}

static int tc_on_complete(http_parser *p) {
  ((tconn_t *)p->data)->cur->complete = 1;
  http_parser_pause(p, 1);
  return 0;
}

int tc_connect(tconn_t *c, int port) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  http_parser_settings_init(&c->s);
  c->s.on_header_field = tc_on_field;
  c->s.on_header_value = tc_on_value;
  c->s.on_headers_complete = tc_on_headers;
  c->s.on_body = tc_on_body;
  c->s.on_message_complete = tc_on_complete;
  return connect(c->fd, (struct sockaddr *)&sa, sizeof sa);
}

void tc_close(tconn_t *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

int tc_send(tconn_t *c, const char *data, size_t len) {
  while (len) {
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n <= 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int tc_sends(tconn_t *c, const char *s) {
  return tc_send(c, s, strlen(s));
}

/* Reads one response. Returns 0 (complete), -1 (EOF before any byte),
 * -2 (parse error or truncated), -3 (timeout or reset). */
int tc_read(tconn_t *c, tresp_t *r, int head) {
  memset(r, 0, sizeof *r);
  c->cur = r;
  c->head = head;
  c->in_value = 0;
  http_parser_init(&c->p, HTTP_RESPONSE);
  c->p.data = c;
  size_t seen = 0;
  for (;;) {
    if (c->off < c->len) {
      size_t n = http_parser_execute(&c->p, &c->s, c->buf + c->off, c->len - c->off);
      c->off += n;
      seen += n;
      if (r->complete)
        return 0;
      if (HTTP_PARSER_ERRNO(&c->p) != HPE_OK)
        return -2;
    }
    c->off = c->len = 0;
    ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
    if (n > 0 && seen == 0)
      c->first_byte_ms = now_ms();
    if (n == 0) {
      if (seen == 0)
        return -1;
      http_parser_execute(&c->p, &c->s, NULL, 0);
      return r->complete ? 0 : -2;
    }
    if (n < 0)
      return -3;
    c->len = (size_t)n;
  }
}

/* One request on a fresh connection; returns tc_read's result. */
int tc_request(int port, const char *raw, tresp_t *r, int head) {
  tconn_t c;
  if (tc_connect(&c, port) < 0)
    return -4;
  tc_sends(&c, raw);
  int rc = tc_read(&c, r, head);
  tc_close(&c);
  return rc;
}
