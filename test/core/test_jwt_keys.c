/* Tests of the any-algorithm half of gs/jwt.h: key pairs (RSA, P-256,
 * P-384), signing with RS256/ES256/ES384/HS384 and checking the signature
 * independently with OpenSSL's EVP API (ES signatures as JWS R || S), the
 * verifier's refusals (another key, another alg, alg confusion with a PEM
 * public key used as an HMAC secret, "none", tampering), bad arguments, and
 * the raw SHA-256 / random helpers with RFC 7636's PKCE example. */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs/base64.h"
#include "gs/error.h"
#include "gs/jwt.h"
#include "gs_test.h"

#define CLAIMS                                                                                     \
  "{\"aud\":\"http://127.0.0.1/token\",\"exp\":1700000300,\"iss\":\"c1\",\"sub\":\"c1\"}"

/* The bytes of base64url segment s[0..n) (caller frees). */
static unsigned char *b64url_bytes(const char *s, size_t n, size_t *len) {
  unsigned char *out = malloc(gs_base64_decoded_max(n) + 1);
  if (gs_base64_decode(s, n, GS_BASE64_URL | GS_BASE64_ANY_BITS, out, len)) {
    free(out);
    return NULL;
  }
  return out;
}

/* 1 when token's signature verifies with the PEM public key, by OpenSSL
 * alone: RSA PKCS#1 v1.5, or ECDSA with the JWS R || S turned into DER. */
static int openssl_verifies(const char *token, const char *pub_pem, const EVP_MD *md,
                            int ec_bytes) {
  const char *dot2 = strrchr(token, '.');
  size_t siglen = 0;
  unsigned char *sig = b64url_bytes(dot2 + 1, strlen(dot2 + 1), &siglen);
  if (!sig)
    return 0;
  BIO *b = BIO_new_mem_buf(pub_pem, -1);
  EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
  BIO_free(b);
  unsigned char *der = NULL;
  int derlen = 0;
  if (ec_bytes) {
    if ((int)siglen != 2 * ec_bytes) {
      free(sig);
      EVP_PKEY_free(pk);
      return 0;
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, ec_bytes, NULL), BN_bin2bn(sig + ec_bytes, ec_bytes, NULL));
    derlen = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
  }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = pk && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
           EVP_DigestVerify(ctx, ec_bytes ? der : sig, ec_bytes ? (size_t)derlen : siglen,
                            (const unsigned char *)token, (size_t)(dot2 - token)) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  OPENSSL_free(der);
  free(sig);
  return ok;
}

static void test_keygen(void) {
  const char *algs[] = {"RS256", "ES256", "ES384"};
  for (int i = 0; i < 3; i++) {
    char *priv = NULL, *pub = NULL;
    GS_CHECK_INT(gs_jwt_keygen(algs[i], &priv, &pub), 0);
    GS_CHECK(priv && strstr(priv, "-----BEGIN PRIVATE KEY-----"));
    GS_CHECK(pub && strstr(pub, "-----BEGIN PUBLIC KEY-----"));
    free(priv);
    free(pub);
  }
  char *priv = (char *)1, *pub = (char *)1;
  GS_CHECK_INT(gs_jwt_keygen("HS256", &priv, &pub), GS_EINVAL);
  GS_CHECK(priv == NULL && pub == NULL);
  GS_CHECK_INT(gs_jwt_keygen("none", &priv, &pub), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_keygen(NULL, &priv, &pub), GS_EINVAL);
}

static void sign_and_check(const char *alg, const EVP_MD *md, int ec_bytes) {
  char *priv = NULL, *pub = NULL, *tok = NULL, *claims = NULL, *hdr = NULL;
  GS_CHECK_INT(gs_jwt_keygen(alg, &priv, &pub), 0);
  GS_CHECK_INT(gs_jwt_sign(alg, priv, strlen(priv), "{\"kid\":\"k-1\"}", CLAIMS, &tok), 0);
  GS_CHECK(tok != NULL);
  if (!tok)
    return;
  GS_CHECK(openssl_verifies(tok, pub, md, ec_bytes));
  GS_CHECK_INT(gs_jwt_decode(tok, &hdr, &claims), 0);
  GS_CHECK(hdr && strstr(hdr, "\"kid\":\"k-1\"") && strstr(hdr, alg) &&
           strstr(hdr, "\"typ\":\"JWT\""));
  GS_CHECK_STR(claims, CLAIMS);
  free(hdr);
  free(claims);
  claims = NULL;
  char err[200];
  GS_CHECK_INT(gs_jwt_verify_key(tok, alg, pub, strlen(pub), &claims, err, sizeof err), 0);
  GS_CHECK_STR(claims, CLAIMS);
  GS_CHECK_STR(err, "");
  free(claims);
  /* another key of the same kind */
  char *priv2 = NULL, *pub2 = NULL;
  GS_CHECK_INT(gs_jwt_keygen(alg, &priv2, &pub2), 0);
  GS_CHECK_INT(gs_jwt_verify_key(tok, alg, pub2, strlen(pub2), &claims, err, sizeof err), GS_EAUTH);
  GS_CHECK(claims == NULL);
  GS_CHECK_STR(err, "Invalid token: Signature verification failed");
  /* the private key verifies too (libjwt derives the public half) is not
   * relied on; a tampered payload is refused */
  char *bad = strdup(tok);
  char *p = strchr(bad, '.') + 2;
  *p = *p == 'A' ? 'B' : 'A';
  GS_CHECK_INT(gs_jwt_verify_key(bad, alg, pub, strlen(pub), NULL, err, sizeof err), GS_EAUTH);
  free(bad);
  free(priv2);
  free(pub2);
  free(tok);
  free(priv);
  free(pub);
}

static void test_sign_verify(void) {
  sign_and_check("RS256", EVP_sha256(), 0);
  sign_and_check("ES256", EVP_sha256(), 32);
  sign_and_check("ES384", EVP_sha384(), 48);
  /* HMAC with any bytes as the secret */
  char *tok = NULL;
  GS_CHECK_INT(gs_jwt_sign("HS384", "k\0y", 3, NULL, "{\"a\":1}", &tok), 0);
  GS_CHECK_INT(gs_jwt_verify_key(tok, "HS384", "k\0y", 3, NULL, NULL, 0), 0);
  GS_CHECK_INT(gs_jwt_verify_key(tok, "HS384", "k", 1, NULL, NULL, 0), GS_EAUTH);
  GS_CHECK_INT(gs_jwt_verify_key(tok, "HS256", "k\0y", 3, NULL, NULL, 0), GS_EAUTH);
  free(tok);
}

static void test_refusals(void) {
  char *priv = NULL, *pub = NULL, *tok = NULL;
  char err[200];
  GS_CHECK_INT(gs_jwt_keygen("RS256", &priv, &pub), 0);
  /* alg confusion: an HS256 token whose secret is the RSA public key PEM */
  GS_CHECK_INT(gs_jwt_sign("HS256", pub, strlen(pub), NULL, CLAIMS, &tok), 0);
  GS_CHECK_INT(gs_jwt_verify_key(tok, "RS256", pub, strlen(pub), NULL, err, sizeof err), GS_EAUTH);
  GS_CHECK_STR(err, "Invalid token: The specified alg value is not allowed (only RS256)");
  free(tok);
  /* alg none, empty signature */
  const char *none = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJjMSJ9.";
  GS_CHECK_INT(gs_jwt_verify_key(none, "RS256", pub, strlen(pub), NULL, err, sizeof err), GS_EAUTH);
  /* garbage */
  GS_CHECK_INT(gs_jwt_verify_key("a.b", "RS256", pub, strlen(pub), NULL, err, sizeof err),
               GS_EAUTH);
  GS_CHECK_STR(err, "Invalid token: Not enough segments");
  GS_CHECK_INT(gs_jwt_verify_key("!!.??.", "RS256", pub, strlen(pub), NULL, err, sizeof err),
               GS_EAUTH);
  /* bad arguments */
  GS_CHECK_INT(gs_jwt_sign("none", "k", 1, NULL, "{}", &tok), GS_EINVAL);
  GS_CHECK(tok == NULL);
  GS_CHECK_INT(gs_jwt_sign("RS256", "not a pem", 9, NULL, "{}", &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sign("ES256", priv, strlen(priv), NULL, "{}", &tok), GS_EINVAL); /* RSA key */
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, strlen(priv), NULL, "[1]", &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, strlen(priv), NULL, "{\"a\":", &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, strlen(priv), "{\"alg\":\"none\"}", "{}", &tok),
               GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, strlen(priv), "{\"typ\":\"x\"}", "{}", &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, 0, NULL, "{}", &tok), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, strlen(priv), NULL, NULL, &tok), GS_EINVAL);
  GS_CHECK(tok == NULL);
  GS_CHECK_INT(gs_jwt_verify_key(NULL, "RS256", pub, strlen(pub), NULL, err, sizeof err),
               GS_EINVAL);
  GS_CHECK_INT(gs_jwt_verify_key("a.b.c", "none", pub, strlen(pub), NULL, err, sizeof err),
               GS_EINVAL);
  GS_CHECK_INT(gs_jwt_alg_supported("ES512"), 1);
  GS_CHECK_INT(gs_jwt_alg_supported("none"), 0);
  GS_CHECK_INT(gs_jwt_alg_supported("PS256"), 0);
  /* an empty claims object signs */
  GS_CHECK_INT(gs_jwt_sign("RS256", priv, strlen(priv), "{}", "{}", &tok), 0);
  GS_CHECK_INT(gs_jwt_verify_key(tok, "RS256", pub, strlen(pub), NULL, NULL, 0), 0);
  free(tok);
  free(priv);
  free(pub);
}

static void test_raw_helpers(void) {
  unsigned char md[32];
  GS_CHECK_INT(gs_jwt_sha256("abc", 3, md), 0);
  GS_CHECK(md[0] == 0xba && md[1] == 0x78 && md[31] == 0xad);
  /* RFC 7636 appendix B: S256 of the example verifier */
  const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  GS_CHECK_INT(gs_jwt_sha256(verifier, strlen(verifier), md), 0);
  char challenge[64];
  gs_base64_encode(md, 32, GS_BASE64_URL, challenge);
  GS_CHECK_STR(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  unsigned char a[32] = {0}, b[32] = {0};
  GS_CHECK_INT(gs_jwt_random(a, sizeof a), 0);
  GS_CHECK_INT(gs_jwt_random(b, sizeof b), 0);
  GS_CHECK(memcmp(a, b, sizeof a) != 0);
  GS_CHECK_INT(gs_jwt_random(NULL, 0), 0);
  GS_CHECK_INT(gs_jwt_random(NULL, 1), GS_EINVAL);
  GS_CHECK_INT(gs_jwt_sha256(NULL, 1, md), GS_EINVAL);
}

int main(void) {
  GS_RUN(test_keygen);
  GS_RUN(test_sign_verify);
  GS_RUN(test_refusals);
  GS_RUN(test_raw_helpers);
  return gs_test_report();
}
