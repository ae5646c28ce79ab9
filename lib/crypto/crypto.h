/*
 * crypto.h - the cryptographic primitives of giftlink.
 *
 * lib/crypto is the only module that calls mbedTLS's crypto primitives (AES,
 * DES, CMAC, SHA-256/HMAC, CTR-DRBG, entropy), so that a move from mbedTLS
 * 2.28 to 3.x stays inside it.  This header holds what everything else in
 * the module builds on:
 *  - the key types of ANSI X9.24-3 (their numbers are the standard's
 *    algorithm indicators),
 *  - a random generator (CTR-DRBG seeded from the platform's entropy) whose
 *    fill function also fits mbedtls_ssl_conf_rng(),
 *  - AES-CMAC (RFC 4493) and the ISO 9797-1 MAC algorithm 3 (the retail MAC
 *    of ANSI X9.19) with padding method 1,
 *  - constant-time comparison, wiping, and hex conversion for key files.
 *
 * Every function takes caller-owned buffers and allocates nothing.  Every
 * function that holds key material on its stack wipes it before returning.
 * Errors are codes of gl_err.h: GL_KEY_LENGTH for a key of the wrong size,
 * GL_CRYPTO when mbedTLS fails (which does not happen for valid keys).
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

/* Key types, numbered as the algorithm indicator of X9.24-3 derivation
 * data.  CRYPTO_KEY_TDES2 is the double-length (16-byte, K1 K2 K1) key of
 * X9.24-1 DUKPT and of ISO 9564 formats 0 and 3. */
enum crypto_key_type {
    CRYPTO_KEY_TDES2 = 0,  /* 16 bytes */
    CRYPTO_KEY_TDES3 = 1,  /* 24 bytes */
    CRYPTO_KEY_AES128 = 2, /* 16 bytes */
    CRYPTO_KEY_AES192 = 3, /* 24 bytes */
    CRYPTO_KEY_AES256 = 4, /* 32 bytes */
};

#define CRYPTO_KEY_MAX 32 /* bytes of the longest key */

/* Bytes of a key of type t; 0 for a value outside the enum. */
size_t crypto_key_len(enum crypto_key_type t);
/* "aes128", "aes192", "aes256", "tdes2", "tdes3"; "" for anything else. */
const char *crypto_key_type_name(enum crypto_key_type t);
/* The reverse of crypto_key_type_name ("tdes" is accepted for tdes2):
 * GL_OK with *t set, or GL_EINVAL. */
int crypto_key_type_parse(const char *name, enum crypto_key_type *t);

/* ---- random numbers ------------------------------------------------------ */

/* A random generator that fits mbedTLS's f_rng/p_rng convention: fill
 * buf[len] with random bytes, return 0 on success, non-zero on failure.
 * crypto_rng_fill is one; tests pass their own to get fixed fill bytes. */
typedef int (*crypto_rng_fn)(void *ctx, unsigned char *buf, size_t len);

/* CTR-DRBG (AES-256) seeded from the platform entropy source.  Caller owns
 * the struct; one per thread. */
struct crypto_rng {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    int ready;
};

/*
 * Seeds rng.  pers (may be NULL) is a personalisation string: the program's
 * name is a good one.  Returns GL_OK or GL_CRYPTO (no entropy).  Call
 * crypto_rng_deinit on every rng that was passed here, even on failure.
 */
int crypto_rng_init(struct crypto_rng *rng, const char *pers);
void crypto_rng_deinit(struct crypto_rng *rng);
/* Fills buf[len]; ctx is a struct crypto_rng *.  Returns 0 or an mbedTLS
 * error (never for a seeded generator in practice); usable as
 * mbedtls_ssl_conf_rng(conf, crypto_rng_fill, &rng). */
int crypto_rng_fill(void *ctx, unsigned char *buf, size_t len);
/* Fills buf[len] through f_rng: GL_OK or GL_CRYPTO. */
int crypto_random(crypto_rng_fn f_rng, void *p_rng, uint8_t *buf, size_t len);

/* ---- MACs ---------------------------------------------------------------- */

#define CRYPTO_CMAC_LEN 16
#define CRYPTO_RETAIL_MAC_LEN 8

/* AES-CMAC (RFC 4493) of msg[len] under an AES key of 16, 24 or 32 bytes
 * into out[16].  GL_OK, GL_KEY_LENGTH, GL_CRYPTO. */
int crypto_cmac_aes(const uint8_t *key, size_t key_len, const void *msg,
                    size_t len, uint8_t out[CRYPTO_CMAC_LEN]);

/*
 * ISO 9797-1 MAC algorithm 3 with padding method 1 (zeros to a whole block,
 * an empty message becomes one block of zeros), which is the ANSI X9.19
 * retail MAC: single-DES CBC under the key's left half, then the last block
 * decrypted under the right half and encrypted under the left again.
 * key: 16 bytes.  out[8]; users that send 4 bytes send out[0..3].
 */
int crypto_mac_retail(const uint8_t key[16], const void *msg, size_t len,
                      uint8_t out[CRYPTO_RETAIL_MAC_LEN]);

/* ---- block ciphers (single blocks, for callers that need one) ------------ */

/* TDES-ECB of one 8-byte block under a 16- or 24-byte key.  in may equal
 * out.  GL_OK, GL_KEY_LENGTH, GL_CRYPTO. */
int crypto_tdes_ecb(const uint8_t *key, size_t key_len, int encrypt,
                    const uint8_t in[8], uint8_t out[8]);
/* AES-ECB of one 16-byte block under a 16-, 24- or 32-byte key. */
int crypto_aes_ecb(const uint8_t *key, size_t key_len, int encrypt,
                   const uint8_t in[16], uint8_t out[16]);

/* ---- keyed hash ---------------------------------------------------------- */

#define CRYPTO_HMAC_LEN 32

/* HMAC-SHA-256 of the concatenation a[alen] || b[blen] (either may be
 * empty) under key[key_len] into out[32].  GL_OK or GL_CRYPTO. */
int crypto_hmac_sha256(const uint8_t *key, size_t key_len, const void *a,
                       size_t alen, const void *b, size_t blen,
                       uint8_t out[CRYPTO_HMAC_LEN]);

/* ---- helpers ------------------------------------------------------------- */

/* 1 when a[n] equals b[n], 0 otherwise; time depends on n only. */
int crypto_ct_equal(const void *a, const void *b, size_t n);
/* Overwrites buf[len] with zeros in a way the compiler keeps. */
void crypto_wipe(void *buf, size_t len);

/* Upper-case hex of in[n] into out (2n + 1 bytes, NUL-terminated). */
void crypto_hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2n hex digits (either case) of hex[hex_len] into out[n]:
 * GL_OK, or GL_EINVAL for a wrong length or a non-hex character. */
int crypto_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t n);

#endif /* CRYPTO_H */
