/* libFuzzer target for JWT verification and decoding (gs/jwt.h).
 *
 * Byte 0 chooses the mode and the verify options (bit 1: audience
 * "gofr-dig", else none; bit 2: 60 s of leeway, else 0):
 *   - even: the rest, up to a NUL, is a token;
 *   - odd: the rest is a header JSON text and a claims JSON text separated
 *     by a NUL byte; the target signs them itself (HS256 with the right key)
 *     so the strict JSON reader and the claim checks are reached behind a
 *     valid signature.
 * Every token is verified at a fixed time with the key "fuzz-secret" and
 * decoded.
 *
 * Oracle: verify returns 0 or GS_EAUTH with a message, decode 0 or
 * GS_EINVAL. Accepted ⇒ the signature is valid: HMAC-SHA256 of the first
 * two segments under the key, base64url-encoded, is the third segment; the
 * same token is refused under another key; verifying again gives the same
 * claims; decode accepts it and gives those claims; the claims are the
 * base64url-decoded second segment (in the odd mode: exactly the JSON text
 * signed). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gs/error.h"
#include "gs/jwt.h"

#define GS__FUZZ_NOW INT64_C(1700000000)
static const char gs__fuzz_key[] = "fuzz-secret";

/* base64url without padding of s[0..n) into out (room for 4 * n / 3 + 4). */
static size_t gs__fuzz_b64url(const unsigned char *s, size_t n, char *out) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t w = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? s[i + 2] : 0);
    size_t k = n - i >= 3 ? 4 : n - i + 1;
    for (size_t j = 0; j < k; j++)
      out[o++] = abc[w >> (18 - 6 * j) & 63];
  }
  out[o] = '\0';
  return o;
}

/* HS256 signature of token[0..n) (the first two segments), base64url. */
static void gs__fuzz_sign(const char *token, size_t n, char out[48]) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned maclen = 0;
  GS_FUZZ_CHECK(HMAC(EVP_sha256(), gs__fuzz_key, (int)strlen(gs__fuzz_key),
                     (const unsigned char *)token, n, mac, &maclen) != NULL &&
                maclen == 32);
  gs__fuzz_b64url(mac, maclen, out);
}

static int gs__fuzz_verify(const char *token, const char *key, const char *aud, int64_t leeway,
                           char **claims) {
  char err[256];
  int rc =
      gs_jwt_verify(token, key, strlen(key), aud, GS__FUZZ_NOW, leeway, claims, err, sizeof err);
  GS_FUZZ_CHECK(rc == 0 ? err[0] == '\0' && *claims != NULL
                        : rc == GS_EAUTH && err[0] != '\0' && *claims == NULL);
  return rc;
}

/* Verifies and decodes token; signed (may be NULL) is the claims text the
 * target signed. */
static void gs__fuzz_token(const char *token, int opts, const char *signed_claims) {
  const char *aud = opts & 2 ? "gofr-dig" : NULL;
  int64_t leeway = opts & 4 ? 60 : 0;
  char *claims, *h, *c;
  int rc = gs__fuzz_verify(token, gs__fuzz_key, aud, leeway, &claims);
  int drc = gs_jwt_decode(token, &h, &c);
  GS_FUZZ_CHECK(drc == 0 ? h != NULL && c != NULL : drc == GS_EINVAL && !h && !c);
  if (rc == 0) {
    const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
    char sig[48];
    gs__fuzz_sign(token, (size_t)(d2 - token), sig);
    GS_FUZZ_CHECK(strcmp(sig, d2 + 1) == 0);
    char *again, *other;
    GS_FUZZ_CHECK(gs__fuzz_verify(token, "another-secret", aud, leeway, &other) == GS_EAUTH);
    GS_FUZZ_CHECK(gs__fuzz_verify(token, gs__fuzz_key, aud, leeway, &again) == 0);
    GS_FUZZ_CHECK(strcmp(again, claims) == 0);
    free(again);
    GS_FUZZ_CHECK(drc == 0 && strcmp(c, claims) == 0);
    size_t n = strlen(claims);
    char *seg = malloc(n / 3 * 4 + 8);
    GS_FUZZ_CHECK(seg != NULL);
    size_t k = gs__fuzz_b64url((const unsigned char *)claims, n, seg);
    GS_FUZZ_CHECK(k == (size_t)(d2 - d1 - 1) && memcmp(seg, d1 + 1, k) == 0);
    free(seg);
    GS_FUZZ_CHECK(!signed_claims || strcmp(signed_claims, claims) == 0);
  }
  free(claims);
  free(h);
  free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  if (!(data[0] & 1)) {
    char *token = strndup(rest, n);
    GS_FUZZ_CHECK(token != NULL);
    gs__fuzz_token(token, data[0], NULL);
    free(token);
    return 0;
  }
  const char *nul = memchr(rest, '\0', n);
  size_t hn = nul ? (size_t)(nul - rest) : n;
  const char *claims = nul ? nul + 1 : "";
  size_t cn = nul ? strnlen(claims, n - hn - 1) : 0;
  char *token = malloc((hn + cn) / 3 * 4 + 64);
  GS_FUZZ_CHECK(token != NULL);
  size_t k = gs__fuzz_b64url((const unsigned char *)rest, hn, token);
  token[k++] = '.';
  k += gs__fuzz_b64url((const unsigned char *)claims, cn, token + k);
  token[k++] = '.';
  gs__fuzz_sign(token, k - 1, token + k);
  char *signed_claims = strndup(claims, cn);
  GS_FUZZ_CHECK(signed_claims != NULL);
  gs__fuzz_token(token, data[0], signed_claims);
  free(signed_claims);
  free(token);
  return 0;
}
