/*
 * voucher_num.h - voucher numbers: 16 digits = issuer prefix + random digits
 * from a CSPRNG + a Luhn check digit.
 *
 * Contract:
 *  - The random digits are drawn uniformly (bytes >= 250 are rejected, so
 *    byte % 10 has no bias) from the caller's generator (crypto_rng_fill
 *    over a seeded struct crypto_rng in production).
 *  - This module does not know which numbers exist: uniqueness is the
 *    registry's (it retries on a number already issued).
 *  - Numbers are secrets of their holders: never log one whole (gl_mask_pan).
 */
#ifndef VOUCHER_NUM_H
#define VOUCHER_NUM_H

#include <stddef.h>

#include "crypto.h"

#define VOUCHER_NUM_LEN 16
#define VOUCHER_PREFIX_MAX 10 /* leaves at least 5 random digits */

/* 1 when prefix is 1..VOUCHER_PREFIX_MAX ASCII digits, else 0. */
int voucher_num_prefix_valid(const char *prefix);

/*
 * Writes a new number with the given prefix into out (17 bytes, caller's,
 * NUL-terminated).  Returns GL_OK, GL_EINVAL (bad prefix) or GL_CRYPTO (the
 * generator failed; out is then "").
 */
int voucher_num_generate(crypto_rng_fn f_rng, void *p_rng, const char *prefix,
                         char out[VOUCHER_NUM_LEN + 1]);

/* The Luhn check digit ('0'..'9') that completes digits[0..n). */
char voucher_num_luhn_digit(const char *digits, size_t n);

/* 1 when num is exactly 16 ASCII digits with a valid Luhn check digit. */
int voucher_num_valid(const char *num);

#endif /* VOUCHER_NUM_H */
