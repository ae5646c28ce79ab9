/*
 * wallet_emu.c - the phone's wallet application.  Contract in wallet_emu.h;
 * the protocol in docs/phone-wallet.md.
 */
#include "wallet_emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gl_err.h"

static const uint8_t WALLET_AID[] = {0xF0, 0x47, 0x4C, 0x57, 0x41,
                                     0x4C, 0x4C, 0x45, 0x54};

#define LIST_ENTRY 16
#define GENAC_LC 22

/* ---- APDUs ---------------------------------------------------------------- */

static size_t sw(uint8_t *r, size_t o, uint16_t s)
{
    r[o] = (uint8_t)(s >> 8);
    r[o + 1] = (uint8_t)s;
    return o + 2;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void wallet_emu_reset_session(struct wallet_emu *w)
{
    w->app = 0;
    w->cur = -1;
    w->pin_ok = 0;
}

static size_t do_list(struct wallet_emu *w, int start, uint8_t *r)
{
    int cnt = 0;
    size_t o = 1;

    if (start > w->nv) {
        return sw(r, 0, 0x6A83);
    }
    for (int i = start; i < w->nv && cnt < WALLET_EMU_LIST_PAGE; i++, cnt++) {
        const struct wallet_emu_voucher *v = &w->v[i];
        r[o++] = (uint8_t)i;
        memcpy(r + o, v->bcd, 8);
        o += 8;
        r[o++] = (uint8_t)(v->product >> 8);
        r[o++] = (uint8_t)v->product;
        put32(r + o, v->balance);
        o += 4;
        r[o++] = v->nopin ? 0x00 : 0x01;
    }
    r[0] = (uint8_t)cnt;
    return sw(r, o, start + cnt < w->nv ? 0x6310 : 0x9000);
}

static size_t do_verify(struct wallet_emu *w, uint8_t *r)
{
    if (w->cur < 0) {
        return sw(r, 0, 0x6985);
    }
    if (w->v[w->cur].nopin) {
        w->pin_ok = 1;
        return sw(r, 0, 0x9000);
    }
    if (w->tries <= 0) {
        return sw(r, 0, 0x6983);
    }
    if (crypto_ct_equal(w->entered, w->pin, sizeof w->pin)) {
        w->tries = w->max_tries;
        w->pin_ok = 1;
        return sw(r, 0, 0x9000);
    }
    w->tries--;
    return sw(r, 0, w->tries == 0 ? 0x6983 : (uint16_t)(0x63C0 | w->tries));
}

static size_t do_cryptogram(struct wallet_emu *w, const uint8_t *c, size_t n,
                            uint8_t *r)
{
    struct wallet_emu_voucher *v;
    uint8_t msg[GENAC_LC + 4], mac[CRYPTO_CMAC_LEN];
    size_t o;

    if (w->cur < 0) {
        return sw(r, 0, 0x6985);
    }
    v = &w->v[w->cur];
    if (!v->nopin && !w->pin_ok) {
        return sw(r, 0, 0x6982);
    }
    if (n < 5 + GENAC_LC || c[4] != GENAC_LC) {
        return sw(r, 0, 0x6700);
    }
    if (v->atc >= WALLET_EMU_ATC_MAX) {
        return sw(r, 0, 0x6A81); /* the counter would not fit DE 48 AT */
    }
    v->atc++;
    memcpy(msg, c + 5, GENAC_LC);
    put32(msg + GENAC_LC, v->atc);
    if (crypto_cmac_aes(v->key, sizeof v->key, msg, sizeof msg, mac) !=
        GL_OK) {
        o = sw(r, 0, 0x6F00);
        goto out;
    }
    w->pin_ok = 0; /* one PIN per cryptogram */
    put32(r, v->atc);
    memcpy(r + 4, mac, 8);
    o = sw(r, 12, 0x9000);
out:
    crypto_wipe(mac, sizeof mac);
    return o;
}

/* One command into r (at least WALLET_EMU_RAPDU_MAX bytes). */
static size_t run_apdu(struct wallet_emu *w, const uint8_t *c, size_t n,
                       uint8_t *r)
{
    if (n < 4) {
        return sw(r, 0, 0x6700);
    }
    if (c[0] == 0x00 && c[1] == 0xA4 && c[2] == 0x04) {
        if (w->installed && n >= 5 + sizeof WALLET_AID &&
            c[4] == sizeof WALLET_AID &&
            memcmp(c + 5, WALLET_AID, sizeof WALLET_AID) == 0) {
            wallet_emu_reset_session(w);
            w->app = 1;
            r[0] = 0x01;
            r[1] = (uint8_t)w->nv;
            return sw(r, 2, 0x9000);
        }
        return sw(r, 0, 0x6A82);
    }
    if (c[0] != 0x80) {
        return sw(r, 0, c[0] == 0x00 ? 0x6D00 : 0x6E00);
    }
    if (!w->app) {
        return sw(r, 0, 0x6985);
    }
    switch (c[1]) {
    case 0x10: /* LIST VOUCHERS */
        return do_list(w, c[2], r);
    case 0x12: /* SELECT VOUCHER */
        if (c[2] >= w->nv) {
            return sw(r, 0, 0x6A83);
        }
        w->cur = c[2];
        w->pin_ok = 0;
        return sw(r, 0, 0x9000);
    case 0x20: /* VERIFY PIN ON PHONE */
        return do_verify(w, r);
    case 0x30: /* GENERATE CRYPTOGRAM */
        return do_cryptogram(w, c, n, r);
    default:
        return sw(r, 0, 0x6D00);
    }
}

int wallet_emu_apdu(struct wallet_emu *w, const uint8_t *capdu, size_t len,
                    uint8_t *rapdu, size_t cap, size_t *rlen)
{
    uint8_t r[WALLET_EMU_RAPDU_MAX];
    size_t n = run_apdu(w, capdu, len, r);
    int rc = GL_OK;

    *rlen = 0;
    if (n > cap) {
        rc = GL_ENOSPC;
        goto out;
    }
    memcpy(rapdu, r, n);
    *rlen = n;
out:
    crypto_wipe(r, sizeof r);
    return rc;
}

uint32_t wallet_emu_atc(const struct wallet_emu *w)
{
    if (w->nv <= 0) {
        return 0;
    }
    return w->v[w->cur >= 0 ? w->cur : 0].atc;
}

/* ---- set-up ----------------------------------------------------------------- */

void wallet_emu_init(struct wallet_emu *w)
{
    memset(w, 0, sizeof *w);
    w->cur = -1;
}

void wallet_emu_clear(struct wallet_emu *w)
{
    crypto_wipe(w, sizeof *w);
    wallet_emu_init(w);
}

static int digits_ok(const char *s, size_t min, size_t max)
{
    size_t l = strlen(s);

    if (l < min || l > max) {
        return 0;
    }
    for (size_t i = 0; i < l; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* A decimal number of 1 to 9 digits at most max into *out. */
static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v;

    if (!digits_ok(s, 1, 9)) {
        return -1;
    }
    v = strtoul(s, NULL, 10);
    if (v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static void to_bcd(const char *digits, uint8_t out[8])
{
    memset(out, 0, 8);
    for (size_t i = 0; i < 16 && digits[i]; i++) {
        uint8_t d = (uint8_t)(digits[i] - '0');
        out[i / 2] |= (uint8_t)(i % 2 ? d : d << 4);
    }
}

/* K_v = AES-CMAC(IMK, 01 "GLWALLET" 00 number-BCD(8) 00 80): NIST SP
 * 800-108 counter mode, docs/phone-wallet.md. */
static int derive_key(const uint8_t imk[16], const uint8_t bcd[8],
                      uint8_t key[16])
{
    uint8_t m[20];

    m[0] = 0x01;
    memcpy(m + 1, "GLWALLET", 8);
    m[9] = 0x00;
    memcpy(m + 10, bcd, 8);
    m[18] = 0x00;
    m[19] = 0x80;
    return crypto_cmac_aes(imk, 16, m, sizeof m, key);
}

static int parse_voucher(const char *s, struct wallet_emu_voucher *v)
{
    char num[24] = "", prod[12] = "", bal[12] = "", flag[8] = "";
    unsigned long p = 0, b = 0;
    int k = sscanf(s, "%23[0-9],%11[0-9],%11[0-9],%7s", num, prod, bal, flag);

    if (k < 3 || !digits_ok(num, 16, 16) || parse_num(prod, 0xFFFF, &p) != 0 ||
        parse_num(bal, 0xFFFFFFFFul, &b) != 0 ||
        (k == 4 && strcmp(flag, "nopin") != 0)) {
        return -1;
    }
    memset(v, 0, sizeof *v);
    to_bcd(num, v->bcd);
    v->product = (uint16_t)p;
    v->balance = (uint32_t)b;
    v->nopin = k == 4;
    return 0;
}

int wallet_emu_setup(struct wallet_emu *w, char *args,
                     wallet_emu_option_fn option, void *ctx, char *reply,
                     size_t cap)
{
    struct wallet_emu t;
    uint8_t imk[16];
    unsigned long atc = 0, tries = WALLET_EMU_MAX_TRIES, val;
    int have_imk = 0, rc = GL_EINVAL;
    char *save = NULL;

    wallet_emu_init(&t);
    t.max_tries = WALLET_EMU_MAX_TRIES;
    for (char *tok = strtok_r(args, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, "imk=", 4) == 0) {
            if (strlen(tok + 4) != 32 ||
                crypto_hex_decode(tok + 4, 32, imk, sizeof imk) != GL_OK) {
                snprintf(reply, cap, "err imk");
                goto out;
            }
            have_imk = 1;
        } else if (strncmp(tok, "pin=", 4) == 0 && digits_ok(tok + 4, 4, 12)) {
            memset(t.pin, 0, sizeof t.pin);
            memcpy(t.pin, tok + 4, strlen(tok + 4));
        } else if (strncmp(tok, "tries=", 6) == 0) {
            if (parse_num(tok + 6, 15, &val) != 0) {
                snprintf(reply, cap, "err tries 0..15");
                goto out;
            }
            tries = val;
        } else if (strncmp(tok, "atc=", 4) == 0) {
            if (parse_num(tok + 4, WALLET_EMU_ATC_MAX, &val) != 0) {
                snprintf(reply, cap, "err atc 0..%u", WALLET_EMU_ATC_MAX);
                goto out;
            }
            atc = val;
        } else if (strncmp(tok, "voucher=", 8) == 0 &&
                   t.nv < WALLET_EMU_MAX_VOUCHERS) {
            if (parse_voucher(tok + 8, &t.v[t.nv]) != 0) {
                snprintf(reply, cap, "err voucher");
                goto out;
            }
            t.nv++;
        } else {
            int took = option != NULL ? option(ctx, tok) : 0;
            if (took != 1) {
                snprintf(reply, cap, "err %s", tok);
                goto out;
            }
        }
    }
    if (!have_imk || t.pin[0] == '\0') {
        snprintf(reply, cap, "err need imk= and pin=");
        goto out;
    }
    for (int i = 0; i < t.nv; i++) {
        t.v[i].atc = (uint32_t)atc;
        if (derive_key(imk, t.v[i].bcd, t.v[i].key) != GL_OK) {
            snprintf(reply, cap, "err crypto");
            goto out;
        }
    }
    memcpy(t.entered, t.pin, sizeof t.entered);
    t.tries = (int)tries;
    t.installed = 1;
    crypto_wipe(w, sizeof *w);
    *w = t;
    snprintf(reply, cap, "ok phone vouchers=%d", t.nv);
    rc = GL_OK;
out:
    crypto_wipe(imk, sizeof imk);
    crypto_wipe(&t, sizeof t);
    return rc;
}

int wallet_emu_enter(struct wallet_emu *w, const char *digits, char *reply,
                     size_t cap)
{
    if (!digits_ok(digits, 0, sizeof w->entered - 1)) {
        snprintf(reply, cap, "err enter <digits>");
        return GL_EINVAL;
    }
    memset(w->entered, 0, sizeof w->entered);
    memcpy(w->entered, digits, strlen(digits));
    snprintf(reply, cap, "ok");
    return GL_OK;
}
