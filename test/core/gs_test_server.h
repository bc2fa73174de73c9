/* A small scriptable HTTP/1.x test server for the C client tests: raw
 * libuv TCP on 127.0.0.1 (an ephemeral port), on the loop under test, with
 * no dependency on http_server.c. Each connection keeps the bytes it has
 * received in its own buffer; whenever they hold a whole request (a head up
 * to "\r\n\r\n" plus Content-Length bytes of body) the server counts it and
 * hands it to the test's answer callback, which writes whatever bytes it
 * likes (hostile answers included) with gs_test_conn_send, or closes.
 * Test code only.
 *
 * Ownership: the caller owns the gs_test_server_t (it must not move while
 * started) and frees nothing in it; the server owns its connections, each
 * freed in its close callback after gs_test_conn_close or
 * gs_test_server_stop (or by gs_test_server_free_conns when the loop's owner
 * closed their handles itself). The listener is closed with no callback:
 * the gs_test_server_t must outlive the loop run that follows
 * gs_test_server_stop. */
#ifndef GS_TEST_SERVER_H
#define GS_TEST_SERVER_H

#include <stddef.h>
#include <uv.h>

typedef struct gs_test_server_s gs_test_server_t;
typedef struct gs_test_conn_s gs_test_conn_t;

/* One request as read, valid only during the answer callback. */
typedef struct {
  const char *method; /* NUL-terminated, at most 15 bytes */
  const char *path;   /* the request target as sent (query included), at most 511 bytes */
  const char *head;   /* the connection's buffer from the request line on; head[head_len +
                         body_len] is '\0' during the callback */
  size_t head_len;    /* through the blank line's "\r\n\r\n" */
  const char *body;   /* head + head_len */
  size_t body_len;    /* the Content-Length (0 without one) */
  int nth;            /* the connection's requests so far, this one included (from 1) */
} gs_test_request_t;

/* Answers rq on c: may send, close c (then the rest of c's buffer is
 * dropped) or do nothing (a hang). */
typedef void (*gs_test_answer_cb)(gs_test_conn_t *c, const gs_test_request_t *rq);

struct gs_test_conn_s {
  uv_tcp_t tcp;
  gs_test_server_t *srv;
  char *buf;       /* malloc'd received bytes not yet answered, NUL-terminated */
  size_t len, cap; /* grows by doubling while less than 64 KiB are free */
  int requests;    /* requests read on this connection */
  int closing;     /* gs_test_conn_close ran: unlinked from srv->conns */
  int counted;     /* accepted: its close counts in srv->closed */
  gs_test_conn_t *prev, *next;
};

struct gs_test_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  int port;
  int accepted; /* connections accepted */
  int closed;   /* accepted connections whose close callback ran */
  int requests; /* whole requests read, all connections */
  gs_test_answer_cb answer;
  void *data;            /* the caller's */
  gs_test_conn_t *conns; /* open connections, newest first */
};

/* Listens on 127.0.0.1:0 (srv->port is the port) and answers every request
 * with answer(c, rq). Clears srv first. Returns 0 or a libuv error (bind or
 * listen failed; srv->listener is then still to be closed, as
 * gs_test_server_stop does). */
int gs_test_server_start(gs_test_server_t *srv, uv_loop_t *loop, gs_test_answer_cb answer,
                         void *data);

/* Closes every open connection and the listener. */
void gs_test_server_stop(gs_test_server_t *srv);

/* Closes every open connection; the server goes on listening. */
void gs_test_server_close_conns(gs_test_server_t *srv);

/* Frees the open connections' memory without closing them: only once
 * something else closed all the loop's handles (gs_worker_close) and ran
 * their close callbacks, which were not this server's. */
void gs_test_server_free_conns(gs_test_server_t *srv);

/* Sends p[0..n) on c (uv_try_write first, so a small answer allocates
 * nothing; the rest is copied and queued) and, with close_after, closes c
 * once it is all written. The caller keeps p. */
void gs_test_conn_send(gs_test_conn_t *c, const char *p, size_t n, int close_after);

/* gs_test_conn_send of a NUL-terminated string, leaving c open. */
void gs_test_conn_sends(gs_test_conn_t *c, const char *s);

/* Closes c (once; its memory goes in its close callback). */
void gs_test_conn_close(gs_test_conn_t *c);

#endif
