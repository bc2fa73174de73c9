/* HS256 JSON Web Tokens: minting and signature checks through libjwt, the
 * header and claims checks here (see gs/jwt.h for the rules).
 *
 * libjwt (1.10) is handed only tokens this file has already taken apart:
 * three base64url segments, a header whose alg is exactly "HS256" and whose
 * typ (if any) is "JWT", and header and claims that a strict JSON reader
 * accepts. Whatever libjwt refuses after that is a bad signature. It never
 * sees an alg it could treat as "none", nor a token longer than
 * GS_JWT_MAX_TOKEN (its base64 decoder uses alloca). */
#include "gs/jwt.h"

#include <errno.h>
#include <jwt.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gs/base64.h"
#include "gs/error.h"

#define GS__JSON_MAX_DEPTH 64

/* ---- errors -------------------------------------------------------------- */

static void gs__jwt_msg(char *errbuf, size_t errlen, const char *fmt, ...) {
  if (!errbuf || !errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errbuf, errlen, fmt, ap);
  va_end(ap);
}

/* Copies s[0..n) into out[outlen] for a message: printable ASCII only
 * (anything else becomes '?'), cut to outlen - 4 characters plus "...". */
static void gs__jwt_printable(const char *s, size_t n, char *out, size_t outlen) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < outlen; i++) {
    if (k + 4 >= outlen && i + 1 < n) {
      memcpy(out + k, "...", 3);
      k += 3;
      break;
    }
    unsigned char c = (unsigned char)s[i];
    out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
  }
  out[k] = '\0';
}

/* ---- base64url ----------------------------------------------------------- */

/* What a JWT segment may be here: the URL-safe alphabet, no '=', not
 * 4k + 1 characters long; the unused bits of the last character are
 * ignored. */
#define GS__JWT_B64 (GS_BASE64_URL | GS_BASE64_ANY_BITS)

/* True when s[0..n) could be unpadded base64url. */
static int gs__b64url_ok(const char *s, size_t n) {
  return gs_base64_decode(s, n, GS__JWT_B64, NULL, NULL) == 0;
}

/* Decodes unpadded base64url s[0..n) into a malloc'd, NUL-terminated
 * buffer *out of *outlen bytes (the caller frees). Leftover bits of the last
 * character are ignored. Returns 0, GS_EINVAL or GS_ENOMEM. */
static int gs__b64url_decode(const char *s, size_t n, char **out, size_t *outlen) {
  *out = NULL;
  if (!gs__b64url_ok(s, n))
    return GS_EINVAL;
  char *buf = malloc(gs_base64_decoded_max(n) + 1);
  if (!buf)
    return GS_ENOMEM;
  size_t k = 0;
  gs_base64_decode(s, n, GS__JWT_B64, buf, &k); /* cannot fail: checked above */
  buf[k] = '\0';
  *out = buf;
  *outlen = k;
  return 0;
}

/* ---- a strict JSON reader ------------------------------------------------ */

/* It validates one JSON text (RFC 8259, UTF-8, no \u0000 and no lone
 * surrogates, integers within 64 bits, reals finite, at most
 * GS__JSON_MAX_DEPTH levels: what jansson, inside libjwt, accepts) and
 * reports the top-level members whose names are asked for. */

typedef enum {
  GS__J_NONE = 0, /* not present */
  GS__J_NULL,
  GS__J_BOOL,
  GS__J_NUM,
  GS__J_STR,
  GS__J_ARR,
  GS__J_OBJ
} gs__jtype_t;

typedef struct {
  gs__jtype_t type;
  const char *start, *end; /* the value's JSON text */
  size_t items;            /* arrays: number of elements */
  int all_strings;         /* arrays: every element is a string */
  int count;               /* members with this name (top level) */
  int is_int;              /* numbers: no fraction, no exponent */
} gs__jval_t;

typedef struct {
  const char *p, *end;
  int depth;
} gs__jr_t;

static void gs__jr_ws(gs__jr_t *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int gs__hex4(const char *p, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char c = (unsigned char)p[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    *v = (*v << 4) | d;
  }
  return 0;
}

/* Length of the well-formed UTF-8 sequence at p (< end), or 0. */
static size_t gs__utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0; /* no overlong forms */
    else if (c == 0xed)
      hi = 0x9f; /* no surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f; /* nothing above U+10FFFF */
  } else
    return 0;
  if ((size_t)(end - p) < n)
    return 0;
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

static int gs__utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    size_t k = gs__utf8_len(p, end);
    if (!k)
      return 0;
    p += k;
  }
  return 1;
}

/* A string starting at r->p ('"'); leaves r->p after the closing quote. */
static int gs__jr_string(gs__jr_t *r) {
  r->p++;
  while (r->p < r->end) {
    unsigned char c = (unsigned char)*r->p;
    if (c == '"') {
      r->p++;
      return 0;
    }
    if (c < 0x20)
      return -1;
    if (c == '\\') {
      if (r->end - r->p < 2)
        return -1;
      char e = r->p[1];
      if (e == 'u') {
        unsigned u, lo;
        if (r->end - r->p < 6 || gs__hex4(r->p + 2, &u))
          return -1;
        r->p += 6;
        if (u == 0 || (u >= 0xdc00 && u <= 0xdfff))
          return -1;
        if (u >= 0xd800 && u <= 0xdbff) {
          if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || gs__hex4(r->p + 2, &lo) ||
              lo < 0xdc00 || lo > 0xdfff)
            return -1;
          r->p += 6;
        }
        continue;
      }
      if (!strchr("\"\\/bfnrt", e) || e == '\0')
        return -1;
      r->p += 2;
      continue;
    }
    size_t k = gs__utf8_len((const unsigned char *)r->p, (const unsigned char *)r->end);
    if (!k)
      return -1;
    r->p += k;
  }
  return -1;
}

static int gs__is_digit(const gs__jr_t *r) {
  return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* A number at r->p; *is_int when it has no fraction and no exponent. The
 * buffer ends in a NUL, so strtoll/strtod stop inside it. */
static int gs__jr_number(gs__jr_t *r, int *is_int) {
  const char *start = r->p;
  *is_int = 1;
  if (*r->p == '-')
    r->p++;
  if (!gs__is_digit(r))
    return -1;
  if (*r->p == '0')
    r->p++;
  else
    while (gs__is_digit(r))
      r->p++;
  if (r->p < r->end && *r->p == '.') {
    *is_int = 0;
    r->p++;
    if (!gs__is_digit(r))
      return -1;
    while (gs__is_digit(r))
      r->p++;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    *is_int = 0;
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
      r->p++;
    if (!gs__is_digit(r))
      return -1;
    while (gs__is_digit(r))
      r->p++;
  }
  errno = 0;
  if (*is_int) {
    (void)strtoll(start, NULL, 10);
    if (errno == ERANGE)
      return -1;
  } else {
    double d = strtod(start, NULL);
    if (isinf(d))
      return -1;
  }
  return 0;
}

static int gs__jr_literal(gs__jr_t *r, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
    return -1;
  r->p += n;
  return 0;
}

static int gs__jr_value(gs__jr_t *r, gs__jval_t *v, const char *const *keys, gs__jval_t *vals,
                        size_t nkeys);

/* Decodes the one character or escape at *pp, inside a JSON string already
 * validated by gs__jr_string, into out; advances *pp past it and returns
 * the number of bytes written (1 to 4). */
static size_t gs__jstr_unit(const char **pp, char out[4]) {
  const char *p = *pp;
  if (*p != '\\') {
    out[0] = *p;
    *pp = p + 1;
    return 1;
  }
  char e = p[1];
  if (e != 'u') {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    out[0] = to[strchr(from, e) - from];
    *pp = p + 2;
    return 1;
  }
  unsigned u, lo;
  gs__hex4(p + 2, &u);
  p += 6;
  if (u >= 0xd800 && u <= 0xdbff) {
    gs__hex4(p + 2, &lo);
    p += 6;
    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
  }
  *pp = p;
  if (u < 0x80) {
    out[0] = (char)u;
    return 1;
  }
  if (u < 0x800) {
    out[0] = (char)(0xc0 | (u >> 6));
    out[1] = (char)(0x80 | (u & 0x3f));
    return 2;
  }
  if (u < 0x10000) {
    out[0] = (char)(0xe0 | (u >> 12));
    out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
    out[2] = (char)(0x80 | (u & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (u >> 18));
  out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((u >> 6) & 0x3f));
  out[3] = (char)(0x80 | (u & 0x3f));
  return 4;
}

/* Decodes the JSON string text s[0..n) (quotes included, already
 * validated) into out, which has room for n bytes (a decoded string is
 * never longer than its text); returns the length. */
static size_t gs__jstr_decode(const char *s, size_t n, char *out) {
  const char *p = s + 1, *end = s + n - 1;
  size_t k = 0;
  while (p < end)
    k += gs__jstr_unit(&p, out + k);
  return k;
}

/* True when the JSON string text s[0..n) (quotes included, already
 * validated) decodes to exactly want[0..wn) (ASCII letters in either case
 * when nocase). It decodes as it compares, whatever the escaping, and stops
 * at the first difference: at most wn + 1 characters are decoded. */
static int gs__jstr_is(const char *s, size_t n, const char *want, size_t wn, int nocase) {
  const char *p = s + 1, *end = s + n - 1;
  size_t k = 0;
  while (p < end) {
    char u[4];
    size_t m = gs__jstr_unit(&p, u);
    if (m > wn - k)
      return 0;
    for (size_t i = 0; i < m; i++) {
      unsigned char a = (unsigned char)u[i], b = (unsigned char)want[k + i];
      if (nocase) { /* ASCII only, as strcasecmp in the C locale */
        a = a >= 'A' && a <= 'Z' ? (unsigned char)(a + 32) : a;
        b = b >= 'A' && b <= 'Z' ? (unsigned char)(b + 32) : b;
      }
      if (a != b)
        return 0;
    }
    k += m;
  }
  return k == wn;
}

/* True when the JSON string value v decodes to exactly s[0..n). */
static int gs__jstr_equals(const gs__jval_t *v, const char *s, size_t n) {
  return v->type == GS__J_STR && gs__jstr_is(v->start, (size_t)(v->end - v->start), s, n, 0);
}

/* An object at r->p. At the top level (vals != NULL), members named in
 * keys[0..nkeys) are recorded in vals (the last one wins; count counts). */
static int gs__jr_object(gs__jr_t *r, const char *const *keys, gs__jval_t *vals, size_t nkeys) {
  r->p++;
  gs__jr_ws(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return 0;
  }
  for (;;) {
    gs__jr_ws(r);
    if (r->p >= r->end || *r->p != '"')
      return -1;
    const char *kstart = r->p;
    if (gs__jr_string(r))
      return -1;
    size_t kraw = (size_t)(r->p - kstart);
    gs__jr_ws(r);
    if (r->p >= r->end || *r->p != ':')
      return -1;
    r->p++;
    gs__jval_t v = {0};
    if (gs__jr_value(r, &v, NULL, NULL, 0))
      return -1;
    /* Every name is compared decoded, however long its text: an escaped
     * "groups" (\u0067\u0072...: 36 bytes) is "groups". */
    for (size_t i = 0; vals && i < nkeys; i++) {
      if (gs__jstr_is(kstart, kraw, keys[i], strlen(keys[i]), 0)) {
        int count = vals[i].count + 1;
        vals[i] = v;
        vals[i].count = count;
      }
    }
    gs__jr_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == '}') {
      r->p++;
      return 0;
    }
    return -1;
  }
}

static int gs__jr_array(gs__jr_t *r, gs__jval_t *v) {
  r->p++;
  v->all_strings = 1;
  gs__jr_ws(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    return 0;
  }
  for (;;) {
    gs__jval_t item = {0};
    if (gs__jr_value(r, &item, NULL, NULL, 0))
      return -1;
    v->items++;
    if (item.type != GS__J_STR)
      v->all_strings = 0;
    gs__jr_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == ']') {
      r->p++;
      return 0;
    }
    return -1;
  }
}

static int gs__jr_value(gs__jr_t *r, gs__jval_t *v, const char *const *keys, gs__jval_t *vals,
                        size_t nkeys) {
  gs__jr_ws(r);
  if (r->p >= r->end)
    return -1;
  v->start = r->p;
  int rc;
  switch (*r->p) {
  case '{':
    if (++r->depth > GS__JSON_MAX_DEPTH)
      return -1;
    v->type = GS__J_OBJ;
    rc = gs__jr_object(r, keys, vals, nkeys);
    r->depth--;
    break;
  case '[':
    if (++r->depth > GS__JSON_MAX_DEPTH)
      return -1;
    v->type = GS__J_ARR;
    rc = gs__jr_array(r, v);
    r->depth--;
    break;
  case '"':
    v->type = GS__J_STR;
    rc = gs__jr_string(r);
    break;
  case 't':
    v->type = GS__J_BOOL;
    rc = gs__jr_literal(r, "true");
    break;
  case 'f':
    v->type = GS__J_BOOL;
    rc = gs__jr_literal(r, "false");
    break;
  case 'n':
    v->type = GS__J_NULL;
    rc = gs__jr_literal(r, "null");
    break;
  default:
    v->type = GS__J_NUM;
    rc = gs__jr_number(r, &v->is_int);
    break;
  }
  v->end = r->p;
  return rc;
}

/* s[0..len) (with s[len] == '\0') as one JSON text. Returns 0 when it is an
 * object (its members named in keys recorded in vals, zeroed first), 1 when
 * it is valid JSON but not an object, -1 when it is not valid JSON. */
static int gs__json_object(const char *s, size_t len, const char *const *keys, gs__jval_t *vals,
                           size_t nkeys) {
  gs__jr_t r = {s, s + len, 0};
  gs__jval_t top = {0};
  if (nkeys)
    memset(vals, 0, nkeys * sizeof *vals);
  if (gs__jr_value(&r, &top, keys, vals, nkeys))
    return -1;
  gs__jr_ws(&r);
  if (r.p != r.end)
    return -1;
  return top.type == GS__J_OBJ ? 0 : 1;
}

/* ---- helpers --------------------------------------------------------------- */

int gs_jwt_uuid4(char out[37]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1)
    return GS_EIO;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx */
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[k++] = '-';
    out[k++] = hex[b[i] >> 4];
    out[k++] = hex[b[i] & 0x0f];
  }
  out[k] = '\0';
  return 0;
}

int gs_jwt_sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  out[0] = '\0';
  if (!data && len)
    return GS_EINVAL;
  if (EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return GS_ENOMEM;
  static const char hex[] = "0123456789abcdef";
  for (unsigned i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0x0f];
  }
  out[64] = '\0';
  return 0;
}

static int gs__add_i64(int64_t a, int64_t b, int64_t *out) {
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
    return -1;
  *out = a + b;
  return 0;
}

static int64_t gs__sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (gs__add_i64(a, b, &r))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static int gs__errno_rc(int e) {
  return e == ENOMEM ? GS_ENOMEM : GS_EINVAL;
}

/* ---- mint ------------------------------------------------------------------ */

/* Appends JSON string s (valid UTF-8) with quotes to buf at *k (room checked
 * by the caller: 6 bytes per input byte + 2). */
static void gs__json_quote(char *buf, size_t *k, const char *s) {
  static const char hex[] = "0123456789abcdef";
  buf[(*k)++] = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      buf[(*k)++] = '\\';
      buf[(*k)++] = (char)*p;
    } else if (*p < 0x20) {
      memcpy(buf + *k, "\\u00", 4);
      *k += 4;
      buf[(*k)++] = hex[*p >> 4];
      buf[(*k)++] = hex[*p & 0x0f];
    } else {
      buf[(*k)++] = (char)*p;
    }
  }
  buf[(*k)++] = '"';
}

int gs_jwt_mint(const void *secret, size_t secret_len, const char *const *groups, size_t ngroups,
                int64_t ttl_seconds, int64_t nbf_offset, const char *audience, int64_t now,
                char **out_token) {
  if (!out_token)
    return GS_EINVAL;
  *out_token = NULL;
  if (!secret || secret_len == 0 || secret_len > INT_MAX || (ngroups && !groups) ||
      ngroups > GS_JWT_MAX_GROUPS)
    return GS_EINVAL;
  int64_t exp, nbf;
  if (gs__add_i64(now, ttl_seconds, &exp) || gs__add_i64(now, nbf_offset, &nbf))
    return GS_EINVAL;
  if (now < LONG_MIN || now > LONG_MAX || exp < LONG_MIN || exp > LONG_MAX || nbf < LONG_MIN ||
      nbf > LONG_MAX)
    return GS_EINVAL;
  size_t room = sizeof "{\"groups\":[]}" + ngroups;
  for (size_t i = 0; i < ngroups; i++) {
    if (!groups[i])
      return GS_EINVAL;
    size_t n = strlen(groups[i]);
    if (n > GS_JWT_MAX_CLAIMS || !gs__utf8_valid(groups[i], n))
      return GS_EINVAL;
    room += 6 * n + 2;
    if (room > 6 * (size_t)GS_JWT_MAX_CLAIMS)
      return GS_EINVAL;
  }
  if (audience &&
      (strlen(audience) > GS_JWT_MAX_CLAIMS || !gs__utf8_valid(audience, strlen(audience))))
    return GS_EINVAL;

  char jti[37];
  int rc = gs_jwt_uuid4(jti);
  if (rc)
    return rc;

  char *gjson = malloc(room);
  if (!gjson)
    return GS_ENOMEM;
  size_t k = 0;
  memcpy(gjson, "{\"groups\":[", 11);
  k = 11;
  for (size_t i = 0; i < ngroups; i++) {
    if (i)
      gjson[k++] = ',';
    gs__json_quote(gjson, &k, groups[i]);
  }
  memcpy(gjson + k, "]}", 3);
  k += 2;
  if (k + (audience ? 6 * strlen(audience) : 0) + 160 > GS_JWT_MAX_CLAIMS) {
    free(gjson);
    return GS_EINVAL;
  }

  jwt_t *j = NULL;
  char *tok = NULL;
  int e = jwt_new(&j);
  if (!e)
    e = jwt_set_alg(j, JWT_ALG_HS256, secret, (int)secret_len);
  if (!e)
    e = jwt_add_grant(j, "jti", jti);
  if (!e)
    e = jwt_add_grants_json(j, gjson);
  if (!e)
    e = jwt_add_grant_int(j, "iat", (long)now);
  if (!e)
    e = jwt_add_grant_int(j, "nbf", (long)nbf);
  if (!e)
    e = jwt_add_grant_int(j, "exp", (long)exp);
  if (!e && audience)
    e = jwt_add_grant(j, "aud", audience);
  if (!e) {
    tok = jwt_encode_str(j); /* malloc'd by libjwt */
    if (!tok)
      e = errno ? errno : ENOMEM;
  }
  free(gjson);
  jwt_free(j);
  if (e) {
    free(tok);
    return gs__errno_rc(e);
  }
  /* A copy from our own malloc, so callers free() what gofr-sim allocated. */
  *out_token = strdup(tok);
  free(tok);
  return *out_token ? 0 : GS_ENOMEM;
}

/* ---- shape --------------------------------------------------------------- */

typedef struct {
  const char *h, *p, *s; /* header, payload, signature segments */
  size_t hn, pn, sn;
} gs__jwt_parts_t;

/* Splits token into three segments. Returns 0, or -1 with a reason. */
static int gs__jwt_split(const char *token, gs__jwt_parts_t *parts, const char **why) {
  size_t len = strnlen(token, GS_JWT_MAX_TOKEN + 1);
  if (len > GS_JWT_MAX_TOKEN) {
    *why = "token longer than 65536 bytes";
    return -1;
  }
  const char *d1 = memchr(token, '.', len);
  const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(token + len - d1 - 1)) : NULL;
  if (!d2) {
    *why = "Not enough segments";
    return -1;
  }
  if (memchr(d2 + 1, '.', (size_t)(token + len - d2 - 1))) {
    *why = "Too many segments";
    return -1;
  }
  parts->h = token;
  parts->hn = (size_t)(d1 - token);
  parts->p = d1 + 1;
  parts->pn = (size_t)(d2 - d1 - 1);
  parts->s = d2 + 1;
  parts->sn = (size_t)(token + len - d2 - 1);
  return 0;
}

/* ---- decode ---------------------------------------------------------------- */

int gs_jwt_decode(const char *token, char **header_json, char **claims_json) {
  if (header_json)
    *header_json = NULL;
  if (claims_json)
    *claims_json = NULL;
  if (!token)
    return GS_EINVAL;
  gs__jwt_parts_t parts;
  const char *why;
  if (gs__jwt_split(token, &parts, &why) || !gs__b64url_ok(parts.s, parts.sn))
    return GS_EINVAL;
  char *h = NULL, *c = NULL;
  size_t hn = 0, cn = 0;
  int rc = gs__b64url_decode(parts.h, parts.hn, &h, &hn);
  if (!rc)
    rc = gs__b64url_decode(parts.p, parts.pn, &c, &cn);
  if (!rc && (gs__json_object(h, hn, NULL, NULL, 0) || gs__json_object(c, cn, NULL, NULL, 0)))
    rc = GS_EINVAL;
  if (rc) {
    free(h);
    free(c);
    return rc;
  }
  if (header_json)
    *header_json = h;
  else
    free(h);
  if (claims_json)
    *claims_json = c;
  else
    free(c);
  return 0;
}

/* ---- verify ---------------------------------------------------------------- */

enum { GS__H_ALG, GS__H_TYP, GS__H_N };
static const char *const gs__header_keys[GS__H_N] = {"alg", "typ"};

enum { GS__C_IAT, GS__C_NBF, GS__C_EXP, GS__C_JTI, GS__C_GROUPS, GS__C_AUD, GS__C_N };
static const char *const gs__claim_keys[GS__C_N] = {"iat", "nbf", "exp", "jti", "groups", "aud"};

/* A number claim truncated to an integer (as PyJWT's int() does). */
static int64_t gs__jnum_i64(const gs__jval_t *v) {
  if (v->is_int)
    return strtoll(v->start, NULL, 10); /* range checked by the reader */
  double d = strtod(v->start, NULL);
  if (d >= 9.2e18)
    return INT64_MAX;
  if (d <= -9.2e18)
    return INT64_MIN;
  return (int64_t)d;
}

/* The header checks: JSON object, alg exactly HS256, typ JWT if present. */
static int gs__jwt_check_header(const char *h, size_t hn, char *errbuf, size_t errlen) {
  gs__jval_t hv[GS__H_N];
  int j = gs__json_object(h, hn, gs__header_keys, hv, GS__H_N);
  if (j) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid header string: %s",
                j > 0 ? "must be a json object" : "not valid JSON");
    return GS_EAUTH;
  }
  for (int i = 0; i < GS__H_N; i++) {
    if (hv[i].count > 1) {
      gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid header string: duplicate key '%s'",
                  gs__header_keys[i]);
      return GS_EAUTH;
    }
  }
  const gs__jval_t *alg = &hv[GS__H_ALG];
  if (!gs__jstr_equals(alg, "HS256", 5)) {
    char name[40];
    if (alg->type == GS__J_NONE)
      snprintf(name, sizeof name, "no alg");
    else if (alg->type != GS__J_STR)
      snprintf(name, sizeof name, "alg is not a string");
    else {
      char raw[32];
      size_t rawn = (size_t)(alg->end - alg->start);
      char *dec = malloc(rawn);
      if (!dec)
        return GS_ENOMEM;
      size_t n = gs__jstr_decode(alg->start, rawn, dec);
      gs__jwt_printable(dec, n, raw, sizeof raw);
      free(dec);
      snprintf(name, sizeof name, "alg '%s'", raw);
    }
    gs__jwt_msg(errbuf, errlen,
                "Invalid token: The specified alg value is not allowed (%s; only HS256 is "
                "accepted)",
                name);
    return GS_EAUTH;
  }
  const gs__jval_t *typ = &hv[GS__H_TYP];
  if (typ->type != GS__J_NONE) {
    /* decoded, as libjwt sees it (any case, any escaping) */
    if (typ->type != GS__J_STR ||
        !gs__jstr_is(typ->start, (size_t)(typ->end - typ->start), "JWT", 3, 1)) {
      gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid header string: typ must be \"JWT\"");
      return GS_EAUTH;
    }
  }
  return 0;
}

/* The claims checks, in PyJWT's then gofr-common's order. */
static int gs__jwt_check_claims(const gs__jval_t *cv, const char *audience, int64_t now,
                                int64_t leeway, char *errbuf, size_t errlen) {
  static const char *const what[3] = {"Issued At claim (iat)", "Not Before claim (nbf)",
                                      "Expiration Time claim (exp)"};
  for (int i = GS__C_IAT; i <= GS__C_EXP; i++) {
    const gs__jval_t *v = &cv[i];
    if (v->type == GS__J_NONE)
      continue;
    if (v->type != GS__J_NUM) {
      gs__jwt_msg(errbuf, errlen, "Invalid token: %s must be an integer.", what[i]);
      return GS_EAUTH;
    }
    int64_t t = gs__jnum_i64(v);
    if (i != GS__C_EXP && t > gs__sat_add(now, leeway)) {
      gs__jwt_msg(errbuf, errlen, "Token not yet valid");
      return GS_EAUTH;
    }
    if (i == GS__C_EXP && t <= gs__sat_add(now, -leeway)) {
      gs__jwt_msg(errbuf, errlen, "Token has expired");
      return GS_EAUTH;
    }
  }
  const gs__jval_t *jti = &cv[GS__C_JTI];
  if (jti->type == GS__J_NONE || jti->type == GS__J_NULL ||
      (jti->type == GS__J_STR && jti->end - jti->start == 2)) {
    gs__jwt_msg(errbuf, errlen, "Token missing jti claim");
    return GS_EAUTH;
  }
  if (jti->type != GS__J_STR) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: jti claim must be a string");
    return GS_EAUTH;
  }
  const gs__jval_t *groups = &cv[GS__C_GROUPS];
  if (groups->type == GS__J_NONE || groups->type == GS__J_NULL ||
      (groups->type == GS__J_ARR && groups->items == 0)) {
    gs__jwt_msg(errbuf, errlen, "Token missing groups claim");
    return GS_EAUTH;
  }
  if (groups->type != GS__J_ARR || !groups->all_strings) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: groups claim must be a list of strings");
    return GS_EAUTH;
  }
  const gs__jval_t *aud = &cv[GS__C_AUD];
  if (audience && aud->type != GS__J_NONE && !gs__jstr_equals(aud, audience, strlen(audience))) {
    gs__jwt_msg(errbuf, errlen, "Token audience mismatch");
    return GS_EAUTH;
  }
  return 0;
}

int gs_jwt_verify(const char *token, const void *secret, size_t secret_len, const char *audience,
                  int64_t now, int64_t leeway, char **out_claims_json, char *errbuf,
                  size_t errlen) {
  if (out_claims_json)
    *out_claims_json = NULL;
  gs__jwt_msg(errbuf, errlen, "%s", "");
  if (!token || !secret || secret_len == 0 || secret_len > INT_MAX || leeway < 0) {
    gs__jwt_msg(errbuf, errlen, "gs_jwt_verify: %s",
                !token       ? "no token"
                : !secret    ? "no secret"
                : leeway < 0 ? "negative leeway"
                             : "secret must be 1 to INT_MAX bytes");
    return GS_EINVAL;
  }
  gs__jwt_parts_t parts;
  const char *why;
  if (gs__jwt_split(token, &parts, &why)) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: %s", why);
    return GS_EAUTH;
  }

  char *h = NULL, *c = NULL;
  size_t hn = 0, cn = 0;
  int rc = gs__b64url_decode(parts.h, parts.hn, &h, &hn);
  if (rc) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid header padding");
    return rc == GS_ENOMEM ? rc : GS_EAUTH;
  }
  rc = gs__jwt_check_header(h, hn, errbuf, errlen);
  free(h);
  if (rc)
    return rc;

  rc = gs__b64url_decode(parts.p, parts.pn, &c, &cn);
  if (rc) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid payload padding");
    return rc == GS_ENOMEM ? rc : GS_EAUTH;
  }
  gs__jval_t cv[GS__C_N];
  int j = gs__json_object(c, cn, gs__claim_keys, cv, GS__C_N);
  if (j) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid payload string: %s",
                j > 0 ? "must be a json object" : "not valid JSON");
    free(c);
    return GS_EAUTH;
  }
  for (int i = 0; i < GS__C_N; i++) {
    if (cv[i].count > 1) {
      gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid payload string: duplicate key '%s'",
                  gs__claim_keys[i]);
      free(c);
      return GS_EAUTH;
    }
  }
  if (!gs__b64url_ok(parts.s, parts.sn)) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: Invalid crypto padding");
    free(c);
    return GS_EAUTH;
  }

  /* The signature: libjwt, on a token whose alg is known to be HS256. */
  jwt_t *jw = NULL;
  int e = jwt_decode(&jw, token, secret, (int)secret_len);
  if (!e && jwt_get_alg(jw) != JWT_ALG_HS256)
    e = EINVAL; /* cannot happen after the header check; never trust it */
  jwt_free(jw);
  if (e) {
    free(c);
    if (e == ENOMEM) {
      gs__jwt_msg(errbuf, errlen, "out of memory");
      return GS_ENOMEM;
    }
    gs__jwt_msg(errbuf, errlen, "Invalid token: Signature verification failed");
    return GS_EAUTH;
  }

  rc = gs__jwt_check_claims(cv, audience, now, leeway, errbuf, errlen);
  if (rc) {
    free(c);
    return rc;
  }
  if (out_claims_json)
    *out_claims_json = c;
  else
    free(c);
  return 0;
}

/* ---- any algorithm: sign, verify with a key, key pairs, raw helpers -------- */

/* libjwt's algorithm of a name gofr-sim signs with (never "none"), or
 * JWT_ALG_INVAL. */
static jwt_alg_t gs__alg_of(const char *alg) {
  static const char *const names[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                      "RS512", "ES256", "ES384", "ES512"};
  static const jwt_alg_t algs[] = {JWT_ALG_HS256, JWT_ALG_HS384, JWT_ALG_HS512,
                                   JWT_ALG_RS256, JWT_ALG_RS384, JWT_ALG_RS512,
                                   JWT_ALG_ES256, JWT_ALG_ES384, JWT_ALG_ES512};
  if (!alg)
    return JWT_ALG_INVAL;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(alg, names[i]) == 0)
      return algs[i];
  return JWT_ALG_INVAL;
}

int gs_jwt_alg_supported(const char *alg) {
  return gs__alg_of(alg) != JWT_ALG_INVAL;
}

static const char *const gs__reserved_header[] = {"alg", "typ"};

int gs_jwt_sign(const char *alg, const void *key, size_t key_len, const char *header_json,
                const char *claims_json, char **out_token) {
  if (!out_token)
    return GS_EINVAL;
  *out_token = NULL;
  jwt_alg_t a = gs__alg_of(alg);
  if (a == JWT_ALG_INVAL || !key || key_len == 0 || key_len > INT_MAX || !claims_json)
    return GS_EINVAL;
  size_t cn = strlen(claims_json);
  if (cn > GS_JWT_MAX_CLAIMS || gs__json_object(claims_json, cn, NULL, NULL, 0))
    return GS_EINVAL;
  if (header_json) {
    gs__jval_t hv[2];
    size_t hn = strlen(header_json);
    if (hn > GS_JWT_MAX_CLAIMS || gs__json_object(header_json, hn, gs__reserved_header, hv, 2) ||
        hv[0].count || hv[1].count)
      return GS_EINVAL; /* alg and typ are libjwt's to write */
  }
  jwt_t *j = NULL;
  char *tok = NULL;
  int e = jwt_new(&j);
  if (!e && cn > 2)
    e = jwt_add_grants_json(j, claims_json);
  if (!e && header_json && strlen(header_json) > 2)
    e = jwt_add_headers_json(j, header_json);
  if (!e)
    e = jwt_set_alg(j, a, key, (int)key_len);
  if (!e) {
    errno = 0;
    tok = jwt_encode_str(j); /* NULL when the key is not a usable key of that kind */
    if (!tok)
      e = errno == ENOMEM ? ENOMEM : EINVAL;
  }
  jwt_free(j);
  if (e) {
    free(tok);
    return gs__errno_rc(e);
  }
  *out_token = strdup(tok);
  free(tok);
  return *out_token ? 0 : GS_ENOMEM;
}

int gs_jwt_verify_key(const char *token, const char *alg, const void *key, size_t key_len,
                      char **out_claims_json, char *errbuf, size_t errlen) {
  if (out_claims_json)
    *out_claims_json = NULL;
  gs__jwt_msg(errbuf, errlen, "%s", "");
  jwt_alg_t a = gs__alg_of(alg);
  if (!token || a == JWT_ALG_INVAL || !key || key_len == 0 || key_len > INT_MAX) {
    gs__jwt_msg(errbuf, errlen, "gs_jwt_verify_key: %s",
                !token               ? "no token"
                : a == JWT_ALG_INVAL ? "unsupported alg"
                                     : "key must be 1 to INT_MAX bytes");
    return GS_EINVAL;
  }
  gs__jwt_parts_t parts;
  const char *why;
  if (gs__jwt_split(token, &parts, &why)) {
    gs__jwt_msg(errbuf, errlen, "Invalid token: %s", why);
    return GS_EAUTH;
  }
  char *h = NULL, *c = NULL;
  size_t hn = 0, cn = 0;
  int rc = gs__b64url_decode(parts.h, parts.hn, &h, &hn);
  if (!rc)
    rc = gs__b64url_decode(parts.p, parts.pn, &c, &cn);
  if (rc) {
    free(h);
    free(c);
    gs__jwt_msg(errbuf, errlen, "Invalid token: not base64url");
    return rc == GS_ENOMEM ? rc : GS_EAUTH;
  }
  gs__jval_t hv[GS__H_N];
  if (gs__json_object(h, hn, gs__header_keys, hv, GS__H_N) || hv[GS__H_ALG].count != 1 ||
      gs__json_object(c, cn, NULL, NULL, 0)) {
    free(h);
    free(c);
    gs__jwt_msg(errbuf, errlen, "Invalid token: header or claims are not a JSON object");
    return GS_EAUTH;
  }
  /* The alg is checked by name first: libjwt never sees "none" or an alg the
   * caller did not ask for (the RS256-key-as-HS256-secret confusion). */
  int alg_ok = gs__jstr_equals(&hv[GS__H_ALG], alg, strlen(alg));
  free(h);
  if (!alg_ok) {
    free(c);
    gs__jwt_msg(errbuf, errlen, "Invalid token: The specified alg value is not allowed (only %s)",
                alg);
    return GS_EAUTH;
  }
  jwt_t *jw = NULL;
  int e = jwt_decode(&jw, token, key, (int)key_len);
  if (!e && jwt_get_alg(jw) != a)
    e = EINVAL;
  jwt_free(jw);
  if (e) {
    free(c);
    if (e == ENOMEM) {
      gs__jwt_msg(errbuf, errlen, "out of memory");
      return GS_ENOMEM;
    }
    gs__jwt_msg(errbuf, errlen, "Invalid token: Signature verification failed");
    return GS_EAUTH;
  }
  if (out_claims_json)
    *out_claims_json = c;
  else
    free(c);
  return 0;
}

/* The PEM text of a BIO (caller frees), or NULL. */
static char *gs__bio_text(BIO *b) {
  char *data = NULL;
  long n = BIO_get_mem_data(b, &data);
  if (n <= 0)
    return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s)
    return NULL;
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  return s;
}

int gs_jwt_keygen(const char *alg, char **out_private_pem, char **out_public_pem) {
  if (out_private_pem)
    *out_private_pem = NULL;
  if (out_public_pem)
    *out_public_pem = NULL;
  if (!alg || !out_private_pem || !out_public_pem)
    return GS_EINVAL;
  EVP_PKEY *pk = NULL;
  if (alg[0] == 'R' && alg[1] == 'S' && gs__alg_of(alg) != JWT_ALG_INVAL)
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  else if (strcmp(alg, "ES256") == 0)
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  else if (strcmp(alg, "ES384") == 0)
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  else if (strcmp(alg, "ES512") == 0)
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
  else
    return GS_EINVAL;
  if (!pk)
    return GS_EIO;
  int rc = GS_ENOMEM;
  BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
  if (priv && pub && PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
      PEM_write_bio_PUBKEY(pub, pk) == 1) {
    *out_private_pem = gs__bio_text(priv);
    *out_public_pem = gs__bio_text(pub);
    if (*out_private_pem && *out_public_pem)
      rc = 0;
  }
  if (rc) {
    free(*out_private_pem);
    free(*out_public_pem);
    *out_private_pem = *out_public_pem = NULL;
  }
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(pk);
  return rc;
}

int gs_jwt_sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int mdlen = 0;
  if (!data && len)
    return GS_EINVAL;
  if (EVP_Digest(data ? data : "", len, out, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return GS_ENOMEM;
  return 0;
}

int gs_jwt_random(void *buf, size_t n) {
  if (!buf && n)
    return GS_EINVAL;
  if (n > INT_MAX)
    return GS_EINVAL;
  return n == 0 || RAND_bytes(buf, (int)n) == 1 ? 0 : GS_EIO;
}
