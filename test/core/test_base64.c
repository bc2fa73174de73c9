/* Tests of gs_base64 (include/gs/base64.h): RFC 4648's test vectors in both
 * alphabets, padded and not; lengths 0..300 against OpenSSL's encoder and
 * round trips; invalid input refused (characters, padding, lengths,
 * non-zero unused bits); and every short string checked against a
 * reference written from the rules in the header. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/base64.h"
#include "gs/error.h"
#include "gs_test.h"

#define ALL_FLAGS 8 /* every combination of URL, PAD, ANY_BITS */

/* Encodes s (NUL-terminated bytes) and returns a static string. */
static const char *enc(const char *s, unsigned flags) {
  static char out[256];
  size_t n = strlen(s);
  size_t len = gs_base64_encode(s, n, flags, out);
  GS_CHECK_INT(len, gs_base64_encoded_len(n, flags));
  GS_CHECK_INT(strlen(out), len);
  return out;
}

/* Decodes s; returns the bytes as a static string, or NULL when refused. */
static const char *dec(const char *s, unsigned flags) {
  static char out[256];
  size_t n = strlen(s), len = 12345;
  memset(out, 0, sizeof out);
  if (gs_base64_decode(s, n, flags, out, &len) != 0) {
    GS_CHECK_INT(len, 12345); /* untouched */
    return NULL;
  }
  GS_CHECK(len <= gs_base64_decoded_max(n));
  /* checking only (dst NULL) gives the same answer and length */
  size_t len2 = 0;
  GS_CHECK_INT(gs_base64_decode(s, n, flags, NULL, &len2), 0);
  GS_CHECK_INT(len2, len);
  return out;
}

static void test_rfc4648_vectors(void) {
  /* RFC 4648, section 10 */
  static const char *const v[][3] = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    for (unsigned url = 0; url <= GS_BASE64_URL; url += GS_BASE64_URL) {
      GS_CHECK_STR(enc(v[i][0], url | GS_BASE64_PAD), v[i][1]);
      GS_CHECK_STR(enc(v[i][0], url), v[i][2]);
      GS_CHECK_STR(dec(v[i][1], url | GS_BASE64_PAD), v[i][0]);
      GS_CHECK_STR(dec(v[i][2], url), v[i][0]);
      GS_CHECK_STR(dec(v[i][2], url | GS_BASE64_ANY_BITS), v[i][0]);
    }
  }
}

static void test_alphabets(void) {
  /* 62 and 63: '+' '/' in the standard alphabet, '-' '_' in the URL one */
  GS_CHECK_STR(enc("\xfb\xff\xbf", GS_BASE64_PAD), "+/+/");
  GS_CHECK_STR(enc("\xfb\xff\xbf", GS_BASE64_URL | GS_BASE64_PAD), "-_-_");
  GS_CHECK_STR(enc("\xff", GS_BASE64_PAD), "/w==");
  GS_CHECK_STR(enc("\xff", GS_BASE64_URL), "_w");
  GS_CHECK_STR(enc("\xfb\xf0", GS_BASE64_PAD), "+/A=");
  GS_CHECK_STR(enc("\xfb\xf0", GS_BASE64_URL), "-_A");
  GS_CHECK_STR(dec("+/+/", GS_BASE64_PAD), "\xfb\xff\xbf");
  GS_CHECK_STR(dec("-_-_", GS_BASE64_URL), "\xfb\xff\xbf");
  /* each alphabet refuses the other's two characters */
  GS_CHECK(dec("-_-_", GS_BASE64_PAD) == NULL);
  GS_CHECK(dec("+/+/", GS_BASE64_URL) == NULL);
  GS_CHECK(dec("ab+c", GS_BASE64_URL | GS_BASE64_ANY_BITS) == NULL);
  GS_CHECK(dec("ab_c", GS_BASE64_PAD | GS_BASE64_ANY_BITS) == NULL);
  /* the whole alphabet, in order */
  uint8_t all[48];
  for (int i = 0; i < 64; i += 4) { /* four 6-bit values i..i+3 in 3 bytes */
    uint32_t w = (uint32_t)i << 18 | (uint32_t)(i + 1) << 12 | (uint32_t)(i + 2) << 6 | (i + 3);
    all[i / 4 * 3] = (uint8_t)(w >> 16);
    all[i / 4 * 3 + 1] = (uint8_t)(w >> 8);
    all[i / 4 * 3 + 2] = (uint8_t)w;
  }
  char out[65];
  gs_base64_encode(all, sizeof all, 0, out);
  GS_CHECK_STR(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  gs_base64_encode(all, sizeof all, GS_BASE64_URL | GS_BASE64_PAD, out);
  GS_CHECK_STR(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

static void test_invalid(void) {
  static const char *const padded[] = {
      "Zg=",      /* length not a multiple of 4 */
      "Zg",       /* padding missing */
      "Zm8",      /* padding missing */
      "Z===",     /* three '=' */
      "====",     /* only '=' */
      "Zg=g",     /* data after '=' */
      "Zg==Zm9v", /* '=' before the last group */
      "Zm9v====", /* a whole group of '=' */
      "Zm=v",     /* '=' inside a group */
      "Zm9 ",     /* white space */
      "Zm9v\n",   /* a line end */
      "Zh==",     /* unused bits not zero ("Zg==" is canonical) */
      "Zm9=",     /* unused bits not zero ("Zm8=" is canonical) */
      "Zm.v",     /* not in either alphabet */
  };
  for (size_t i = 0; i < sizeof padded / sizeof padded[0]; i++) {
    GS_CHECK(dec(padded[i], GS_BASE64_PAD) == NULL);
    GS_CHECK(dec(padded[i], GS_BASE64_PAD | GS_BASE64_URL) == NULL);
  }
  /* ANY_BITS admits the non-canonical spellings, nothing else */
  GS_CHECK_STR(dec("Zh==", GS_BASE64_PAD | GS_BASE64_ANY_BITS), "f");
  GS_CHECK_STR(dec("Zm9=", GS_BASE64_PAD | GS_BASE64_ANY_BITS), "fo");
  GS_CHECK(dec("Zg=g", GS_BASE64_PAD | GS_BASE64_ANY_BITS) == NULL);

  static const char *const unpadded[] = {
      "Z",       /* 4k + 1 characters can hold no whole byte */
      "Zm9vY",   /* 4k + 1 */
      "Zg==",    /* any '=' */
      "Zm8=",    /* any '=' */
      "Zh",      /* unused bits not zero */
      "Zm9",     /* unused bits not zero */
      "Zm 9",    /* white space */
      "Zm9v\r\n" /* line ends */
  };
  for (size_t i = 0; i < sizeof unpadded / sizeof unpadded[0]; i++) {
    GS_CHECK(dec(unpadded[i], 0) == NULL);
    GS_CHECK(dec(unpadded[i], GS_BASE64_URL) == NULL);
  }
  GS_CHECK_STR(dec("Zh", GS_BASE64_URL | GS_BASE64_ANY_BITS), "f");
  GS_CHECK_STR(dec("Zm9", GS_BASE64_URL | GS_BASE64_ANY_BITS), "fo");
  GS_CHECK(dec("Z", GS_BASE64_URL | GS_BASE64_ANY_BITS) == NULL);
  GS_CHECK(dec("Zg==", GS_BASE64_URL | GS_BASE64_ANY_BITS) == NULL);

  /* a NUL inside the input is a character like any other: refused */
  for (unsigned f = 0; f < ALL_FLAGS; f++)
    GS_CHECK_INT(gs_base64_decode("Zm\0v", 4, f, NULL, NULL), GS_EINVAL);
  /* bytes outside ASCII */
  for (unsigned f = 0; f < ALL_FLAGS; f++)
    GS_CHECK_INT(gs_base64_decode("Zm9\xc3", 4, f, NULL, NULL), GS_EINVAL);
}

/* Lengths 0..300 of pseudo-random bytes: the standard padded form against
 * OpenSSL's EVP_EncodeBlock, the other forms derived from it, and every
 * form decoding back to the bytes. */
static void test_lengths(void) {
  enum { MAX = 300 };
  uint8_t src[MAX], back[MAX + 2];
  char out[MAX / 3 * 4 + 8], ref[MAX / 3 * 4 + 8];
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < MAX; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    src[i] = (uint8_t)x;
  }
  int same_std = 1, same_other = 1, round = 1;
  for (size_t n = 0; n <= MAX; n++) {
    EVP_EncodeBlock((unsigned char *)ref, src, (int)n);
    size_t reflen = strlen(ref);
    for (unsigned f = 0; f < ALL_FLAGS; f++) {
      size_t len = gs_base64_encode(src, n, f, out);
      GS_CHECK_INT(len, gs_base64_encoded_len(n, f));
      GS_CHECK_INT(out[len], '\0');
      /* the expected text: ref, re-spelled for the URL alphabet, and
       * without its '=' when not padded */
      char want[sizeof ref];
      size_t wn = 0;
      for (size_t i = 0; i < reflen; i++) {
        char c = ref[i];
        if (c == '=' && !(f & GS_BASE64_PAD))
          continue;
        if (f & GS_BASE64_URL)
          c = c == '+' ? '-' : c == '/' ? '_' : c;
        want[wn++] = c;
      }
      want[wn] = '\0';
      if (f == GS_BASE64_PAD)
        same_std = same_std && strcmp(out, want) == 0;
      else
        same_other = same_other && strcmp(out, want) == 0;
      size_t dn = 0;
      memset(back, 0xaa, sizeof back);
      int rc = gs_base64_decode(out, len, f, back, &dn);
      round = round && rc == 0 && dn == n && memcmp(back, src, n) == 0 &&
              dn <= gs_base64_decoded_max(len) && back[n] == 0xaa; /* nothing written past */
    }
  }
  GS_CHECK(same_std);
  GS_CHECK(same_other);
  GS_CHECK(round);
  /* the empty input, src NULL */
  GS_CHECK_INT(gs_base64_encode(NULL, 0, GS_BASE64_PAD, out), 0);
  GS_CHECK_STR(out, "");
  size_t dn = 99;
  GS_CHECK_INT(gs_base64_decode("", 0, GS_BASE64_PAD, NULL, &dn), 0);
  GS_CHECK_INT(dn, 0);
}

/* ---- a reference from the header's rules, for every short string ---- */

static int ref_value(unsigned char c, unsigned f) {
  const char *abc = f & GS_BASE64_URL
                        ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; i++)
    if (abc[i] == (char)c)
      return i;
  return -1;
}

/* Decodes s[0..n) group by group; returns the byte count or -1. */
static long ref_decode(const char *s, size_t n, unsigned f, uint8_t *out) {
  size_t pad = 0;
  if (f & GS_BASE64_PAD) {
    if (n % 4)
      return -1;
    if (n >= 1 && s[n - 1] == '=')
      pad++;
    if (n >= 2 && s[n - 2] == '=')
      pad++;
  }
  size_t data = n - pad;
  if (data % 4 == 1)
    return -1;
  long k = 0;
  for (size_t g = 0; g < data; g += 4) {
    size_t m = data - g < 4 ? data - g : 4; /* characters in this group */
    int v[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < m; j++)
      if ((v[j] = ref_value((unsigned char)s[g + j], f)) < 0)
        return -1;
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    size_t bytes = m - 1;
    uint32_t unused = bytes == 1 ? w & 0xffff : bytes == 2 ? w & 0xff : 0;
    if (unused && !(f & GS_BASE64_ANY_BITS))
      return -1;
    for (size_t b = 0; b < bytes; b++)
      out[k++] = (uint8_t)(w >> (16 - 8 * b));
  }
  return k;
}

static void test_reference(void) {
  /* every string of length 0..3 over these characters, and of length 4
   * over the first 14, in every flag combination */
  static const char cs[] = "AQgw+/-_=B9 .\x80"
                           "\0Zz0";
  const size_t ncs = sizeof cs - 1;
  long checked = 0, agree = 0;
  char s[4];
  uint8_t a[8], b[8];
  for (size_t len = 0; len <= 4; len++) {
    size_t base = len == 4 ? 14 : ncs, total = 1;
    for (size_t i = 0; i < len; i++)
      total *= base;
    for (size_t idx = 0; idx < total; idx++) {
      size_t r = idx;
      for (size_t i = 0; i < len; i++, r /= base)
        s[i] = cs[r % base];
      for (unsigned f = 0; f < ALL_FLAGS; f++) {
        long want = ref_decode(s, len, f, a);
        size_t got = 0;
        int rc = gs_base64_decode(s, len, f, b, &got);
        checked++;
        if (want < 0 ? rc == GS_EINVAL : rc == 0 && got == (size_t)want && memcmp(a, b, got) == 0)
          agree++;
        else
          fprintf(stderr, "disagree: \"%.*s\" flags %u: reference %ld, got rc %d len %zu\n",
                  (int)len, s, f, want, rc, got);
      }
    }
  }
  GS_CHECK(checked > 300000);
  GS_CHECK_INT(agree, checked);
}

int main(void) {
  GS_RUN(test_rfc4648_vectors);
  GS_RUN(test_alphabets);
  GS_RUN(test_invalid);
  GS_RUN(test_lengths);
  GS_RUN(test_reference);
  return gs_test_report();
}
