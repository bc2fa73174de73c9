/* Name resolution and private-range checks (gs/net.h). */
#include "gs/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gs/error.h"

static void gs__net_err(char *errbuf, size_t errlen, const char *msg) {
  if (errbuf && errlen)
    snprintf(errbuf, errlen, "%s", msg);
}

/* The numeric text of one getaddrinfo entry into out; 0 or -1 (skip it). */
static int gs__net_numeric(const struct addrinfo *ai, char out[GS_NET_ADDRSTRLEN]) {
  if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
    return -1;
  return getnameinfo(ai->ai_addr, ai->ai_addrlen, out, GS_NET_ADDRSTRLEN, NULL, 0,
                     NI_NUMERICHOST) == 0
             ? 0
             : -1;
}

int gs_net_resolve(const char *host, gs_net_addrs_t *out, char *errbuf, size_t errlen) {
  if (out) {
    out->count = 0;
    out->addr = NULL;
  }
  gs__net_err(errbuf, errlen, "");
  if (!host || !*host || !out) {
    gs__net_err(errbuf, errlen, "no host name");
    return GS_EINVAL;
  }
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc) {
    gs__net_err(errbuf, errlen, gai_strerror(rc));
    return rc == EAI_MEMORY ? GS_ENOMEM : GS_EADDR;
  }
  size_t n = 0;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
    n++;
  out->addr = n ? calloc(n, sizeof *out->addr) : NULL;
  if (n && !out->addr) {
    freeaddrinfo(res);
    gs__net_err(errbuf, errlen, "out of memory");
    return GS_ENOMEM;
  }
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
    if (gs__net_numeric(ai, out->addr[out->count]) == 0)
      out->count++;
  freeaddrinfo(res);
  if (out->count == 0) {
    gs_net_addrs_free(out);
    gs__net_err(errbuf, errlen, "no IPv4 or IPv6 address");
    return GS_EADDR;
  }
  return 0;
}

void gs_net_addrs_free(gs_net_addrs_t *addrs) {
  if (!addrs)
    return;
  free(addrs->addr);
  addrs->addr = NULL;
  addrs->count = 0;
}

/* An IPv4 address (host order) in one of gofr-dig's blocked v4 ranges.
 * with_zero: whether 0/8 counts (it does for plain v4, not when mapped). */
static bool gs__net_v4_private(uint32_t a, bool with_zero) {
  if ((a >> 24) == 10 || (a >> 24) == 127)
    return true;
  if ((a >> 20) == ((172u << 4) | 1)) /* 172.16.0.0/12 */
    return true;
  if ((a >> 16) == ((192u << 8) | 168) || (a >> 16) == ((169u << 8) | 254))
    return true;
  return with_zero && (a >> 24) == 0;
}

static bool gs__net_v6_private(const unsigned char b[16]) {
  static const unsigned char loopback[16] = {[15] = 1};
  static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
  if (memcmp(b, loopback, 16) == 0)
    return true;
  if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 */
    return true;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
    return true;
  if (memcmp(b, mapped, 12) == 0) {
    uint32_t v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
    return gs__net_v4_private(v4, false);
  }
  return false;
}

bool gs_net_is_private(const char *addr) {
  if (!addr)
    return false;
  struct in_addr v4;
  if (inet_pton(AF_INET, addr, &v4) == 1)
    return gs__net_v4_private(ntohl(v4.s_addr), true);
  /* IPv6, possibly with a "%zone" (non-empty, a single '%') */
  char text[GS_NET_ADDRSTRLEN];
  const char *pct = strchr(addr, '%');
  size_t len = pct ? (size_t)(pct - addr) : strlen(addr);
  if (len >= sizeof text || (pct && (pct[1] == '\0' || strchr(pct + 1, '%'))))
    return false;
  memcpy(text, addr, len);
  text[len] = '\0';
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text, v6) != 1)
    return false;
  return gs__net_v6_private(v6);
}
