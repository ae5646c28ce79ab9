/*
 * test_pinpad.c - PIN entry: the keyboard PIN pad reading keys from a pipe
 * gives only an AES DUKPT format 4 PIN block and its KSN, which the host
 * side of lib/crypto (BDK + KSN) decrypts to the keyed PIN; editing keys,
 * cancel, time-out, end of input, lengths, persisting the DUKPT state, and
 * the wiping of the digit buffer.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_pinblock.h"
#include "gl_err.h"
#include "pinpad.h"

#define PAN "9410000000000014"

static const uint8_t BDK[16] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                                0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1};
static const uint8_t KEY_ID[8] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56};

static struct crypto_dukpt_aes_term g_term;
static int g_persisted, g_persist_rc;
static uint32_t g_persisted_counter;

static int persist(void *ctx, const struct crypto_dukpt_aes_term *t)
{
    (void)ctx;
    g_persisted++;
    g_persisted_counter = t->counter;
    return g_persist_rc;
}

static int fixed_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5A, len);
    return 0;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Types keys into a fresh pipe and runs one entry. */
static int enter(struct pinpad *pp, int fds[2], const char *keys, int close_w,
                 int timeout_ms, struct pinpad_block *out)
{
    if (keys != NULL && write(fds[1], keys, strlen(keys)) != (ssize_t)strlen(keys)) {
        return GL_EOS;
    }
    if (close_w) {
        close(fds[1]);
        fds[1] = -1;
    }
    return pinpad_get_block(pp, PAN, timeout_ms, out);
}

static int host_verify(const struct pinpad_block *b, const char *pin)
{
    uint8_t wk[16];
    struct crypto_pinblock pb;
    int rc = crypto_dukpt_aes_host_key(BDK, CRYPTO_KEY_AES128, b->ksn,
                                       CRYPTO_USAGE_PIN, CRYPTO_KEY_AES128, wk);
    if (rc != GL_OK) {
        return rc;
    }
    pb.fmt = CRYPTO_PIN_FMT4;
    pb.key = wk;
    pb.key_len = sizeof wk;
    pb.block = b->block;
    pb.pan = PAN;
    return crypto_pinblock_verify(&pb, pin);
}

GL_TEST(keyboard_pinpad)
{
    uint8_t ik[16];
    int fds[2], echo[2];
    struct pinpad pp;
    struct pinpad_keyboard_config cfg;
    struct pinpad_block b;
    char stars[32] = "";

    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_initial_key(BDK, CRYPTO_KEY_AES128, KEY_ID, ik));
    GL_CHECK_INT(GL_OK, crypto_dukpt_aes_term_load(&g_term, ik, CRYPTO_KEY_AES128, KEY_ID));
    crypto_wipe(ik, sizeof ik);
    GL_CHECK_INT(0, pipe(fds));
    GL_CHECK_INT(0, pipe2(echo, O_NONBLOCK));
    memset(&cfg, 0, sizeof cfg);
    cfg.in_fd = fds[0];
    cfg.echo_fd = echo[1];
    cfg.term = &g_term;
    cfg.persist = persist;
    cfg.f_rng = fixed_rng;
    GL_CHECK_INT(GL_OK, pinpad_keyboard_init(&pp, &cfg));

    /* a PIN with a correction: 1 2 5 <BS> 3 4 <Enter> */
    GL_CHECK_INT(GL_OK, enter(&pp, fds, "125\x7f" "34\r", 0, 5000, &b));
    GL_CHECK_INT(GL_OK, host_verify(&b, "1234"));
    GL_CHECK_INT(GL_PIN_MISMATCH, host_verify(&b, "1235"));
    GL_CHECK_MEM(KEY_ID, b.ksn, 8);
    GL_CHECK_MEM("\x00\x00\x00\x01", b.ksn + 8, 4);
    GL_CHECK_INT(1, g_persisted);
    GL_CHECK_INT(2, g_persisted_counter); /* saved before the key was used */
    GL_CHECK(all_zero(pp.digits, sizeof pp.digits));
    GL_CHECK(read(echo[0], stars, sizeof stars - 1) > 0);
    GL_CHECK(strncmp(stars, "***", 3) == 0);

    /* the next entry uses the next counter; noise keys are ignored */
    GL_CHECK_INT(GL_OK, enter(&pp, fds, "9a8b7#6\n", 0, 5000, &b));
    GL_CHECK_MEM("\x00\x00\x00\x02", b.ksn + 8, 4);
    GL_CHECK_INT(GL_OK, host_verify(&b, "9876"));

    GL_CHECK_INT(GL_PIN_CANCEL, enter(&pp, fds, "12\x1b", 0, 5000, &b));
    GL_CHECK(all_zero(&b, sizeof b));
    GL_CHECK(all_zero(pp.digits, sizeof pp.digits));
    GL_CHECK_INT(GL_PIN_LENGTH, enter(&pp, fds, "123\n", 0, 5000, &b));
    GL_CHECK_INT(GL_PIN_LENGTH, enter(&pp, fds, "1234567890123\n", 0, 5000, &b));
    /* 13 digits, one erased: 12 are fine */
    GL_CHECK_INT(GL_OK, enter(&pp, fds, "1234567890123\b\n", 0, 5000, &b));
    GL_CHECK_INT(GL_OK, host_verify(&b, "123456789012"));
    /* nobody types: time-out; the half-typed PIN is wiped */
    GL_CHECK_INT(GL_ETIMEDOUT, enter(&pp, fds, "12", 0, 300, &b));
    GL_CHECK(all_zero(pp.digits, sizeof pp.digits));
    /* persisting fails: no block leaves */
    g_persist_rc = GL_DB_FULL;
    GL_CHECK_INT(GL_DB_FULL, enter(&pp, fds, "1234\n", 0, 5000, &b));
    GL_CHECK(all_zero(&b, sizeof b));
    g_persist_rc = GL_OK;
    /* the keyboard goes away */
    GL_CHECK_INT(GL_ECLOSED, enter(&pp, fds, "12", 1, 5000, &b));
    close(fds[0]);
    close(echo[0]);
    close(echo[1]);
    crypto_dukpt_aes_term_wipe(&g_term);
}

int main(void)
{
    GL_RUN(keyboard_pinpad);
    return GL_TEST_END();
}
