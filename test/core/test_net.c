/* Tests of gs/net.h: the private-range table of gofr-dig's SSRF guard at
 * and around every boundary (IPv4, IPv6, IPv4-mapped, zones, text that is
 * not an address), and getaddrinfo on literals, localhost and a name under
 * .invalid (RFC 6761: never resolves) — no network needed. */
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/net.h"
#include "gs_test.h"

static void test_private_v4(void) {
  static const char *const yes[] = {
      "10.0.0.0",        "10.255.255.255", "10.1.2.3",        "172.16.0.0",      "172.16.0.1",
      "172.31.255.255",  "192.168.0.0",    "192.168.255.255", "127.0.0.1",       "127.0.0.0",
      "127.255.255.255", "127.1.2.3",      "169.254.0.0",     "169.254.169.254", "169.254.255.255",
      "0.0.0.0",         "0.255.255.255",  "0.1.2.3"};
  static const char *const no[] = {
      "9.255.255.255",   "11.0.0.0",        "172.15.255.255", "172.32.0.0",      "192.167.255.255",
      "192.169.0.0",     "126.255.255.255", "128.0.0.0",      "169.253.255.255", "169.255.0.0",
      "1.0.0.0",         "8.8.8.8",         "93.184.216.34",  "100.64.0.1",      "224.0.0.1",
      "255.255.255.255", "198.18.0.1",      "203.0.113.7"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (!gs_net_is_private(yes[i]))
      fprintf(stderr, "expected private: %s\n", yes[i]);
    GS_CHECK(gs_net_is_private(yes[i]));
  }
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
    if (gs_net_is_private(no[i]))
      fprintf(stderr, "expected public: %s\n", no[i]);
    GS_CHECK(!gs_net_is_private(no[i]));
  }
}

static void test_private_v6(void) {
  static const char *const yes[] = {
      "::1",
      "0:0:0:0:0:0:0:1",
      "fc00::",
      "fc00::1",
      "fd12:3456:789a::1",
      "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "FD00::ABCD",
      "fe80::",
      "fe80::1",
      "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fe80::1%lo",
      "fe80::1%eth0",
      "::ffff:127.0.0.1",
      "::ffff:127.255.255.255",
      "::ffff:10.0.0.1",
      "::ffff:172.16.0.1",
      "::ffff:172.31.255.255",
      "::ffff:192.168.1.1",
      "::ffff:169.254.169.254",
      "::ffff:7f00:1", /* 127.0.0.1 written in hex */
      "0:0:0:0:0:ffff:a00:1",
      "::0.0.0.1", /* the same address as ::1 */
      /* ipaddress takes a zone of any length */
      "fe80::1%0123456789012345678901234567890123456789012345678901234567890123456789",
  };
  static const char *const no[] = {
      "::",
      "::2",
      "::0.0.0.2",      /* v4-compatible, not mapped */
      "::127.0.0.1",    /* v4-compatible loopback: not in gofr-dig's list */
      "::ffff:0.0.0.0", /* mapped 0/8 is not in gofr-dig's list */
      "::ffff:0.1.2.3",
      "::ffff:8.8.8.8",
      "::ffff:172.32.0.1",
      "::ffff:11.0.0.1",
      "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
      "fe00::1",
      "fec0::1", /* old site-local: just past fe80::/10 */
      "ff02::1",
      "2001:db8::1",
      "2606:4700:4700::1111",
      "64:ff9b::7f00:1", /* NAT64 of 127.0.0.1: not in the list */
      "2002:7f00:1::",   /* 6to4 of 127.0.0.1: not in the list */
  };
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (!gs_net_is_private(yes[i]))
      fprintf(stderr, "expected private: %s\n", yes[i]);
    GS_CHECK(gs_net_is_private(yes[i]));
  }
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
    if (gs_net_is_private(no[i]))
      fprintf(stderr, "expected public: %s\n", no[i]);
    GS_CHECK(!gs_net_is_private(no[i]));
  }
}

/* What Python's ipaddress.ip_address refuses is "not private". */
static void test_not_addresses(void) {
  static const char *const bad[] = {
      NULL,         "",           "localhost", "127.1",       "127.0.0.1.",   " 127.0.0.1",
      "127.0.0.1 ", "[::1]",      "::1%",      "fe80::1%a%b", "127.0.0.1%lo", "010.0.0.1",
      "1.2.3.256",  "10.0.0.0/8", "::1::",     "gggg::1",     "0x7f.0.0.1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (gs_net_is_private(bad[i]))
      fprintf(stderr, "expected not an address: %s\n", bad[i] ? bad[i] : "(null)");
    GS_CHECK(!gs_net_is_private(bad[i]));
  }
}

static int has_addr(const gs_net_addrs_t *a, const char *want) {
  for (size_t i = 0; i < a->count; i++)
    if (strcmp(a->addr[i], want) == 0)
      return 1;
  return 0;
}

static void test_resolve_literals(void) {
  gs_net_addrs_t a;
  char err[128];
  GS_CHECK_INT(gs_net_resolve("127.0.0.1", &a, err, sizeof err), 0);
  GS_CHECK(a.count >= 1);
  GS_CHECK(has_addr(&a, "127.0.0.1"));
  GS_CHECK_STR(err, "");
  gs_net_addrs_free(&a);
  GS_CHECK(a.addr == NULL && a.count == 0);

  GS_CHECK_INT(gs_net_resolve("::1", &a, err, sizeof err), 0);
  GS_CHECK(has_addr(&a, "::1"));
  gs_net_addrs_free(&a);

  /* getaddrinfo takes the short and numeric v4 forms, as Python's does */
  GS_CHECK_INT(gs_net_resolve("127.1", &a, NULL, 0), 0);
  GS_CHECK(has_addr(&a, "127.0.0.1"));
  gs_net_addrs_free(&a);
  GS_CHECK_INT(gs_net_resolve("2130706433", &a, NULL, 0), 0);
  GS_CHECK(has_addr(&a, "127.0.0.1"));
  gs_net_addrs_free(&a);

  GS_CHECK_INT(gs_net_resolve("93.184.216.34", &a, NULL, 0), 0);
  GS_CHECK(a.count >= 1 && !gs_net_is_private(a.addr[0]));
  gs_net_addrs_free(&a);
}

static void test_resolve_names(void) {
  gs_net_addrs_t a;
  char err[128];
  GS_CHECK_INT(gs_net_resolve("localhost", &a, err, sizeof err), 0);
  GS_CHECK(a.count >= 1);
  for (size_t i = 0; i < a.count; i++)
    GS_CHECK(gs_net_is_private(a.addr[i]));
  gs_net_addrs_free(&a);

  int rc = gs_net_resolve("no-such-host.invalid", &a, err, sizeof err);
  GS_CHECK_INT(rc, GS_EADDR);
  GS_CHECK(a.count == 0 && a.addr == NULL);
  GS_CHECK(err[0] != '\0');
  gs_net_addrs_free(&a); /* harmless on an empty result */
}

static void test_resolve_misuse(void) {
  gs_net_addrs_t a;
  char err[64];
  GS_CHECK_INT(gs_net_resolve(NULL, &a, err, sizeof err), GS_EINVAL);
  GS_CHECK(a.count == 0 && a.addr == NULL);
  GS_CHECK_INT(gs_net_resolve("", &a, err, sizeof err), GS_EINVAL);
  GS_CHECK(err[0] != '\0');
  GS_CHECK_INT(gs_net_resolve("localhost", NULL, NULL, 0), GS_EINVAL);
  gs_net_addrs_free(NULL);
}

int main(void) {
  GS_RUN(test_private_v4);
  GS_RUN(test_private_v6);
  GS_RUN(test_not_addresses);
  GS_RUN(test_resolve_literals);
  GS_RUN(test_resolve_names);
  GS_RUN(test_resolve_misuse);
  return gs_test_report();
}
