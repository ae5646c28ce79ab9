/*
 * test_vectors.c - the example messages of the host link (tests/vectors,
 * shown in docs/host-interface.md) are messages a real host would accept:
 * card and voucher numbers pass their Luhn check, every message carries a
 * key serial number of the published test keys (tests/keys), signs and
 * verifies with the link's MAC under them, and every PIN block holds PIN
 * 1234 for the card in DE 2.
 */
#include <stdio.h>
#include <string.h>

#include "../gl_test.h"
#include "../iso_vectors.h"
#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_mac_msg.h"
#include "crypto_pinblock.h"
#include "gl_err.h"
#include "iso8583.h"

static struct vec vecs[VEC_MAX];
static int nvecs;
static struct crypto_bdk aes_bdk, tdes_bdk;

static int luhn_ok(const char *s)
{
    size_t n = strlen(s);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = s[n - 1 - i] - '0';
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    return n > 0 && sum % 10 == 0;
}

static int is_tdes(const struct iso_msg *m)
{
    uint8_t ksn[12];
    size_t kl = 0;
    return crypto_mac_msg_ksn(m, ksn, &kl) == GL_OK && kl == 10;
}

GL_TEST(numbers_pass_luhn)
{
    for (int i = 0; i < nvecs; i++) {
        char pan[32];
        if (iso_msg_get_str(&vecs[i].msg, 2, pan, sizeof pan) == GL_OK) {
            if (!luhn_ok(pan)) {
                printf("       %s: DE 2 %s fails Luhn\n", vecs[i].name, pan);
            }
            GL_CHECK(luhn_ok(pan));
        }
    }
}

GL_TEST(every_message_has_a_ksn_of_the_test_keys)
{
    for (int i = 0; i < nvecs; i++) {
        uint8_t ksn[12];
        size_t kl = 0;
        int rc = crypto_mac_msg_ksn(&vecs[i].msg, ksn, &kl);
        GL_CHECK_INT(GL_OK, rc);
        if (kl == 12) {
            GL_CHECK_MEM("\x12\x34\x56\x78\x90\x12\x34\x56", ksn, 8);
        } else {
            GL_CHECK_INT(10, kl);
            GL_CHECK_MEM("\xFF\xFF\x98\x76\x54\x32\x10\xE0", ksn, 8);
        }
    }
}

GL_TEST(every_message_signs_and_verifies)
{
    static struct iso_msg m;
    for (int i = 0; i < nvecs; i++) {
        const struct crypto_bdk *bdk = is_tdes(&vecs[i].msg) ? &tdes_bdk : &aes_bdk;
        enum crypto_mac_dir dir = vecs[i].msg.mti[2] == '1' ||
                                          vecs[i].msg.mti[2] == '3'
                                      ? CRYPTO_MAC_RESPONSE
                                      : CRYPTO_MAC_REQUEST;
        iso_msg_copy(&m, &vecs[i].msg);
        GL_CHECK_INT(GL_OK, crypto_mac_sign_bdk(&iso_profile_ascii, &m, bdk,
                                                dir, NULL));
        GL_CHECK_INT(GL_OK, crypto_mac_verify_bdk(&iso_profile_ascii, &m, bdk,
                                                  dir, NULL));
        /* The MAC field is the one the spec says. */
        int high = m.present[1] != 0;
        GL_CHECK_INT(high, iso_msg_has(&m, 128));
        GL_CHECK_INT(!high, iso_msg_has(&m, 64));
        /* The other direction's key does not verify it. */
        GL_CHECK_INT(GL_MAC_MISMATCH,
                     crypto_mac_verify_bdk(&iso_profile_ascii, &m, bdk,
                                           dir == CRYPTO_MAC_REQUEST
                                               ? CRYPTO_MAC_RESPONSE
                                               : CRYPTO_MAC_REQUEST,
                                           NULL));
    }
}

GL_TEST(pin_blocks_hold_1234_for_the_card)
{
    int seen = 0;
    for (int i = 0; i < nvecs; i++) {
        const struct iso_msg *m = &vecs[i].msg;
        const uint8_t *de48, *pb;
        size_t n48, npb;
        char pan[32], hex[40];
        uint8_t ksn[12], key[32], block[16];
        size_t kl = 0;
        struct crypto_pinblock p;

        if (iso_msg_get_str(m, 2, pan, sizeof pan) != GL_OK ||
            crypto_mac_msg_ksn(m, ksn, &kl) != GL_OK) {
            continue;
        }
        memset(&p, 0, sizeof p);
        p.pan = pan;
        if (iso_msg_get(m, 48, &de48, &n48) == GL_OK &&
            iso_tlv_find(de48, n48, "PB", &pb, &npb) == GL_OK) {
            GL_CHECK_INT(32, npb);
            memcpy(hex, pb, 32);
            GL_CHECK_INT(GL_OK, crypto_hex_decode(hex, 32, block, 16));
            GL_CHECK_INT(GL_OK, crypto_dukpt_aes_host_key(
                                    aes_bdk.key, CRYPTO_KEY_AES128, ksn,
                                    CRYPTO_USAGE_PIN, CRYPTO_KEY_AES128, key));
            p.fmt = CRYPTO_PIN_FMT4;
            p.key = key;
            p.key_len = 16;
        } else if (iso_msg_get(m, 52, &pb, &npb) == GL_OK) {
            uint8_t tk[16];
            GL_CHECK_INT(8, npb);
            memcpy(block, pb, 8);
            GL_CHECK_INT(GL_OK, crypto_dukpt_tdes_key(tdes_bdk.key, ksn, tk));
            GL_CHECK_INT(GL_OK,
                         crypto_dukpt_tdes_variant(tk, CRYPTO_TDES_PIN, key));
            crypto_wipe(tk, sizeof tk);
            p.fmt = CRYPTO_PIN_FMT0;
            p.key = key;
            p.key_len = 16;
        } else {
            continue;
        }
        p.block = block;
        seen++;
        GL_CHECK_INT(GL_OK, crypto_pinblock_verify(&p, "1234"));
        GL_CHECK_INT(GL_PIN_MISMATCH, crypto_pinblock_verify(&p, "1235"));
        crypto_wipe(key, sizeof key);
    }
    GL_CHECK_INT(2, seen);
}

int main(void)
{
    char err[200];
    nvecs = vec_load_all("tests/vectors", vecs);
    if (nvecs < 20 ||
        crypto_bdk_read("tests/keys/test-aes128.bdk", CRYPTO_KEY_AES128,
                        &aes_bdk, err, sizeof err) != GL_OK ||
        crypto_bdk_read("tests/keys/test-tdes.bdk", CRYPTO_KEY_TDES2,
                        &tdes_bdk, err, sizeof err) != GL_OK) {
        printf("cannot load the vectors or the test keys\n0 passed, 1 failed\n");
        return 1;
    }
    GL_RUN(numbers_pass_luhn);
    GL_RUN(every_message_has_a_ksn_of_the_test_keys);
    GL_RUN(every_message_signs_and_verifies);
    GL_RUN(pin_blocks_hold_1234_for_the_card);
    crypto_wipe(&aes_bdk, sizeof aes_bdk);
    crypto_wipe(&tdes_bdk, sizeof tdes_bdk);
    return GL_TEST_END();
}
