/* The raw test server of the C client tests; see gs_test_server.h. */
#include "gs_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* A queued write: the bytes uv_try_write did not take, copied. Freed in
 * its callback. */
typedef struct {
  uv_write_t w;
  gs_test_conn_t *c;
  int close_after;
  char data[];
} gs__tsrv_write_t;

static void gs__tsrv_conn_closed(uv_handle_t *h) {
  gs_test_conn_t *c = h->data;
  if (c->counted)
    c->srv->closed++;
  free(c->buf);
  free(c);
}

void gs_test_conn_close(gs_test_conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->tcp, gs__tsrv_conn_closed);
}

static void gs__tsrv_written(uv_write_t *w, int status) {
  gs__tsrv_write_t *t = (gs__tsrv_write_t *)w;
  if (t->close_after && status != UV_ECANCELED)
    gs_test_conn_close(t->c);
  free(t);
}

void gs_test_conn_send(gs_test_conn_t *c, const char *p, size_t n, int close_after) {
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  int k = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (k < 0)
    k = 0;
  if ((size_t)k == n) {
    if (close_after)
      gs_test_conn_close(c);
    return;
  }
  gs__tsrv_write_t *t = malloc(sizeof *t + n - (size_t)k);
  memcpy(t->data, p + k, n - (size_t)k);
  t->c = c;
  t->close_after = close_after;
  b = uv_buf_init(t->data, (unsigned)(n - (size_t)k));
  if (uv_write(&t->w, (uv_stream_t *)&c->tcp, &b, 1, gs__tsrv_written) != 0)
    free(t);
}

void gs_test_conn_sends(gs_test_conn_t *c, const char *s) {
  gs_test_conn_send(c, s, strlen(s), 0);
}

static void gs__tsrv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  gs_test_conn_t *c = h->data;
  if (c->cap - c->len < 65536) {
    c->cap = c->cap ? c->cap * 2 : 131072;
    c->buf = realloc(c->buf, c->cap);
  }
  *b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len - 1));
}

static size_t gs__tsrv_content_length(const char *h, size_t n) {
  static const char key[] = "\r\ncontent-length:";
  for (size_t i = 0; i + sizeof key - 1 < n; i++)
    if (strncasecmp(h + i, key, sizeof key - 1) == 0)
      return strtoul(h + i + sizeof key - 1, NULL, 10);
  return 0;
}

/* Answers each whole request in c's buffer, in order, then keeps the rest. */
static void gs__tsrv_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  gs_test_conn_t *c = s->data;
  if (nread < 0) {
    gs_test_conn_close(c);
    return;
  }
  c->len += (size_t)nread;
  c->buf[c->len] = '\0';
  while (!c->closing) {
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end)
      return;
    size_t hlen = (size_t)(end - c->buf) + 4;
    size_t blen = gs__tsrv_content_length(c->buf, hlen);
    if (c->len < hlen + blen)
      return;
    char method[16] = "", path[512] = "";
    sscanf(c->buf, "%15s %511s", method, path);
    c->srv->requests++;
    gs_test_request_t rq = {.method = method,
                            .path = path,
                            .head = c->buf,
                            .head_len = hlen,
                            .body = c->buf + hlen,
                            .body_len = blen,
                            .nth = ++c->requests};
    char save = c->buf[hlen + blen];
    c->buf[hlen + blen] = '\0';
    c->srv->answer(c, &rq);
    c->buf[hlen + blen] = save;
    if (c->closing)
      return;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen + 1);
    c->len -= hlen + blen;
  }
}

static void gs__tsrv_on_conn(uv_stream_t *l, int status) {
  gs_test_server_t *srv = l->data;
  if (status < 0)
    return;
  gs_test_conn_t *c = calloc(1, sizeof *c);
  c->srv = srv;
  uv_tcp_init(srv->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, gs__tsrv_conn_closed);
    return;
  }
  srv->accepted++;
  c->counted = 1;
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  uv_read_start((uv_stream_t *)&c->tcp, gs__tsrv_alloc, gs__tsrv_read);
}

int gs_test_server_start(gs_test_server_t *srv, uv_loop_t *loop, gs_test_answer_cb answer,
                         void *data) {
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int namelen = sizeof name;
  memset(srv, 0, sizeof *srv);
  srv->loop = loop;
  srv->answer = answer;
  srv->data = data;
  uv_tcp_init(loop, &srv->listener);
  srv->listener.data = srv;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  int rc;
  if ((rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&srv->listener, 4096, gs__tsrv_on_conn)) != 0)
    return rc;
  uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&name, &namelen);
  srv->port = ntohs(((struct sockaddr_in *)&name)->sin_port);
  return 0;
}

void gs_test_server_close_conns(gs_test_server_t *srv) {
  while (srv->conns)
    gs_test_conn_close(srv->conns);
}

void gs_test_server_stop(gs_test_server_t *srv) {
  gs_test_server_close_conns(srv);
  uv_close((uv_handle_t *)&srv->listener, NULL);
}

void gs_test_server_free_conns(gs_test_server_t *srv) {
  while (srv->conns) {
    gs_test_conn_t *n = srv->conns->next;
    free(srv->conns->buf);
    free(srv->conns);
    srv->conns = n;
  }
}
