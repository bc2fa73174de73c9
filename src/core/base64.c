/* Base64, both alphabets, padded or not (see gs/base64.h). */
#include "gs/base64.h"

#include <stdint.h>

#include "gs/error.h"

static const char gs__base64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char gs__base64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The value of c in the alphabet of flags, or -1. */
static int gs__base64_value(unsigned char c, unsigned flags) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == (flags & GS_BASE64_URL ? '-' : '+'))
    return 62;
  if (c == (flags & GS_BASE64_URL ? '_' : '/'))
    return 63;
  return -1;
}

size_t gs_base64_encoded_len(size_t n, unsigned flags) {
  if (flags & GS_BASE64_PAD)
    return (n + 2) / 3 * 4;
  return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t gs_base64_encode(const void *src, size_t n, unsigned flags, char *dst) {
  const char *abc = flags & GS_BASE64_URL ? gs__base64_url : gs__base64_std;
  const uint8_t *p = src;
  char *o = dst;
  size_t k = 0;
  for (; k + 3 <= n; k += 3) {
    uint32_t w = (uint32_t)p[k] << 16 | (uint32_t)p[k + 1] << 8 | p[k + 2];
    *o++ = abc[w >> 18];
    *o++ = abc[(w >> 12) & 63];
    *o++ = abc[(w >> 6) & 63];
    *o++ = abc[w & 63];
  }
  if (k < n) { /* one or two bytes left */
    uint32_t w = (uint32_t)p[k] << 16;
    if (k + 1 < n)
      w |= (uint32_t)p[k + 1] << 8;
    *o++ = abc[w >> 18];
    *o++ = abc[(w >> 12) & 63];
    if (k + 1 < n)
      *o++ = abc[(w >> 6) & 63];
    else if (flags & GS_BASE64_PAD)
      *o++ = '=';
    if (flags & GS_BASE64_PAD)
      *o++ = '=';
  }
  *o = '\0';
  return (size_t)(o - dst);
}

size_t gs_base64_decoded_max(size_t n) {
  return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);
}

int gs_base64_decode(const char *s, size_t n, unsigned flags, void *dst, size_t *len) {
  size_t data = n; /* characters before the padding */
  if (flags & GS_BASE64_PAD) {
    if (n % 4)
      return GS_EINVAL;
    /* at most two '=', at the very end: "xx==" or "xxx=" */
    for (int j = 0; j < 2 && data > 0 && s[data - 1] == '='; j++)
      data--;
  }
  if (data % 4 == 1)
    return GS_EINVAL;
  uint8_t *o = dst;
  size_t k = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data; i++) {
    int v = gs__base64_value((unsigned char)s[i], flags);
    if (v < 0)
      return GS_EINVAL; /* not in the alphabet, or an '=' before the end */
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o)
        o[k] = (uint8_t)(acc >> bits);
      k++;
      acc &= (1u << bits) - 1;
    }
  }
  /* acc holds the bits of the last character that make no whole byte */
  if (acc && !(flags & GS_BASE64_ANY_BITS))
    return GS_EINVAL;
  if (len)
    *len = k;
  return 0;
}
