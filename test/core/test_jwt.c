/* Tests of the HS256 tokens: mint/verify round trips, the claims and their
 * types, UUID4 jti, exp/nbf/iat boundaries at zero leeway with an injected
 * clock, wrong secrets, every refused alg (none, HS384/512 minted by libjwt,
 * RS256), tampering, audience, missing claims, hand-signed odd claims, and
 * garbage/truncated tokens (refused, never a crash). */
#include <jwt.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/error.h"
#include "gs/jwt.h"
#include "gs_test.h"

#define SECRET "test-secret-key-for-secure-testing-do-not-use-in-production"
#define T0 1700000000

static const char *const APAC[] = {"apac"};
static const char *const MULTI[] = {"apac", "emea", "us"};

/* ---- helpers ------------------------------------------------------------ */

/* base64url without padding of s[0..n) into a malloc'd string. */
static char *b64url(const void *data, size_t n) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const unsigned char *s = data;
  char *out = malloc(n / 3 * 4 + 5), *o = out;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *o++ = a[v >> 18];
    *o++ = a[(v >> 12) & 63];
    *o++ = a[(v >> 6) & 63];
    *o++ = a[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)s[i] << 16;
    *o++ = a[v >> 18];
    *o++ = a[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
    *o++ = a[v >> 18];
    *o++ = a[(v >> 12) & 63];
    *o++ = a[(v >> 6) & 63];
  }
  *o = '\0';
  return out;
}

/* header.claims.HMAC-SHA256(secret) from raw JSON texts (caller frees). */
static char *sign_raw(const char *header, const char *claims, const char *secret) {
  char *h = b64url(header, strlen(header)), *c = b64url(claims, strlen(claims));
  size_t n = strlen(h) + strlen(c) + 2;
  char *input = malloc(n);
  snprintf(input, n, "%s.%s", h, c);
  unsigned char mac[32];
  unsigned int maclen = 0;
  HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input, strlen(input), mac,
       &maclen);
  char *sig = b64url(mac, maclen);
  size_t tn = strlen(input) + strlen(sig) + 2;
  char *tok = malloc(tn);
  snprintf(tok, tn, "%s.%s", input, sig);
  free(h);
  free(c);
  free(input);
  free(sig);
  return tok;
}

/* header.claims. with an arbitrary signature segment (caller frees). */
static char *join3(const char *header, const char *claims, const char *sig) {
  char *h = b64url(header, strlen(header)), *c = b64url(claims, strlen(claims));
  size_t n = strlen(h) + strlen(c) + strlen(sig) + 3;
  char *tok = malloc(n);
  snprintf(tok, n, "%s.%s.%s", h, c, sig);
  free(h);
  free(c);
  return tok;
}

/* The segment `i` (0..2) of token, malloc'd. */
static char *segment(const char *token, int i) {
  const char *p = token;
  for (int k = 0; k < i; k++)
    p = strchr(p, '.') + 1;
  const char *e = strchr(p, '.');
  size_t n = e ? (size_t)(e - p) : strlen(p);
  char *s = malloc(n + 1);
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static char *mint(const char *const *groups, size_t n, int64_t ttl, int64_t nbf, const char *aud,
                  int64_t now) {
  char *tok = NULL;
  GS_CHECK_INT(gs_jwt_mint(SECRET, strlen(SECRET), groups, n, ttl, nbf, aud, now, &tok), 0);
  return tok;
}

static char errbuf[256];

/* gs_jwt_verify with the test secret; returns the code, reason in errbuf. */
static int verify_at(const char *tok, const char *aud, int64_t now, int64_t leeway) {
  char *claims = (char *)"not set";
  int rc =
      gs_jwt_verify(tok, SECRET, strlen(SECRET), aud, now, leeway, &claims, errbuf, sizeof errbuf);
  if (rc)
    GS_CHECK(claims == NULL);
  free(claims);
  return rc;
}

/* Refused with GS_EAUTH and a reason containing `want`. */
#define CHECK_REFUSED(tok, aud, now, want)                                                         \
  do {                                                                                             \
    GS_CHECK_INT(verify_at((tok), (aud), (now), 0), GS_EAUTH);                                     \
    if (!strstr(errbuf, (want)))                                                                   \
      fprintf(stderr, "%s:%d: reason \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, errbuf, (want));  \
    GS_CHECK(strstr(errbuf, (want)) != NULL);                                                      \
  } while (0)

static int is_uuid4(const char *s) {
  if (strlen(s) != 36)
    return 0;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
      return 0;
    }
  }
  return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_round_trip(void) {
  char *tok = mint(MULTI, 3, 3600, 0, "gofr-api", T0);
  GS_CHECK(tok != NULL);
  char *claims = NULL;
  GS_CHECK_INT(
      gs_jwt_verify(tok, SECRET, strlen(SECRET), "gofr-api", T0, 0, &claims, errbuf, sizeof errbuf),
      0);
  GS_CHECK_STR(errbuf, "");
  GS_CHECK(claims != NULL);
  if (claims) {
    /* typed: numbers unquoted, groups an array in order, strings quoted */
    GS_CHECK(strstr(claims, "\"groups\":[\"apac\",\"emea\",\"us\"]") != NULL);
    GS_CHECK(strstr(claims, "\"iat\":1700000000") != NULL);
    GS_CHECK(strstr(claims, "\"nbf\":1700000000") != NULL);
    GS_CHECK(strstr(claims, "\"exp\":1700003600") != NULL);
    GS_CHECK(strstr(claims, "\"aud\":\"gofr-api\"") != NULL);
    const char *jti = strstr(claims, "\"jti\":\"");
    GS_CHECK(jti != NULL);
    if (jti) {
      char id[37];
      memcpy(id, jti + 7, 36);
      id[36] = '\0';
      GS_CHECK(is_uuid4(id));
      GS_CHECK(jti[43] == '"');
    }
  }
  free(claims);

  /* the claims handed out are the signed payload, byte for byte */
  char *header = NULL, *dclaims = NULL;
  GS_CHECK_INT(gs_jwt_decode(tok, &header, &dclaims), 0);
  GS_CHECK_STR(header, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
  GS_CHECK(dclaims && strstr(dclaims, "\"groups\":[\"apac\",\"emea\",\"us\"]"));
  free(header);
  free(dclaims);

  /* NULL out pointers are allowed */
  GS_CHECK_INT(gs_jwt_verify(tok, SECRET, strlen(SECRET), NULL, T0, 0, NULL, NULL, 0), 0);
  GS_CHECK_INT(gs_jwt_decode(tok, NULL, NULL), 0);

  /* each mint gets a new jti */
  char *tok2 = mint(MULTI, 3, 3600, 0, "gofr-api", T0);
  GS_CHECK(strcmp(tok, tok2) != 0);
  free(tok);
  free(tok2);

  /* libjwt itself reads our token back with the same secret */
  tok = mint(APAC, 1, 60, 0, "gofr-api", T0);
  jwt_t *j = NULL;
  GS_CHECK_INT(jwt_decode(&j, tok, (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
  if (j) {
    GS_CHECK_INT(jwt_get_alg(j), JWT_ALG_HS256);
    GS_CHECK_INT(jwt_get_grant_int(j, "exp"), T0 + 60);
    GS_CHECK_STR(jwt_get_grant(j, "aud"), "gofr-api");
    jwt_free(j);
  }
  free(tok);
}

static void test_uuid4(void) {
  char a[37], b[37];
  for (int i = 0; i < 200; i++) {
    GS_CHECK_INT(gs_jwt_uuid4(a), 0);
    GS_CHECK(is_uuid4(a));
  }
  GS_CHECK_INT(gs_jwt_uuid4(b), 0);
  GS_CHECK(strcmp(a, b) != 0);
}

static void test_sha256(void) {
  char hex[65];
  GS_CHECK_INT(gs_jwt_sha256_hex("abc", 3, hex), 0);
  GS_CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  GS_CHECK_INT(gs_jwt_sha256_hex("", 0, hex), 0);
  GS_CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  GS_CHECK_INT(gs_jwt_sha256_hex(NULL, 0, hex), 0);
  GS_CHECK_INT(gs_jwt_sha256_hex(NULL, 1, hex), GS_EINVAL);
}

static void test_time_boundaries(void) {
  /* exp: valid up to exp - 1, refused at exp (exp <= now), zero leeway */
  char *tok = mint(APAC, 1, 60, 0, "gofr-api", T0);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0, 0), 0);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0 + 59, 0), 0);
  CHECK_REFUSED(tok, "gofr-api", T0 + 60, "Token has expired");
  GS_CHECK_STR(errbuf, "Token has expired");
  CHECK_REFUSED(tok, "gofr-api", T0 + 61, "Token has expired");
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0 + 60, 1), 0); /* leeway */
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0 + 61, 1), GS_EAUTH);
  /* iat in the future: not yet valid */
  CHECK_REFUSED(tok, "gofr-api", T0 - 1, "Token not yet valid");
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0 - 1, 1), 0);
  free(tok);

  /* already expired: ttl -60 */
  tok = mint(APAC, 1, -60, 0, "gofr-api", T0);
  CHECK_REFUSED(tok, "gofr-api", T0, "Token has expired");
  CHECK_REFUSED(tok, "gofr-api", T0 - 59, "Token not yet valid"); /* iat first, as PyJWT */
  free(tok);
  tok = mint(APAC, 1, 0, 0, "gofr-api", T0); /* exp == iat: never valid */
  CHECK_REFUSED(tok, "gofr-api", T0, "Token has expired");
  free(tok);

  /* nbf = now + 10: refused until then */
  tok = mint(APAC, 1, 3600, 10, "gofr-api", T0);
  CHECK_REFUSED(tok, "gofr-api", T0, "Token not yet valid");
  GS_CHECK_STR(errbuf, "Token not yet valid");
  CHECK_REFUSED(tok, "gofr-api", T0 + 9, "Token not yet valid");
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0 + 10, 0), 0);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0 + 9, 1), 0);
  free(tok);

  /* a negative nbf offset is fine */
  tok = mint(APAC, 1, 3600, -30, "gofr-api", T0);
  char *claims = NULL;
  GS_CHECK_INT(gs_jwt_verify(tok, SECRET, strlen(SECRET), NULL, T0, 0, &claims, NULL, 0), 0);
  GS_CHECK(claims && strstr(claims, "\"nbf\":1699999970"));
  free(claims);
  free(tok);

  /* hand-signed: float times are truncated (PyJWT's int()), strings refused */
  tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                 "{\"jti\":\"x\",\"groups\":[\"apac\"],\"exp\":1700000000.9}", SECRET);
  CHECK_REFUSED(tok, NULL, T0, "Token has expired");
  GS_CHECK_INT(verify_at(tok, NULL, T0 - 1, 0), 0);
  free(tok);
  tok = sign_raw("{\"alg\":\"HS256\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"],\"exp\":\"soon\"}",
                 SECRET);
  CHECK_REFUSED(tok, NULL, T0, "Expiration Time claim (exp) must be an integer");
  free(tok);
  tok =
      sign_raw("{\"alg\":\"HS256\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"],\"nbf\":null}", SECRET);
  CHECK_REFUSED(tok, NULL, T0, "Not Before claim (nbf) must be an integer");
  free(tok);
  tok =
      sign_raw("{\"alg\":\"HS256\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"],\"iat\":true}", SECRET);
  CHECK_REFUSED(tok, NULL, T0, "Issued At claim (iat) must be an integer");
  free(tok);
  /* no exp at all: accepted, as gofr-dig does */
  tok = sign_raw("{\"alg\":\"HS256\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"]}", SECRET);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0, 0), 0);
  free(tok);
}

static void test_wrong_secret_and_tamper(void) {
  char *tok = mint(APAC, 1, 3600, 0, "gofr-api", T0);
  GS_CHECK_INT(
      gs_jwt_verify(tok, "other-secret", 12, "gofr-api", T0, 0, NULL, errbuf, sizeof errbuf),
      GS_EAUTH);
  GS_CHECK_STR(errbuf, "Invalid token: Signature verification failed");
  /* a secret that is a prefix of the real one */
  GS_CHECK_INT(
      gs_jwt_verify(tok, SECRET, strlen(SECRET) - 1, NULL, T0, 0, NULL, errbuf, sizeof errbuf),
      GS_EAUTH);

  /* tampered payload, original signature */
  char *h = segment(tok, 0), *s = segment(tok, 2);
  const char *evil = "{\"aud\":\"gofr-api\",\"exp\":1800000000,\"groups\":[\"admin\"],"
                     "\"iat\":1700000000,\"jti\":\"00000000-0000-4000-8000-000000000000\","
                     "\"nbf\":1700000000}";
  char *p = b64url(evil, strlen(evil));
  size_t n = strlen(h) + strlen(p) + strlen(s) + 3;
  char *t2 = malloc(n);
  snprintf(t2, n, "%s.%s.%s", h, p, s);
  CHECK_REFUSED(t2, "gofr-api", T0, "Signature verification failed");
  free(t2);
  free(p);

  /* one character of the signature changed; signature removed; cut short */
  char *t3 = strdup(tok);
  char *last = t3 + strlen(t3) - 5;
  *last = *last == 'A' ? 'B' : 'A';
  CHECK_REFUSED(t3, "gofr-api", T0, "Signature verification failed");
  strcpy(strrchr(t3, '.') + 1, "");
  CHECK_REFUSED(t3, "gofr-api", T0, "Signature verification failed");
  free(t3);
  t3 = strdup(tok);
  t3[strlen(t3) - 1] = '\0';
  CHECK_REFUSED(t3, "gofr-api", T0, "Invalid token");
  free(t3);
  free(h);
  free(s);
  free(tok);
}

static void test_refused_algs(void) {
  char *tok = mint(APAC, 1, 3600, 0, "gofr-api", T0);
  char *payload = segment(tok, 1), *sig = segment(tok, 2);
  const char *headers[] = {
      "{\"alg\":\"none\"}",
      "{\"alg\":\"none\",\"typ\":\"JWT\"}",
      "{\"alg\":\"None\"}",
      "{\"alg\":\"NONE\"}",
      "{\"alg\":\"hs256\"}",
      "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
      "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
      "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
      "{\"alg\":\"ES256\"}",
      "{\"alg\":\"\"}",
      "{\"alg\":null}",
      "{\"alg\":[\"HS256\"]}",
      "{\"typ\":\"JWT\"}",
      "{\"alg\":\"HS256 \"}",
      "{\"alg\":\"HS256\\u0000\"}",
      /* a second alg (any spelling) must never let "none" through */
      "{\"alg\":\"HS256\",\"alg\":\"none\"}",
      "{\"alg\":\"none\",\"alg\":\"HS256\"}",
      "{\"\\u0061lg\":\"none\",\"alg\":\"HS256\"}",
  };
  for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
    char *hb = b64url(headers[i], strlen(headers[i]));
    for (int withsig = 0; withsig < 2; withsig++) {
      size_t n = strlen(hb) + strlen(payload) + strlen(sig) + 3;
      char *t = malloc(n);
      snprintf(t, n, "%s.%s.%s", hb, payload, withsig ? sig : "");
      GS_CHECK_INT(verify_at(t, "gofr-api", T0, 0), GS_EAUTH);
      if (!strstr(errbuf, "Invalid token"))
        fprintf(stderr, "header %s: %s\n", headers[i], errbuf);
      GS_CHECK(strstr(errbuf, "Invalid token") != NULL);
      free(t);
    }
    free(hb);
  }
  /* the reasons name the alg */
  char *t = join3("{\"alg\":\"none\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"]}", "");
  CHECK_REFUSED(t, NULL, T0, "The specified alg value is not allowed (alg 'none'");
  free(t);
  t = join3("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"]}",
            "c2lnbmF0dXJl");
  CHECK_REFUSED(t, NULL, T0, "alg 'RS256'");
  free(t);
  t = join3("{\"alg\":\"HS256\",\"alg\":\"none\"}", "{\"jti\":\"x\",\"groups\":[\"apac\"]}", "");
  CHECK_REFUSED(t, NULL, T0, "duplicate key 'alg'");
  free(t);

  /* tokens minted by libjwt itself with other algorithms and the same secret */
  const jwt_alg_t algs[] = {JWT_ALG_HS384, JWT_ALG_HS512, JWT_ALG_NONE};
  const char *names[] = {"alg 'HS384'", "alg 'HS512'", "alg 'none'"};
  for (int i = 0; i < 3; i++) {
    jwt_t *j = NULL;
    GS_CHECK_INT(jwt_new(&j), 0);
    if (algs[i] == JWT_ALG_NONE)
      GS_CHECK_INT(jwt_set_alg(j, algs[i], NULL, 0), 0);
    else
      GS_CHECK_INT(jwt_set_alg(j, algs[i], (const unsigned char *)SECRET, (int)strlen(SECRET)), 0);
    GS_CHECK_INT(jwt_add_grants_json(j, "{\"jti\":\"6f1c2b1e-8d0a-4c1e-9a53-1f2d3c4b5a69\","
                                        "\"groups\":[\"apac\"],\"iat\":1700000000,"
                                        "\"nbf\":1700000000,\"exp\":1700003600,"
                                        "\"aud\":\"gofr-api\"}"),
                 0);
    char *other = jwt_encode_str(j);
    GS_CHECK(other != NULL);
    if (other) {
      CHECK_REFUSED(other, "gofr-api", T0, names[i]);
      /* decode still shows it (no verification) */
      char *hj = NULL;
      GS_CHECK_INT(gs_jwt_decode(other, &hj, NULL), 0);
      GS_CHECK(hj && strstr(hj, "\"alg\""));
      free(hj);
    }
    free(other);
    jwt_free(j);
  }
  free(payload);
  free(sig);
  free(tok);
}

static void test_audience(void) {
  char *tok = mint(APAC, 1, 3600, 0, "gofr-api", T0);
  CHECK_REFUSED(tok, "gofr_dig-api", T0, "Token audience mismatch");
  GS_CHECK_STR(errbuf, "Token audience mismatch");
  CHECK_REFUSED(tok, "gofr-api2", T0, "Token audience mismatch");
  CHECK_REFUSED(tok, "gofr-ap", T0, "Token audience mismatch");
  CHECK_REFUSED(tok, "", T0, "Token audience mismatch");
  GS_CHECK_INT(verify_at(tok, NULL, T0, 0), 0); /* not checked */
  free(tok);
  /* no aud claim: accepted whatever the audience (gofr-dig does so) */
  tok = mint(APAC, 1, 3600, 0, NULL, T0);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0, 0), 0);
  char *claims = NULL;
  GS_CHECK_INT(gs_jwt_decode(tok, NULL, &claims), 0);
  GS_CHECK(claims && !strstr(claims, "aud"));
  free(claims);
  free(tok);
  /* a list-valued aud fails; an escaped one that decodes equal passes */
  tok = sign_raw("{\"alg\":\"HS256\"}", "{\"jti\":\"x\",\"groups\":[\"a\"],\"aud\":[\"gofr-api\"]}",
                 SECRET);
  CHECK_REFUSED(tok, "gofr-api", T0, "Token audience mismatch");
  free(tok);
  tok = sign_raw("{\"alg\":\"HS256\"}",
                 "{\"jti\":\"x\",\"groups\":[\"a\"],\"aud\":\"gofr\\u002dapi\"}", SECRET);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0, 0), 0);
  free(tok);
}

static void test_required_claims(void) {
  char *tok = mint(NULL, 0, 3600, 0, "gofr-api", T0);
  GS_CHECK(tok != NULL);
  CHECK_REFUSED(tok, "gofr-api", T0, "Token missing groups claim");
  free(tok);
  const struct {
    const char *claims, *want;
  } cases[] = {
      {"{\"groups\":[\"apac\"]}", "Token missing jti claim"},
      {"{\"jti\":\"\",\"groups\":[\"apac\"]}", "Token missing jti claim"},
      {"{\"jti\":7,\"groups\":[\"apac\"]}", "jti claim must be a string"},
      {"{\"jti\":\"x\"}", "Token missing groups claim"},
      {"{\"jti\":\"x\",\"groups\":null}", "Token missing groups claim"},
      {"{\"jti\":\"x\",\"groups\":\"apac\"}", "groups claim must be a list of strings"},
      {"{\"jti\":\"x\",\"groups\":[\"apac\",1]}", "groups claim must be a list of strings"},
      {"{\"jti\":\"x\",\"jti\":\"y\",\"groups\":[\"apac\"]}", "duplicate key 'jti'"},
      {"{\"jti\":\"x\",\"groups\":[\"apac\"],\"exp\":1,\"exp\":1800000000}", "duplicate key 'exp'"},
      {"[\"jti\"]", "must be a json object"},
      {"\"x\"", "must be a json object"},
      {"{\"jti\":\"x\",", "not valid JSON"},
      {"{\"jti\":\"x\",\"groups\":[\"apac\"],\"n\":123456789012345678901234}", "not valid JSON"},
      {"{\"jti\":\"x\",\"groups\":[\"apac\"],\"n\":1e999}", "not valid JSON"},
      {"{\"jti\":\"x\\ud800\",\"groups\":[\"apac\"]}", "not valid JSON"},
      {"{\"jti\":\"\xff\",\"groups\":[\"apac\"]}", "not valid JSON"},
      {"{\"jti\":\"\xc0\xaf\",\"groups\":[\"apac\"]}", "not valid JSON"},
      {"{\"jti\":\"x\",\"groups\":[\"apac\"]} x", "not valid JSON"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", cases[i].claims, SECRET);
    CHECK_REFUSED(tok, NULL, T0, cases[i].want);
    free(tok);
  }
  /* valid odd-but-legal JSON is accepted: escapes, unicode, nesting, extras */
  tok = sign_raw(" {\"typ\":\"jwt\", \"alg\" : \"HS256\", \"kid\":{\"a\":[1,2,{}]}} ",
                 "{\"jti\":\"\\u00e9\xc3\xa9\\ud83d\\ude00\",\"groups\":[\"ap\\\"ac\"],"
                 "\"x\":[true,false,null,-0.5e-3,{\"y\":[]}],\"exp\":1800000000}",
                 SECRET);
  GS_CHECK_INT(verify_at(tok, "gofr-api", T0, 0), 0);
  free(tok);
  /* typ other than JWT is refused (libjwt would refuse it too) */
  tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", "{\"jti\":\"x\",\"groups\":[\"a\"]}",
                 SECRET);
  CHECK_REFUSED(tok, NULL, T0, "typ must be \"JWT\"");
  free(tok);
}

/* Member names are compared decoded, whatever their escaping or raw length
 * (issue 12 §5): "groups" written with \u escapes is still "groups". */
static void test_escaped_names(void) {
  static const char *const H = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  static const struct {
    const char *claims, *want;
  } dups[] = {
      /* fully escaped: 36 raw bytes, the first value or the second */
      {"{\"jti\":\"x\",\"groups\":[\"a\"],"
       "\"\\u0067\\u0072\\u006f\\u0075\\u0070\\u0073\":[\"b\"]}",
       "duplicate key 'groups'"},
      {"{\"jti\":\"x\",\"\\u0067\\u0072\\u006f\\u0075\\u0070\\u0073\":[\"b\"],"
       "\"groups\":[\"a\"]}",
       "duplicate key 'groups'"},
      /* upper-case hex digits, and two escaped spellings together */
      {"{\"jti\":\"x\",\"\\u0067\\u0072\\u006F\\u0075\\u0070\\u0073\":[\"a\"],"
       "\"\\u0067roup\\u0073\":[\"b\"]}",
       "duplicate key 'groups'"},
      /* partially escaped, of several raw lengths */
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"group\\u0073\":[\"b\"]}", "duplicate key 'groups'"},
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"\\u0067\\u0072\\u006f\\u0075ps\":[\"b\"]}",
       "duplicate key 'groups'"},
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"g\\u0072\\u006f\\u0075\\u0070\\u0073\":[\"b\"]}",
       "duplicate key 'groups'"},
      /* the other claims, fully escaped */
      {"{\"jti\":\"x\",\"\\u006a\\u0074\\u0069\":\"y\",\"groups\":[\"a\"]}", "duplicate key 'jti'"},
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"aud\":\"gofr-api\",\"\\u0061\\u0075\\u0064\":\"z\"}",
       "duplicate key 'aud'"},
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"exp\":1800000000,\"\\u0065\\u0078\\u0070\":1}",
       "duplicate key 'exp'"},
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"nbf\":1,\"\\u006e\\u0062\\u0066\":1800000000}",
       "duplicate key 'nbf'"},
      {"{\"jti\":\"x\",\"groups\":[\"a\"],\"iat\":1,\"\\u0069\\u0061\\u0074\":1800000000}",
       "duplicate key 'iat'"},
  };
  for (size_t i = 0; i < sizeof dups / sizeof *dups; i++) {
    char *tok = sign_raw(H, dups[i].claims, SECRET);
    char want[128];
    snprintf(want, sizeof want, "Invalid token: Invalid payload string: %s", dups[i].want);
    GS_CHECK_INT(verify_at(tok, NULL, T0, 0), GS_EAUTH);
    if (strcmp(errbuf, want) != 0)
      fprintf(stderr, "claims %s: \"%s\"\n", dups[i].claims, errbuf);
    GS_CHECK_STR(errbuf, want);
    free(tok);
  }
  char *tok;

  /* header names: an escaped second alg or typ is a duplicate too */
  const char *headers[] = {
      "{\"alg\":\"HS256\",\"\\u0061\\u006c\\u0067\":\"none\"}",
      "{\"\\u0061\\u006c\\u0067\":\"none\",\"alg\":\"HS256\"}",
      "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"\\u0074\\u0079\\u0070\":\"JWT\"}",
  };
  const char *hwant[] = {"Invalid token: Invalid header string: duplicate key 'alg'",
                         "Invalid token: Invalid header string: duplicate key 'alg'",
                         "Invalid token: Invalid header string: duplicate key 'typ'"};
  for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
    tok = sign_raw(headers[i], "{\"jti\":\"x\",\"groups\":[\"a\"]}", SECRET);
    GS_CHECK_INT(verify_at(tok, NULL, T0, 0), GS_EAUTH);
    GS_CHECK_STR(errbuf, hwant[i]);
    free(tok);
  }

  /* fully escaped names, alone, are the claims they spell */
  tok = sign_raw("{\"\\u0061\\u006c\\u0067\":\"HS256\",\"\\u0074\\u0079\\u0070\":\"JWT\"}",
                 "{\"\\u006a\\u0074\\u0069\":\"x\","
                 "\"\\u0067\\u0072\\u006f\\u0075\\u0070\\u0073\":[\"apac\"],"
                 "\"\\u0065\\u0078\\u0070\":1800000000}",
                 SECRET);
  GS_CHECK_INT(verify_at(tok, NULL, T0, 0), 0);
  free(tok);
  tok = sign_raw(H,
                 "{\"jti\":\"x\",\"\\u0067\\u0072\\u006f\\u0075\\u0070\\u0073\":[\"apac\"],"
                 "\"\\u0065\\u0078\\u0070\":1}",
                 SECRET);
  CHECK_REFUSED(tok, NULL, T0, "Token has expired");
  free(tok);

  /* an escaped typ value that decodes to JWT (any case) is JWT */
  tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"\\u004a\\u0057\\u0054\"}",
                 "{\"jti\":\"x\",\"groups\":[\"a\"]}", SECRET);
  GS_CHECK_INT(verify_at(tok, NULL, T0, 0), 0);
  free(tok);
  tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"j\\u0077t\"}", "{\"jti\":\"x\",\"groups\":[\"a\"]}",
                 SECRET);
  GS_CHECK_INT(verify_at(tok, NULL, T0, 0), 0);
  free(tok);
  tok = sign_raw("{\"alg\":\"HS256\",\"typ\":\"\\u004a\\u0057\\u0054\\u0020\"}",
                 "{\"jti\":\"x\",\"groups\":[\"a\"]}", SECRET);
  CHECK_REFUSED(tok, NULL, T0, "typ must be \"JWT\"");
  free(tok);

  /* long names that are not asked for (escaped or not, up to 4000 raw
   * bytes, one a prefix of "groups") are accepted and change nothing */
  size_t room = 4 * 1000 * 6 + 256;
  char *claims = malloc(room);
  GS_CHECK(claims != NULL);
  size_t k = (size_t)snprintf(claims, room, "{\"jti\":\"x\",\"groups\":[\"apac\"],\"");
  for (int j = 0; j < 1000; j++) {
    memcpy(claims + k, "\\u0067", 6);
    k += 6;
  }
  k += (size_t)snprintf(claims + k, room - k, "\":1,\"\\u0067\\u0072\\u006f\\u0075\\u0070\":2,\"");
  for (int j = 0; j < 1000; j++) {
    memcpy(claims + k, "\\u00e9", 6);
    k += 6;
  }
  k += (size_t)snprintf(claims + k, room - k,
                        "\":3,\"\\u0067\\u0072\\u006f\\u0075\\u0070\\u0073\\u0073\":4,"
                        "\"\\ud83d\\ude00groups\":5,\"groups \":6}");
  GS_CHECK(k < room);
  tok = sign_raw(H, claims, SECRET);
  char *out = NULL;
  GS_CHECK_INT(gs_jwt_verify(tok, SECRET, strlen(SECRET), NULL, T0, 0, &out, errbuf, sizeof errbuf),
               0);
  GS_CHECK_STR(errbuf, "");
  GS_CHECK(out && strcmp(out, claims) == 0);
  free(out);
  free(tok);
  free(claims);
}

/* Every prefix, and a set of garbage strings: refused, never a crash. */
static void test_garbage(void) {
  char *tok = mint(MULTI, 3, 3600, 0, "gofr-api", T0);
  size_t n = strlen(tok);
  char *buf = malloc(n + 1);
  for (size_t k = 0; k < n; k++) {
    memcpy(buf, tok, k);
    buf[k] = '\0';
    GS_CHECK_INT(verify_at(buf, "gofr-api", T0, 0), GS_EAUTH);
    char *h = NULL, *c = NULL;
    int rc = gs_jwt_decode(buf, &h, &c);
    GS_CHECK(rc == 0 || rc == GS_EINVAL);
    if (rc)
      GS_CHECK(h == NULL && c == NULL);
    free(h);
    free(c);
  }
  free(buf);
  free(tok);

  const char *garbage[] = {
      "",
      ".",
      "..",
      "...",
      "a.b",
      "a.b.c.d",
      "invalid.invalid.invalid",
      "Bearer x.y.z",
      "eyJhbGciOiJIUzI1NiJ9..",
      "eyJhbGciOiJIUzI1NiJ9.e30.",
      "eyJhbGciOiJIUzI1NiJ9.e30=.x",
      "=.=.=",
      "\xff\xfe.\x80.\x01",
      "e30.e30.e30",
      "W10.W10.",
      "bnVsbA.bnVsbA.",
      "A.A.A",
      "AAAA.AAAA.AAAA",
  };
  for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
    GS_CHECK_INT(verify_at(garbage[i], "gofr-api", T0, 0), GS_EAUTH);
    GS_CHECK(errbuf[0] != '\0');
    char *h = NULL, *c = NULL;
    int rc = gs_jwt_decode(garbage[i], &h, &c);
    GS_CHECK(rc == GS_EINVAL || (rc == 0 && h && c));
    free(h);
    free(c);
  }
  CHECK_REFUSED("invalid.invalid.invalid", NULL, T0, "Invalid token: Invalid header string");
  CHECK_REFUSED("a.b", NULL, T0, "Invalid token: Not enough segments");
  CHECK_REFUSED("a.b.c.d", NULL, T0, "Invalid token: Too many segments");
  GS_CHECK_INT(gs_jwt_decode("invalid.invalid.invalid", NULL, NULL), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_decode("e30.e30.", NULL, NULL), 0); /* {} and {} */

  /* a header nested deeper than the reader allows, and a huge token */
  char deep[300];
  memset(deep, '[', 200);
  strcpy(deep + 200, "1");
  memset(deep + 201, ']', 98);
  deep[299] = '\0';
  char *t = join3(deep, "{}", "");
  GS_CHECK_INT(verify_at(t, NULL, T0, 0), GS_EAUTH);
  GS_CHECK_INT(gs_jwt_decode(t, NULL, NULL), GS_EINVAL);
  free(t);
  size_t big = GS_JWT_MAX_TOKEN + 100;
  char *huge = malloc(big + 1);
  memset(huge, 'A', big);
  huge[10] = '.';
  huge[20] = '.';
  huge[big] = '\0';
  CHECK_REFUSED(huge, NULL, T0, "longer than");
  GS_CHECK_INT(gs_jwt_decode(huge, NULL, NULL), GS_EINVAL);
  free(huge);

  /* random bytes in three segments */
  uint32_t x = 12345;
  for (int round = 0; round < 2000; round++) {
    char r[64];
    int len = 1 + (int)(x % 63);
    for (int i = 0; i < len; i++) {
      x = x * 1103515245u + 12345u;
      r[i] = (char)(1 + (x >> 16) % 255);
    }
    r[len] = '\0';
    if (len > 4) {
      r[len / 3] = '.';
      r[2 * len / 3] = '.';
    }
    GS_CHECK(verify_at(r, NULL, T0, 0) == GS_EAUTH);
    char *h = NULL, *c = NULL;
    if (gs_jwt_decode(r, &h, &c) == 0) {
      GS_CHECK(h && c);
    }
    free(h);
    free(c);
  }
}

static void test_bad_arguments(void) {
  char *tok = NULL;
  GS_CHECK_INT(gs_jwt_mint(NULL, 0, APAC, 1, 60, 0, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_mint("", 0, APAC, 1, 60, 0, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_mint("s", 1, NULL, 1, 60, 0, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_mint("s", 1, APAC, 1, INT64_MAX, 0, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_mint("s", 1, APAC, 1, 60, INT64_MAX, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_mint("s", 1, APAC, 1, INT64_MIN, 0, NULL, -T0, &tok), GS_EINVAL);
  const char *bad_utf8[] = {"ap\xff"};
  GS_CHECK_INT(gs_jwt_mint("s", 1, bad_utf8, 1, 60, 0, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_mint("s", 1, APAC, 1, 60, 0, "\xc3", T0, &tok), GS_EINVAL);
  const char *with_null[] = {"apac", NULL};
  GS_CHECK_INT(gs_jwt_mint("s", 1, with_null, 2, 60, 0, NULL, T0, &tok), GS_EINVAL);
  GS_CHECK(tok == NULL);
  GS_CHECK_INT(gs_jwt_mint("s", 1, APAC, 1, 60, 0, NULL, T0, NULL), GS_EINVAL);

  tok = mint(APAC, 1, 60, 0, NULL, T0);
  GS_CHECK_INT(gs_jwt_verify(NULL, SECRET, 3, NULL, T0, 0, NULL, errbuf, sizeof errbuf), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_verify(tok, NULL, 3, NULL, T0, 0, NULL, errbuf, sizeof errbuf), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_verify(tok, SECRET, 0, NULL, T0, 0, NULL, errbuf, sizeof errbuf), GS_EINVAL);
  GS_CHECK_INT(
      gs_jwt_verify(tok, SECRET, strlen(SECRET), NULL, T0, -1, NULL, errbuf, sizeof errbuf),
      GS_EINVAL);
  GS_CHECK(errbuf[0] != '\0');
  /* a tiny errbuf is still NUL-terminated */
  char small[8];
  GS_CHECK_INT(gs_jwt_verify("x", SECRET, strlen(SECRET), NULL, T0, 0, NULL, small, sizeof small),
               GS_EAUTH);
  GS_CHECK(strlen(small) == 7);
  GS_CHECK_INT(gs_jwt_decode(NULL, NULL, NULL), GS_EINVAL);
  free(tok);

  /* groups with quotes, backslashes and control characters are escaped */
  const char *odd[] = {"a\"b", "c\\d", "e\x01", "\xc3\xa9t\xc3\xa9"};
  tok = mint(odd, 4, 60, 0, NULL, T0);
  char *claims = NULL;
  GS_CHECK_INT(gs_jwt_verify(tok, SECRET, strlen(SECRET), NULL, T0, 0, &claims, NULL, 0), 0);
  GS_CHECK(claims &&
           strstr(claims, "\"groups\":[\"a\\\"b\",\"c\\\\d\",\"e\\u0001\",\"\xc3\xa9t\xc3\xa9\"]"));
  free(claims);
  free(tok);
  /* a secret with NUL bytes is used whole */
  const char zsecret[] = {'a', 0, 'b'};
  GS_CHECK_INT(gs_jwt_mint(zsecret, 3, APAC, 1, 60, 0, NULL, T0, &tok), 0);
  GS_CHECK_INT(gs_jwt_verify(tok, zsecret, 3, NULL, T0, 0, NULL, NULL, 0), 0);
  GS_CHECK_INT(gs_jwt_verify(tok, zsecret, 1, NULL, T0, 0, NULL, NULL, 0), GS_EAUTH);
  free(tok);
}

int main(void) {
  GS_RUN(test_round_trip);
  GS_RUN(test_uuid4);
  GS_RUN(test_sha256);
  GS_RUN(test_time_boundaries);
  GS_RUN(test_wrong_secret_and_tamper);
  GS_RUN(test_refused_algs);
  GS_RUN(test_audience);
  GS_RUN(test_required_claims);
  GS_RUN(test_escaped_names);
  GS_RUN(test_garbage);
  GS_RUN(test_bad_arguments);
  return gs_test_report();
}
