/*
 * pinpad.c - PIN entry: the dispatch and the keyboard backend.
 */
#include "pinpad.h"

#include <errno.h>
#include <mbedtls/platform_util.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "dev_time.h"
#include "gl_err.h"

int pinpad_get_block(struct pinpad *p, const char *pan, int timeout_ms,
                     struct pinpad_block *out)
{
    if (p == NULL || p->ops == NULL || pan == NULL || out == NULL) {
        return GL_EINVAL;
    }
    return p->ops->get_block(p, pan, timeout_ms, out);
}

int pinpad_keyboard_init(struct pinpad *p,
                         const struct pinpad_keyboard_config *cfg)
{
    memset(p, 0, sizeof *p);
    if (cfg->in_fd < 0 || cfg->term == NULL || cfg->f_rng == NULL) {
        return GL_EINVAL;
    }
    p->ops = &pinpad_keyboard;
    p->kb = *cfg;
    return GL_OK;
}

static void kb_echo(struct pinpad *p, const char *s)
{
    if (p->kb.echo_fd >= 0) {
        ssize_t n = write(p->kb.echo_fd, s, strlen(s));
        (void)n; /* the echo is a courtesy; the entry does not depend on it */
    }
}

/* Reads keys until Enter: GL_OK with p->digits, or a code. */
static int kb_collect(struct pinpad *p, int timeout_ms)
{
    int64_t deadline = dev_time_deadline(timeout_ms);

    for (;;) {
        struct pollfd pf = {.fd = p->kb.in_fd, .events = POLLIN};
        unsigned char key;
        ssize_t n;
        int r = poll(&pf, 1, dev_time_left(deadline));

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return GL_EOS;
        }
        if (r == 0) {
            return GL_ETIMEDOUT;
        }
        n = read(p->kb.in_fd, &key, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            return GL_ECLOSED;
        }
        if (key >= '0' && key <= '9') {
            if (p->ndigits < CRYPTO_PIN_MAX) {
                p->digits[p->ndigits++] = (char)key;
                kb_echo(p, "*");
            } else {
                /* a 13th digit makes the entry invalid at Enter */
                p->ndigits = CRYPTO_PIN_MAX + 1;
            }
        } else if (key == 0x08 || key == 0x7F) {
            if (p->ndigits > CRYPTO_PIN_MAX) {
                p->ndigits = CRYPTO_PIN_MAX;
            } else if (p->ndigits > 0) {
                p->digits[--p->ndigits] = '\0';
                kb_echo(p, "\b \b");
            }
        } else if (key == 0x1B || key == 'c') {
            return GL_PIN_CANCEL;
        } else if (key == '\r' || key == '\n') {
            if (p->ndigits < CRYPTO_PIN_MIN || p->ndigits > CRYPTO_PIN_MAX) {
                return GL_PIN_LENGTH;
            }
            p->digits[p->ndigits] = '\0';
            return GL_OK;
        }
    }
}

static int kb_get_block(struct pinpad *p, const char *pan, int timeout_ms,
                        struct pinpad_block *out)
{
    struct crypto_dukpt_aes_txn txn;
    uint8_t wk[CRYPTO_KEY_MAX];
    int rc;

    memset(&txn, 0, sizeof txn);
    memset(out, 0, sizeof *out);
    p->ndigits = 0;
    rc = kb_collect(p, timeout_ms);
    if (rc != GL_OK) {
        goto out;
    }
    rc = crypto_dukpt_aes_term_next(p->kb.term, &txn);
    if (rc != GL_OK) {
        goto out;
    }
    if (p->kb.persist != NULL) {
        rc = p->kb.persist(p->kb.persist_ctx, p->kb.term);
        if (rc != GL_OK) {
            goto out;
        }
    }
    /* The working keys have the type of the initial key (X9.24-3). */
    rc = crypto_dukpt_aes_txn_key(&txn, CRYPTO_USAGE_PIN, txn.type, wk);
    if (rc != GL_OK) {
        goto out;
    }
    rc = crypto_pinblock_f4_encrypt(wk, crypto_key_len(txn.type), p->digits,
                                    pan, p->kb.f_rng, p->kb.p_rng, out->block);
    if (rc != GL_OK) {
        goto out;
    }
    /* The message that carries the block is MACed under the same KSN. */
    rc = crypto_mac_keys_from_aes_txn(&txn, &out->mac);
    if (rc != GL_OK) {
        goto out;
    }
    memcpy(out->ksn, txn.ksn, sizeof out->ksn);
out:
    mbedtls_platform_zeroize(p->digits, sizeof p->digits);
    p->ndigits = 0;
    mbedtls_platform_zeroize(wk, sizeof wk);
    crypto_dukpt_aes_txn_wipe(&txn);
    if (rc != GL_OK) {
        crypto_mac_keys_wipe(&out->mac);
        mbedtls_platform_zeroize(out, sizeof *out);
    }
    return rc;
}

const struct pinpad_ops pinpad_keyboard = {
    .name = "keyboard",
    .get_block = kb_get_block,
};
