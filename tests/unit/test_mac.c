/*
 * test_mac.c - the MAC of link messages (lib/crypto/crypto_mac_msg.h) on the
 * real codec of lib/iso8583: terminal signs and host verifies requests, host
 * signs and terminal verifies responses, in both profiles, with and without
 * a secondary bitmap, under AES DUKPT (AES-128 and AES-256 BDKs) and TDES
 * DUKPT; the MAC value is recomputed independently from the packed bytes;
 * every flipped bit, a removed MAC field, a missing or malformed KS tag and
 * a wrong BDK are refused with their exact codes.
 */
#include <stdio.h>
#include <string.h>

#include "../gl_test.h"
#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_mac_msg.h"
#include "gl_err.h"
#include "iso8583.h"

static size_t hx(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    if (crypto_hex_decode(hex, strlen(hex), out, n) != GL_OK) {
        printf("  bad hex literal in the test: %s\n", hex);
        gl_t_fail_++;
    }
    return n;
}

static const char *AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1";
static const char *AES256_BDK =
    "FEDCBA9876543210F1F1F1F1F1F1F1F1FEDCBA9876543210F1F1F1F1F1F1F1F1";
static const char *KEY_ID = "1234567890123456";
static const char *TDES_BDK = "0123456789ABCDEFFEDCBA9876543210";

static void bdk_of(struct crypto_bdk *bdk, const char *hex)
{
    memset(bdk, 0, sizeof *bdk);
    bdk->type = strlen(hex) == 64 ? CRYPTO_KEY_AES256 : CRYPTO_KEY_AES128;
    hx(hex, bdk->key);
}

/* A request as the terminal sends it: DE 48 holds another tag, then KS. */
static int build_msg(struct iso_msg *m, const char *mti, int secondary,
                     const char *ks_hex)
{
    uint8_t tlv[128];
    size_t tlv_len = 0;
    int rc = 0;

    iso_msg_init(m);
    rc |= iso_msg_set_mti(m, mti);
    rc |= iso_msg_set_str(m, 3, "000000", NULL);
    rc |= iso_msg_set_str(m, 4, "000000001500", NULL);
    rc |= iso_msg_set_str(m, 11, "000123", NULL);
    rc |= iso_msg_set_str(m, 41, "TERM0001", NULL);
    rc |= iso_tlv_append(tlv, sizeof tlv, &tlv_len, "TR", "abc", 3);
    if (ks_hex != NULL) {
        rc |= iso_tlv_append(tlv, sizeof tlv, &tlv_len, "KS", ks_hex,
                             strlen(ks_hex));
    }
    rc |= iso_msg_set(m, 48, tlv, tlv_len, NULL);
    if (secondary) {
        rc |= iso_msg_set_str(m, 70, "301", NULL);
        rc |= iso_msg_set_str(m, 100, "12345", NULL);
    }
    if (rc != 0) {
        printf("  could not build the test message\n");
        gl_t_fail_++;
    }
    return rc;
}

/* The terminal's transaction: initial key of KEY_ID loaded, first counter. */
static void aes_terminal_keys(const char *bdk_hex, struct crypto_mac_keys *keys,
                              char ks_hex[25])
{
    struct crypto_bdk bdk;
    struct crypto_dukpt_aes_term t;
    struct crypto_dukpt_aes_txn txn;
    uint8_t kid[8], ik[32];

    bdk_of(&bdk, bdk_hex);
    hx(KEY_ID, kid);
    crypto_dukpt_aes_initial_key(bdk.key, bdk.type, kid, ik);
    crypto_dukpt_aes_term_load(&t, ik, bdk.type, kid);
    crypto_dukpt_aes_term_next(&t, &txn); /* counter 1 */
    crypto_dukpt_aes_term_next(&t, &txn); /* counter 2 */
    crypto_dukpt_aes_term_next(&t, &txn); /* counter 3 */
    GL_CHECK_INT(GL_OK, crypto_mac_keys_from_aes_txn(&txn, keys));
    crypto_hex_encode(txn.ksn, sizeof txn.ksn, ks_hex);
    crypto_dukpt_aes_txn_wipe(&txn);
    crypto_dukpt_aes_term_wipe(&t);
    crypto_wipe(ik, sizeof ik);
}

/* The MAC recomputed from the packed bytes and the host's derivation. */
static void expect_aes_mac(const struct iso_profile *p, const struct iso_msg *m,
                           const char *bdk_hex, unsigned usage)
{
    struct crypto_bdk bdk;
    uint8_t ksn[12], key[32], buf[ISO_FRAME_MAX], cmac[16];
    size_t len = 0, ksn_len = 0;

    bdk_of(&bdk, bdk_hex);
    GL_CHECK_INT(GL_OK, crypto_mac_msg_ksn(m, ksn, &ksn_len));
    GL_CHECK_INT(12, ksn_len);
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(bdk.key, bdk.type, ksn, usage,
                                                  bdk.type, key));
    GL_CHECK_INT(GL_OK, iso_pack(p, m, buf, sizeof buf, &len, NULL));
    GL_CHECK(len > 8);
    GL_CHECK_INT(GL_OK, crypto_cmac_aes(key, crypto_key_len(bdk.type), buf,
                                        len - 8, cmac));
    GL_CHECK_MEM(cmac, buf + len - 8, 8);
}

static void check_mac_field(const struct iso_msg *m, int secondary)
{
    GL_CHECK_INT(secondary ? 0 : 1, iso_msg_has(m, 64));
    GL_CHECK_INT(secondary ? 1 : 0, iso_msg_has(m, 128));
}

GL_TEST(aes_request_terminal_signs_host_verifies)
{
    const struct iso_profile *profiles[] = {&iso_profile_ascii,
                                            &iso_profile_bcd};
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    struct iso_error err;
    char ks[25];

    aes_terminal_keys(AES_BDK, &keys, ks);
    GL_CHECK_STR("123456789012345600000003", ks);
    bdk_of(&bdk, AES_BDK);
    for (int pi = 0; pi < 2; pi++) {
        for (int sec = 0; sec < 2; sec++) {
            build_msg(&m, "0200", sec, ks);
            GL_CHECK_INT(GL_OK, crypto_mac_sign(profiles[pi], &m, &keys,
                                                CRYPTO_MAC_REQUEST, &err));
            check_mac_field(&m, sec);
            expect_aes_mac(profiles[pi], &m, AES_BDK, CRYPTO_USAGE_MAC_GEN);
            GL_CHECK_INT(GL_OK,
                         crypto_mac_verify_bdk(profiles[pi], &m, &bdk,
                                               CRYPTO_MAC_REQUEST, &err));
            /* the terminal can check its own request too */
            GL_CHECK_INT(GL_OK, crypto_mac_verify(profiles[pi], &m, &keys,
                                                  CRYPTO_MAC_REQUEST, &err));
            /* a request MAC is not a response MAC */
            GL_CHECK_INT(GL_MAC_MISMATCH,
                         crypto_mac_verify_bdk(profiles[pi], &m, &bdk,
                                               CRYPTO_MAC_RESPONSE, &err));
            /* the MAC of one profile does not hold in the other */
            GL_CHECK_INT(GL_MAC_MISMATCH,
                         crypto_mac_verify_bdk(profiles[1 - pi], &m, &bdk,
                                               CRYPTO_MAC_REQUEST, &err));
            /* signing twice gives the same MAC (the old one is dropped) */
            const uint8_t *v1, *v2;
            size_t n1, n2;
            uint8_t first[8];
            iso_msg_get(&m, sec ? 128 : 64, &v1, &n1);
            memcpy(first, v1, 8);
            GL_CHECK_INT(GL_OK, crypto_mac_sign(profiles[pi], &m, &keys,
                                                CRYPTO_MAC_REQUEST, &err));
            iso_msg_get(&m, sec ? 128 : 64, &v2, &n2);
            GL_CHECK_INT(8, n2);
            GL_CHECK_MEM(first, v2, 8);
        }
    }
    crypto_mac_keys_wipe(&keys);
}

GL_TEST(aes_response_host_signs_terminal_verifies)
{
    const struct iso_profile *profiles[] = {&iso_profile_ascii,
                                            &iso_profile_bcd};
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg req, resp;
    struct iso_error err;
    const uint8_t *de48;
    size_t de48_len;
    char ks[25];

    aes_terminal_keys(AES_BDK, &keys, ks);
    bdk_of(&bdk, AES_BDK);
    for (int pi = 0; pi < 2; pi++) {
        for (int sec = 0; sec < 2; sec++) {
            build_msg(&req, "0200", sec, ks);
            crypto_mac_sign(profiles[pi], &req, &keys, CRYPTO_MAC_REQUEST,
                            &err);
            /* The host answers, echoing DE 48 (and with it KS). */
            build_msg(&resp, "0210", sec, NULL);
            iso_msg_get(&req, 48, &de48, &de48_len);
            iso_msg_set(&resp, 48, de48, de48_len, NULL);
            iso_msg_set_str(&resp, 39, "00", NULL);
            GL_CHECK_INT(GL_OK, crypto_mac_sign_bdk(profiles[pi], &resp, &bdk,
                                                    CRYPTO_MAC_RESPONSE, &err));
            check_mac_field(&resp, sec);
            expect_aes_mac(profiles[pi], &resp, AES_BDK, CRYPTO_USAGE_MAC_VER);
            GL_CHECK_INT(GL_OK, crypto_mac_verify(profiles[pi], &resp, &keys,
                                                  CRYPTO_MAC_RESPONSE, &err));
            GL_CHECK_INT(GL_MAC_MISMATCH,
                         crypto_mac_verify(profiles[pi], &resp, &keys,
                                           CRYPTO_MAC_REQUEST, &err));
        }
    }
    crypto_mac_keys_wipe(&keys);
}

GL_TEST(aes256_bdk_round_trip)
{
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    char ks[25];

    aes_terminal_keys(AES256_BDK, &keys, ks);
    GL_CHECK_INT(32, keys.key_len);
    bdk_of(&bdk, AES256_BDK);
    build_msg(&m, "0100", 1, ks);
    GL_CHECK_INT(GL_OK, crypto_mac_sign(&iso_profile_ascii, &m, &keys,
                                        CRYPTO_MAC_REQUEST, NULL));
    expect_aes_mac(&iso_profile_ascii, &m, AES256_BDK, CRYPTO_USAGE_MAC_GEN);
    GL_CHECK_INT(GL_OK, crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                              CRYPTO_MAC_REQUEST, NULL));
    /* The AES-128 BDK with the same bytes' first half is another key. */
    bdk_of(&bdk, AES_BDK);
    GL_CHECK_INT(GL_MAC_MISMATCH,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, NULL));
    crypto_mac_keys_wipe(&keys);
}

/* Flips every bit of the packed, signed message in turn.  When the result
 * still unpacks with the same KS and a MAC field, verify must say exactly
 * MISMATCH; in every other case it must not say OK.  Returns the number of
 * flips that were wrongly accepted or got another code. */
static int flip_every_bit(const struct iso_profile *p,
                          const struct iso_msg *signed_msg,
                          const struct crypto_bdk *bdk, enum crypto_mac_dir dir,
                          int *mismatches)
{
    static struct iso_msg m;
    uint8_t buf[ISO_FRAME_MAX], ksn0[12], ksn[12];
    size_t len = 0, kl0 = 0, kl = 0;
    int bad = 0;

    *mismatches = 0;
    crypto_mac_msg_ksn(signed_msg, ksn0, &kl0);
    if (iso_pack(p, signed_msg, buf, sizeof buf, &len, NULL) != GL_OK) {
        return 1;
    }
    for (size_t bit = 0; bit < len * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
        if (iso_unpack(p, &m, buf, len, NULL) == GL_OK) {
            int rc = crypto_mac_verify_bdk(p, &m, bdk, dir, NULL);
            int same_ks = crypto_mac_msg_ksn(&m, ksn, &kl) == GL_OK &&
                          kl == kl0 && memcmp(ksn, ksn0, kl) == 0;
            int has_mac = iso_msg_has(&m, 64) || iso_msg_has(&m, 128);
            if (rc == GL_OK || (same_ks && has_mac && rc != GL_MAC_MISMATCH)) {
                if (bad < 3) {
                    printf("  bit %zu: %s\n", bit, gl_errname(rc));
                }
                bad++;
            }
            *mismatches += rc == GL_MAC_MISMATCH;
        }
        buf[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
    }
    return bad;
}

GL_TEST(any_flipped_bit_is_refused)
{
    const struct iso_profile *profiles[] = {&iso_profile_ascii,
                                            &iso_profile_bcd};
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    char ks[25];
    int mism;

    aes_terminal_keys(AES_BDK, &keys, ks);
    bdk_of(&bdk, AES_BDK);
    for (int pi = 0; pi < 2; pi++) {
        for (int sec = 0; sec < 2; sec++) {
            build_msg(&m, "0200", sec, ks);
            crypto_mac_sign(profiles[pi], &m, &keys, CRYPTO_MAC_REQUEST, NULL);
            GL_CHECK_INT(0, flip_every_bit(profiles[pi], &m, &bdk,
                                           CRYPTO_MAC_REQUEST, &mism));
            /* most flips land in values and are caught by the MAC itself */
            GL_CHECK(mism > 200);
        }
    }
    crypto_mac_keys_wipe(&keys);
}

GL_TEST(missing_mac_field)
{
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    struct iso_error err;
    char ks[25];

    aes_terminal_keys(AES_BDK, &keys, ks);
    bdk_of(&bdk, AES_BDK);
    /* never signed */
    build_msg(&m, "0200", 0, ks);
    GL_CHECK_INT(GL_MAC_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    GL_CHECK_INT(64, err.field);
    GL_CHECK_INT(GL_MAC_MISSING,
                 crypto_mac_verify(&iso_profile_ascii, &m, &keys,
                                   CRYPTO_MAC_REQUEST, &err));
    /* signed, then DE 64 removed */
    crypto_mac_sign(&iso_profile_ascii, &m, &keys, CRYPTO_MAC_REQUEST, NULL);
    iso_msg_unset(&m, 64);
    GL_CHECK_INT(GL_MAC_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    /* secondary bitmap: DE 128 removed; a DE 64 does not stand in for it */
    build_msg(&m, "0200", 1, ks);
    crypto_mac_sign(&iso_profile_bcd, &m, &keys, CRYPTO_MAC_REQUEST, NULL);
    iso_msg_unset(&m, 128);
    GL_CHECK_INT(GL_MAC_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_bcd, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    GL_CHECK_INT(128, err.field);
    iso_msg_set(&m, 64, "\0\0\0\0\0\0\0\0", 8, NULL);
    GL_CHECK_INT(GL_MAC_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_bcd, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    /* A MAC field signed as DE 64 and moved to DE 128 does not verify. */
    build_msg(&m, "0200", 0, ks);
    crypto_mac_sign(&iso_profile_ascii, &m, &keys, CRYPTO_MAC_REQUEST, NULL);
    {
        const uint8_t *v;
        size_t n;
        uint8_t mac[8];
        iso_msg_get(&m, 64, &v, &n);
        memcpy(mac, v, 8);
        iso_msg_unset(&m, 64);
        iso_msg_set(&m, 128, mac, 8, NULL);
        GL_CHECK_INT(GL_MAC_MISMATCH,
                     crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                           CRYPTO_MAC_REQUEST, &err));
    }
    crypto_mac_keys_wipe(&keys);
}

GL_TEST(missing_or_bad_ks_tag)
{
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    struct iso_error err;
    char ks[25];

    aes_terminal_keys(AES_BDK, &keys, ks);
    bdk_of(&bdk, AES_BDK);

    /* no KS in DE 48: neither side can sign */
    build_msg(&m, "0200", 0, NULL);
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_sign(&iso_profile_ascii, &m, &keys,
                                 CRYPTO_MAC_REQUEST, &err));
    GL_CHECK_INT(48, err.field);
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_sign_bdk(&iso_profile_ascii, &m, &bdk,
                                     CRYPTO_MAC_RESPONSE, &err));
    /* signed, then KS removed from DE 48 */
    build_msg(&m, "0200", 0, ks);
    crypto_mac_sign(&iso_profile_ascii, &m, &keys, CRYPTO_MAC_REQUEST, NULL);
    iso_msg_set_str(&m, 48, "TR003abc", NULL);
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_verify(&iso_profile_ascii, &m, &keys,
                                   CRYPTO_MAC_REQUEST, &err));
    /* DE 48 removed altogether */
    iso_msg_unset(&m, 48);
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    /* lower-case hex, a wrong length, a non-hex digit (a malformed TLV
     * never gets into a message: the codec checks DE 48) */
    const char *bad_ks[] = {
        "12345678901234560000000a", "1234567890123456000003",
        "12345678901234560000000G", "1234567890123456000000030"};
    for (size_t i = 0; i < 4; i++) {
        build_msg(&m, "0200", 0, bad_ks[i]);
        iso_msg_set(&m, 64, "\1\2\3\4\5\6\7\10", 8, NULL);
        GL_CHECK_INT(GL_MAC_KSN_MISSING,
                     crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                           CRYPTO_MAC_REQUEST, &err));
    }
    /* a TDES-length KS under an AES BDK */
    build_msg(&m, "0200", 0, "FFFF9876543210E00001");
    iso_msg_set(&m, 64, "\1\2\3\4\5\6\7\10", 8, NULL);
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    /* a KS naming a counter no terminal uses */
    build_msg(&m, "0200", 0, "123456789012345600000000");
    iso_msg_set(&m, 64, "\1\2\3\4\5\6\7\10", 8, NULL);
    GL_CHECK_INT(GL_DUKPT_BADKSN,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    /* the terminal's keys do not sign a message naming another KSN */
    build_msg(&m, "0200", 0, "123456789012345600000004");
    GL_CHECK_INT(GL_DUKPT_BADKSN, crypto_mac_sign(&iso_profile_ascii, &m, &keys,
                                                  CRYPTO_MAC_REQUEST, &err));
    crypto_mac_keys_wipe(&keys);
}

GL_TEST(wrong_bdk_is_mismatch)
{
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    char ks[25];

    aes_terminal_keys(AES_BDK, &keys, ks);
    bdk_of(&bdk, AES_BDK);
    build_msg(&m, "0200", 1, ks);
    crypto_mac_sign(&iso_profile_ascii, &m, &keys, CRYPTO_MAC_REQUEST, NULL);
    GL_CHECK_INT(GL_OK, crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                              CRYPTO_MAC_REQUEST, NULL));
    bdk.key[7] ^= 0x04;
    GL_CHECK_INT(GL_MAC_MISMATCH,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, NULL));
    crypto_mac_keys_wipe(&keys);
}

GL_TEST(tdes_dukpt_request_and_response)
{
    const struct iso_profile *profiles[] = {&iso_profile_ascii,
                                            &iso_profile_bcd};
    struct crypto_mac_keys keys;
    struct crypto_bdk bdk;
    struct iso_msg m;
    struct iso_error err;
    uint8_t ksn[10], ipek[16], tk[16], mk[16], buf[ISO_FRAME_MAX], mac[8];
    size_t len;
    int mism;

    memset(&bdk, 0, sizeof bdk);
    bdk.type = CRYPTO_KEY_TDES2;
    hx(TDES_BDK, bdk.key);
    hx("FFFF9876543210E00001", ksn);
    /* the terminal holds its IPEK and derives the transaction key */
    crypto_dukpt_tdes_ipek(bdk.key, ksn, ipek);
    GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key_from_ipek(ipek, ksn, tk));
    GL_CHECK_INT(GL_OK, crypto_mac_keys_from_tdes(tk, ksn, &keys));
    for (int pi = 0; pi < 2; pi++) {
        for (int sec = 0; sec < 2; sec++) {
            build_msg(&m, "0200", sec, "FFFF9876543210E00001");
            GL_CHECK_INT(GL_OK, crypto_mac_sign(profiles[pi], &m, &keys,
                                                CRYPTO_MAC_REQUEST, &err));
            check_mac_field(&m, sec);
            /* independent: X9.19 under the request variant of the
             * X9.24-1 vector's key #1 */
            hx("042666B4918430A368DE9628D03984C9", mk);
            iso_pack(profiles[pi], &m, buf, sizeof buf, &len, NULL);
            crypto_mac_retail(mk, buf, len - 8, mac);
            GL_CHECK_MEM(mac, buf + len - 8, 8);
            GL_CHECK_INT(GL_OK,
                         crypto_mac_verify_bdk(profiles[pi], &m, &bdk,
                                               CRYPTO_MAC_REQUEST, &err));
            GL_CHECK_INT(GL_MAC_MISMATCH,
                         crypto_mac_verify_bdk(profiles[pi], &m, &bdk,
                                               CRYPTO_MAC_RESPONSE, &err));
            GL_CHECK_INT(0, flip_every_bit(profiles[pi], &m, &bdk,
                                           CRYPTO_MAC_REQUEST, &mism));
            GL_CHECK(mism > 200);

            /* response: host signs, terminal verifies */
            m.mti[2] = '1';
            GL_CHECK_INT(GL_OK, crypto_mac_sign_bdk(profiles[pi], &m, &bdk,
                                                    CRYPTO_MAC_RESPONSE, &err));
            hx("042666B46E84CFA368DE96282F397BC9", mk);
            iso_pack(profiles[pi], &m, buf, sizeof buf, &len, NULL);
            crypto_mac_retail(mk, buf, len - 8, mac);
            GL_CHECK_MEM(mac, buf + len - 8, 8);
            GL_CHECK_INT(GL_OK, crypto_mac_verify(profiles[pi], &m, &keys,
                                                  CRYPTO_MAC_RESPONSE, &err));
        }
    }
    /* an AES-length KS under a TDES BDK */
    build_msg(&m, "0200", 0, "123456789012345600000003");
    iso_msg_set(&m, 64, "\1\2\3\4\5\6\7\10", 8, NULL);
    GL_CHECK_INT(GL_MAC_KSN_MISSING,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    /* wrong BDK */
    build_msg(&m, "0200", 0, "FFFF9876543210E00001");
    crypto_mac_sign(&iso_profile_ascii, &m, &keys, CRYPTO_MAC_REQUEST, NULL);
    bdk.key[2] ^= 0x20;
    GL_CHECK_INT(GL_MAC_MISMATCH,
                 crypto_mac_verify_bdk(&iso_profile_ascii, &m, &bdk,
                                       CRYPTO_MAC_REQUEST, &err));
    crypto_mac_keys_wipe(&keys);
}

int main(void)
{
    GL_RUN(aes_request_terminal_signs_host_verifies);
    GL_RUN(aes_response_host_signs_terminal_verifies);
    GL_RUN(aes256_bdk_round_trip);
    GL_RUN(any_flipped_bit_is_refused);
    GL_RUN(missing_mac_field);
    GL_RUN(missing_or_bad_ks_tag);
    GL_RUN(wrong_bdk_is_mismatch);
    GL_RUN(tdes_dukpt_request_and_response);
    return GL_TEST_END();
}
