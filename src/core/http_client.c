/* Asynchronous HTTP client: the public entry points of gs/http_client.h,
 * which dispatch each request to an engine (gs__http_engine: the native
 * HTTP/1.1 engine of http1_client.c, or libcurl here; a request's first
 * member says which, see http_client_internal.h), and the libcurl engine:
 * the multi-socket API driven by libuv.
 *
 * How the curl engine fits together:
 *   - one CURLM per client; every easy handle is added to it, so they share
 *     the multi's connection cache (keep-alive reuse) and DNS cache;
 *   - CURLMOPT_SOCKETFUNCTION: curl says which sockets to watch; each gets a
 *     gs__http_sock_t holding a uv_poll_t (malloc'd here, freed in its close
 *     callback), found through the client's fd-indexed table;
 *   - connection sockets are opened and closed through our
 *     CURLOPT_OPENSOCKETFUNCTION/CLOSESOCKETFUNCTION, so their context lives
 *     exactly as long as the socket: when curl parks a keep-alive connection
 *     (CURL_POLL_REMOVE) its poll stays armed for reading, and reusing the
 *     connection costs no epoll_ctl; an idle socket that turns readable
 *     (the server closed it) is simply disarmed until curl wants it again.
 *     Other sockets (the resolver's) are unwatched and freed on REMOVE;
 *   - CURLMOPT_TIMERFUNCTION: curl asks for one timeout, kept in one uv_timer_t;
 *   - poll events and the timer call curl_multi_socket_action, then
 *     gs__http_drain reads CURLMSG_DONE messages and calls done callbacks.
 * Done callbacks are only ever called from gs__http_drain, never from inside
 * a curl callback, so they may start and free requests freely. They must not
 * free the client. Data callbacks (streaming) run inside curl's write
 * callback, so they may only take or refuse bytes (gs_http_data_cb).
 *
 * Ownership:
 *   - the client owns the multi, the timer, the socket contexts, the pool of
 *     idle easy handles and the list of live requests;
 *   - a request owns its copies of the body and header lines, its response
 *     buffers (gs_buf_t head and body; the body's stays empty when
 *     streaming), which the response's headers and body point into until
 *     gs_http_request_free() frees them, and, while in flight, one easy
 *     handle borrowed from the pool;
 *   - the caller owns the request until gs_http_request_free(). */
#include "gs/http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h> /* isnan, a macro: no libm needed */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gs/buf.h"
#include "gs/error.h"
#include "http_client_internal.h"

/* What GS_HTTP_ENGINE_AUTO means for a plain http:// URL without a proxy. */
#define GS_HTTP_ENGINE_AUTO_IS GS_HTTP_ENGINE_NATIVE

#define GS_HTTP_POOL_MAX 4096      /* idle easy handles kept for reuse */
#define GS_HTTP_MAXCONNECTS 20000L /* connection cache size of the multi */
#define GS_HTTP_BUFFERSIZE 16384L  /* per-transfer receive buffer */

/* A socket being watched (or a parked connection socket). Freed in
 * gs__http_sock_closed; listed in client->socks[fd] until closed. */
typedef struct gs__http_sock_s {
  uv_poll_t poll;
  curl_socket_t fd;
  int events;  /* UV_READABLE | UV_WRITABLE the poll is armed for, 0 if stopped */
  int wanted;  /* curl wants events on it (else: parked) */
  int is_conn; /* opened by gs__http_open_socket: lives until closed by curl */
  gs_http_client_t *client;
} gs__http_sock_t;

typedef struct gs__http_creq_s gs__http_creq_t;

struct gs_http_client_s {
  uv_loop_t *loop;
  gs_http1_t *h1;   /* the native engine, owned */
  long maxage_conn; /* CURLOPT_MAXAGE_CONN of new transfers, 0: curl's default */
  int proxy_env;    /* a proxy for http:// in the environment at creation (gs__http_proxy_env) */
  CURLM *multi;
  uv_timer_t timer;
  gs__http_sock_t **socks; /* fd -> context (not closing), NULL where none */
  size_t nsocks;           /* capacity of socks */
  unsigned char *conn_fds; /* fd -> 1 when opened by gs__http_open_socket */
  gs__http_creq_t *reqs;   /* every request not yet freed */
  CURL **pool;             /* idle, reset easy handles */
  size_t npool, cappool;
  size_t active;                       /* transfers in flight */
  uint64_t bytes_sent, bytes_received; /* what ended transfers reported (libcurl engine) */
  size_t pending_closes;               /* uv handles closing; the client is freed at 0 */
  int closing;
};

struct gs__http_creq_s {
  gs_http_request_t pub; /* engine = GS_HTTP_ENGINE_CURL; first */
  gs_http_client_t *client;
  gs__http_creq_t *prev, *next; /* client->reqs */
  CURL *easy;                   /* non-NULL while in flight */
  struct curl_slist *hdrs;      /* owned; freed when the transfer ends */
  char *post;                   /* owned copy of the body */
  gs_http_done_cb cb;
  gs_http_data_cb on_data; /* NULL: the body is buffered */
  void *data;
  size_t max_body;
  size_t received; /* body bytes taken (buffered or delivered) */
  int paused;      /* on_data refused bytes: the transfer waits for resume */
  int body_too_large;
  int oom;
  int head_done; /* the current response's header block has ended */
  int follow;    /* redirects are followed: a 3xx head is not the final one */
  /* The re-send rule (gs/http_client.h) on libcurl, which re-sends on its
   * own: every attempt passes the pre-request callback, and an attempt
   * after one that got no response byte is a re-send. */
  int resend_ok;       /* idempotent method or retry_unsafe */
  int unmetered;       /* left out of the client's byte counts */
  int attempts;        /* pre-request callbacks so far */
  int answered;        /* a response byte came since the last attempt began */
  int resend_refused;  /* the pre-request callback aborted a re-send */
  char method[16];     /* for the network_reset message (truncated) */
  gs_buf_t head;       /* the current response's header lines, "Name: value\r\n" each */
  gs_buf_t body;       /* the body when buffered (empty when streaming) */
  char *effective_url; /* owned */
  char errbuf[CURL_ERROR_SIZE];
  gs_http_response_t res;
};

/* A buffer's bytes as the C string a response hands out ("" when empty). */
static const char *gs__http_str(const gs_buf_t *b) {
  return b->p ? b->p : "";
}

/* ---- easy handle pool --------------------------------------------------- */

static CURL *gs__http_easy_get(gs_http_client_t *c) {
  if (c->npool)
    return c->pool[--c->npool];
  return curl_easy_init();
}

/* Takes back an easy handle no longer in the multi. */
static void gs__http_easy_put(gs_http_client_t *c, CURL *e) {
  if (c->npool == c->cappool && c->cappool < GS_HTTP_POOL_MAX) {
    size_t cap = c->cappool ? c->cappool * 2 : 16;
    CURL **p = realloc(c->pool, cap * sizeof *p);
    if (p) {
      c->pool = p;
      c->cappool = cap;
    }
  }
  if (c->npool < c->cappool) {
    curl_easy_reset(e);
    c->pool[c->npool++] = e;
  } else {
    curl_easy_cleanup(e);
  }
}

/* Detaches the in-flight easy handle from the multi and returns it to the pool. */
static void gs__http_detach(gs__http_creq_t *req) {
  gs_http_client_t *c = req->client;
  long request_size = 0, header_size = 0; /* request_size: heads and bodies sent */
  curl_off_t down = 0;
  curl_easy_getinfo(req->easy, CURLINFO_REQUEST_SIZE, &request_size);
  curl_easy_getinfo(req->easy, CURLINFO_HEADER_SIZE, &header_size);
  curl_easy_getinfo(req->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
  if (!req->unmetered) {
    c->bytes_sent += (uint64_t)(request_size > 0 ? request_size : 0);
    c->bytes_received +=
        (uint64_t)(header_size > 0 ? header_size : 0) + (uint64_t)(down > 0 ? down : 0);
  }
  curl_multi_remove_handle(c->multi, req->easy);
  gs__http_easy_put(c, req->easy);
  req->easy = NULL;
  c->active--;
  curl_slist_free_all(req->hdrs);
  req->hdrs = NULL;
  free(req->post);
  req->post = NULL;
}

/* ---- completion -------------------------------------------------------- */

static int gs__http_map_error(CURLcode rc) {
  switch (rc) {
  case CURLE_OK:
    return 0;
  case CURLE_OPERATION_TIMEDOUT:
    return GS_ETIMEDOUT;
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return GS_ECONNECT;
  case CURLE_GOT_NOTHING:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_PARTIAL_FILE:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_UNSUPPORTED_PROTOCOL: /* e.g. an HTTP/0.9 garbage reply */
  case CURLE_TOO_MANY_REDIRECTS:
    return GS_EPROTO;
  case CURLE_FILESIZE_EXCEEDED:
    return GS_EBODYTOOLARGE;
  case CURLE_OUT_OF_MEMORY:
    return GS_ENOMEM;
  default:
    return GS_ENETWORK;
  }
}

static double gs__http_secs(curl_off_t us) {
  return us > 0 ? (double)us / 1e6 : 0.0;
}

/* True when curl gave up on a response head that is too large. libcurl
 * 7.88 fails a header line over CURL_MAX_HTTP_HEADER (100 KiB) with a bare
 * CURLE_OUT_OF_MEMORY and no message (later versions say "Rejected ...
 * header"), and a head over its total limit (300 KiB) with CURLE_RECV_ERROR
 * "Too large response headers". An out-of-memory after the request was sent
 * and before the response's head ended (a line still being read: our own
 * allocation failures set req->oom) is taken as the former. */
static int gs__http_head_too_large(const gs__http_creq_t *req, CURLcode rc, long request_size) {
  if (rc == CURLE_OUT_OF_MEMORY)
    return strstr(req->errbuf, "header") || (request_size > 0 && !req->head_done);
  return rc == CURLE_RECV_ERROR && strstr(req->errbuf, "Too large response headers");
}

/* A re-send the pre-request callback refused: GS_ERESET, as the native
 * engine words it. */
static void gs__http_refused_resend(gs__http_creq_t *req, gs_http_response_t *res) {
  res->error = GS_ERESET;
  snprintf(req->errbuf, sizeof req->errbuf,
           "a reused keep-alive connection closed before any response byte; the %s request was "
           "not re-sent (%s)",
           req->method,
           req->resend_ok ? "it was already re-sent once"
                          : "not idempotent; retry_unsafe allows it");
  res->error_message = req->errbuf;
}

static void gs__http_finish(gs__http_creq_t *req, CURLcode rc) {
  CURL *e = req->easy;
  gs_http_response_t *res = &req->res;
  long status = 0, redirects = 0, nconnects = 0, os_errno = 0, request_size = 0;
  curl_off_t nl = 0, conn = 0, app = 0, start = 0, total = 0;
  char *url = NULL;

  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
  curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nconnects);
  curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url);
  curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &request_size);
  curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &nl);
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &conn);
  curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &start);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
  if (url)
    req->effective_url = strdup(url); /* curl's copy dies with the reset */

  res->status = status;
  res->redirects = redirects;
  res->new_connections = nconnects;
  res->effective_url = req->effective_url ? req->effective_url : "";
  if (nconnects > 0) {
    res->timings.dns = gs__http_secs(nl);
    res->timings.connect = gs__http_secs(conn - nl);
    res->timings.tls = app > 0 ? gs__http_secs(app - conn) : 0.0;
  } /* else: reused connection, dns = connect = tls = 0 */
  res->timings.ttfb = start > 0 ? gs__http_secs(start - (app > conn ? app : conn)) : 0.0;
  res->timings.total = gs__http_secs(total);

  gs__http_detach(req); /* before the message: curl may still write errbuf */
  res->error = gs__http_map_error(rc);
  res->error_message = "";
  if (req->resend_refused && rc == CURLE_ABORTED_BY_CALLBACK) {
    gs__http_refused_resend(req, res);
  } else if (req->oom) {
    res->error = GS_ENOMEM;
    res->error_message = "out of memory buffering the response";
  } else if (req->body_too_large) {
    res->error = GS_EBODYTOOLARGE;
    snprintf(req->errbuf, sizeof req->errbuf, "response body exceeds max_body (%zu bytes)",
             req->max_body);
    res->error_message = req->errbuf;
  } else if (rc == CURLE_FILESIZE_EXCEEDED) {
    snprintf(req->errbuf, sizeof req->errbuf,
             "response body exceeds max_body (%zu bytes, by Content-Length)", req->max_body);
    res->error_message = req->errbuf;
  } else if (gs__http_head_too_large(req, rc, request_size)) {
    /* the peer's fault, not ours: see gs__http_head_too_large */
    res->error = GS_EPROTO;
    static const char what[] = "response header too large: ";
    if (!req->errbuf[0])
      snprintf(req->errbuf, sizeof req->errbuf, "a header line exceeds libcurl's limit of %d bytes",
               CURL_MAX_HTTP_HEADER);
    size_t n = strnlen(req->errbuf, sizeof req->errbuf - sizeof what);
    memmove(req->errbuf + sizeof what - 1, req->errbuf, n);
    memcpy(req->errbuf, what, sizeof what - 1);
    req->errbuf[sizeof what - 1 + n] = '\0';
    res->error_message = req->errbuf;
  } else if (rc != CURLE_OK) {
    if (!req->errbuf[0])
      snprintf(req->errbuf, sizeof req->errbuf, "%s", curl_easy_strerror(rc));
    /* curl 7.88 says "Couldn't connect to server" where the errno says why.
     * (CURLINFO_OS_ERRNO is sticky across transfers: only trust it here.) */
    size_t n = strlen(req->errbuf);
    if (rc == CURLE_COULDNT_CONNECT && os_errno > 0 && n < sizeof req->errbuf - 1)
      snprintf(req->errbuf + n, sizeof req->errbuf - n, " (%s)", uv_strerror(-(int)os_errno));
    res->error_message = req->errbuf;
  } else if (status < 100 || status > 999) {
    /* curl 7.88 reads a garbled status line ("HTTP/2011. 0 OK") as a
     * success with status 11 or none: an HTTP status has three digits. */
    res->error = GS_EPROTO;
    snprintf(req->errbuf, sizeof req->errbuf, "invalid HTTP status line (status %ld)", status);
    res->error_message = req->errbuf;
  }

  res->headers = gs__http_str(&req->head);
  res->headers_len = req->head.len;
  res->body = gs__http_str(&req->body);
  res->body_len = req->body.len;

  req->cb(&req->pub, res, req->data); /* may free req */
}

/* Reads finished transfers and calls their callbacks. Messages are read one
 * at a time, so a callback that frees other requests (removing their pending
 * messages from the multi) or starts new ones is fine. */
static void gs__http_drain(gs_http_client_t *c) {
  CURLMsg *msg;
  int left;
  while (!c->closing && (msg = curl_multi_info_read(c->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *e = msg->easy_handle;
    CURLcode rc = msg->data.result; /* msg dies with curl_multi_remove_handle */
    char *priv = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    gs__http_creq_t *req = (gs__http_creq_t *)priv;
    if (req && req->easy == e)
      gs__http_finish(req, rc);
  }
}

/* ---- libuv <-> curl glue ---------------------------------------------- */

static void gs__http_client_release(gs_http_client_t *c) {
  if (--c->pending_closes == 0 && c->closing) {
    free(c->pool);
    free(c->socks);
    free(c->conn_fds);
    free(c);
  }
}

static void gs__http_timer_closed(uv_handle_t *h) {
  gs__http_client_release(h->data);
}

static void gs__http_sock_closed(uv_handle_t *h) {
  gs__http_sock_t *s = h->data;
  gs_http_client_t *c = s->client;
  free(s);
  gs__http_client_release(c);
}

static void gs__http_sock_close(gs__http_sock_t *s) {
  gs_http_client_t *c = s->client;
  c->socks[s->fd] = NULL;
  c->pending_closes++;
  uv_close((uv_handle_t *)&s->poll, gs__http_sock_closed); /* also stops it */
}

static void gs__http_on_poll(uv_poll_t *h, int status, int events) {
  gs__http_sock_t *s = h->data;
  gs_http_client_t *c = s->client;
  int flags = 0, running;
  /* On a poll error (libuv says EBADF for any POLLERR) let curl read or
   * write the socket as it wanted: the call fails with the real cause
   * ("Connection reset by peer"), where CURL_CSELECT_ERR would only say
   * "select/poll returned error". */
  if (status < 0)
    events = s->events ? s->events : UV_READABLE;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  curl_multi_socket_action(c->multi, s->fd, flags, &running);
  /* A parked connection that turned readable: curl has been told (in case it
   * wanted the socket after all); if it still does not, the peer closed it or
   * sent something unasked - stop watching until curl asks again. */
  if (!s->wanted && !uv_is_closing((uv_handle_t *)h)) {
    uv_poll_stop(h);
    s->events = 0;
  }
  /* libuv stops a poll handle on error; if curl still wants the socket and
   * did not change its mind (so did not call us), watch it again. The
   * context is not freed before its close callback, so it is valid here. */
  if (status < 0 && !uv_is_closing((uv_handle_t *)h) && !uv_is_active((uv_handle_t *)h))
    uv_poll_start(h, s->events, gs__http_on_poll);
  gs__http_drain(c);
}

/* Grows the fd-indexed tables to hold fd. */
static int gs__http_socks_reserve(gs_http_client_t *c, curl_socket_t fd) {
  if (fd < 0)
    return GS_EINVAL;
  if ((size_t)fd < c->nsocks)
    return 0;
  size_t n = c->nsocks ? c->nsocks : 256;
  while (n <= (size_t)fd)
    n *= 2;
  gs__http_sock_t **socks = realloc(c->socks, n * sizeof *socks);
  if (!socks)
    return GS_ENOMEM;
  c->socks = socks;
  unsigned char *conn = realloc(c->conn_fds, n);
  if (!conn)
    return GS_ENOMEM;
  c->conn_fds = conn;
  memset(c->socks + c->nsocks, 0, (n - c->nsocks) * sizeof *socks);
  memset(c->conn_fds + c->nsocks, 0, n - c->nsocks);
  c->nsocks = n;
  return 0;
}

/* Arms (or re-arms) the poll for `events`; no syscall when nothing changes. */
static int gs__http_sock_arm(gs__http_sock_t *s, int events) {
  if (events == s->events)
    return 0;
  if (uv_poll_start(&s->poll, events, gs__http_on_poll) != 0)
    return -1;
  s->events = events;
  return 0;
}

/* True when fd is no longer open. libcurl 7.88 closes a socket whose
 * connect timed out without calling CLOSESOCKETFUNCTION and tells us
 * (CURL_POLL_REMOVE) only afterwards: parking such a socket would make libuv
 * register a closed fd, which it treats as fatal. */
static int gs__http_fd_closed(curl_socket_t fd) {
  return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static int gs__http_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp) {
  gs_http_client_t *c = userp;
  gs__http_sock_t *s = (size_t)fd < c->nsocks ? c->socks[fd] : NULL;
  if (what == CURL_POLL_REMOVE) {
    if (s && s->is_conn && !gs__http_fd_closed(fd)) {
      s->wanted = 0; /* parked: keep reading armed, see the file comment */
      return gs__http_sock_arm(s, UV_READABLE);
    }
    if (s && s->is_conn)
      c->conn_fds[fd] = 0;
    if (s)
      gs__http_sock_close(s);
    return 0;
  }
  if (c->closing)
    return 0;
  if (!s) {
    if (gs__http_socks_reserve(c, fd) != 0 || !(s = calloc(1, sizeof *s)))
      return -1;
    if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    s->poll.data = s;
    s->fd = fd;
    s->client = c;
    s->is_conn = c->conn_fds[fd];
    c->socks[fd] = s;
  }
  s->wanted = 1;
  return gs__http_sock_arm(s, (what & CURL_POLL_IN ? UV_READABLE : 0) |
                                  (what & CURL_POLL_OUT ? UV_WRITABLE : 0));
}

/* CURLOPT_OPENSOCKETFUNCTION: a connection socket, remembered as such. */
static curl_socket_t gs__http_open_socket(void *userp, curlsocktype purpose,
                                          struct curl_sockaddr *addr) {
  gs_http_client_t *c = userp;
  curl_socket_t fd = socket(addr->family, addr->socktype, addr->protocol);
  if (fd == CURL_SOCKET_BAD)
    return fd;
  if (gs__http_socks_reserve(c, fd) != 0) {
    close(fd);
    return CURL_SOCKET_BAD;
  }
  /* A context left by a socket libcurl closed behind our back (see
   * gs__http_fd_closed) whose number the kernel now reuses: drop it. */
  if (c->socks[fd])
    gs__http_sock_close(c->socks[fd]);
  c->conn_fds[fd] = 1;
  return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: the context goes first, while the fd is
 * still open (libuv unregisters it), then the socket. */
static int gs__http_close_socket(void *userp, curl_socket_t fd) {
  gs_http_client_t *c = userp;
  if ((size_t)fd < c->nsocks) {
    if (c->socks[fd])
      gs__http_sock_close(c->socks[fd]);
    c->conn_fds[fd] = 0;
  }
  return close(fd);
}

static void gs__http_on_timer(uv_timer_t *t) {
  gs_http_client_t *c = t->data;
  int running;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  gs__http_drain(c);
}

static int gs__http_timer_cb(CURLM *m, long timeout_ms, void *userp) {
  gs_http_client_t *c = userp;
  if (c->closing)
    return 0;
  if (timeout_ms < 0)
    return uv_timer_stop(&c->timer) == 0 ? 0 : -1;
  /* 0 means "as soon as possible": the next loop iteration, never from here. */
  return uv_timer_start(&c->timer, gs__http_on_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

/* ---- curl data callbacks -------------------------------------------- */

static size_t gs__http_deliver(gs__http_creq_t *req, char *p, size_t len);

/* The header block of a response just ended: when it is the final one of a
 * streamed request, the data callback gets the head with no bytes (a body
 * may be long in coming: an SSE stream the server has nothing for yet). A
 * refusal (the callback out of memory) only delays the head to the body's
 * first bytes. */
static void gs__http_head_ready(gs__http_creq_t *req) {
  long status = 0;
  if (!req->on_data)
    return;
  curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || (req->follow && status >= 300 && status < 400))
    return; /* interim, or a redirect being followed */
  char none = 0;
  if (gs__http_deliver(req, &none, 0) == CURL_WRITEFUNC_PAUSE)
    req->paused = 0; /* nothing was held: nothing to resume */
}

static size_t gs__http_on_header(char *p, size_t size, size_t n, void *ud) {
  gs__http_creq_t *req = ud;
  size_t len = size * n, l = len;
  req->answered = 1;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    req->head_done = 0;
    gs_buf_clear(&req->head); /* a new response (redirect, 1xx): keep only the last */
    return len;
  }
  while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
    l--;
  if (l == 0) {
    req->head_done = 1; /* the blank line ending the header block */
    gs__http_head_ready(req);
    return len;
  }
  char *line = gs_buf_extend(&req->head, l + 2);
  if (!line) {
    req->oom = 1;
    return 0;
  }
  memcpy(line, p, l);
  memcpy(line + l, "\r\n", 2);
  return len;
}

/* CURLOPT_PREREQFUNCTION: called before each attempt's request is sent
 * (the first, each redirect, and libcurl's own re-sends after a reused
 * connection died before answering). An attempt after one that got no
 * response byte is such a re-send: counted when the rule allows it (once),
 * else aborted before a byte of it is written. */
static int gs__http_on_prereq(void *ud, char *conn_ip, char *local_ip, int conn_port,
                              int local_port) {
  gs__http_creq_t *req = ud;
  (void)conn_ip, (void)local_ip, (void)conn_port, (void)local_port;
  int resend = req->attempts++ > 0 && !req->answered;
  req->answered = 0;
  if (!resend)
    return CURL_PREREQFUNC_OK;
  if (req->resend_ok && req->res.connection_retries == 0) {
    req->res.connection_retries++;
    return CURL_PREREQFUNC_OK;
  }
  req->resend_refused = 1;
  return CURL_PREREQFUNC_ABORT;
}

/* Offers body bytes to the request's data callback. */
static size_t gs__http_deliver(gs__http_creq_t *req, char *p, size_t len) {
  char *url = NULL;
  gs_http_response_t *head = &req->res;
  curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &head->status);
  curl_easy_getinfo(req->easy, CURLINFO_EFFECTIVE_URL, &url);
  head->effective_url = url ? url : "";
  head->headers = gs__http_str(&req->head);
  head->headers_len = req->head.len;
  int rc = req->on_data(&req->pub, head, p, len, req->data);
  long resends = head->connection_retries; /* the request's own count: kept */
  memset(head, 0, sizeof *head);
  head->connection_retries = resends;
  if (rc == GS_HTTP_PAUSE) {
    req->paused = 1;
    return CURL_WRITEFUNC_PAUSE; /* curl keeps the bytes and offers them again */
  }
  req->received += len;
  return len;
}

static size_t gs__http_on_body(char *p, size_t size, size_t n, void *ud) {
  gs__http_creq_t *req = ud;
  size_t len = size * n;
  if (req->max_body && (len > req->max_body || req->received > req->max_body - len)) {
    req->body_too_large = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (req->on_data)
    return gs__http_deliver(req, p, len);
  if (!req->body.p) {
    curl_off_t cl = -1;
    curl_easy_getinfo(req->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl > 0 && (uint64_t)cl <= GS_HTTP_PRESIZE_MAX)
      (void)gs_buf_reserve(&req->body, (size_t)cl); /* best effort: gs_buf_add tries again */
  }
  if (gs_buf_add(&req->body, p, len)) {
    req->oom = 1;
    return 0;
  }
  req->received += len;
  return len;
}

/* ---- public API ---------------------------------------------------- */

/* True when the environment configures a proxy for http:// URLs: libcurl
 * honours http_proxy, all_proxy and ALL_PROXY (and HTTP_PROXY counts too),
 * so AUTO keeps such requests on curl. Read once, when a client is created,
 * not on every request. */
static int gs__http_proxy_env(void) {
  static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *v = getenv(vars[i]);
    if (v && v[0])
      return 1;
  }
  return 0;
}

int gs_http_client_new(uv_loop_t *loop, gs_http_client_t **out) {
  if (!loop || !out)
    return GS_EINVAL;
  *out = NULL;
  /* Reference-counted and thread-safe in libcurl >= 7.84; paired with the
   * curl_global_cleanup in gs_http_client_free. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return GS_ENOMEM;
  gs_http_client_t *c = calloc(1, sizeof *c);
  if (!c)
    goto fail;
  c->loop = loop;
  c->proxy_env = gs__http_proxy_env();
  c->multi = curl_multi_init();
  if (!c->multi)
    goto fail;
  if (gs_http1_new(loop, &c->h1) != 0)
    goto fail;
  if (uv_timer_init(loop, &c->timer) != 0)
    goto fail;
  c->timer.data = c;
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, gs__http_socket_cb);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, gs__http_timer_cb);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, GS_HTTP_MAXCONNECTS);
  curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
  *out = c;
  return 0;
fail:
  if (c) {
    gs_http1_free(c->h1); /* frees itself once the loop runs its close callback */
    if (c->multi)
      curl_multi_cleanup(c->multi);
    free(c->socks);
    free(c->conn_fds);
    free(c);
  }
  curl_global_cleanup();
  return GS_ENOMEM;
}

void gs_http_client_free(gs_http_client_t *c) {
  if (!c)
    return;
  while (c->reqs)
    gs_http_request_free(&c->reqs->pub); /* cancels; callbacks are not called */
  gs_http1_free(c->h1);                  /* the native engine's requests and connections likewise */
  c->h1 = NULL;
  c->closing = 1;
  for (size_t i = 0; i < c->npool; i++)
    curl_easy_cleanup(c->pool[i]);
  c->npool = 0;
  curl_multi_cleanup(c->multi); /* closes cached connections; may call socket_cb */
  c->multi = NULL;
  for (size_t fd = 0; fd < c->nsocks; fd++)
    if (c->socks[fd])
      gs__http_sock_close(c->socks[fd]);
  c->pending_closes++;
  uv_close((uv_handle_t *)&c->timer, gs__http_timer_closed);
  curl_global_cleanup();
}

/* Case-insensitive "does this header line set `name`". */
int gs_http_method_idempotent(const char *method) {
  static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
  for (size_t i = 0; i < sizeof idempotent / sizeof *idempotent; i++)
    if (strcmp(method, idempotent[i]) == 0)
      return 1;
  return 0;
}

static int gs__http_is_header(const char *line, const char *name) {
  size_t n = strlen(name);
  return strncasecmp(line, name, n) == 0 && (line[n] == ':' || line[n] == ';');
}

/* The engine for a request (see GS_HTTP_ENGINE_AUTO), or GS_EINVAL. */
static int gs__http_engine(const gs_http_client_t *c, const gs_http_request_opts_t *o) {
  int is_http = strncasecmp(o->url, "http://", 7) == 0;
  switch (o->engine) {
  case GS_HTTP_ENGINE_CURL:
    return GS_HTTP_ENGINE_CURL;
  case GS_HTTP_ENGINE_NATIVE:
    return is_http ? GS_HTTP_ENGINE_NATIVE : GS_EINVAL;
  case GS_HTTP_ENGINE_AUTO:
    return is_http && !c->proxy_env ? GS_HTTP_ENGINE_AUTO_IS : GS_HTTP_ENGINE_CURL;
  default:
    return GS_EINVAL;
  }
}

/* Absolute http(s) URL that curl can parse: 1 yes, 0 no, GS_ENOMEM. A fresh
 * CURLU each time: setting a URL on a used handle resolves it as relative. */
static int gs__http_valid_url(const char *url) {
  char *scheme = NULL;
  CURLU *u = curl_url();
  if (!u)
    return GS_ENOMEM;
  int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
  curl_free(scheme);
  curl_url_cleanup(u);
  return ok;
}

static long gs__http_ms(double secs) {
  double ms = secs * 1000.0; /* rounded up: 0.0001 s is 1 ms, not "none" */
  if (ms >= (double)LONG_MAX)
    return LONG_MAX;
  long l = (long)ms;
  return (double)l < ms ? l + 1 : l;
}

int gs_http_request_start(gs_http_client_t *c, const gs_http_request_opts_t *o, gs_http_done_cb cb,
                          void *data, gs_http_request_t **out) {
  if (!out)
    return GS_EINVAL;
  *out = NULL;
  if (!c || c->closing || !o || !cb || !o->url || (o->nheaders && !o->headers) ||
      isnan(o->timeout) || isnan(o->connect_timeout) || (o->body_len && !o->body))
    return GS_EINVAL;
  const char *method = o->method && o->method[0] ? o->method : "GET";
  for (const char *m = method; *m; m++)
    if (*m <= ' ' || *m >= 127)
      return GS_EINVAL;
  int engine = gs__http_engine(c, o);
  if (engine < 0)
    return engine;
  /* The native engine parses (and caches) URLs by curl's rules itself. */
  int valid = engine == GS_HTTP_ENGINE_NATIVE ? 1 : gs__http_valid_url(o->url);
  if (valid <= 0)
    return valid < 0 ? valid : GS_EINVAL;

  for (size_t i = 0; i < o->nheaders; i++)
    if (!o->headers[i] || strpbrk(o->headers[i], "\r\n"))
      return GS_EINVAL; /* no header injection */
  if (engine == GS_HTTP_ENGINE_NATIVE)
    return gs_http1_start(c->h1, o, cb, data, out);

  int has_ua = 0, has_expect = 0;
  for (size_t i = 0; i < o->nheaders; i++) {
    has_ua |= gs__http_is_header(o->headers[i], "User-Agent");
    has_expect |= gs__http_is_header(o->headers[i], "Expect");
  }

  gs__http_creq_t *req = calloc(1, sizeof *req);
  if (!req)
    return GS_ENOMEM;
  req->pub.engine = GS_HTTP_ENGINE_CURL;
  req->client = c;
  req->cb = cb;
  req->on_data = o->on_data;
  req->data = data;
  req->max_body = o->max_body;
  req->resend_ok = gs_http_method_idempotent(method) || o->retry_unsafe;
  req->unmetered = o->unmetered != 0;
  snprintf(req->method, sizeof req->method, "%s", method);

  int is_get = strcmp(method, "GET") == 0, is_head = strcmp(method, "HEAD") == 0;
  int is_post = strcmp(method, "POST") == 0;
  /* Methods that carry a body get Content-Length: 0 when none is given. */
  int send_body = o->body || is_post || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
  if (send_body) {
    req->post = malloc(o->body_len + 1);
    if (!req->post)
      goto nomem;
    if (o->body_len)
      memcpy(req->post, o->body, o->body_len);
    req->post[o->body_len] = '\0';
  }

  struct curl_slist *l;
  for (size_t i = 0; i < o->nheaders; i++) {
    if (!(l = curl_slist_append(req->hdrs, o->headers[i])))
      goto nomem;
    req->hdrs = l;
  }
  if (send_body && !has_expect) {
    if (!(l = curl_slist_append(req->hdrs, "Expect:")))
      goto nomem;
    req->hdrs = l;
  }

  CURL *e = req->easy = gs__http_easy_get(c);
  if (!e)
    goto nomem;
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)req);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, gs__http_open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, gs__http_close_socket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, GS_HTTP_BUFFERSIZE);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (curl_easy_setopt(e, CURLOPT_URL, o->url) != CURLE_OK)
    goto nomem_easy;
  if (!has_ua && curl_easy_setopt(e, CURLOPT_USERAGENT, GS_HTTP_USER_AGENT) != CURLE_OK)
    goto nomem_easy;
  if (req->hdrs)
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->hdrs);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, gs__http_on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gs__http_on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, gs__http_on_prereq);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, req);

  if (is_head) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (!is_get || send_body) {
    /* POST without CUSTOMREQUEST lets curl apply the usual redirect rules
     * (303 -> GET; 307/308 keep POST and resend the body). */
    if (!is_post && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK)
      goto nomem_easy;
  }
  if (send_body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->post);
  }

  if (o->timeout > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, gs__http_ms(o->timeout));
  if (o->connect_timeout > 0)
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, gs__http_ms(o->connect_timeout));
  if (o->follow_redirects) {
    req->follow = 1;
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, o->max_redirects > 0 ? o->max_redirects : 10L);
  }
  if (o->max_body)
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
  if (o->path_as_is)
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
  if (c->maxage_conn > 0)
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, c->maxage_conn);

  if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
    goto nomem_easy;
  c->active++;
  req->next = c->reqs;
  if (c->reqs)
    c->reqs->prev = req;
  c->reqs = req;
  *out = &req->pub;
  return 0;

nomem_easy:
  gs__http_easy_put(c, req->easy);
nomem:
  curl_slist_free_all(req->hdrs);
  free(req->post);
  free(req);
  return GS_ENOMEM;
}

void gs_http_request_free(gs_http_request_t *pub) {
  if (!pub)
    return;
  if (pub->engine == GS_HTTP_ENGINE_NATIVE) {
    gs_http1_request_free(pub);
    return;
  }
  gs__http_creq_t *req = (gs__http_creq_t *)pub;
  gs_http_client_t *c = req->client;
  if (req->easy)
    gs__http_detach(req); /* in flight: cancel; the callback never runs */
  if (req->prev)
    req->prev->next = req->next;
  else
    c->reqs = req->next;
  if (req->next)
    req->next->prev = req->prev;
  gs_buf_free(&req->head);
  gs_buf_free(&req->body);
  free(req->effective_url);
  free(req);
}

int gs_http_request_resume(gs_http_request_t *pub) {
  if (pub && pub->engine == GS_HTTP_ENGINE_NATIVE)
    return gs_http1_request_resume(pub);
  gs__http_creq_t *req = (gs__http_creq_t *)pub;
  if (!req || !req->easy || !req->paused)
    return 0;
  req->paused = 0;
  return curl_easy_pause(req->easy, CURLPAUSE_CONT) == CURLE_OK ? 0 : GS_ENETWORK;
}

size_t gs_http_client_active(const gs_http_client_t *c) {
  return c ? c->active + gs_http1_active(c->h1) : 0;
}

void gs_http_client_bytes(const gs_http_client_t *c, uint64_t *sent, uint64_t *received) {
  uint64_t s = 0, r = 0;
  if (c)
    gs_http1_bytes(c->h1, &s, &r);
  if (sent)
    *sent = s + (c ? c->bytes_sent : 0);
  if (received)
    *received = r + (c ? c->bytes_received : 0);
}

int gs_http_client_set_limits(gs_http_client_t *c, size_t max_conns_per_origin,
                              double idle_timeout_secs) {
  if (!c || c->closing || isnan(idle_timeout_secs) || max_conns_per_origin > LONG_MAX)
    return GS_EINVAL;
  curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_conns_per_origin);
  if (idle_timeout_secs > 0) {
    double s = idle_timeout_secs < 1 ? 1 : idle_timeout_secs; /* curl counts whole seconds */
    c->maxage_conn = s >= (double)LONG_MAX ? LONG_MAX : (long)s;
  }
  gs_http1_set_limits(c->h1, max_conns_per_origin, idle_timeout_secs);
  return 0;
}
