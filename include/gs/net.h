/* Host name resolution and address classification for the SSRF guard of
 * the gofr-dig twin (gofr-dig's app/scraping/url_validator.py).
 *
 * gs_net_resolve() calls getaddrinfo(3) and BLOCKS the calling thread, and
 * so the whole event loop of a worker, until the resolver answers. gofr-dig
 * does the same (socket.getaddrinfo inside an async handler), so the twin
 * reproduces its stall; keep the names it resolves local (IP literals,
 * localhost, /etc/hosts) when that matters.
 *
 * No function keeps a pointer to its arguments. */
#ifndef GS_NET_H
#define GS_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Longest numeric address text written by gs_net_resolve, NUL included:
 * INET6_ADDRSTRLEN plus a "%" and an interface name. */
#define GS_NET_ADDRSTRLEN 64

/* The addresses of a name, in getaddrinfo's order (duplicates kept, as
 * Python's socket.getaddrinfo returns them). */
typedef struct gs_net_addrs_s {
  size_t count;
  char (*addr)[GS_NET_ADDRSTRLEN]; /* count numeric strings ("127.0.0.1",
                                      "::1", "fe80::1%eth0") */
} gs_net_addrs_t;

/* Resolves `host` (a name or an IP literal without brackets) with
 * getaddrinfo(host, NULL, AF_UNSPEC, SOCK_STREAM). Blocks (see above).
 * On success *out holds at least one address and the caller releases it
 * with gs_net_addrs_free(). On failure *out is {0, NULL}, errbuf (errlen
 * bytes, may be NULL/0) receives gai_strerror's text, and the result is
 * GS_EINVAL (NULL or empty host, or out NULL), GS_ENOMEM, or GS_EADDR (the
 * name does not resolve: EAI_NONAME, EAI_AGAIN, EAI_FAIL, ...). */
int gs_net_resolve(const char *host, gs_net_addrs_t *out, char *errbuf, size_t errlen);

/* Frees the array of a gs_net_resolve() result and zeroes it. NULL-safe. */
void gs_net_addrs_free(gs_net_addrs_t *addrs);

/* Whether the numeric address text `addr` lies in a range gofr-dig blocks:
 * 10/8, 172.16/12, 192.168/16, 127/8, 169.254/16, 0/8, ::1, fc00::/7,
 * fe80::/10, and ::ffff:a.b.c.d when a.b.c.d is in 127/8, 10/8, 172.16/12,
 * 192.168/16 or 169.254/16 (not 0/8: gofr-dig's list has no mapped 0/8).
 * A "%zone" suffix is ignored. Text that is not an address (NULL, names,
 * "1.2.3", bracketed literals) is not private: false, as gofr-dig's
 * _is_private_ip answers for what ipaddress cannot parse. */
bool gs_net_is_private(const char *addr);

#endif
