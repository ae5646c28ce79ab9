/*
 * test_crypto.c - lib/crypto against the published vectors of
 * notes/crypto-vectors.md (ANSI X9.24-1 and -3, ISO 9564, ISO 9797-1,
 * RFC 4493, RFC 4231), the terminal's DUKPT state machine against the
 * host's derivation, and the negative cases: wrong keys, flipped bits, an
 * exhausted counter, every class of malformed PIN block.
 */
#include <stdio.h>
#include <string.h>

#include "../gl_test.h"
#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_int.h"
#include "crypto_pinblock.h"
#include "gl_err.h"

/* Decodes a hex literal of the test into out; returns its byte length. */
static size_t hx(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    if (crypto_hex_decode(hex, strlen(hex), out, n) != GL_OK) {
        printf("  bad hex literal in the test: %s\n", hex);
        gl_t_fail_++;
    }
    return n;
}

/* A "random" source that repeats fixed bytes, so blocks are reproducible. */
struct fixed_rng {
    const uint8_t *bytes;
    size_t len, pos;
};

static int fixed_rng_fill(void *ctx, unsigned char *buf, size_t len)
{
    struct fixed_rng *r = ctx;
    for (size_t i = 0; i < len; i++) {
        buf[i] = r->bytes[r->pos++ % r->len];
    }
    return 0;
}

static int failing_rng_fill(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return -1;
}

/* ---- TDES DUKPT (X9.24-1:2009 A.4) -----------------------------------------
 */

static const char *TDES_BDK = "0123456789ABCDEFFEDCBA9876543210";

GL_TEST(tdes_dukpt_ipek_and_transaction_keys)
{
    uint8_t bdk[16], ksn[10], ipek[16], key[16], exp[16];

    hx(TDES_BDK, bdk);
    hx("FFFF9876543210E00000", ksn);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_ipek(bdk, ksn, ipek));
    hx("6AC292FAA1315B4D858AB3A3D7D5933A", exp);
    GL_CHECK_MEM(exp, ipek, 16);

    hx("FFFF9876543210E00001", ksn);
    GL_CHECK_INT(1, crypto_dukpt_tdes_counter(ksn));
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));
    hx("042666B49184CFA368DE9628D0397BC9", exp);
    GL_CHECK_MEM(exp, key, 16);
    /* The terminal holding only its IPEK gets the same key. */
    memset(key, 0, sizeof key);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key_from_ipek(ipek, ksn, key));
    GL_CHECK_MEM(exp, key, 16);

    hx("FFFF9876543210E00002", ksn);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));
    hx("C46551CEF9FD24B0AA9AD834130D3BC7", exp);
    GL_CHECK_MEM(exp, key, 16);

    hx("FFFF9876543210E00015", ksn);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));
    hx("E161D1956A61F6D2F37AFD7F9CC3699A", exp);
    GL_CHECK_MEM(exp, key, 16);
}

GL_TEST(tdes_dukpt_rejects_unusable_counters_and_wrong_bdk)
{
    uint8_t bdk[16], ksn[10], key[16], right[16];

    hx(TDES_BDK, bdk);
    hx("FFFF9876543210E00000", ksn); /* counter 0 */
    GL_CHECK_INT(GL_DUKPT_BADKSN, crypto_dukpt_tdes_key(bdk, ksn, key));
    hx("FFFF9876543210E007FF", ksn); /* 11 one-bits */
    GL_CHECK_INT(GL_DUKPT_BADKSN, crypto_dukpt_tdes_key(bdk, ksn, key));
    hx("FFFF9876543210E003FF", ksn); /* 10 one-bits: allowed */
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));

    hx("FFFF9876543210E00001", ksn);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, right));
    bdk[15] ^= 0x02; /* one flipped bit (not a DES parity bit) */
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));
    GL_CHECK(memcmp(right, key, 16) != 0);
}

GL_TEST(tdes_dukpt_variants)
{
    uint8_t key[16], v[16], exp[16];

    hx("042666B49184CFA368DE9628D0397BC9", key);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_variant(key, CRYPTO_TDES_PIN, v));
    hx("042666B49184CF5C68DE9628D0397B36", exp);
    GL_CHECK_MEM(exp, v, 16);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_variant(key, CRYPTO_TDES_MAC_REQ, v));
    hx("042666B4918430A368DE9628D03984C9", exp);
    GL_CHECK_MEM(exp, v, 16);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_tdes_variant(key, CRYPTO_TDES_MAC_RESP, v));
    hx("042666B46E84CFA368DE96282F397BC9", exp);
    GL_CHECK_MEM(exp, v, 16);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_tdes_variant(key, CRYPTO_TDES_DATA_REQ, v));
    hx("042666B4917BCFA368DE9628D0C67BC9", exp);
    GL_CHECK_MEM(exp, v, 16);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_tdes_variant(key, CRYPTO_TDES_DATA_RESP, v));
    hx("0426664B9184CFA368DE96D7D0397BC9", exp);
    GL_CHECK_MEM(exp, v, 16);
    GL_CHECK_INT(GL_EINVAL, crypto_dukpt_tdes_variant(
                                key, (enum crypto_tdes_variant)9, v));
}

GL_TEST(tdes_dukpt_pin_block_format0_vector)
{
    uint8_t bdk[16], ksn[10], key[16], pin_key[16], blk[8], clear[8], exp[8];

    hx(TDES_BDK, bdk);
    hx("FFFF9876543210E00001", ksn);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_tdes_variant(key, CRYPTO_TDES_PIN, pin_key));
    GL_CHECK_INT(GL_OK, crypto_pinblock_f0_encrypt(pin_key, 16, "1234",
                                                   "4012345678909", blk));
    hx("1B9C1845EB993A7A", exp);
    GL_CHECK_MEM(exp, blk, 8);
    /* The clear block of the vector: PIN field XOR PAN field. */
    GL_CHECK_INT(GL_OK, crypto_tdes_ecb(pin_key, 16, 0, blk, clear));
    hx("041274EDCBA9876F", exp);
    GL_CHECK_MEM(exp, clear, 8);
}

GL_TEST(tdes_dukpt_request_and_response_mac_vectors)
{
    uint8_t bdk[16], ksn[10], key[16], mk[16], mac[8], exp[4];
    const char *msg = "4012345678909D987";

    hx(TDES_BDK, bdk);
    hx("FFFF9876543210E00001", ksn);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(bdk, ksn, key));
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_tdes_variant(key, CRYPTO_TDES_MAC_REQ, mk));
    GL_CHECK_INT(GL_OK, crypto_mac_retail(mk, msg, strlen(msg), mac));
    hx("9CCC7817", exp);
    GL_CHECK_MEM(exp, mac, 4);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_tdes_variant(key, CRYPTO_TDES_MAC_RESP, mk));
    GL_CHECK_INT(GL_OK, crypto_mac_retail(mk, msg, strlen(msg), mac));
    hx("20364223", exp);
    GL_CHECK_MEM(exp, mac, 4);
}

/* ---- AES DUKPT (X9.24-3:2017) ------------------------------------------- */

static const char *AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1";
static const char *AES256_BDK =
    "FEDCBA9876543210F1F1F1F1F1F1F1F1FEDCBA9876543210F1F1F1F1F1F1F1F1";
static const char *KEY_ID = "1234567890123456";

static void make_ksn(uint8_t ksn[12], uint32_t counter)
{
    hx(KEY_ID, ksn);
    ksn[8] = (uint8_t)(counter >> 24);
    ksn[9] = (uint8_t)(counter >> 16);
    ksn[10] = (uint8_t)(counter >> 8);
    ksn[11] = (uint8_t)counter;
}

GL_TEST(aes_dukpt_aes128_vectors)
{
    uint8_t bdk[16], kid[8], ik[16], ksn[12], k[16], exp[16];

    hx(AES_BDK, bdk);
    hx(KEY_ID, kid);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_initial_key(bdk, CRYPTO_KEY_AES128, kid, ik));
    hx("1273671EA26AC29AFA4D1084127652A1", exp);
    GL_CHECK_MEM(exp, ik, 16);

    make_ksn(ksn, 1);
    GL_CHECK_INT(
        GL_OK, crypto_dukpt_aes_derivation_key(bdk, CRYPTO_KEY_AES128, ksn, k));
    hx("4F21B565BAD9835E112B6465635EAE44", exp);
    GL_CHECK_MEM(exp, k, 16);

    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_PIN,
                                                  CRYPTO_KEY_AES128, k));
    hx("AF8CB133A78F8DC2D1359F18527593FB", exp);
    GL_CHECK_MEM(exp, k, 16);

    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_MAC_GEN,
                                                  CRYPTO_KEY_AES128, k));
    hx("A2DC23DE6FDE0824A2BC321E08E4B8B7", exp);
    GL_CHECK_MEM(exp, k, 16);
}

GL_TEST(aes_dukpt_aes256_initial_key_vector)
{
    uint8_t bdk[32], kid[8], ik[32], exp[32];

    hx(AES256_BDK, bdk);
    hx(KEY_ID, kid);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_initial_key(bdk, CRYPTO_KEY_AES256, kid, ik));
    hx("CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F", exp);
    GL_CHECK_MEM(exp, ik, 32);
}

GL_TEST(aes_dukpt_pin_block_format4_vector)
{
    static const uint8_t fill[8] = {0x2F, 0x69, 0xAD, 0xDE,
                                    0x2E, 0x9E, 0x7A, 0xCE};
    struct fixed_rng rng = {fill, sizeof fill, 0};
    uint8_t bdk[16], ksn[12], pk[16], blk[16], exp[16];

    hx(AES_BDK, bdk);
    make_ksn(ksn, 1);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_PIN,
                                                  CRYPTO_KEY_AES128, pk));
    GL_CHECK_INT(GL_OK,
                 crypto_pinblock_f4_encrypt(pk, 16, "1234", "4111111111111111",
                                            fixed_rng_fill, &rng, blk));
    hx("A912150391AB65A67E52883D81CE2D15", exp);
    GL_CHECK_MEM(exp, blk, 16);
}

GL_TEST(aes_dukpt_host_rejects_bad_ksn_and_key_types)
{
    uint8_t bdk[16], ksn[12], k[32], right[16];

    hx(AES_BDK, bdk);
    make_ksn(ksn, 0);
    GL_CHECK_INT(GL_DUKPT_BADKSN, crypto_dukpt_aes_derivation_key(
                                      bdk, CRYPTO_KEY_AES128, ksn, k));
    make_ksn(ksn, 0x0001FFFF); /* 17 one-bits */
    GL_CHECK_INT(GL_DUKPT_BADKSN, crypto_dukpt_aes_derivation_key(
                                      bdk, CRYPTO_KEY_AES128, ksn, k));
    make_ksn(ksn, 0xFFFF0000); /* 16 one-bits: the last counter */
    GL_CHECK_INT(
        GL_OK, crypto_dukpt_aes_derivation_key(bdk, CRYPTO_KEY_AES128, ksn, k));
    /* An AES-128 derivation key cannot make an AES-256 working key. */
    make_ksn(ksn, 1);
    GL_CHECK_INT(GL_KEY_LENGTH, crypto_dukpt_aes_host_key(
                                    bdk, CRYPTO_KEY_AES128, ksn,
                                    CRYPTO_USAGE_PIN, CRYPTO_KEY_AES256, k));
    GL_CHECK_INT(GL_KEY_LENGTH, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_TDES2,
                                                          ksn, CRYPTO_USAGE_PIN,
                                                          CRYPTO_KEY_TDES2, k));
    /* Wrong BDK (one bit) and neighbouring counter give other keys. */
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_MAC_GEN,
                                                  CRYPTO_KEY_AES128, right));
    bdk[0] ^= 0x80;
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_MAC_GEN,
                                                  CRYPTO_KEY_AES128, k));
    GL_CHECK(memcmp(right, k, 16) != 0);
    bdk[0] ^= 0x80;
    make_ksn(ksn, 2);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_MAC_GEN,
                                                  CRYPTO_KEY_AES128, k));
    GL_CHECK(memcmp(right, k, 16) != 0);
    /* MAC generation and verification keys differ. */
    make_ksn(ksn, 1);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk, CRYPTO_KEY_AES128, ksn,
                                                  CRYPTO_USAGE_MAC_VER,
                                                  CRYPTO_KEY_AES128, k));
    GL_CHECK(memcmp(right, k, 16) != 0);
}

/* The smallest counter above c with at most 16 one-bits (0 past the end). */
static uint32_t next_valid(uint32_t c)
{
    uint64_t n = (uint64_t)c + 1;
    while (n <= 0xffffffffu && __builtin_popcount((uint32_t)n) > 16) {
        n++;
    }
    return n > 0xffffffffu ? 0 : (uint32_t)n;
}

/* Runs n transactions of t and checks each against the host's derivation:
 * KSN counter sequence, derivation key, PIN key.  Returns failures. */
static int run_against_host(struct crypto_dukpt_aes_term *t, const uint8_t *bdk,
                            enum crypto_key_type type, uint32_t first, int n)
{
    struct crypto_dukpt_aes_txn txn;
    uint8_t dk[32], pk1[32], pk2[32];
    uint32_t expect = first;
    int bad = 0;

    for (int i = 0; i < n; i++) {
        if (crypto_dukpt_aes_term_next(t, &txn) != GL_OK) {
            printf("  transaction %d (counter %08X) failed\n", i, expect);
            return bad + 1;
        }
        uint32_t c = (uint32_t)txn.ksn[8] << 24 | (uint32_t)txn.ksn[9] << 16 |
                     (uint32_t)txn.ksn[10] << 8 | txn.ksn[11];
        size_t kl = crypto_key_len(type);
        if (c != expect ||
            crypto_dukpt_aes_derivation_key(bdk, type, txn.ksn, dk) != GL_OK ||
            memcmp(dk, txn.dk, kl) != 0 ||
            crypto_dukpt_aes_txn_key(&txn, CRYPTO_USAGE_PIN, type, pk1) !=
                GL_OK ||
            crypto_dukpt_aes_host_key(bdk, type, txn.ksn, CRYPTO_USAGE_PIN,
                                      type, pk2) != GL_OK ||
            memcmp(pk1, pk2, kl) != 0) {
            if (bad < 5) {
                printf("  counter %08X (expected %08X): keys differ\n", c,
                       expect);
            }
            bad++;
        }
        expect = next_valid(c);
    }
    crypto_dukpt_aes_txn_wipe(&txn);
    return bad;
}

GL_TEST(aes_dukpt_terminal_first_transaction_vector)
{
    struct crypto_dukpt_aes_term t;
    struct crypto_dukpt_aes_txn txn;
    uint8_t ik[16], kid[8], ksn[12], exp[16], k[16];

    hx("1273671EA26AC29AFA4D1084127652A1", ik);
    hx(KEY_ID, kid);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_term_load(&t, ik, CRYPTO_KEY_AES128, kid));
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t, &txn));
    make_ksn(ksn, 1);
    GL_CHECK_MEM(ksn, txn.ksn, 12);
    hx("4F21B565BAD9835E112B6465635EAE44", exp);
    GL_CHECK_MEM(exp, txn.dk, 16);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_txn_key(&txn, CRYPTO_USAGE_PIN,
                                                 CRYPTO_KEY_AES128, k));
    hx("AF8CB133A78F8DC2D1359F18527593FB", exp);
    GL_CHECK_MEM(exp, k, 16);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_txn_key(&txn, CRYPTO_USAGE_MAC_GEN,
                                                 CRYPTO_KEY_AES128, k));
    hx("A2DC23DE6FDE0824A2BC321E08E4B8B7", exp);
    GL_CHECK_MEM(exp, k, 16);
    GL_CHECK_INT(2, t.counter);
    /* The initial key is not kept: no register holds it. */
    int found = 0;
    for (int i = 0; i < CRYPTO_DUKPT_AES_REGS; i++) {
        found += memcmp(t.reg[i], ik, 16) == 0;
    }
    GL_CHECK_INT(0, found);
    crypto_dukpt_aes_term_wipe(&t);
}

GL_TEST(aes_dukpt_terminal_matches_host_for_5000_transactions)
{
    struct crypto_dukpt_aes_term t;
    uint8_t bdk[16], kid[8], ik[16];

    hx(AES_BDK, bdk);
    hx(KEY_ID, kid);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_initial_key(bdk, CRYPTO_KEY_AES128, kid, ik));
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_term_load(&t, ik, CRYPTO_KEY_AES128, kid));
    GL_CHECK_INT(0, run_against_host(&t, bdk, CRYPTO_KEY_AES128, 1, 5000));
    crypto_dukpt_aes_term_wipe(&t);
}

GL_TEST(aes_dukpt_terminal_aes256_matches_host)
{
    struct crypto_dukpt_aes_term t;
    uint8_t bdk[32], kid[8], ik[32];

    hx(AES256_BDK, bdk);
    hx(KEY_ID, kid);
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_initial_key(bdk, CRYPTO_KEY_AES256, kid, ik));
    GL_CHECK_INT(GL_OK,
                 crypto_dukpt_aes_term_load(&t, ik, CRYPTO_KEY_AES256, kid));
    GL_CHECK_INT(0, run_against_host(&t, bdk, CRYPTO_KEY_AES256, 1, 600));
    /* and across the 16-one-bit boundary */
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_seek(&t, ik, CRYPTO_KEY_AES256,
                                                   kid, 0x7FFF0000));
    GL_CHECK_INT(0,
                 run_against_host(&t, bdk, CRYPTO_KEY_AES256, 0x7FFF0000, 300));
    crypto_dukpt_aes_term_wipe(&t);
}

GL_TEST(aes_dukpt_terminal_skips_counters_with_17_one_bits)
{
    struct crypto_dukpt_aes_term t;
    struct crypto_dukpt_aes_txn txn;
    uint8_t bdk[16], kid[8], ik[16];

    hx(AES_BDK, bdk);
    hx(KEY_ID, kid);
    crypto_dukpt_aes_initial_key(bdk, CRYPTO_KEY_AES128, kid, ik);
    /* 15 one-bits: its children reach 16 and 17 ones. */
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_seek(&t, ik, CRYPTO_KEY_AES128,
                                                   kid, 0x00FFFE00));
    GL_CHECK_INT(0,
                 run_against_host(&t, bdk, CRYPTO_KEY_AES128, 0x00FFFE00, 700));
    /* The exact skip: 0x0000FFFF has 16 ones; next is 0x00010000... */
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_seek(&t, ik, CRYPTO_KEY_AES128,
                                                   kid, 0x0001FFFE));
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t, &txn));
    GL_CHECK_INT(0xFE, txn.ksn[11]);
    /* 0x0001FFFE has 16 ones: 0x0001FFFF (17) is skipped. */
    GL_CHECK_INT(0x00020000, t.counter);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t, &txn));
    GL_CHECK_INT(0x02, txn.ksn[9]);
    GL_CHECK_INT(0x00, txn.ksn[11]);
    GL_CHECK_INT(
        GL_DUKPT_BADKSN,
        crypto_dukpt_aes_term_seek(&t, ik, CRYPTO_KEY_AES128, kid, 0x0001FFFF));
    crypto_dukpt_aes_txn_wipe(&txn);
    crypto_dukpt_aes_term_wipe(&t);
}

GL_TEST(aes_dukpt_terminal_reports_exhaustion)
{
    struct crypto_dukpt_aes_term t, t2;
    struct crypto_dukpt_aes_txn txn;
    uint8_t bdk[16], kid[8], ik[16], dk[16], ksn[12],
        blob[CRYPTO_DUKPT_AES_BLOB_LEN];

    hx(AES_BDK, bdk);
    hx(KEY_ID, kid);
    crypto_dukpt_aes_initial_key(bdk, CRYPTO_KEY_AES128, kid, ik);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_seek(&t, ik, CRYPTO_KEY_AES128,
                                                   kid, 0xFFFE8000));
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t, &txn));
    GL_CHECK_INT(0xFFFF0000u, t.counter);
    GL_CHECK_INT(0, t.exhausted);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t, &txn));
    make_ksn(ksn, 0xFFFF0000u);
    GL_CHECK_MEM(ksn, txn.ksn, 12);
    crypto_dukpt_aes_derivation_key(bdk, CRYPTO_KEY_AES128, ksn, dk);
    GL_CHECK_MEM(dk, txn.dk, 16);
    GL_CHECK_INT(1, t.exhausted);
    memset(&txn, 0x5a, sizeof txn);
    GL_CHECK_INT(GL_DUKPT_EXHAUSTED, crypto_dukpt_aes_term_next(&t, &txn));
    GL_CHECK_INT(0x5a, txn.dk[0]); /* untouched */
    GL_CHECK_INT(GL_DUKPT_EXHAUSTED, crypto_dukpt_aes_term_next(&t, &txn));
    /* Exhaustion survives a save and restore. */
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_save(&t, blob));
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_restore(&t2, blob));
    GL_CHECK_INT(GL_DUKPT_EXHAUSTED, crypto_dukpt_aes_term_next(&t2, &txn));
    crypto_dukpt_aes_term_wipe(&t);
    crypto_dukpt_aes_term_wipe(&t2);
}

GL_TEST(aes_dukpt_terminal_state_saves_and_restores)
{
    struct crypto_dukpt_aes_term t, t2;
    struct crypto_dukpt_aes_txn a, b;
    uint8_t ik[16], kid[8], blob[CRYPTO_DUKPT_AES_BLOB_LEN],
        blob2[CRYPTO_DUKPT_AES_BLOB_LEN];

    GL_CHECK_INT(1064, CRYPTO_DUKPT_AES_BLOB_LEN);
    hx("1273671EA26AC29AFA4D1084127652A1", ik);
    hx(KEY_ID, kid);
    crypto_dukpt_aes_term_load(&t, ik, CRYPTO_KEY_AES128, kid);
    for (int i = 0; i < 37; i++) {
        crypto_dukpt_aes_term_next(&t, &a);
    }
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_save(&t, blob));
    GL_CHECK_MEM("GLDK", blob, 4);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_restore(&t2, blob));
    GL_CHECK_INT(t.counter, t2.counter);
    for (int i = 0; i < 20; i++) {
        GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t, &a));
        GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_next(&t2, &b));
        GL_CHECK_MEM(a.ksn, b.ksn, 12);
        GL_CHECK_MEM(a.dk, b.dk, 16);
    }
    /* Every single flipped bit is refused (the digest or a field check). */
    int accepted = 0;
    for (size_t bit = 0; bit < CRYPTO_DUKPT_AES_BLOB_LEN * 8; bit += 7) {
        memcpy(blob2, blob, sizeof blob);
        blob2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (crypto_dukpt_aes_term_restore(&t2, blob2) != GL_EINVAL) {
            accepted++;
        }
    }
    GL_CHECK_INT(0, accepted);
    /* and a refused blob leaves no key behind */
    GL_CHECK_INT(0, t2.valid);
    GL_CHECK_INT(0, t2.reg[0][0] | t2.reg[5][3]);
    crypto_dukpt_aes_term_wipe(&t);
    crypto_dukpt_aes_txn_wipe(&a);
    crypto_dukpt_aes_txn_wipe(&b);
}

/* ---- MACs --------------------------------------------------------------- */

GL_TEST(retail_mac_iso9797_alg3_vector)
{
    uint8_t key[16], mac[8], exp[8];
    const char *msg = "Now is the time for all ";

    hx("0123456789ABCDEFFEDCBA9876543210", key);
    GL_CHECK_INT(GL_OK, crypto_mac_retail(key, msg, strlen(msg), mac));
    hx("A1C72E74EA3FA9B6", exp);
    GL_CHECK_MEM(exp, mac, 8);
    /* One flipped bit of message or key changes the MAC. */
    char m2[32];
    strcpy(m2, msg);
    m2[3] ^= 0x01;
    crypto_mac_retail(key, m2, strlen(m2), mac);
    GL_CHECK(memcmp(exp, mac, 8) != 0);
    key[9] ^= 0x02;
    crypto_mac_retail(key, msg, strlen(msg), mac);
    GL_CHECK(memcmp(exp, mac, 8) != 0);
}

GL_TEST(aes_cmac_rfc4493_vectors)
{
    uint8_t key[16], msg[16], mac[16], exp[16];

    hx("2B7E151628AED2A6ABF7158809CF4F3C", key);
    GL_CHECK_INT(GL_OK, crypto_cmac_aes(key, 16, NULL, 0, mac));
    hx("BB1D6929E95937287FA37D129B756746", exp);
    GL_CHECK_MEM(exp, mac, 16);
    hx("6BC1BEE22E409F96E93D7E117393172A", msg);
    GL_CHECK_INT(GL_OK, crypto_cmac_aes(key, 16, msg, 16, mac));
    hx("070A16B46B4D4144F79BDD9DD04A287C", exp);
    GL_CHECK_MEM(exp, mac, 16);
    msg[15] ^= 0x01;
    GL_CHECK_INT(GL_OK, crypto_cmac_aes(key, 16, msg, 16, mac));
    GL_CHECK(memcmp(exp, mac, 16) != 0);
    GL_CHECK_INT(GL_KEY_LENGTH, crypto_cmac_aes(key, 15, msg, 16, mac));
}

GL_TEST(hmac_sha256_rfc4231_case1)
{
    uint8_t key[20], mac[32], exp[32];

    memset(key, 0x0b, sizeof key);
    GL_CHECK_INT(GL_OK, crypto_hmac_sha256(key, 20, "Hi ", 3, "There", 5, mac));
    hx("B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7", exp);
    GL_CHECK_MEM(exp, mac, 32);
}

GL_TEST(constant_time_compare_and_hex)
{
    char hex[9];
    uint8_t b[4];

    GL_CHECK_INT(1, crypto_ct_equal("abcd", "abcd", 4));
    GL_CHECK_INT(0, crypto_ct_equal("abcd", "abce", 4));
    GL_CHECK_INT(0, crypto_ct_equal("xbcd", "abcd", 4));
    crypto_hex_encode((const uint8_t *)"\x01\xab\xff\x00", 4, hex);
    GL_CHECK_STR("01ABFF00", hex);
    GL_CHECK_INT(GL_OK, crypto_hex_decode("01abFF00", 8, b, 4));
    GL_CHECK_MEM("\x01\xab\xff\x00", b, 4);
    GL_CHECK_INT(GL_EINVAL, crypto_hex_decode("01abFF0", 7, b, 4));
    GL_CHECK_INT(GL_EINVAL, crypto_hex_decode("01abFG00", 8, b, 4));
}

GL_TEST(random_generator_gives_fresh_bytes)
{
    struct crypto_rng rng;
    uint8_t a[64], b[64], zero[64];

    memset(zero, 0, sizeof zero);
    GL_CHECK_INT(GL_OK, crypto_rng_init(&rng, "test_crypto"));
    GL_CHECK_INT(GL_OK, crypto_random(crypto_rng_fill, &rng, a, sizeof a));
    GL_CHECK_INT(GL_OK, crypto_random(crypto_rng_fill, &rng, b, sizeof b));
    GL_CHECK(memcmp(a, b, sizeof a) != 0);
    GL_CHECK(memcmp(a, zero, sizeof a) != 0);
    crypto_rng_deinit(&rng);
    GL_CHECK_INT(GL_CRYPTO, crypto_random(failing_rng_fill, NULL, a, 4));
}

/* ---- PIN blocks -----------------------------------------------------------
 */

static const char *PAN0 = "4012345678909";

/* A TDES PIN key (the X9.24-1 vector's counter-1 PIN variant). */
static void tdes_pin_key(uint8_t pk[16])
{
    hx("042666B49184CF5C68DE9628D0397B36", pk);
}

GL_TEST(pinblock_f0_verifies_and_rejects_wrong_pin_key_pan)
{
    uint8_t pk[16], blk[8];
    struct crypto_pinblock pb = {CRYPTO_PIN_FMT0, pk, 16, blk, PAN0};

    tdes_pin_key(pk);
    hx("1B9C1845EB993A7A", blk);
    GL_CHECK_INT(GL_OK, crypto_pinblock_verify(&pb, "1234"));
    GL_CHECK_INT(GL_PIN_MISMATCH, crypto_pinblock_verify(&pb, "1235"));
    GL_CHECK_INT(GL_PIN_MISMATCH, crypto_pinblock_verify(&pb, "12345"));
    GL_CHECK_INT(GL_PIN_MISMATCH, crypto_pinblock_verify(&pb, "4321"));
    GL_CHECK_INT(GL_PIN_LENGTH, crypto_pinblock_verify(&pb, "123"));
    GL_CHECK_INT(GL_EINVAL, crypto_pinblock_verify(&pb, "12a4"));
    /* Another PAN: the fill no longer decodes to F. */
    pb.pan = "4012345678919";
    GL_CHECK_INT(GL_PINBLOCK_FORMAT, crypto_pinblock_verify(&pb, "1234"));
    pb.pan = PAN0;
    /* Wrong key: one flipped key bit. */
    pk[3] ^= 0x10;
    GL_CHECK_INT(GL_PINBLOCK_FORMAT, crypto_pinblock_verify(&pb, "1234"));
    pk[3] ^= 0x10;
    /* Every single flipped bit of the block is refused. */
    int accepted = 0;
    for (int bit = 0; bit < 64; bit++) {
        blk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        accepted += crypto_pinblock_verify(&pb, "1234") == GL_OK;
        blk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    GL_CHECK_INT(0, accepted);
    GL_CHECK_INT(GL_OK, crypto_pinblock_verify(&pb, "1234"));
}

GL_TEST(pinblock_f0_f3_round_trip_all_lengths_and_key_sizes)
{
    static const uint8_t fill[5] = {0x00, 0xff, 0x37, 0xfc, 0x91};
    struct fixed_rng rng = {fill, sizeof fill, 0};
    uint8_t k16[16], k24[24], blk[8], clear[8], panb[8];
    const char *pins[] = {"0000", "98765", "123456789012", "555555"};
    int bad = 0;

    tdes_pin_key(k16);
    hx("0123456789ABCDEFFEDCBA987654321089ABCDEF01234567", k24);
    for (size_t i = 0; i < 4; i++) {
        struct crypto_pinblock pb = {CRYPTO_PIN_FMT0, k16, 16, blk, PAN0};
        bad += crypto_pinblock_f0_encrypt(k16, 16, pins[i], PAN0, blk) != 0;
        bad += crypto_pinblock_verify(&pb, pins[i]) != GL_OK;
        pb.fmt = CRYPTO_PIN_FMT3;
        bad += crypto_pinblock_verify(&pb, pins[i]) != GL_PINBLOCK_FORMAT;
        pb.key = k24;
        pb.key_len = 24;
        bad += crypto_pinblock_f3_encrypt(k24, 24, pins[i], PAN0,
                                          fixed_rng_fill, &rng, blk) != 0;
        bad += crypto_pinblock_verify(&pb, pins[i]) != GL_OK;
        pb.fmt = CRYPTO_PIN_FMT0;
        bad += crypto_pinblock_verify(&pb, pins[i]) != GL_PINBLOCK_FORMAT;
    }
    GL_CHECK_INT(0, bad);
    /* Format 3's clear block: 3, length, PIN, fill nibbles A..F only. */
    GL_CHECK_INT(GL_OK, crypto_pinblock_f3_encrypt(k16, 16, "1234", PAN0,
                                                   fixed_rng_fill, &rng, blk));
    crypto_tdes_ecb(k16, 16, 0, blk, clear);
    hx("0000401234567890", panb); /* 0000 + 12 digits before the check */
    for (int i = 0; i < 8; i++) {
        clear[i] ^= panb[i];
    }
    GL_CHECK_INT(0x34, clear[0]);
    GL_CHECK_INT(0x12, clear[1]);
    int fill_ok = 1;
    for (int n = 6; n < 16; n++) {
        unsigned v = (clear[n / 2] >> (n % 2 ? 0 : 4)) & 0x0f;
        fill_ok &= v >= 0x0a;
    }
    GL_CHECK_INT(1, fill_ok);
    GL_CHECK_INT(GL_EINVAL, crypto_pinblock_f3_encrypt(k16, 16, "1234", PAN0,
                                                       NULL, NULL, blk));
    GL_CHECK_INT(GL_CRYPTO,
                 crypto_pinblock_f3_encrypt(k16, 16, "1234", PAN0,
                                            failing_rng_fill, NULL, blk));
}

GL_TEST(pinblock_device_rejects_bad_input)
{
    uint8_t k[16], blk[16];
    struct fixed_rng rng = {(const uint8_t *)"abc", 3, 0};

    tdes_pin_key(k);
    GL_CHECK_INT(GL_PIN_LENGTH,
                 crypto_pinblock_f0_encrypt(k, 16, "123", PAN0, blk));
    GL_CHECK_INT(GL_PIN_LENGTH,
                 crypto_pinblock_f0_encrypt(k, 16, "1234567890123", PAN0, blk));
    GL_CHECK_INT(GL_EINVAL,
                 crypto_pinblock_f0_encrypt(k, 16, "12 4", PAN0, blk));
    GL_CHECK_INT(GL_EINVAL, crypto_pinblock_f0_encrypt(k, 16, "1234", "", blk));
    GL_CHECK_INT(GL_EINVAL, crypto_pinblock_f0_encrypt(
                                k, 16, "1234", "40123456789012345678", blk));
    GL_CHECK_INT(GL_EINVAL, crypto_pinblock_f0_encrypt(k, 16, "1234",
                                                       "40123X5678909", blk));
    GL_CHECK_INT(GL_KEY_LENGTH,
                 crypto_pinblock_f0_encrypt(k, 8, "1234", PAN0, blk));
    GL_CHECK_INT(GL_KEY_LENGTH,
                 crypto_pinblock_f4_encrypt(k, 8, "1234", PAN0, fixed_rng_fill,
                                            &rng, blk));
}

/* Encrypts a hand-made clear format 0/3 block (PIN field hex) for PAN0. */
static void tdes_block_from_field(const uint8_t pk[16], const char *field,
                                  uint8_t blk[8])
{
    uint8_t f[8], panb[8];
    hx(field, f);
    hx("0000401234567890", panb);
    for (int i = 0; i < 8; i++) {
        f[i] ^= panb[i];
    }
    crypto_tdes_ecb(pk, 16, 1, f, blk);
}

GL_TEST(pinblock_f0_f3_malformed_classes)
{
    struct {
        int fmt;
        const char *field;
        int expect;
    } cases[] = {
        {0, "041234FFFFFFFFFF", GL_OK},
        {0, "141234FFFFFFFFFF", GL_PINBLOCK_FORMAT}, /* control nibble 1 */
        {0, "341234FFFFFFFFFF", GL_PINBLOCK_FORMAT}, /* 3 where 0 expected */
        {0, "03123FFFFFFFFFFF", GL_PIN_LENGTH},      /* length 3 */
        {0, "0D1234567890123F", GL_PIN_LENGTH},      /* length 13 */
        {0, "00FFFFFFFFFFFFFF", GL_PIN_LENGTH},      /* length 0 */
        {0, "04123AFFFFFFFFFF", GL_PINBLOCK_FORMAT}, /* PIN digit A */
        {0, "041234FFFFFFFFFE", GL_PINBLOCK_FORMAT}, /* fill E */
        {0, "041234AFFFFFFFFF", GL_PINBLOCK_FORMAT}, /* fill A in format 0 */
        {0, "0412340FFFFFFFFF", GL_PINBLOCK_FORMAT}, /* fill digit */
        {0, "0C123456789012FF", GL_OK},              /* length 12 */
        {3, "341234ABCDEFABCD", GL_OK},
        {3, "041234ABCDEFABCD", GL_PINBLOCK_FORMAT}, /* control 0 */
        {3, "34123FABCDEFABCD", GL_PINBLOCK_FORMAT}, /* PIN digit F */
        {3, "341234ABCDEFAB9D", GL_PINBLOCK_FORMAT}, /* fill 9 */
        {3, "3F1234ABCDEFABCD", GL_PIN_LENGTH},      /* length 15 */
    };
    uint8_t pk[16], blk[8];

    tdes_pin_key(pk);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct crypto_pinblock pb = {(enum crypto_pin_format)cases[i].fmt, pk,
                                     16, blk, PAN0};
        const char *pin = cases[i].field[1] == 'C' ? "123456789012" : "1234";
        tdes_block_from_field(pk, cases[i].field, blk);
        int rc = crypto_pinblock_verify(&pb, pin);
        if (rc != cases[i].expect) {
            printf("  field %s: expected %s, got %s\n", cases[i].field,
                   gl_errname(cases[i].expect), gl_errname(rc));
        }
        GL_CHECK_INT(cases[i].expect, rc);
    }
}

/* Encrypts a hand-made format 4 PIN field (32 hex) for pan under pk. */
static void aes_block_from_field(const uint8_t pk[16], const char *field,
                                 const char *panfield, uint8_t blk[16])
{
    uint8_t f[16], p[16], a[16];
    hx(field, f);
    hx(panfield, p);
    crypto_aes_ecb(pk, 16, 1, f, a);
    for (int i = 0; i < 16; i++) {
        a[i] ^= p[i];
    }
    crypto_aes_ecb(pk, 16, 1, a, blk);
}

GL_TEST(pinblock_f4_verifies_and_rejects)
{
    static const char *PAN4 = "4111111111111111";
    static const char *PANF = "44111111111111111000000000000000";
    uint8_t pk[16], blk[16], exp[16];
    struct crypto_pinblock pb = {CRYPTO_PIN_FMT4, pk, 16, blk, PAN4};

    hx("AF8CB133A78F8DC2D1359F18527593FB", pk);
    hx("A912150391AB65A67E52883D81CE2D15", blk);
    GL_CHECK_INT(GL_OK, crypto_pinblock_verify(&pb, "1234"));
    GL_CHECK_INT(GL_PIN_MISMATCH, crypto_pinblock_verify(&pb, "1243"));
    /* The hand-built field gives the vector's block: checks the PAN field
     * layout (M = 4, 16 digits, zeros). */
    aes_block_from_field(pk, "441234AAAAAAAAAA2F69ADDE2E9E7ACE", PANF, exp);
    GL_CHECK_MEM(exp, blk, 16);
    pb.pan = "4111111111111112";
    GL_CHECK_INT(GL_PINBLOCK_FORMAT, crypto_pinblock_verify(&pb, "1234"));
    pb.pan = PAN4;
    pk[15] ^= 0x01;
    GL_CHECK_INT(GL_PINBLOCK_FORMAT, crypto_pinblock_verify(&pb, "1234"));
    pk[15] ^= 0x01;
    int accepted = 0;
    for (int bit = 0; bit < 128; bit++) {
        blk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        accepted += crypto_pinblock_verify(&pb, "1234") == GL_OK;
        blk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    GL_CHECK_INT(0, accepted);

    struct {
        const char *field;
        int expect;
    } cases[] = {
        {"441234AAAAAAAAAA0000000000000000", GL_OK},
        {"041234AAAAAAAAAA0000000000000000", GL_PINBLOCK_FORMAT},
        {"43123AAAAAAAAAAA0000000000000000", GL_PIN_LENGTH},
        {"4D1234567890123A0000000000000000", GL_PIN_LENGTH},
        {"44123BAAAAAAAAAA0000000000000000", GL_PINBLOCK_FORMAT},
        {"441234AAAAAAAAAF0000000000000000", GL_PINBLOCK_FORMAT},
        {"441234FFFFFFFFFF0000000000000000", GL_PINBLOCK_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aes_block_from_field(pk, cases[i].field, PANF, blk);
        GL_CHECK_INT(cases[i].expect, crypto_pinblock_verify(&pb, "1234"));
    }
}

GL_TEST(pinblock_f4_short_and_long_pans_and_aes256)
{
    static const uint8_t fill[3] = {1, 2, 3};
    struct fixed_rng rng = {fill, sizeof fill, 0};
    uint8_t k[32], blk[16], blk2[16];
    const char *pans[] = {"12345", "123456789012", "1234567890123456789"};
    int bad = 0;

    hx(AES256_BDK, k);
    for (size_t i = 0; i < 3; i++) {
        struct crypto_pinblock pb = {CRYPTO_PIN_FMT4, k, 32, blk, pans[i]};
        bad += crypto_pinblock_f4_encrypt(k, 32, "987654", pans[i],
                                          fixed_rng_fill, &rng, blk) != 0;
        bad += crypto_pinblock_verify(&pb, "987654") != GL_OK;
    }
    GL_CHECK_INT(0, bad);
    /* A PAN under 12 digits is right-justified in 12 with M = 0, so
     * "12345" and "0000012345" give the same PAN field and block. */
    rng.pos = 0;
    crypto_pinblock_f4_encrypt(k, 32, "1234", "12345", fixed_rng_fill, &rng,
                               blk);
    rng.pos = 0;
    crypto_pinblock_f4_encrypt(k, 32, "1234", "0000012345", fixed_rng_fill,
                               &rng, blk2);
    GL_CHECK_MEM(blk, blk2, 16);
    /* Different random fill, different block, same PIN. */
    rng.pos = 1;
    crypto_pinblock_f4_encrypt(k, 32, "1234", "12345", fixed_rng_fill, &rng,
                               blk2);
    GL_CHECK(memcmp(blk, blk2, 16) != 0);
}

GL_TEST(pinblock_hmac_matches_pin_hmac)
{
    uint8_t pk[16], blk[8], h1[32], h2[32];
    static const uint8_t hkey[] = "pin-hash-key-of-the-host";
    struct crypto_pinblock pb = {CRYPTO_PIN_FMT0, pk, 16, blk, PAN0};

    tdes_pin_key(pk);
    hx("1B9C1845EB993A7A", blk);
    GL_CHECK_INT(GL_OK, crypto_pinblock_hmac(&pb, hkey, sizeof hkey - 1, PAN0,
                                             strlen(PAN0), h1));
    GL_CHECK_INT(GL_OK, crypto_pin_hmac(hkey, sizeof hkey - 1, PAN0,
                                        strlen(PAN0), "1234", h2));
    GL_CHECK_MEM(h2, h1, 32);
    GL_CHECK_INT(GL_OK, crypto_pin_hmac(hkey, sizeof hkey - 1, PAN0,
                                        strlen(PAN0), "1235", h2));
    GL_CHECK(memcmp(h1, h2, 32) != 0);
    GL_CHECK_INT(GL_PIN_LENGTH, crypto_pin_hmac(hkey, sizeof hkey - 1, PAN0,
                                                strlen(PAN0), "12", h2));
    blk[0] ^= 1;
    GL_CHECK(crypto_pinblock_hmac(&pb, hkey, sizeof hkey - 1, PAN0,
                                  strlen(PAN0), h1) != GL_OK);
}

/* ---- initial key file -----------------------------------------------------
 */

GL_TEST(ikey_derive_format_parse)
{
    struct crypto_ikey ik, back;
    uint8_t bdk[32], kid[10], exp[32];
    char text[256];
    int n;

    hx(AES_BDK, bdk);
    hx(KEY_ID, kid);
    GL_CHECK_INT(GL_OK,
                 crypto_ikey_derive(bdk, CRYPTO_KEY_AES128, kid, 8, &ik));
    n = crypto_ikey_format(&ik, text, sizeof text);
    GL_CHECK(n > 0);
    GL_CHECK_STR("# giftlink terminal initial DUKPT key: keep secret "
                 "(mode 0600)\ntype=aes128\nkey_id=1234567890123456\n"
                 "ikey=1273671EA26AC29AFA4D1084127652A1\n",
                 text);
    GL_CHECK_INT(GL_OK, crypto_ikey_parse(text, (size_t)n, &back));
    GL_CHECK_INT(CRYPTO_KEY_AES128, back.type);
    GL_CHECK_MEM(ik.key, back.key, 16);
    GL_CHECK_MEM(kid, back.key_id, 8);
    GL_CHECK_INT(GL_ENOSPC, crypto_ikey_format(&ik, text, 40));

    hx(AES256_BDK, bdk);
    GL_CHECK_INT(GL_OK,
                 crypto_ikey_derive(bdk, CRYPTO_KEY_AES256, kid, 8, &ik));
    hx("CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F", exp);
    GL_CHECK_MEM(exp, ik.key, 32);
    n = crypto_ikey_format(&ik, text, sizeof text);
    GL_CHECK_INT(GL_OK, crypto_ikey_parse(text, (size_t)n, &back));
    GL_CHECK_INT(CRYPTO_KEY_AES256, back.type);
    GL_CHECK_MEM(exp, back.key, 32);

    /* TDES: key id = the KSN's first 8 bytes; the counter bits cleared. */
    hx(TDES_BDK, bdk);
    hx("FFFF9876543210E1", kid);
    GL_CHECK_INT(GL_OK, crypto_ikey_derive(bdk, CRYPTO_KEY_TDES2, kid, 8, &ik));
    hx("6AC292FAA1315B4D858AB3A3D7D5933A", exp);
    GL_CHECK_MEM(exp, ik.key, 16);
    n = crypto_ikey_format(&ik, text, sizeof text);
    GL_CHECK(strstr(text, "type=tdes\nkey_id=FFFF9876543210E00000\n") != NULL);
    GL_CHECK_INT(GL_OK, crypto_ikey_parse(text, (size_t)n, &back));
    GL_CHECK_INT(CRYPTO_KEY_TDES2, back.type);
    GL_CHECK_MEM(exp, back.key, 16);

    GL_CHECK_INT(GL_EINVAL,
                 crypto_ikey_derive(bdk, CRYPTO_KEY_AES128, kid, 7, &ik));
    GL_CHECK_INT(GL_KEY_LENGTH,
                 crypto_ikey_derive(bdk, CRYPTO_KEY_AES192, kid, 8, &ik));
}

GL_TEST(ikey_parse_rejects_bad_files)
{
    struct crypto_ikey ik;
    const char *bad[] = {
        "type=aes128\nkey_id=1234567890123456\n",
        "type=aes128\nkey_id=1234567890123456\nikey=1273671EA26AC29AFA4D108"
        "4127652A1\nikey=1273671EA26AC29AFA4D1084127652A1\n",
        "type=aes192\nkey_id=1234567890123456\nikey=1273671EA26AC29AFA4D108"
        "4127652A1\n",
        "type=aes256\nkey_id=1234567890123456\nikey=1273671EA26AC29AFA4D108"
        "4127652A1\n",
        "type=aes128\nkey_id=123456789012345\nikey=1273671EA26AC29AFA4D1084"
        "127652A1\n",
        "type=aes128\nkey_id=1234567890123456\nikey=1273671EA26AC29AFA4D108"
        "4127652AZ\n",
        "type=aes128\nkey_id=1234567890123456\nikey=1273671EA26AC29AFA4D108"
        "4127652A1\nextra=1\n",
        "type=aes128\nkey_id 1234567890123456\n",
    };
    const char *good = "# c\n\r\ntype=aes128\r\nkey_id=1234567890123456\n"
                       "ikey=1273671ea26ac29afa4d1084127652a1";
    int accepted = 0;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (crypto_ikey_parse(bad[i], strlen(bad[i]), &ik) != GL_EINVAL) {
            printf("  accepted bad file %zu\n", i);
            accepted++;
        }
    }
    GL_CHECK_INT(0, accepted);
    GL_CHECK_INT(GL_OK, crypto_ikey_parse(good, strlen(good), &ik));
    GL_CHECK_INT(0x12, ik.key[0]);
}

GL_TEST(bdk_generate_types_and_parity)
{
    static const uint8_t bytes[4] = {0x00, 0x01, 0xfe, 0x7f};
    struct fixed_rng rng = {bytes, sizeof bytes, 0};
    uint8_t bdk[33];
    int odd = 1;

    memset(bdk, 0xee, sizeof bdk);
    GL_CHECK_INT(GL_OK, crypto_bdk_generate(CRYPTO_KEY_TDES2, fixed_rng_fill,
                                            &rng, bdk));
    for (int i = 0; i < 16; i++) {
        odd &= __builtin_popcount(bdk[i]) % 2 == 1;
    }
    GL_CHECK_INT(1, odd);
    GL_CHECK_MEM("\x01\x01\xfe\x7f", bdk, 4); /* only parity bits fixed */
    GL_CHECK_INT(0xee, bdk[16]);
    rng.pos = 0;
    GL_CHECK_INT(GL_OK, crypto_bdk_generate(CRYPTO_KEY_AES256, fixed_rng_fill,
                                            &rng, bdk));
    GL_CHECK_MEM("\x00\x01\xfe\x7f", bdk + 28, 4);
    GL_CHECK_INT(0xee, bdk[32]);
    GL_CHECK_INT(GL_KEY_LENGTH, crypto_bdk_generate(CRYPTO_KEY_AES192,
                                                    fixed_rng_fill, &rng, bdk));
    GL_CHECK_INT(GL_CRYPTO, crypto_bdk_generate(CRYPTO_KEY_AES128,
                                                failing_rng_fill, NULL, bdk));
}

GL_TEST(key_type_names)
{
    enum crypto_key_type t;

    GL_CHECK_INT(16, crypto_key_len(CRYPTO_KEY_AES128));
    GL_CHECK_INT(32, crypto_key_len(CRYPTO_KEY_AES256));
    GL_CHECK_INT(16, crypto_key_len(CRYPTO_KEY_TDES2));
    GL_CHECK_INT(24, crypto_key_len(CRYPTO_KEY_TDES3));
    GL_CHECK_STR("aes256", crypto_key_type_name(CRYPTO_KEY_AES256));
    GL_CHECK_INT(GL_OK, crypto_key_type_parse("tdes", &t));
    GL_CHECK_INT(CRYPTO_KEY_TDES2, t);
    GL_CHECK_INT(GL_OK, crypto_key_type_parse("aes128", &t));
    GL_CHECK_INT(CRYPTO_KEY_AES128, t);
    GL_CHECK_INT(GL_EINVAL, crypto_key_type_parse("aes", &t));
}

int main(void)
{
    GL_RUN(tdes_dukpt_ipek_and_transaction_keys);
    GL_RUN(tdes_dukpt_rejects_unusable_counters_and_wrong_bdk);
    GL_RUN(tdes_dukpt_variants);
    GL_RUN(tdes_dukpt_pin_block_format0_vector);
    GL_RUN(tdes_dukpt_request_and_response_mac_vectors);
    GL_RUN(aes_dukpt_aes128_vectors);
    GL_RUN(aes_dukpt_aes256_initial_key_vector);
    GL_RUN(aes_dukpt_pin_block_format4_vector);
    GL_RUN(aes_dukpt_host_rejects_bad_ksn_and_key_types);
    GL_RUN(aes_dukpt_terminal_first_transaction_vector);
    GL_RUN(aes_dukpt_terminal_matches_host_for_5000_transactions);
    GL_RUN(aes_dukpt_terminal_aes256_matches_host);
    GL_RUN(aes_dukpt_terminal_skips_counters_with_17_one_bits);
    GL_RUN(aes_dukpt_terminal_reports_exhaustion);
    GL_RUN(aes_dukpt_terminal_state_saves_and_restores);
    GL_RUN(retail_mac_iso9797_alg3_vector);
    GL_RUN(aes_cmac_rfc4493_vectors);
    GL_RUN(hmac_sha256_rfc4231_case1);
    GL_RUN(constant_time_compare_and_hex);
    GL_RUN(random_generator_gives_fresh_bytes);
    GL_RUN(pinblock_f0_verifies_and_rejects_wrong_pin_key_pan);
    GL_RUN(pinblock_f0_f3_round_trip_all_lengths_and_key_sizes);
    GL_RUN(pinblock_device_rejects_bad_input);
    GL_RUN(pinblock_f0_f3_malformed_classes);
    GL_RUN(pinblock_f4_verifies_and_rejects);
    GL_RUN(pinblock_f4_short_and_long_pans_and_aes256);
    GL_RUN(pinblock_hmac_matches_pin_hmac);
    GL_RUN(ikey_derive_format_parse);
    GL_RUN(ikey_parse_rejects_bad_files);
    GL_RUN(bdk_generate_types_and_parity);
    GL_RUN(key_type_names);
    return GL_TEST_END();
}
