/*
 * crypto_pinblock.h - ISO 9564-1 PIN blocks.
 *
 * Formats: 0 (PIN XOR PAN, fill F, TDES), 3 (PIN XOR PAN, random fill
 * A..F, TDES) and 4 (AES: PIN field with fill A and 8 random bytes,
 * enciphered, XORed with the PAN field, enciphered again).
 *
 * The device builds and encrypts a block in one call; the host decrypts,
 * checks the format and either compares the PIN with an expected one in
 * constant time or returns a keyed hash of it.  The clear PIN exists only
 * inside these functions, in stack buffers wiped before they return.
 *
 * PAN: the account (voucher) number, 1..19 digits.  Formats 0 and 3 use its
 * 12 rightmost digits without the check digit; format 4 uses all of it.
 * PIN: 4..12 digits.
 */
#ifndef CRYPTO_PINBLOCK_H
#define CRYPTO_PINBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

enum crypto_pin_format {
    CRYPTO_PIN_FMT0 = 0,
    CRYPTO_PIN_FMT3 = 3,
    CRYPTO_PIN_FMT4 = 4,
};

#define CRYPTO_PINBLOCK_TDES_LEN 8
#define CRYPTO_PINBLOCK_AES_LEN 16
#define CRYPTO_PIN_MIN 4
#define CRYPTO_PIN_MAX 12

/* ---- device side --------------------------------------------------------- */

/*
 * Builds the format 0 block of pin and pan and encrypts it (TDES-ECB) under
 * key[key_len] (16 or 24 bytes) into out[8].
 * Returns GL_OK, GL_PIN_LENGTH, GL_EINVAL (a non-digit, a PAN of 0 or more
 * than 19 digits), GL_KEY_LENGTH.
 */
int crypto_pinblock_f0_encrypt(const uint8_t *key, size_t key_len,
                               const char *pin, const char *pan,
                               uint8_t out[CRYPTO_PINBLOCK_TDES_LEN]);

/* Format 3: as format 0 with fill nibbles A..F drawn from f_rng. */
int crypto_pinblock_f3_encrypt(const uint8_t *key, size_t key_len,
                               const char *pin, const char *pan,
                               crypto_rng_fn f_rng, void *p_rng,
                               uint8_t out[CRYPTO_PINBLOCK_TDES_LEN]);

/* Format 4 under an AES key of 16, 24 or 32 bytes, 8 random fill bytes
 * from f_rng, into out[16]. */
int crypto_pinblock_f4_encrypt(const uint8_t *key, size_t key_len,
                               const char *pin, const char *pan,
                               crypto_rng_fn f_rng, void *p_rng,
                               uint8_t out[CRYPTO_PINBLOCK_AES_LEN]);

/* ---- host side ----------------------------------------------------------- */

/* An encrypted PIN block as received; every pointer borrows. */
struct crypto_pinblock {
    enum crypto_pin_format fmt;
    const uint8_t *key; /* TDES (formats 0, 3) or AES (format 4) */
    size_t key_len;
    const uint8_t *block; /* 8 bytes (formats 0, 3) or 16 (format 4) */
    const char *pan;
};

/*
 * Decrypts pb, checks its format and compares its PIN with expected_pin in
 * constant time (the time does not depend on where the PINs differ).
 * Returns GL_OK when they are equal, GL_PIN_MISMATCH when not,
 * GL_PINBLOCK_FORMAT (wrong control nibble, a PIN digit above 9, a wrong
 * fill, which is also what a wrong key or PAN gives),
 * GL_PIN_LENGTH (length nibble outside 4..12), GL_EINVAL, GL_KEY_LENGTH.
 */
int crypto_pinblock_verify(const struct crypto_pinblock *pb,
                           const char *expected_pin);

/*
 * Decrypts pb, checks its format and writes HMAC-SHA-256 under
 * hkey[hkey_len] of salt[salt_len] || the PIN's digits into out[32]: the
 * host stores and compares (crypto_ct_equal) only such hashes.  Returns
 * as crypto_pinblock_verify, without GL_PIN_MISMATCH.
 */
int crypto_pinblock_hmac(const struct crypto_pinblock *pb, const uint8_t *hkey,
                         size_t hkey_len, const void *salt, size_t salt_len,
                         uint8_t out[CRYPTO_HMAC_LEN]);

/* The same hash from a clear PIN (4..12 digits), for setting a PIN:
 * GL_OK, GL_PIN_LENGTH, GL_EINVAL. */
int crypto_pin_hmac(const uint8_t *hkey, size_t hkey_len, const void *salt,
                    size_t salt_len, const char *pin,
                    uint8_t out[CRYPTO_HMAC_LEN]);

#endif /* CRYPTO_PINBLOCK_H */
