/*
 * crypto_pinblock.c - ISO 9564-1 formats 0, 3 and 4.
 *
 * Blocks are handled as nibble arrays; every buffer that held a clear PIN
 * field is wiped on every path (the `out` label of each function).
 */
#include "crypto_pinblock.h"

#include <string.h>

#include <mbedtls/platform_util.h>

#include "gl_err.h"

#define PAN_MAX 19

static void put_nib(uint8_t *b, int i, unsigned v)
{
    b[i / 2] |= (uint8_t)((v & 0x0f) << ((i % 2) ? 0 : 4));
}

static unsigned get_nib(const uint8_t *b, int i)
{
    return (b[i / 2] >> ((i % 2) ? 0 : 4)) & 0x0f;
}

/* Length of a digit string of at most max digits: the length, GL_EINVAL
 * for a non-digit or too many, 0 for an empty one. */
static int digits_len(const char *s, size_t max)
{
    size_t n = 0;

    if (s == NULL) {
        return GL_EINVAL;
    }
    for (; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= max) {
            return GL_EINVAL;
        }
    }
    return (int)n;
}

static int pin_check(const char *pin)
{
    int n = digits_len(pin, 64);

    if (n < 0) {
        return n;
    }
    if (n < CRYPTO_PIN_MIN || n > CRYPTO_PIN_MAX) {
        return GL_PIN_LENGTH;
    }
    return n;
}

static int pan_check(const char *pan)
{
    int n = digits_len(pan, PAN_MAX);

    return n == 0 ? GL_EINVAL : n;
}

/* The PAN block of formats 0 and 3: 0000 and the 12 rightmost digits
 * without the check digit, padded with zeros on the left. */
static void pan_block_tdes(const char *pan, int pan_len, uint8_t out[8])
{
    int avail = pan_len - 1; /* digits before the check digit */

    memset(out, 0, 8);
    for (int i = 0; i < 12; i++) {
        int src = avail - 12 + i;
        if (src >= 0) {
            put_nib(out, 4 + i, (unsigned)(pan[src] - '0'));
        }
    }
}

/* The PAN field of format 4: M = length - 12 (0 below 12 digits), the PAN
 * (right-justified in 12 digits when shorter), zeros. */
static void pan_field_aes(const char *pan, int pan_len, uint8_t out[16])
{
    int m = pan_len > 12 ? pan_len - 12 : 0,
        lead = pan_len < 12 ? 12 - pan_len : 0;

    memset(out, 0, 16);
    put_nib(out, 0, (unsigned)m);
    for (int i = 0; i < pan_len; i++) {
        put_nib(out, 1 + lead + i, (unsigned)(pan[i] - '0'));
    }
}

/* Random nibbles 0xA..0xF, uniformly (bytes >= 252 are redrawn). */
static int random_fill_nibbles(crypto_rng_fn f_rng, void *p_rng, uint8_t *b,
                               int from, int to)
{
    uint8_t r[16];
    size_t used = sizeof r;
    int rc = GL_OK;

    for (int i = from; i < to && rc == GL_OK;) {
        if (used == sizeof r) {
            rc = crypto_random(f_rng, p_rng, r, sizeof r);
            used = 0;
            continue;
        }
        uint8_t v = r[used++];
        if (v < 252) {
            put_nib(b, i, 10u + v % 6u);
            i++;
        }
    }
    mbedtls_platform_zeroize(r, sizeof r);
    return rc;
}

/* Formats 0 and 3 share everything but the fill. */
static int tdes_encrypt(int fmt, const uint8_t *key, size_t key_len,
                        const char *pin, const char *pan, crypto_rng_fn f_rng,
                        void *p_rng, uint8_t out[8])
{
    uint8_t clear[8], panb[8];
    int n, pan_len, rc;

    n = pin_check(pin);
    pan_len = pan_check(pan);
    if (n < 0 || pan_len < 0) {
        return n < 0 ? n : pan_len;
    }
    if (key_len != 16 && key_len != 24) {
        return GL_KEY_LENGTH;
    }
    memset(clear, 0, sizeof clear);
    put_nib(clear, 0, (unsigned)fmt);
    put_nib(clear, 1, (unsigned)n);
    for (int i = 0; i < n; i++) {
        put_nib(clear, 2 + i, (unsigned)(pin[i] - '0'));
    }
    if (fmt == CRYPTO_PIN_FMT0) {
        for (int i = 2 + n; i < 16; i++) {
            put_nib(clear, i, 0x0f);
        }
        rc = GL_OK;
    } else {
        rc = random_fill_nibbles(f_rng, p_rng, clear, 2 + n, 16);
    }
    if (rc != GL_OK) {
        goto out;
    }
    pan_block_tdes(pan, pan_len, panb);
    for (int i = 0; i < 8; i++) {
        clear[i] ^= panb[i];
    }
    rc = crypto_tdes_ecb(key, key_len, 1, clear, out);
out:
    mbedtls_platform_zeroize(clear, sizeof clear);
    mbedtls_platform_zeroize(panb, sizeof panb);
    return rc;
}

int crypto_pinblock_f0_encrypt(const uint8_t *key, size_t key_len,
                               const char *pin, const char *pan,
                               uint8_t out[CRYPTO_PINBLOCK_TDES_LEN])
{
    return tdes_encrypt(CRYPTO_PIN_FMT0, key, key_len, pin, pan, NULL, NULL,
                        out);
}

int crypto_pinblock_f3_encrypt(const uint8_t *key, size_t key_len,
                               const char *pin, const char *pan,
                               crypto_rng_fn f_rng, void *p_rng,
                               uint8_t out[CRYPTO_PINBLOCK_TDES_LEN])
{
    if (f_rng == NULL) {
        return GL_EINVAL;
    }
    return tdes_encrypt(CRYPTO_PIN_FMT3, key, key_len, pin, pan, f_rng, p_rng,
                        out);
}

int crypto_pinblock_f4_encrypt(const uint8_t *key, size_t key_len,
                               const char *pin, const char *pan,
                               crypto_rng_fn f_rng, void *p_rng,
                               uint8_t out[CRYPTO_PINBLOCK_AES_LEN])
{
    uint8_t field[16], panf[16], a[16];
    int n, pan_len, rc;

    n = pin_check(pin);
    pan_len = pan_check(pan);
    if (n < 0 || pan_len < 0) {
        return n < 0 ? n : pan_len;
    }
    if (key_len != 16 && key_len != 24 && key_len != 32) {
        return GL_KEY_LENGTH;
    }
    if (f_rng == NULL) {
        return GL_EINVAL;
    }
    memset(field, 0, sizeof field);
    put_nib(field, 0, CRYPTO_PIN_FMT4);
    put_nib(field, 1, (unsigned)n);
    for (int i = 0; i < n; i++) {
        put_nib(field, 2 + i, (unsigned)(pin[i] - '0'));
    }
    for (int i = 2 + n; i < 16; i++) {
        put_nib(field, i, 0x0a);
    }
    rc = crypto_random(f_rng, p_rng, field + 8, 8);
    if (rc != GL_OK) {
        goto out;
    }
    pan_field_aes(pan, pan_len, panf);
    rc = crypto_aes_ecb(key, key_len, 1, field, a);
    if (rc != GL_OK) {
        goto out;
    }
    for (int i = 0; i < 16; i++) {
        a[i] ^= panf[i];
    }
    rc = crypto_aes_ecb(key, key_len, 1, a, out);
out:
    mbedtls_platform_zeroize(field, sizeof field);
    mbedtls_platform_zeroize(panf, sizeof panf);
    mbedtls_platform_zeroize(a, sizeof a);
    return rc;
}

/* ---- host side ----------------------------------------------------------- */

/*
 * Decrypts pb into the PIN's digits: pin[0..*pin_len) as ASCII digits
 * (pin has room for CRYPTO_PIN_MAX).  The caller wipes pin.
 */
static int pinblock_open(const struct crypto_pinblock *pb,
                         char pin[CRYPTO_PIN_MAX], int *pin_len)
{
    uint8_t clear[16], tmp[16];
    unsigned fill_lo, fill_hi, v;
    int n, pan_len, rc;

    *pin_len = 0;
    pan_len = pan_check(pb->pan);
    if (pan_len < 0 || pb->block == NULL || pb->key == NULL) {
        return GL_EINVAL;
    }
    memset(clear, 0, sizeof clear);
    memset(tmp, 0, sizeof tmp);
    switch (pb->fmt) {
    case CRYPTO_PIN_FMT0:
    case CRYPTO_PIN_FMT3:
        if (pb->key_len != 16 && pb->key_len != 24) {
            rc = GL_KEY_LENGTH;
            goto out;
        }
        rc = crypto_tdes_ecb(pb->key, pb->key_len, 0, pb->block, clear);
        if (rc != GL_OK) {
            goto out;
        }
        pan_block_tdes(pb->pan, pan_len, tmp);
        for (int i = 0; i < 8; i++) {
            clear[i] ^= tmp[i];
        }
        fill_lo = pb->fmt == CRYPTO_PIN_FMT0 ? 0x0f : 0x0a;
        fill_hi = 0x0f;
        break;
    case CRYPTO_PIN_FMT4:
        if (pb->key_len != 16 && pb->key_len != 24 && pb->key_len != 32) {
            rc = GL_KEY_LENGTH;
            goto out;
        }
        rc = crypto_aes_ecb(pb->key, pb->key_len, 0, pb->block, tmp);
        if (rc != GL_OK) {
            goto out;
        }
        pan_field_aes(pb->pan, pan_len, clear);
        for (int i = 0; i < 16; i++) {
            tmp[i] ^= clear[i];
        }
        rc = crypto_aes_ecb(pb->key, pb->key_len, 0, tmp, clear);
        if (rc != GL_OK) {
            goto out;
        }
        fill_lo = fill_hi = 0x0a;
        break;
    default:
        rc = GL_EINVAL;
        goto out;
    }
    rc = GL_PINBLOCK_FORMAT;
    if (get_nib(clear, 0) != (unsigned)pb->fmt) {
        goto out;
    }
    n = (int)get_nib(clear, 1);
    if (n < CRYPTO_PIN_MIN || n > CRYPTO_PIN_MAX) {
        rc = GL_PIN_LENGTH;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        v = get_nib(clear, 2 + i);
        if (v > 9) {
            goto out;
        }
        pin[i] = (char)('0' + v);
    }
    for (int i = 2 + n; i < 16; i++) {
        v = get_nib(clear, i);
        if (v < fill_lo || v > fill_hi) {
            goto out;
        }
    }
    *pin_len = n;
    rc = GL_OK;
out:
    mbedtls_platform_zeroize(clear, sizeof clear);
    mbedtls_platform_zeroize(tmp, sizeof tmp);
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(pin, CRYPTO_PIN_MAX);
    }
    return rc;
}

int crypto_pinblock_verify(const struct crypto_pinblock *pb,
                           const char *expected_pin)
{
    /* Both PINs as length + 12 digits, so the comparison covers the same
     * bytes whatever they hold. */
    char got[CRYPTO_PIN_MAX + 1], want[CRYPTO_PIN_MAX + 1];
    int got_len, want_len, rc;

    memset(got, 0, sizeof got);
    memset(want, 0, sizeof want);
    want_len = pin_check(expected_pin);
    if (want_len < 0) {
        rc = want_len;
        goto out;
    }
    rc = pinblock_open(pb, got + 1, &got_len);
    if (rc != GL_OK) {
        goto out;
    }
    got[0] = (char)got_len;
    want[0] = (char)want_len;
    memcpy(want + 1, expected_pin, (size_t)want_len);
    rc = crypto_ct_equal(got, want, sizeof got) ? GL_OK : GL_PIN_MISMATCH;
out:
    mbedtls_platform_zeroize(got, sizeof got);
    mbedtls_platform_zeroize(want, sizeof want);
    return rc;
}

int crypto_pinblock_hmac(const struct crypto_pinblock *pb, const uint8_t *hkey,
                         size_t hkey_len, const void *salt, size_t salt_len,
                         uint8_t out[CRYPTO_HMAC_LEN])
{
    char pin[CRYPTO_PIN_MAX];
    int pin_len, rc;

    rc = pinblock_open(pb, pin, &pin_len);
    if (rc == GL_OK) {
        rc = crypto_hmac_sha256(hkey, hkey_len, salt, salt_len, pin,
                                (size_t)pin_len, out);
    }
    mbedtls_platform_zeroize(pin, sizeof pin);
    return rc;
}

int crypto_pin_hmac(const uint8_t *hkey, size_t hkey_len, const void *salt,
                    size_t salt_len, const char *pin,
                    uint8_t out[CRYPTO_HMAC_LEN])
{
    int n = pin_check(pin);

    if (n < 0) {
        return n;
    }
    return crypto_hmac_sha256(hkey, hkey_len, salt, salt_len, pin, (size_t)n,
                              out);
}
