/*
 * crypto_dukpt.c - AES DUKPT (X9.24-3:2017) and TDES DUKPT (X9.24-1:2009).
 *
 * The AES algorithms follow the standard's reference pseudo-code: the host
 * walks the counter's one-bits from the most significant down; the terminal
 * keeps one future-key register per counter bit.  The terminal's state
 * machine is written as an invariant rather than the standard's shift
 * register (see crypto_dukpt_aes_term_next): it derives the same keys.
 */
#include "crypto_dukpt.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/des.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "crypto_int.h"
#include "gl_err.h"

/* ---- AES DUKPT ------------------------------------------------------------
 */

static int is_aes_dukpt_type(enum crypto_key_type t)
{
    return t == CRYPTO_KEY_AES128 || t == CRYPTO_KEY_AES256;
}

/* Algorithm indicator and length in bits of derivation data (X9.24-3
 * table 2); the indicator is the enum's value. */
static unsigned key_bits(enum crypto_key_type t)
{
    return (unsigned)crypto_key_len(t) * 8;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/*
 * DeriveKey of X9.24-3: out (crypto_key_len(out_type) bytes) = the
 * concatenated AES-ECB encryptions under parent of the derivation data with
 * block counter 1, 2, truncated.  tail is the data's last 8 bytes.
 */
static int aes_derive(const uint8_t *parent, size_t parent_len, unsigned usage,
                      enum crypto_key_type out_type, const uint8_t tail[8],
                      uint8_t *out)
{
    mbedtls_aes_context ctx;
    uint8_t data[16], block[16];
    size_t len = crypto_key_len(out_type), done = 0, n;
    unsigned bits = key_bits(out_type);
    int rc = GL_CRYPTO;

    mbedtls_aes_init(&ctx);
    if (mbedtls_aes_setkey_enc(&ctx, parent, (unsigned)parent_len * 8) != 0) {
        goto out;
    }
    data[0] = 0x01;
    data[2] = (uint8_t)(usage >> 8);
    data[3] = (uint8_t)usage;
    data[4] = 0x00;
    data[5] = (uint8_t)out_type;
    data[6] = (uint8_t)(bits >> 8);
    data[7] = (uint8_t)bits;
    memcpy(data + 8, tail, 8);
    for (uint8_t i = 1; done < len; i++) {
        data[1] = i;
        if (mbedtls_aes_crypt_ecb(&ctx, MBEDTLS_AES_ENCRYPT, data, block) !=
            0) {
            goto out;
        }
        n = len - done < 16 ? len - done : 16;
        memcpy(out + done, block, n);
        done += n;
    }
    rc = GL_OK;
out:
    mbedtls_aes_free(&ctx);
    mbedtls_platform_zeroize(block, sizeof block);
    return rc;
}

/* The derivation data's last 8 bytes for a counter: key ID[4..7] || cnt. */
static void aes_tail(const uint8_t *key_id, uint32_t counter, uint8_t tail[8])
{
    memcpy(tail, key_id + 4, 4);
    put_be32(tail + 4, counter);
}

/* The derivation key of counter from the initial key ik (in place: cur
 * holds ik on entry, the counter's key on return). */
static int aes_chain(uint8_t *cur, enum crypto_key_type type,
                     const uint8_t *key_id, uint32_t counter)
{
    size_t len = crypto_key_len(type);
    uint32_t working = 0;
    uint8_t tail[8];
    int rc = GL_OK;

    for (uint32_t mask = 0x80000000u; mask != 0 && rc == GL_OK; mask >>= 1) {
        if (counter & mask) {
            working |= mask;
            aes_tail(key_id, working, tail);
            rc = aes_derive(cur, len, CRYPTO_USAGE_KEY_DERIVATION, type, tail,
                            cur);
        }
    }
    return rc;
}

static int aes_counter_ok(uint32_t counter)
{
    return counter != 0 && crypto_popcount32(counter) <= CRYPTO_DUKPT_MAX_ONES;
}

int crypto_dukpt_aes_initial_key(const uint8_t *bdk,
                                 enum crypto_key_type bdk_type,
                                 const uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN],
                                 uint8_t *ik)
{
    if (!is_aes_dukpt_type(bdk_type)) {
        return GL_KEY_LENGTH;
    }
    return aes_derive(bdk, crypto_key_len(bdk_type), CRYPTO_USAGE_INITIAL_KEY,
                      bdk_type, key_id, ik);
}

int crypto_dukpt_aes_derivation_key(const uint8_t *bdk,
                                    enum crypto_key_type bdk_type,
                                    const uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN],
                                    uint8_t *dk)
{
    uint32_t counter = get_be32(ksn + CRYPTO_DUKPT_KEYID_LEN);
    int rc;

    if (!is_aes_dukpt_type(bdk_type)) {
        return GL_KEY_LENGTH;
    }
    if (!aes_counter_ok(counter)) {
        return GL_DUKPT_BADKSN;
    }
    rc = crypto_dukpt_aes_initial_key(bdk, bdk_type, ksn, dk);
    if (rc == GL_OK) {
        rc = aes_chain(dk, bdk_type, ksn, counter);
    }
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(dk, crypto_key_len(bdk_type));
    }
    return rc;
}

int crypto_dukpt_aes_working_key(const uint8_t *dk,
                                 enum crypto_key_type dk_type,
                                 const uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN],
                                 unsigned usage, enum crypto_key_type wk_type,
                                 uint8_t *wk)
{
    uint8_t tail[8];

    if (!is_aes_dukpt_type(dk_type) || crypto_key_len(wk_type) == 0 ||
        wk_type > dk_type) {
        return GL_KEY_LENGTH;
    }
    if (usage > 0xffff) {
        return GL_EINVAL;
    }
    aes_tail(ksn, get_be32(ksn + CRYPTO_DUKPT_KEYID_LEN), tail);
    return aes_derive(dk, crypto_key_len(dk_type), usage, wk_type, tail, wk);
}

int crypto_dukpt_aes_host_key(const uint8_t *bdk, enum crypto_key_type bdk_type,
                              const uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN],
                              unsigned usage, enum crypto_key_type wk_type,
                              uint8_t *wk)
{
    uint8_t dk[CRYPTO_KEY_MAX];
    int rc;

    rc = crypto_dukpt_aes_derivation_key(bdk, bdk_type, ksn, dk);
    if (rc == GL_OK) {
        rc =
            crypto_dukpt_aes_working_key(dk, bdk_type, ksn, usage, wk_type, wk);
    }
    mbedtls_platform_zeroize(dk, sizeof dk);
    return rc;
}

/* ---- AES DUKPT terminal ---------------------------------------------------
 */

void crypto_dukpt_aes_term_wipe(struct crypto_dukpt_aes_term *t)
{
    mbedtls_platform_zeroize(t, sizeof *t);
}

void crypto_dukpt_aes_txn_wipe(struct crypto_dukpt_aes_txn *txn)
{
    mbedtls_platform_zeroize(txn, sizeof *txn);
}

int crypto_dukpt_aes_term_load(struct crypto_dukpt_aes_term *t,
                               const uint8_t *ik, enum crypto_key_type type,
                               const uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN])
{
    size_t len = crypto_key_len(type);
    uint8_t tail[8];
    int rc = GL_OK;

    if (!is_aes_dukpt_type(type)) {
        return GL_KEY_LENGTH;
    }
    crypto_dukpt_aes_term_wipe(t);
    t->type = type;
    memcpy(t->key_id, key_id, CRYPTO_DUKPT_KEYID_LEN);
    /* Register k: the derivation key of counter 1 << k. */
    for (int k = 0; k < CRYPTO_DUKPT_AES_REGS && rc == GL_OK; k++) {
        aes_tail(key_id, (uint32_t)1 << k, tail);
        rc = aes_derive(ik, len, CRYPTO_USAGE_KEY_DERIVATION, type, tail,
                        t->reg[k]);
    }
    if (rc != GL_OK) {
        crypto_dukpt_aes_term_wipe(t);
        return rc;
    }
    t->valid = 0xffffffffu;
    t->counter = 1;
    return GL_OK;
}

int crypto_dukpt_aes_term_seek(struct crypto_dukpt_aes_term *t,
                               const uint8_t *ik, enum crypto_key_type type,
                               const uint8_t key_id[CRYPTO_DUKPT_KEYID_LEN],
                               uint32_t counter)
{
    size_t len = crypto_key_len(type);
    int p, rc = GL_OK;
    uint64_t c;

    if (!is_aes_dukpt_type(type)) {
        return GL_KEY_LENGTH;
    }
    if (!aes_counter_ok(counter)) {
        return GL_DUKPT_BADKSN;
    }
    crypto_dukpt_aes_term_wipe(t);
    t->type = type;
    memcpy(t->key_id, key_id, CRYPTO_DUKPT_KEYID_LEN);
    p = __builtin_ctz(counter);
    /* The counter's own register, and for every higher bit that is clear
     * the next counter whose lowest one-bit is that bit: its parent (the
     * counter's bits above it) was used already and derived it. */
    for (int k = p; k < CRYPTO_DUKPT_AES_REGS && rc == GL_OK; k++) {
        if (k == p) {
            c = counter;
        } else if (counter & ((uint32_t)1 << k)) {
            continue;
        } else {
            c = ((uint64_t)counter & ~(((uint64_t)2 << k) - 1)) |
                ((uint64_t)1 << k);
        }
        memcpy(t->reg[k], ik, len);
        rc = aes_chain(t->reg[k], type, key_id, (uint32_t)c);
        t->valid |= (uint32_t)1 << k;
    }
    if (rc != GL_OK) {
        crypto_dukpt_aes_term_wipe(t);
        return rc;
    }
    t->counter = counter;
    return GL_OK;
}

/*
 * The invariant before each transaction with counter T, lowest one-bit p:
 * reg[p] holds T's derivation key; for each higher bit k that T has clear,
 * reg[k] holds the key of the next counter with lowest bit k.  Using T
 * derives T | 1 << k for every k < p into reg[k] (unless T already has 16
 * one-bits: those children are not valid counters), erases reg[p], and
 * moves to the next valid counter: T + 1, or T + (1 << p) when the children
 * were skipped.  Past 0xFFFF0000 (16 ones, p = 16) the space is exhausted.
 */
int crypto_dukpt_aes_term_next(struct crypto_dukpt_aes_term *t,
                               struct crypto_dukpt_aes_txn *txn)
{
    size_t len = crypto_key_len(t->type);
    uint32_t T = t->counter;
    uint64_t next;
    uint8_t tail[8];
    int p, rc = GL_OK;

    if (t->exhausted) {
        return GL_DUKPT_EXHAUSTED;
    }
    if (!is_aes_dukpt_type(t->type) || !aes_counter_ok(T)) {
        return GL_EINVAL;
    }
    p = __builtin_ctz(T);
    if (!(t->valid & ((uint32_t)1 << p))) {
        return GL_EINVAL;
    }
    txn->type = t->type;
    memcpy(txn->ksn, t->key_id, CRYPTO_DUKPT_KEYID_LEN);
    put_be32(txn->ksn + CRYPTO_DUKPT_KEYID_LEN, T);
    memset(txn->dk, 0, sizeof txn->dk);
    memcpy(txn->dk, t->reg[p], len);

    if (crypto_popcount32(T) < CRYPTO_DUKPT_MAX_ONES) {
        for (int k = p - 1; k >= 0 && rc == GL_OK; k--) {
            aes_tail(t->key_id, T | (uint32_t)1 << k, tail);
            rc = aes_derive(t->reg[p], len, CRYPTO_USAGE_KEY_DERIVATION,
                            t->type, tail, t->reg[k]);
            t->valid |= (uint32_t)1 << k;
        }
        next = (uint64_t)T + 1;
    } else {
        next = (uint64_t)T + ((uint64_t)1 << p);
    }
    if (rc != GL_OK) {
        crypto_dukpt_aes_txn_wipe(txn);
        crypto_dukpt_aes_term_wipe(t);
        return rc;
    }
    mbedtls_platform_zeroize(t->reg[p], sizeof t->reg[p]);
    t->valid &= ~((uint32_t)1 << p);
    if (next > 0xffffffffu) {
        t->exhausted = 1;
        t->counter = 0;
    } else {
        t->counter = (uint32_t)next;
    }
    return GL_OK;
}

int crypto_dukpt_aes_txn_key(const struct crypto_dukpt_aes_txn *txn,
                             unsigned usage, enum crypto_key_type wk_type,
                             uint8_t *wk)
{
    return crypto_dukpt_aes_working_key(txn->dk, txn->type, txn->ksn, usage,
                                        wk_type, wk);
}

#define BLOB_DIGEST_OFF (CRYPTO_DUKPT_AES_BLOB_LEN - 16)

static int blob_digest(const uint8_t *blob, uint8_t out[32])
{
    return mbedtls_sha256_ret(blob, BLOB_DIGEST_OFF, out, 0) == 0 ? GL_OK
                                                                  : GL_CRYPTO;
}

int crypto_dukpt_aes_term_save(const struct crypto_dukpt_aes_term *t,
                               uint8_t blob[CRYPTO_DUKPT_AES_BLOB_LEN])
{
    uint8_t digest[32];
    int rc;

    memset(blob, 0, CRYPTO_DUKPT_AES_BLOB_LEN);
    memcpy(blob, "GLDK", 4);
    blob[4] = 1;
    blob[5] = (uint8_t)t->type;
    blob[6] = t->exhausted ? 1 : 0;
    memcpy(blob + 8, t->key_id, CRYPTO_DUKPT_KEYID_LEN);
    put_be32(blob + 16, t->counter);
    put_be32(blob + 20, t->valid);
    for (int k = 0; k < CRYPTO_DUKPT_AES_REGS; k++) {
        memcpy(blob + 24 + k * CRYPTO_KEY_MAX, t->reg[k], CRYPTO_KEY_MAX);
    }
    rc = blob_digest(blob, digest);
    memcpy(blob + BLOB_DIGEST_OFF, digest, 16);
    return rc;
}

int crypto_dukpt_aes_term_restore(struct crypto_dukpt_aes_term *t,
                                  const uint8_t blob[CRYPTO_DUKPT_AES_BLOB_LEN])
{
    uint8_t digest[32];
    int rc = GL_EINVAL;

    crypto_dukpt_aes_term_wipe(t);
    if (memcmp(blob, "GLDK", 4) != 0 || blob[4] != 1 || blob[7] != 0 ||
        blob[6] > 1 || !is_aes_dukpt_type((enum crypto_key_type)blob[5])) {
        goto out;
    }
    if (blob_digest(blob, digest) != GL_OK ||
        !crypto_ct_equal(digest, blob + BLOB_DIGEST_OFF, 16)) {
        goto out;
    }
    t->type = (enum crypto_key_type)blob[5];
    t->exhausted = blob[6];
    memcpy(t->key_id, blob + 8, CRYPTO_DUKPT_KEYID_LEN);
    t->counter = get_be32(blob + 16);
    t->valid = get_be32(blob + 20);
    for (int k = 0; k < CRYPTO_DUKPT_AES_REGS; k++) {
        memcpy(t->reg[k], blob + 24 + k * CRYPTO_KEY_MAX, CRYPTO_KEY_MAX);
    }
    if (!t->exhausted &&
        (!aes_counter_ok(t->counter) ||
         !(t->valid & ((uint32_t)1 << __builtin_ctz(t->counter))))) {
        goto out;
    }
    rc = GL_OK;
out:
    if (rc != GL_OK) {
        crypto_dukpt_aes_term_wipe(t);
    }
    mbedtls_platform_zeroize(digest, sizeof digest);
    return rc;
}

/* ---- TDES DUKPT -----------------------------------------------------------
 */

#define TDES_COUNTER_MASK 0x1fffffu
#define TDES_MAX_ONES 10

uint32_t crypto_dukpt_tdes_counter(const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN])
{
    return ((uint32_t)ksn[7] << 16 | (uint32_t)ksn[8] << 8 | ksn[9]) &
           TDES_COUNTER_MASK;
}

static const uint8_t tdes_kmask[16] = {0xc0, 0xc0, 0xc0, 0xc0, 0, 0, 0, 0,
                                       0xc0, 0xc0, 0xc0, 0xc0, 0, 0, 0, 0};

int crypto_dukpt_tdes_ipek(const uint8_t bdk[16],
                           const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
                           uint8_t ipek[16])
{
    uint8_t reg[8], k2[16];
    int rc;

    memcpy(reg, ksn, 8);
    reg[7] &= 0xe0; /* the counter's top bits */
    for (int i = 0; i < 16; i++) {
        k2[i] = bdk[i] ^ tdes_kmask[i];
    }
    rc = crypto_tdes_ecb(bdk, 16, 1, reg, ipek);
    if (rc == GL_OK) {
        rc = crypto_tdes_ecb(k2, 16, 1, reg, ipek + 8);
    }
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(ipek, 16);
    }
    mbedtls_platform_zeroize(k2, sizeof k2);
    return rc;
}

/* One half of the non-reversible key generation: out = DES_kl(in ^ kr) ^ kr
 * for key = kl || kr. */
static int nrkg_half(const uint8_t key[16], const uint8_t in[8], uint8_t out[8])
{
    mbedtls_des_context ctx;
    uint8_t blk[8];
    int rc = GL_CRYPTO;

    mbedtls_des_init(&ctx);
    for (int i = 0; i < 8; i++) {
        blk[i] = in[i] ^ key[8 + i];
    }
    if (mbedtls_des_setkey_enc(&ctx, key) == 0 &&
        mbedtls_des_crypt_ecb(&ctx, blk, blk) == 0) {
        for (int i = 0; i < 8; i++) {
            out[i] = blk[i] ^ key[8 + i];
        }
        rc = GL_OK;
    }
    mbedtls_des_free(&ctx);
    mbedtls_platform_zeroize(blk, sizeof blk);
    return rc;
}

/* X9.24-1 non-reversible key generation: key = NRKG(key ^ C0C0..., reg)
 * || NRKG(key, reg). */
static int nrkg(uint8_t key[16], const uint8_t reg[8])
{
    uint8_t k2[16], left[8], right[8];
    int rc;

    for (int i = 0; i < 16; i++) {
        k2[i] = key[i] ^ tdes_kmask[i];
    }
    rc = nrkg_half(key, reg, right);
    if (rc == GL_OK) {
        rc = nrkg_half(k2, reg, left);
    }
    if (rc == GL_OK) {
        memcpy(key, left, 8);
        memcpy(key + 8, right, 8);
    }
    mbedtls_platform_zeroize(k2, sizeof k2);
    mbedtls_platform_zeroize(left, sizeof left);
    mbedtls_platform_zeroize(right, sizeof right);
    return rc;
}

int crypto_dukpt_tdes_key_from_ipek(
    const uint8_t ipek[16], const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
    uint8_t key[16])
{
    uint32_t counter = crypto_dukpt_tdes_counter(ksn);
    uint8_t reg[8];
    int rc = GL_OK;

    if (counter == 0 || __builtin_popcount(counter) > TDES_MAX_ONES) {
        return GL_DUKPT_BADKSN;
    }
    /* The KSN's rightmost 64 bits with the counter cleared; the counter's
     * one-bits are set into it one at a time, most significant first. */
    memcpy(reg, ksn + 2, 8);
    reg[5] &= 0xe0;
    reg[6] = 0;
    reg[7] = 0;
    memcpy(key, ipek, 16);
    for (uint32_t shift = 0x100000u; shift != 0 && rc == GL_OK; shift >>= 1) {
        if (counter & shift) {
            reg[5] |= (uint8_t)(shift >> 16);
            reg[6] |= (uint8_t)(shift >> 8);
            reg[7] |= (uint8_t)shift;
            rc = nrkg(key, reg);
        }
    }
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(key, 16);
    }
    return rc;
}

int crypto_dukpt_tdes_key(const uint8_t bdk[16],
                          const uint8_t ksn[CRYPTO_DUKPT_TDES_KSN_LEN],
                          uint8_t key[16])
{
    uint8_t ipek[16];
    int rc;

    rc = crypto_dukpt_tdes_ipek(bdk, ksn, ipek);
    if (rc == GL_OK) {
        rc = crypto_dukpt_tdes_key_from_ipek(ipek, ksn, key);
    }
    mbedtls_platform_zeroize(ipek, sizeof ipek);
    return rc;
}

int crypto_dukpt_tdes_variant(const uint8_t key[16], enum crypto_tdes_variant v,
                              uint8_t out[16])
{
    int byte;

    switch (v) {
    case CRYPTO_TDES_PIN:
        byte = 7;
        break;
    case CRYPTO_TDES_MAC_REQ:
        byte = 6;
        break;
    case CRYPTO_TDES_MAC_RESP:
        byte = 4;
        break;
    case CRYPTO_TDES_DATA_REQ:
        byte = 5;
        break;
    case CRYPTO_TDES_DATA_RESP:
        byte = 3;
        break;
    default:
        return GL_EINVAL;
    }
    if (out != key) {
        memcpy(out, key, 16);
    }
    out[byte] ^= 0xff;
    out[8 + byte] ^= 0xff;
    return GL_OK;
}

/* ---- base derivation keys -------------------------------------------------
 */

int crypto_bdk_generate(enum crypto_key_type type, crypto_rng_fn f_rng,
                        void *p_rng, uint8_t *bdk)
{
    size_t len = crypto_key_len(type);
    int rc;

    if (type != CRYPTO_KEY_TDES2 && !is_aes_dukpt_type(type)) {
        return GL_KEY_LENGTH;
    }
    rc = crypto_random(f_rng, p_rng, bdk, len);
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(bdk, len);
        return rc;
    }
    if (type == CRYPTO_KEY_TDES2) {
        mbedtls_des_key_set_parity(bdk);
        mbedtls_des_key_set_parity(bdk + 8);
    }
    return GL_OK;
}

/* ---- initial key file -----------------------------------------------------
 */

size_t crypto_ikey_id_len(enum crypto_key_type type)
{
    return type == CRYPTO_KEY_TDES2 ? CRYPTO_DUKPT_TDES_KSN_LEN
                                    : CRYPTO_DUKPT_KEYID_LEN;
}

int crypto_ikey_derive(const uint8_t *bdk, enum crypto_key_type bdk_type,
                       const uint8_t *key_id, size_t key_id_len,
                       struct crypto_ikey *ik)
{
    int rc;

    memset(ik, 0, sizeof *ik);
    ik->type = bdk_type;
    if (bdk_type == CRYPTO_KEY_TDES2) {
        if (key_id_len != 8 && key_id_len != CRYPTO_DUKPT_TDES_KSN_LEN) {
            return GL_EINVAL;
        }
        memcpy(ik->key_id, key_id, 8);
        ik->key_id[7] &= 0xe0; /* counter bits: the initial KSN counts 0 */
        rc = crypto_dukpt_tdes_ipek(bdk, ik->key_id, ik->key);
    } else if (is_aes_dukpt_type(bdk_type)) {
        if (key_id_len != CRYPTO_DUKPT_KEYID_LEN) {
            return GL_EINVAL;
        }
        memcpy(ik->key_id, key_id, CRYPTO_DUKPT_KEYID_LEN);
        rc = crypto_dukpt_aes_initial_key(bdk, bdk_type, key_id, ik->key);
    } else {
        return GL_KEY_LENGTH;
    }
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(ik, sizeof *ik);
    }
    return rc;
}

static const char *ikey_type_name(enum crypto_key_type t)
{
    return t == CRYPTO_KEY_TDES2 ? "tdes" : crypto_key_type_name(t);
}

int crypto_ikey_format(const struct crypto_ikey *ik, char *out, size_t cap)
{
    char id[2 * CRYPTO_DUKPT_TDES_KSN_LEN + 1], key[2 * CRYPTO_KEY_MAX + 1];
    size_t klen = crypto_key_len(ik->type);
    int n;

    if (klen == 0 ||
        (ik->type != CRYPTO_KEY_TDES2 && !is_aes_dukpt_type(ik->type))) {
        return GL_EINVAL;
    }
    crypto_hex_encode(ik->key_id, crypto_ikey_id_len(ik->type), id);
    crypto_hex_encode(ik->key, klen, key);
    n = snprintf(out, cap,
                 "# giftlink terminal initial DUKPT key: keep secret "
                 "(mode 0600)\ntype=%s\nkey_id=%s\nikey=%s\n",
                 ikey_type_name(ik->type), id, key);
    mbedtls_platform_zeroize(key, sizeof key);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0) {
            mbedtls_platform_zeroize(out, cap);
        }
        return GL_ENOSPC;
    }
    return n;
}

int crypto_ikey_parse(const char *text, size_t len, struct crypto_ikey *ik)
{
    const char *p = text, *end = text + len, *nl, *eq;
    const char *type_v = NULL, *id_v = NULL, *key_v = NULL;
    size_t type_n = 0, id_n = 0, key_n = 0;
    char type_s[16];
    int rc = GL_EINVAL;

    memset(ik, 0, sizeof *ik);
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            nl = end;
        }
        size_t n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }
        if (n > 0 && p[0] != '#') {
            eq = memchr(p, '=', n);
            if (eq == NULL) {
                goto out;
            }
            size_t kn = (size_t)(eq - p), vn = n - kn - 1;
            const char *v = eq + 1;
            if (kn == 4 && memcmp(p, "type", 4) == 0 && type_v == NULL) {
                type_v = v;
                type_n = vn;
            } else if (kn == 6 && memcmp(p, "key_id", 6) == 0 && id_v == NULL) {
                id_v = v;
                id_n = vn;
            } else if (kn == 4 && memcmp(p, "ikey", 4) == 0 && key_v == NULL) {
                key_v = v;
                key_n = vn;
            } else {
                goto out;
            }
        }
        p = nl + 1;
    }
    if (type_v == NULL || id_v == NULL || key_v == NULL ||
        type_n >= sizeof type_s) {
        goto out;
    }
    memcpy(type_s, type_v, type_n);
    type_s[type_n] = '\0';
    if (strcmp(type_s, "tdes") == 0) {
        ik->type = CRYPTO_KEY_TDES2;
    } else if (crypto_key_type_parse(type_s, &ik->type) != GL_OK ||
               !is_aes_dukpt_type(ik->type)) {
        goto out;
    }
    if (crypto_hex_decode(id_v, id_n, ik->key_id,
                          crypto_ikey_id_len(ik->type)) != GL_OK ||
        crypto_hex_decode(key_v, key_n, ik->key, crypto_key_len(ik->type)) !=
            GL_OK) {
        goto out;
    }
    rc = GL_OK;
out:
    if (rc != GL_OK) {
        mbedtls_platform_zeroize(ik, sizeof *ik);
    }
    return rc;
}
