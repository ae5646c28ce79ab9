/*
 * crypto.c - primitives of crypto.h on mbedTLS 2.28.
 *
 * mbedTLS return codes are translated here, at the call edge, into
 * GL_CRYPTO; its contexts live on the stack and are freed (which wipes their
 * key schedules) on every path.
 */
#include "crypto.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/des.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "gl_err.h"

size_t crypto_key_len(enum crypto_key_type t)
{
    switch (t) {
    case CRYPTO_KEY_TDES2:
    case CRYPTO_KEY_AES128:
        return 16;
    case CRYPTO_KEY_TDES3:
    case CRYPTO_KEY_AES192:
        return 24;
    case CRYPTO_KEY_AES256:
        return 32;
    }
    return 0;
}

static const char *const key_type_names[] = {
    [CRYPTO_KEY_TDES2] = "tdes2",   [CRYPTO_KEY_TDES3] = "tdes3",
    [CRYPTO_KEY_AES128] = "aes128", [CRYPTO_KEY_AES192] = "aes192",
    [CRYPTO_KEY_AES256] = "aes256",
};

const char *crypto_key_type_name(enum crypto_key_type t)
{
    if ((unsigned)t >= sizeof key_type_names / sizeof key_type_names[0]) {
        return "";
    }
    return key_type_names[t];
}

int crypto_key_type_parse(const char *name, enum crypto_key_type *t)
{
    if (name == NULL) {
        return GL_EINVAL;
    }
    if (strcmp(name, "tdes") == 0) {
        *t = CRYPTO_KEY_TDES2;
        return GL_OK;
    }
    for (unsigned i = 0; i < sizeof key_type_names / sizeof key_type_names[0];
         i++) {
        if (strcmp(name, key_type_names[i]) == 0) {
            *t = (enum crypto_key_type)i;
            return GL_OK;
        }
    }
    return GL_EINVAL;
}

/* ---- random numbers ------------------------------------------------------ */

int crypto_rng_init(struct crypto_rng *rng, const char *pers)
{
    int rc;

    mbedtls_entropy_init(&rng->entropy);
    mbedtls_ctr_drbg_init(&rng->drbg);
    rng->ready = 1;
    rc = mbedtls_ctr_drbg_seed(&rng->drbg, mbedtls_entropy_func, &rng->entropy,
                               (const unsigned char *)pers,
                               pers != NULL ? strlen(pers) : 0);
    return rc == 0 ? GL_OK : GL_CRYPTO;
}

void crypto_rng_deinit(struct crypto_rng *rng)
{
    if (rng->ready) {
        mbedtls_ctr_drbg_free(&rng->drbg);
        mbedtls_entropy_free(&rng->entropy);
        rng->ready = 0;
    }
}

int crypto_rng_fill(void *ctx, unsigned char *buf, size_t len)
{
    struct crypto_rng *rng = ctx;
    size_t chunk;
    int rc;

    /* One CTR-DRBG request is limited to MBEDTLS_CTR_DRBG_MAX_REQUEST. */
    while (len > 0) {
        chunk = len < MBEDTLS_CTR_DRBG_MAX_REQUEST
                    ? len
                    : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        rc = mbedtls_ctr_drbg_random(&rng->drbg, buf, chunk);
        if (rc != 0) {
            return rc;
        }
        buf += chunk;
        len -= chunk;
    }
    return 0;
}

int crypto_random(crypto_rng_fn f_rng, void *p_rng, uint8_t *buf, size_t len)
{
    if (f_rng == NULL) {
        return GL_EINVAL;
    }
    return f_rng(p_rng, buf, len) == 0 ? GL_OK : GL_CRYPTO;
}

/* ---- MACs ---------------------------------------------------------------- */

int crypto_cmac_aes(const uint8_t *key, size_t key_len, const void *msg,
                    size_t len, uint8_t out[CRYPTO_CMAC_LEN])
{
    const mbedtls_cipher_info_t *info;
    mbedtls_cipher_type_t type;

    switch (key_len) {
    case 16:
        type = MBEDTLS_CIPHER_AES_128_ECB;
        break;
    case 24:
        type = MBEDTLS_CIPHER_AES_192_ECB;
        break;
    case 32:
        type = MBEDTLS_CIPHER_AES_256_ECB;
        break;
    default:
        return GL_KEY_LENGTH;
    }
    info = mbedtls_cipher_info_from_type(type);
    if (info == NULL) {
        return GL_CRYPTO;
    }
    /* mbedTLS wants a non-NULL input pointer even for an empty message. */
    if (mbedtls_cipher_cmac(info, key, key_len * 8,
                            len > 0 ? (const unsigned char *)msg
                                    : (const unsigned char *)"",
                            len, out) != 0) {
        return GL_CRYPTO;
    }
    return GL_OK;
}

int crypto_mac_retail(const uint8_t key[16], const void *msg, size_t len,
                      uint8_t out[CRYPTO_RETAIL_MAC_LEN])
{
    mbedtls_des_context k1, k2d;
    const uint8_t *p = msg;
    uint8_t block[8], chain[8];
    size_t off = 0, n;
    int rc = GL_CRYPTO;

    mbedtls_des_init(&k1);
    mbedtls_des_init(&k2d);
    memset(chain, 0, sizeof chain);
    if (mbedtls_des_setkey_enc(&k1, key) != 0 ||
        mbedtls_des_setkey_dec(&k2d, key + 8) != 0) {
        goto out;
    }
    /* Padding method 1: zeros up to a whole block; an empty message is
     * padded to one block. */
    do {
        n = len - off < 8 ? len - off : 8;
        memset(block, 0, sizeof block);
        if (n > 0) {
            memcpy(block, p + off, n);
        }
        for (int i = 0; i < 8; i++) {
            chain[i] ^= block[i];
        }
        if (mbedtls_des_crypt_ecb(&k1, chain, chain) != 0) {
            goto out;
        }
        off += n;
    } while (off < len);
    /* Output transformation 3: decrypt under K2, encrypt under K1. */
    if (mbedtls_des_crypt_ecb(&k2d, chain, chain) != 0 ||
        mbedtls_des_crypt_ecb(&k1, chain, out) != 0) {
        goto out;
    }
    rc = GL_OK;
out:
    mbedtls_des_free(&k1);
    mbedtls_des_free(&k2d);
    mbedtls_platform_zeroize(block, sizeof block);
    mbedtls_platform_zeroize(chain, sizeof chain);
    return rc;
}

/* ---- block ciphers ------------------------------------------------------- */

int crypto_tdes_ecb(const uint8_t *key, size_t key_len, int encrypt,
                    const uint8_t in[8], uint8_t out[8])
{
    mbedtls_des3_context ctx;
    int rc;

    if (key_len != 16 && key_len != 24) {
        return GL_KEY_LENGTH;
    }
    mbedtls_des3_init(&ctx);
    if (key_len == 16) {
        rc = encrypt ? mbedtls_des3_set2key_enc(&ctx, key)
                     : mbedtls_des3_set2key_dec(&ctx, key);
    } else {
        rc = encrypt ? mbedtls_des3_set3key_enc(&ctx, key)
                     : mbedtls_des3_set3key_dec(&ctx, key);
    }
    if (rc == 0) {
        rc = mbedtls_des3_crypt_ecb(&ctx, in, out);
    }
    mbedtls_des3_free(&ctx);
    return rc == 0 ? GL_OK : GL_CRYPTO;
}

int crypto_aes_ecb(const uint8_t *key, size_t key_len, int encrypt,
                   const uint8_t in[16], uint8_t out[16])
{
    mbedtls_aes_context ctx;
    int rc;

    if (key_len != 16 && key_len != 24 && key_len != 32) {
        return GL_KEY_LENGTH;
    }
    mbedtls_aes_init(&ctx);
    rc = encrypt ? mbedtls_aes_setkey_enc(&ctx, key, (unsigned)key_len * 8)
                 : mbedtls_aes_setkey_dec(&ctx, key, (unsigned)key_len * 8);
    if (rc == 0) {
        rc = mbedtls_aes_crypt_ecb(
            &ctx, encrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT, in, out);
    }
    mbedtls_aes_free(&ctx);
    return rc == 0 ? GL_OK : GL_CRYPTO;
}

/* ---- keyed hash ---------------------------------------------------------- */

/* HMAC (RFC 2104) on mbedtls_sha256 directly: mbedtls_md_hmac would
 * allocate its context on the heap. */
int crypto_hmac_sha256(const uint8_t *key, size_t key_len, const void *a,
                       size_t alen, const void *b, size_t blen,
                       uint8_t out[CRYPTO_HMAC_LEN])
{
    mbedtls_sha256_context ctx;
    uint8_t k[64], pad[64], inner[32];
    int rc = GL_CRYPTO;

    mbedtls_sha256_init(&ctx);
    memset(k, 0, sizeof k);
    if (key_len > sizeof k) {
        if (mbedtls_sha256_ret(key, key_len, k, 0) != 0) {
            goto out;
        }
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (size_t i = 0; i < sizeof pad; i++) {
        pad[i] = k[i] ^ 0x36;
    }
    if (mbedtls_sha256_starts_ret(&ctx, 0) != 0 ||
        mbedtls_sha256_update_ret(&ctx, pad, sizeof pad) != 0 ||
        (alen > 0 && mbedtls_sha256_update_ret(&ctx, a, alen) != 0) ||
        (blen > 0 && mbedtls_sha256_update_ret(&ctx, b, blen) != 0) ||
        mbedtls_sha256_finish_ret(&ctx, inner) != 0) {
        goto out;
    }
    for (size_t i = 0; i < sizeof pad; i++) {
        pad[i] = k[i] ^ 0x5c;
    }
    if (mbedtls_sha256_starts_ret(&ctx, 0) != 0 ||
        mbedtls_sha256_update_ret(&ctx, pad, sizeof pad) != 0 ||
        mbedtls_sha256_update_ret(&ctx, inner, sizeof inner) != 0 ||
        mbedtls_sha256_finish_ret(&ctx, out) != 0) {
        goto out;
    }
    rc = GL_OK;
out:
    mbedtls_sha256_free(&ctx);
    mbedtls_platform_zeroize(k, sizeof k);
    mbedtls_platform_zeroize(pad, sizeof pad);
    mbedtls_platform_zeroize(inner, sizeof inner);
    return rc;
}

/* ---- helpers ------------------------------------------------------------- */

int crypto_ct_equal(const void *a, const void *b, size_t n)
{
    return mbedtls_ct_memcmp(a, b, n) == 0;
}

void crypto_wipe(void *buf, size_t len)
{
    mbedtls_platform_zeroize(buf, len);
}

void crypto_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int crypto_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t n)
{
    int hi, lo;

    if (hex_len != 2 * n) {
        return GL_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        hi = hex_nibble(hex[2 * i]);
        lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return GL_EINVAL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return GL_OK;
}
