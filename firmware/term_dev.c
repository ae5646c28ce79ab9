/*
 * term_dev.c - gl-term's devices: each one configured in [devices] is
 * opened at start; a missing one is reported and its presentations are
 * refused with a reason.  Presentations come back as a struct
 * term_present (DE 2, DE 14, DE 22, and a phone's cryptogram elements).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gl_err.h"
#include "gl_log.h"
#include "term.h"

#define MOD "dev"

int dev_persist_dukpt(void *ctx, const struct crypto_dukpt_aes_term *dk)
{
    struct term *t = ctx;
    uint8_t blob[CRYPTO_DUKPT_AES_BLOB_LEN];
    int rc = crypto_dukpt_aes_term_save(dk, blob);
    if (rc == GL_OK) {
        rc = tj_meta_set_blob(&t->j, "dukpt", blob, sizeof blob);
    }
    crypto_wipe(blob, sizeof blob);
    return rc;
}

static enum scanner_eol eol_of(const char *s)
{
    return strcmp(s, "cr") == 0     ? SCANNER_EOL_CR
           : strcmp(s, "lf") == 0   ? SCANNER_EOL_LF
           : strcmp(s, "crlf") == 0 ? SCANNER_EOL_CRLF
                                    : SCANNER_EOL_ANY;
}

int dev_open_all(struct term *t)
{
    struct hal_serial_line line = {.baud = 9600};
    struct term_config *c = &t->cfg;
    int rc;

    if (c->scanner[0] != '\0') {
        struct scanner_config sc = {.eol = eol_of(c->scanner_eol),
                                    .aim = c->scanner_aim};
        rc = scanner_init(&t->scanner, &sc, c->scanner, &line, NULL);
        if (rc == GL_OK) {
            rc = scanner_open(&t->scanner);
        }
        t->has_scanner = rc == GL_OK;
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "scanner %s: %s", c->scanner, gl_strerror(rc));
        }
    }
    if (c->magstripe[0] != '\0') {
        struct magstripe_config mc = {.lrc = c->magstripe_lrc};
        rc = magstripe_issuers_build(&mc.issuers, &c->issuers);
        if (rc == GL_OK) {
            rc = magstripe_init(&t->msr, &mc, c->magstripe, &line, NULL);
        }
        if (rc == GL_OK) {
            rc = magstripe_open(&t->msr);
        }
        t->has_msr = rc == GL_OK;
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "magstripe reader %s: %s", c->magstripe,
                       gl_strerror(rc));
        }
    }
    if (c->nfc[0] != '\0') {
        struct nfc_reader_config nc;
        memset(&nc, 0, sizeof nc);
        snprintf(nc.nfc.connstring, sizeof nc.nfc.connstring, "%s", c->nfc);
        rc = nfc_reader_init(&t->nfc, &nc, &t->clock);
        t->has_nfc = rc == GL_OK;
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "NFC reader %s: %s", c->nfc, gl_strerror(rc));
        }
    }
    if (c->irda[0] != '\0') {
        struct irda_config ic = {.dev_addr = 0x7E4D0001u, .conn_addr = 0x21};
        struct hal_serial_line il = {.baud = 9600};
        rc = irda_init(&t->irda, &ic, c->irda, &il, NULL, &t->clock);
        if (rc == GL_OK) {
            rc = irda_open(&t->irda);
        }
        t->has_irda = rc == GL_OK;
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "IrDA port %s: %s", c->irda, gl_strerror(rc));
        }
    }
    if (c->printer[0] != '\0') {
        struct hal_serial_line pl = {.baud = 19200};
        rc = escpos_printer_init(&t->printer, c->printer, &pl, NULL, 3000);
        if (rc == GL_OK) {
            rc = escpos_printer_open(&t->printer);
        }
        t->has_printer = rc == GL_OK;
        if (rc != GL_OK) {
            GL_LOG_ERR(MOD, "printer %s: %s", c->printer, gl_strerror(rc));
        }
    }
    /* the PIN pad: keys from stdin (scripted counter) or a tty / FIFO */
    t->pin_fd = -1;
    if (strcmp(c->pinpad, "stdin") == 0) {
        t->pin_fd = 0;
    } else if (c->pinpad[0] != '\0') {
        t->pin_fd = open(c->pinpad, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (t->pin_fd < 0) {
            GL_LOG_ERR(MOD, "PIN pad %s: cannot open", c->pinpad);
        }
    }
    if (t->pin_fd >= 0) {
        struct pinpad_keyboard_config kc = {
            .in_fd = t->pin_fd, .echo_fd = -1, .term = &t->dk,
            .persist = dev_persist_dukpt, .persist_ctx = t,
            .f_rng = crypto_rng_fill, .p_rng = &t->rng};
        rc = pinpad_keyboard_init(&t->pinpad, &kc);
        if (rc != GL_OK) {
            t->pin_fd = -1;
        }
    }
    return GL_OK;
}

void dev_close_all(struct term *t)
{
    if (t->has_scanner) {
        scanner_close(&t->scanner);
    }
    if (t->has_msr) {
        magstripe_close(&t->msr);
    }
    if (t->has_nfc) {
        nfc_reader_close(&t->nfc);
    }
    if (t->has_irda) {
        irda_close(&t->irda);
    }
    if (t->has_printer) {
        escpos_printer_close(&t->printer);
    }
    if (t->pin_fd > 0) {
        close(t->pin_fd);
    }
    t->has_scanner = t->has_msr = t->has_nfc = t->has_irda = 0;
    t->has_printer = 0;
    t->pin_fd = -1;
}

static int fail(struct term_result *res, enum term_msg_id id, int code)
{
    res->msg = id;
    res->has_msg = 1;
    res->code = code;
    return code;
}

static void set_entry(struct term_present *p, const char *mode,
                      const char *method)
{
    snprintf(p->entry, sizeof p->entry, "%s1", mode); /* 1: a PIN pad */
    snprintf(p->method, sizeof p->method, "%s", method);
}

/* The wallet exchange on a connected phone (NFC or IrDA). */
static int wallet_pay(struct term *t, int64_t amount, int index,
                      struct term_present *p, struct term_result *res)
{
    struct phone_wallet *w = &t->wallet;
    struct phone_wallet_voucher v[PHONE_WALLET_MAX_VOUCHERS];
    struct phone_wallet_proof proof;
    uint8_t ch[PHONE_WALLET_CHALLENGE_LEN];
    char pc[17], chx[17];
    size_t n = 0, pick = 0;
    int tries = 0;

    int rc = phone_wallet_select(w);
    if (rc == GL_OK) {
        rc = phone_wallet_list(w, v, PHONE_WALLET_MAX_VOUCHERS, &n);
    }
    if (rc == GL_OK && n == 0) {
        return fail(res, TERM_MSG_PHONE_NO_VOUCHER, GL_ENOTFOUND);
    }
    if (rc == GL_OK) {
        if (index > 0) {
            if ((size_t)index > n) {
                return fail(res, TERM_MSG_PHONE_NO_VOUCHER, GL_ENOTFOUND);
            }
            pick = (size_t)index - 1;
        } else {
            for (pick = 0; pick < n && v[pick].balance < (uint64_t)amount;
                 pick++) {
            }
            if (pick == n) {
                pick = 0; /* none covers it: the host decides (partial) */
            }
        }
        rc = phone_wallet_select_voucher(w, &v[pick]);
    }
    if (rc == GL_OK) {
        rc = phone_wallet_verify_pin(w, &tries);
    }
    if (rc == GL_DEV_PINWRONG) {
        return fail(res, TERM_MSG_PHONE_PIN_WRONG, rc);
    }
    if (rc == GL_DEV_PINBLOCKED) {
        return fail(res, TERM_MSG_PHONE_PIN_BLOCKED, rc);
    }
    if (rc == GL_OK) {
        crypto_random(crypto_rng_fill, &t->rng, ch, sizeof ch);
        rc = phone_wallet_cryptogram(w, (uint64_t)amount, t->cfg.tid, ch,
                                     &proof);
    }
    if (rc == GL_DEV_CARDGONE || rc == GL_ECLOSED || rc == GL_IRDA_DISC) {
        return fail(res, TERM_MSG_CARD_REMOVED, rc);
    }
    if (rc != GL_OK) {
        GL_LOG_WARN(MOD, "phone wallet: %s", gl_strerror(rc));
        return fail(res, TERM_MSG_CARD_REMOVED, rc);
    }
    crypto_hex_encode(proof.cryptogram, sizeof proof.cryptogram, pc);
    crypto_hex_encode(ch, sizeof ch, chx);
    snprintf(p->pan, sizeof p->pan, "%s", proof.number);
    snprintf(p->de48x, sizeof p->de48x, "PC016%sCH016%sAT005%05u", pc, chx,
             (unsigned)proof.atc);
    return GL_OK;
}

static int present_nfc(struct term *t, int64_t amount, int index,
                       struct term_present *p, struct term_result *res)
{
    struct nfc_tap tap;
    struct timespec pause = {0, 100 * 1000000L};
    uint64_t dl = t->clock.ops->now_ms(&t->clock) +
                  (uint64_t)t->cfg.present_timeout_s * 1000;
    int rc;

    for (;;) {
        rc = nfc_reader_poll(&t->nfc, &tap);
        if (rc == GL_OK) {
            break;
        }
        if (rc != GL_DEV_NOCARD && rc != GL_EAGAIN) {
            GL_LOG_WARN(MOD, "NFC reader: %s", gl_strerror(rc));
        }
        if (t->clock.ops->now_ms(&t->clock) >= dl) {
            return fail(res, TERM_MSG_NO_CARD, GL_ETIMEDOUT);
        }
        nanosleep(&pause, NULL);
    }
    rc = GL_DEV_NOAPP;
    if (tap.iso_dep) {
        phone_wallet_init(&t->wallet, nfc_reader_xfer, &t->nfc);
        rc = wallet_pay(t, amount, index, p, res);
        if (rc == GL_OK) {
            set_entry(p, "81", "nfc_phone");
        }
    }
    if (rc == GL_DEV_NOAPP) {
        memset(res, 0, sizeof *res);
        rc = nfc_reader_read_number(&t->nfc, p->pan, sizeof p->pan);
        if (rc == GL_OK) {
            set_entry(p, "07", "contactless");
            p->need_pin = t->cfg.card_pin;
        } else if (rc == GL_DEV_CARDGONE) {
            fail(res, TERM_MSG_CARD_REMOVED, rc);
        } else {
            fail(res, TERM_MSG_BAD_SWIPE, rc);
        }
    }
    nfc_reader_release(&t->nfc);
    return rc;
}

int dev_present(struct term *t, const char *method, int64_t amount,
                int index, struct term_present *p, struct term_result *res)
{
    int timeout_ms = (int)t->cfg.present_timeout_s * 1000;
    int rc;

    memset(p, 0, sizeof *p);
    memset(res, 0, sizeof *res);
    if (t->prompt != NULL && strncmp(method, "key:", 4) != 0) {
        t->prompt(t, TERM_MSG_PRESENT_VOUCHER);
    }
    if (strcmp(method, "scan") == 0) {
        char v[SCANNER_VOUCHER_LEN + 1];
        if (!t->has_scanner) {
            return fail(res, TERM_MSG_NO_DEVICE, GL_DEV_NODEV);
        }
        rc = scanner_read_voucher(&t->scanner, v, timeout_ms);
        if (rc == GL_ETIMEDOUT) {
            return fail(res, TERM_MSG_NO_CARD, rc);
        }
        if (rc != GL_OK) {
            GL_LOG_INFO(MOD, "scan refused: %s", gl_strerror(rc));
            return fail(res, TERM_MSG_BAD_SCAN, rc);
        }
        snprintf(p->pan, sizeof p->pan, "%s", v);
        set_entry(p, "03", "barcode");
        return GL_OK;
    }
    if (strcmp(method, "card") == 0) {
        struct magstripe_card c;
        if (!t->has_msr) {
            return fail(res, TERM_MSG_NO_DEVICE, GL_DEV_NODEV);
        }
        rc = magstripe_read(&t->msr, &c, timeout_ms);
        if (rc == GL_ETIMEDOUT) {
            return fail(res, TERM_MSG_NO_CARD, rc);
        }
        if (rc != GL_OK) {
            magstripe_card_wipe(&c);
            GL_LOG_INFO(MOD, "swipe refused: %s", gl_strerror(rc));
            return fail(res, TERM_MSG_BAD_SWIPE, rc);
        }
        snprintf(p->pan, sizeof p->pan, "%s", c.pan);
        snprintf(p->expiry, sizeof p->expiry, "%s", c.expiry);
        magstripe_card_wipe(&c);
        set_entry(p, "02", "card");
        p->need_pin = t->cfg.card_pin;
        return GL_OK;
    }
    if (strcmp(method, "nfc") == 0) {
        if (!t->has_nfc) {
            return fail(res, TERM_MSG_NO_DEVICE, GL_DEV_NODEV);
        }
        return present_nfc(t, amount, index, p, res);
    }
    if (strcmp(method, "irda") == 0) {
        if (!t->has_irda) {
            return fail(res, TERM_MSG_NO_DEVICE, GL_DEV_NODEV);
        }
        rc = irda_connect(&t->irda);
        if (rc != GL_OK) {
            GL_LOG_INFO(MOD, "IrDA phone: %s", gl_strerror(rc));
            return fail(res, TERM_MSG_NO_CARD, rc);
        }
        phone_wallet_init(&t->wallet, irda_transceive, &t->irda);
        rc = wallet_pay(t, amount, index, p, res);
        (void)irda_disconnect(&t->irda);
        if (rc == GL_OK) {
            set_entry(p, "82", "irda_phone");
        }
        return rc;
    }
    if (strncmp(method, "key:", 4) == 0) {
        const char *num = method + 4;
        rc = scanner_voucher_check(num, strlen(num));
        if (rc != GL_OK) {
            return fail(res, TERM_MSG_BAD_SCAN, rc);
        }
        snprintf(p->pan, sizeof p->pan, "%s", num);
        set_entry(p, "01", "keyed");
        return GL_OK;
    }
    return fail(res, TERM_MSG_NO_DEVICE, GL_EINVAL);
}

int dev_pin(struct term *t, const char *pan, struct pinpad_block *pb)
{
    if (t->pin_fd < 0) {
        return GL_DEV_NODEV;
    }
    if (t->prompt != NULL) {
        t->prompt(t, TERM_MSG_ENTER_PIN);
    } else if (t->script) {
        /* the scripted counter: the next line on the PIN pad is the PIN */
        printf("pin?\n");
        fflush(stdout);
    }
    return pinpad_get_block(&t->pinpad, pan, (int)t->cfg.pin_timeout_s * 1000,
                            pb);
}

int dev_print(struct term *t, struct term_result *res)
{
    size_t n;
    int rc = escpos_enc_finish(&t->enc, &n);
    if (rc != GL_OK) {
        GL_LOG_ERR(MOD, "receipt does not fit: %s", gl_strerror(rc));
        return rc;
    }
    if (!t->has_printer) {
        return GL_DEV_NODEV;
    }
    rc = escpos_printer_print(&t->printer, t->print_buf, n);
    if (rc == GL_DEV_PAPER) {
        fail(res, TERM_MSG_PRINTER_PAPER, rc);
    } else if (rc != GL_OK) {
        fail(res, TERM_MSG_PRINTER_OFFLINE, rc);
    }
    return rc;
}
