/*
 * voucher_num.c - voucher numbers (contract in voucher_num.h).
 */
#include "voucher_num.h"

#include <string.h>

#include "gl_err.h"

int voucher_num_prefix_valid(const char *prefix)
{
    size_t n = prefix != NULL ? strlen(prefix) : 0;
    if (n < 1 || n > VOUCHER_PREFIX_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (prefix[i] < '0' || prefix[i] > '9') {
            return 0;
        }
    }
    return 1;
}

char voucher_num_luhn_digit(const char *digits, size_t n)
{
    /* Doubling starts at the rightmost digit of the payload, since the
     * check digit will stand to its right. */
    int sum = 0, dbl = 1;
    for (size_t i = n; i-- > 0;) {
        int d = digits[i] - '0';
        if (dbl) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
        dbl = !dbl;
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

int voucher_num_valid(const char *num)
{
    if (num == NULL || strlen(num) != VOUCHER_NUM_LEN) {
        return 0;
    }
    for (size_t i = 0; i < VOUCHER_NUM_LEN; i++) {
        if (num[i] < '0' || num[i] > '9') {
            return 0;
        }
    }
    return voucher_num_luhn_digit(num, VOUCHER_NUM_LEN - 1) ==
           num[VOUCHER_NUM_LEN - 1];
}

int voucher_num_generate(crypto_rng_fn f_rng, void *p_rng, const char *prefix,
                         char out[VOUCHER_NUM_LEN + 1])
{
    unsigned char buf[32];
    size_t pos, used = sizeof buf;
    int rc = GL_OK;

    out[0] = '\0';
    if (!voucher_num_prefix_valid(prefix)) {
        return GL_EINVAL;
    }
    pos = strlen(prefix);
    memcpy(out, prefix, pos);
    while (pos < VOUCHER_NUM_LEN - 1) {
        if (used == sizeof buf) {
            rc = crypto_random(f_rng, p_rng, buf, sizeof buf);
            if (rc != GL_OK) {
                goto out;
            }
            used = 0;
        }
        unsigned char b = buf[used++];
        if (b < 250) {
            out[pos++] = (char)('0' + b % 10);
        }
    }
    out[pos] = voucher_num_luhn_digit(out, pos);
    out[pos + 1] = '\0';
out:
    crypto_wipe(buf, sizeof buf);
    if (rc != GL_OK) {
        out[0] = '\0';
    }
    return rc;
}
