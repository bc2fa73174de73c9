/* Base64 (RFC 4648): the standard alphabet (section 4) and the URL-safe one
 * (section 5), with or without '=' padding, and a decoder that refuses
 * whatever its flags do not allow.
 *
 * Ownership: nothing is allocated here; the caller provides the output
 * buffer, sized with gs_base64_encoded_len / gs_base64_decoded_max.
 *
 * Callers: histogram.c writes and reads GS_BASE64_PAD (HdrHistogram's
 * standard padded form); jwt.c reads GS_BASE64_URL | GS_BASE64_ANY_BITS
 * (JWT segments: base64url, no padding, any unused bits). */
#ifndef GS_BASE64_H
#define GS_BASE64_H

#include <stddef.h>

enum {
  /* The URL-safe alphabet: '-' and '_' instead of '+' and '/'. */
  GS_BASE64_URL = 1u << 0,
  /* Encode: pad the last group with '=' to 4 characters. Decode: the
   * length must be a multiple of 4, and only the last group may end in one
   * or two '='. Without it, encoding writes no '=' and decoding refuses
   * any '=' and a length of 4k + 1. */
  GS_BASE64_PAD = 1u << 1,
  /* Decode: ignore the bits of the last character that make no whole byte.
   * Without it they must be zero (the one canonical spelling of the bytes). */
  GS_BASE64_ANY_BITS = 1u << 2,
};

/* Characters that gs_base64_encode writes for n bytes (without the NUL).
 * n must be at most GS_BASE64_MAX_BYTES. */
size_t gs_base64_encoded_len(size_t n, unsigned flags);
#define GS_BASE64_MAX_BYTES ((((size_t)-1) - 4) / 4 * 3)

/* Writes the base64 of src[0..n) and a NUL into dst, which has room for
 * gs_base64_encoded_len(n, flags) + 1 characters. Returns the length
 * written (without the NUL). src may be NULL when n is 0. */
size_t gs_base64_encode(const void *src, size_t n, unsigned flags, char *dst);

/* The most bytes gs_base64_decode writes for n characters. */
size_t gs_base64_decoded_max(size_t n);

/* Decodes s[0..n) into dst (room for gs_base64_decoded_max(n) bytes; NULL
 * only checks s) and sets *len (may be NULL) to the bytes decoded. Every
 * character must be in the alphabet of flags (no white space, no NUL).
 * Returns 0, or GS_EINVAL when s is not base64 as flags allow; then dst's
 * contents are undefined and *len is untouched. */
int gs_base64_decode(const char *s, size_t n, unsigned flags, void *dst, size_t *len);

#endif
