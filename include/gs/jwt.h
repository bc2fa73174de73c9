/* HS256 JSON Web Tokens as gofr-dig mints and checks them (libjwt for the
 * signature, OpenSSL for random bytes and SHA-256).
 *
 * Minted tokens carry the claims of gofr-common's AuthService: jti (a random
 * UUID4 string), groups (order kept: the first is the primary group), iat,
 * nbf, exp and, when an audience is given, aud. libjwt writes header and
 * claims with sorted keys: {"alg":"HS256","typ":"JWT"}.
 *
 * Verification follows gofr-dig (PyJWT with algorithms=["HS256"]): only
 * HS256 is accepted, and the header's alg is checked here, by name, before
 * libjwt sees the token (so "none", HS384/512, RS256 ... never reach it);
 * then the signature (libjwt), then iat and nbf (refused when later than
 * now + leeway), exp (refused when exp <= now - leeway), a non-empty string
 * jti, a non-empty array of strings groups, and aud (when an audience is
 * given and the token has an aud claim, it must be that string; a token
 * without aud is accepted, as gofr-dig does). iat, nbf and exp are optional
 * but must be numbers when present. Header and claims are parsed by a strict
 * JSON reader (UTF-8, no \u0000, integers within 64 bits, duplicated
 * alg/typ/iat/nbf/exp/jti/groups/aud refused; names and the values of alg,
 * typ and aud are compared decoded, whatever their escaping). Refusal
 * reasons use gofr-dig's wording ("Token has expired", "Token not yet
 * valid", "Token audience mismatch", "Invalid token: Signature verification
 * failed", ...), so a stand-in server can answer with them.
 *
 * No function keeps a pointer to its arguments. Every string handed out is
 * malloc'd, NUL-terminated and owned by the caller, who frees it with free().
 * On failure every out pointer is set to NULL. */
#ifndef GS_JWT_H
#define GS_JWT_H

#include <stddef.h>
#include <stdint.h>

/* Longer tokens are refused without being decoded. */
#define GS_JWT_MAX_TOKEN 65536
/* Upper bounds for gs_jwt_mint: number of groups, and bytes of the claims. */
#define GS_JWT_MAX_GROUPS 1024
#define GS_JWT_MAX_CLAIMS 32768

/* Mints an HS256 token: iat = now, nbf = now + nbf_offset,
 * exp = now + ttl_seconds (a negative ttl gives an already-expired token),
 * aud = audience (NULL: no aud claim). groups[0..ngroups) are copied in
 * order (ngroups may be 0: "groups":[]); strings must be valid UTF-8.
 * *out_token: the token (caller frees).
 * Returns 0, GS_EINVAL (NULL or empty secret, secret longer than INT_MAX,
 * a NULL or non-UTF-8 string, too many or too long groups, a time outside
 * 64 bits), GS_ENOMEM, or GS_EIO (no random bytes). */
int gs_jwt_mint(const void *secret, size_t secret_len, const char *const *groups, size_t ngroups,
                int64_t ttl_seconds, int64_t nbf_offset, const char *audience, int64_t now,
                char **out_token);

/* Verifies `token` (NUL-terminated) as described above at time `now`
 * (epoch seconds), with `leeway` seconds (>= 0; gofr-dig uses 0) of
 * tolerance. audience NULL: aud is not checked. On success *out_claims_json
 * (may be NULL if not wanted) is the claims object exactly as signed (caller
 * frees). Returns 0; GS_EAUTH when the token is refused, with the reason in
 * errbuf; GS_EINVAL for a NULL token or secret, an empty secret or a
 * negative leeway; GS_ENOMEM. errbuf (errlen bytes, may be NULL/0) always
 * receives a NUL-terminated message on failure and "" on success. */
int gs_jwt_verify(const char *token, const void *secret, size_t secret_len, const char *audience,
                  int64_t now, int64_t leeway, char **out_claims_json, char *errbuf, size_t errlen);

/* Decodes a token without verifying anything but its shape: exactly three
 * dot-separated base64url segments (the signature may be empty), header and
 * claims each a JSON object. *header_json and *claims_json (either may be
 * NULL if not wanted) receive the decoded JSON texts (caller frees).
 * Returns 0, GS_EINVAL (not such a token, or NULL), or GS_ENOMEM. Never
 * reads past the terminating NUL, whatever the input. */
int gs_jwt_decode(const char *token, char **header_json, char **claims_json);

/* A random (RFC 4122 version 4) UUID, lower-case, 8-4-4-4-12, into out[37].
 * Returns 0 or GS_EIO when OpenSSL has no random bytes. */
int gs_jwt_uuid4(char out[37]);

/* The SHA-256 of data[0..len) as 64 lower-case hex digits, into out[65].
 * Returns 0 or GS_ENOMEM. */
int gs_jwt_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- any algorithm (OAuth client assertions, test servers) ---------------
 *
 * alg is one of HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384,
 * ES512 (never "none"). For HS* the key is the secret's bytes; for RS* and
 * ES* it is a PEM private key (signing) or a PEM public key (verifying).
 * ES* signatures are the JWS form (R || S), as libjwt writes them. */

/* 1 when alg is one of the names above, else 0. */
int gs_jwt_alg_supported(const char *alg);

/* Signs claims_json (a JSON object, at most GS_JWT_MAX_CLAIMS bytes) with
 * alg and key. header_json (NULL: none) adds header members such as "kid";
 * it must be a JSON object without "alg" or "typ" (libjwt writes
 * {"alg":...,"typ":"JWT"}). Keys are written sorted. *out_token: the token
 * (caller frees). Returns 0; GS_EINVAL (an unknown alg, an empty key, JSON
 * that is not an object, a key that is not a private key of that kind);
 * GS_ENOMEM. */
int gs_jwt_sign(const char *alg, const void *key, size_t key_len, const char *header_json,
                const char *claims_json, char **out_token);

/* Checks the signature of `token` made with alg: the header's alg must be
 * exactly alg (checked by name before libjwt sees the token), then libjwt
 * verifies it with key. No claim is checked: *out_claims_json (may be NULL
 * if not wanted) is the claims object as signed (caller frees), for the
 * caller's own exp/aud/iss checks. Returns 0; GS_EAUTH with the reason in
 * errbuf; GS_EINVAL (NULL token, unknown alg, empty key); GS_ENOMEM. */
int gs_jwt_verify_key(const char *token, const char *alg, const void *key, size_t key_len,
                      char **out_claims_json, char *errbuf, size_t errlen);

/* A new key pair for alg: RSA 2048 bits for RS*, P-256 / P-384 / P-521 for
 * ES256 / ES384 / ES512. *out_private_pem (PKCS#8) and *out_public_pem
 * (SubjectPublicKeyInfo) are PEM texts (caller frees both). Returns 0,
 * GS_EINVAL (not an RS or ES alg), GS_EIO (OpenSSL failed), GS_ENOMEM. */
int gs_jwt_keygen(const char *alg, char **out_private_pem, char **out_public_pem);

/* The SHA-256 of data[0..len) into out[32] (PKCE S256). Returns 0,
 * GS_EINVAL or GS_ENOMEM. */
int gs_jwt_sha256(const void *data, size_t len, unsigned char out[32]);

/* n cryptographically random bytes into buf (PKCE verifiers, state).
 * Returns 0, GS_EINVAL (n > INT_MAX) or GS_EIO. */
int gs_jwt_random(void *buf, size_t n);

#endif
