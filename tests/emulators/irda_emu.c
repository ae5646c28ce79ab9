/*
 * irda_emu.c - a phone on an IrDA adapter: the secondary station of the
 * link of drivers/irda.h, holding a wallet that answers the same APDUs as
 * the NFC phone of pn532_emu.c (docs/phone-wallet.md): SELECT of the wallet
 * AID, LIST VOUCHERS (80 10), SELECT VOUCHER (80 12), VERIFY PIN ON PHONE
 * (80 20, the PIN the customer typed on the phone), GENERATE CRYPTOGRAM
 * (80 30: ATC + 1, then AES-CMAC under the voucher key of 22 bytes of
 * terminal data || ATC; answer ATC || first 8 MAC bytes).
 *
 * A repeated I-frame (same Ns) is answered with the last reply again and
 * never runs its APDU twice, so no retry moves the counter twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gl_err.h"
#include "irda.h"
#include "serial_emu.h"

#define MAX_VOUCHERS 16
#define LIST_PAGE 8

static const uint8_t WALLET_AID[] = {0xF0, 0x47, 0x4C, 0x57, 0x41,
                                     0x4C, 0x4C, 0x45, 0x54};

struct voucher {
    uint8_t bcd[8];
    uint16_t product;
    uint32_t balance;
    int nopin;
    uint8_t key[16];
    uint32_t atc;
};

struct irda_dev {
    /* wallet */
    int have_wallet;
    struct voucher v[MAX_VOUCHERS];
    int nv;
    char pin[16], entered[16];
    int tries, max_tries;
    int app, cur, pin_ok;
    unsigned apdus; /* APDUs run (not repeats) */
    /* link */
    struct irda_deframer df;
    struct irda_frame in;
    uint32_t dev_addr, peer_addr;
    uint8_t conn; /* connection address, 0 when not connected */
    uint8_t vs, vr;
    int refuse;
    int think, think_left;
    int pending; /* reply held while the customer types */
    uint8_t resp[IRDA_INFO_MAX];
    size_t resp_len;
    uint8_t last[IRDA_FRAME_MAX]; /* last frame sent, for repeats */
    size_t last_len;
    unsigned frames_bad;
};

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

static size_t wallet_apdu(struct irda_dev *t, const uint8_t *c, size_t n,
                          uint8_t *r)
{
    if (n < 4) {
        return sw(r, 0, 0x6700);
    }
    if (c[0] == 0x00 && c[1] == 0xA4 && c[2] == 0x04) {
        if (t->have_wallet && n >= 5 + sizeof WALLET_AID &&
            c[4] == sizeof WALLET_AID &&
            memcmp(c + 5, WALLET_AID, sizeof WALLET_AID) == 0) {
            t->app = 1;
            t->cur = -1;
            t->pin_ok = 0;
            r[0] = 0x01;
            r[1] = (uint8_t)t->nv;
            return sw(r, 2, 0x9000);
        }
        return sw(r, 0, 0x6A82);
    }
    if (c[0] != 0x80) {
        return sw(r, 0, c[0] == 0x00 ? 0x6D00 : 0x6E00);
    }
    if (!t->app) {
        return sw(r, 0, 0x6985);
    }
    switch (c[1]) {
    case 0x10: { /* LIST VOUCHERS */
        int start = c[2], cnt = 0;
        size_t o = 1;
        if (start > t->nv) {
            return sw(r, 0, 0x6A83);
        }
        for (int i = start; i < t->nv && cnt < LIST_PAGE; i++, cnt++) {
            const struct voucher *v = &t->v[i];
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
        return sw(r, o, start + cnt < t->nv ? 0x6310 : 0x9000);
    }
    case 0x12: /* SELECT VOUCHER */
        if (c[2] >= t->nv) {
            return sw(r, 0, 0x6A83);
        }
        t->cur = c[2];
        t->pin_ok = 0;
        return sw(r, 0, 0x9000);
    case 0x20: /* VERIFY PIN ON PHONE */
        if (t->cur < 0) {
            return sw(r, 0, 0x6985);
        }
        if (t->v[t->cur].nopin) {
            t->pin_ok = 1;
            return sw(r, 0, 0x9000);
        }
        if (t->tries <= 0) {
            return sw(r, 0, 0x6983);
        }
        if (strcmp(t->entered, t->pin) == 0) {
            t->tries = t->max_tries;
            t->pin_ok = 1;
            return sw(r, 0, 0x9000);
        }
        t->tries--;
        return sw(r, 0, t->tries == 0 ? 0x6983 : (uint16_t)(0x63C0 | t->tries));
    case 0x30: { /* GENERATE CRYPTOGRAM */
        struct voucher *v;
        uint8_t msg[26], mac[CRYPTO_CMAC_LEN];
        if (t->cur < 0) {
            return sw(r, 0, 0x6985);
        }
        v = &t->v[t->cur];
        if (!v->nopin && !t->pin_ok) {
            return sw(r, 0, 0x6982);
        }
        if (n < 5 + 22 || c[4] != 22) {
            return sw(r, 0, 0x6700);
        }
        if (v->atc == 0xFFFFFFFFu) {
            return sw(r, 0, 0x6A81);
        }
        v->atc++;
        memcpy(msg, c + 5, 22);
        put32(msg + 22, v->atc);
        if (crypto_cmac_aes(v->key, 16, msg, sizeof msg, mac) != GL_OK) {
            return sw(r, 0, 0x6F00);
        }
        t->pin_ok = 0; /* one PIN per cryptogram */
        put32(r, v->atc);
        memcpy(r + 4, mac, 8);
        return sw(r, 12, 0x9000);
    }
    default:
        return sw(r, 0, 0x6D00);
    }
}

/* ---- the link ------------------------------------------------------------ */

/* Sends (addr, ctrl, info) and remembers it; applies the op's fault. */
static void phone_send(struct semu *e, uint8_t ctrl, const uint8_t *info,
                       size_t len, int fails)
{
    struct irda_dev *d = e->dev;
    uint8_t addr = (uint8_t)(d->conn << 1);
    uint8_t out[IRDA_FRAME_MAX];
    size_t n = 0;

    if (irda_frame_encode(addr, ctrl, info, len, d->last, sizeof d->last,
                          &d->last_len) != GL_OK) {
        return;
    }
    memcpy(out, d->last, d->last_len);
    n = d->last_len;
    if (fails && strcmp(e->fail_kind, "fcs") == 0) {
        out[n - 2] ^= 0x01; /* the FCS high byte (never an escaped byte:
                             * flipping bit 0 of C0/C1/7D gives C1/C0/7C,
                             * so make sure the result is not a flag) */
        if (out[n - 2] == IRDA_BOF || out[n - 2] == IRDA_EOF ||
            out[n - 2] == IRDA_CE) {
            out[n - 2] ^= 0x03;
        }
    } else if (fails && strcmp(e->fail_kind, "trunc") == 0) {
        n = n / 2;
        out[n++] = IRDA_EOF;
    } else if (fails && strcmp(e->fail_kind, "noise") == 0) {
        static const uint8_t junk[] = {0x55, 0xAA, 0x00, 0xC1, 0x13};
        semu_send(e, junk, sizeof junk);
    }
    semu_send(e, out, n);
}

static void phone_send_u(struct semu *e, uint8_t addr_conn, uint8_t ctrl,
                         const uint8_t *info, size_t len)
{
    struct irda_dev *d = e->dev;
    uint8_t out[IRDA_FRAME_MAX];
    size_t n = 0;
    (void)d;
    if (irda_frame_encode((uint8_t)(addr_conn << 1), ctrl, info, len, out,
                          sizeof out, &n) == GL_OK) {
        semu_send(e, out, n);
    }
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The I-frame carrying the held reply. */
static void phone_deliver(struct semu *e, int fails)
{
    struct irda_dev *d = e->dev;
    d->pending = 0;
    phone_send(e, IRDA_I_CTRL(d->vr, d->vs, 1), d->resp, d->resp_len, fails);
    d->vs = (d->vs + 1) & 7;
}

static void phone_frame(struct semu *e)
{
    struct irda_dev *d = e->dev;
    struct irda_frame *f = &d->in;
    uint8_t c = f->ctrl;
    int fails;

    if (!(f->addr & IRDA_CR)) {
        return; /* a response: not for a secondary */
    }
    fails = semu_op_fails(e);
    if (fails && strcmp(e->fail_kind, "drop") == 0) {
        return; /* lost on the air: never seen */
    }
    if (fails && strcmp(e->fail_kind, "dm") == 0) {
        phone_send_u(e, d->conn ? d->conn : (uint8_t)(f->addr >> 1),
                     IRDA_DM | IRDA_PF, NULL, 0);
        d->conn = 0;
        return;
    }
    if (f->addr == (IRDA_ADDR_BCAST << 1 | IRDA_CR) &&
        (c & ~IRDA_PF) == IRDA_SNRM) {
        uint8_t info[8];
        uint8_t conn;
        if (f->len < 9) {
            return;
        }
        conn = f->info[8] >> 1;
        if (d->refuse || conn == 0 || conn >= IRDA_ADDR_BCAST) {
            phone_send_u(e, conn, IRDA_DM | IRDA_PF, NULL, 0);
            return;
        }
        d->peer_addr = (uint32_t)f->info[0] | (uint32_t)f->info[1] << 8 |
                       (uint32_t)f->info[2] << 16 | (uint32_t)f->info[3] << 24;
        d->conn = conn;
        d->vs = d->vr = 0;
        d->pending = 0;
        d->last_len = 0;
        d->app = 0;
        put_le32(info, d->dev_addr);
        put_le32(info + 4, d->peer_addr);
        phone_send(e, IRDA_UA | IRDA_PF, info, sizeof info, fails);
        return;
    }
    if (d->conn == 0 || (f->addr >> 1) != d->conn) {
        if (d->conn == 0 && (f->addr >> 1) != IRDA_ADDR_BCAST) {
            phone_send_u(e, (uint8_t)(f->addr >> 1), IRDA_DM | IRDA_PF, NULL,
                         0);
        }
        return;
    }
    if (IRDA_IS_U(c)) {
        if ((c & ~IRDA_PF) == IRDA_DISC) {
            phone_send(e, IRDA_UA | IRDA_PF, NULL, 0, fails);
            d->conn = 0;
        }
        return;
    }
    if (IRDA_IS_I(c)) {
        if (IRDA_NS(c) != d->vr) {
            /* a repeat: the terminal missed our reply */
            if (d->pending) {
                phone_send(e, IRDA_S_CTRL(IRDA_RR, d->vr, 1), NULL, 0, fails);
            } else if (d->last_len > 0) {
                uint8_t out[IRDA_FRAME_MAX];
                memcpy(out, d->last, d->last_len);
                semu_send(e, out, d->last_len);
            }
            return;
        }
        d->vr = (d->vr + 1) & 7;
        d->resp_len = wallet_apdu(d, f->info, f->len, d->resp);
        d->apdus++;
        if (f->len >= 2 && f->info[0] == 0x80 && f->info[1] == 0x20 &&
            d->think > 0) {
            d->pending = 1;
            d->think_left = d->think;
            phone_send(e, IRDA_S_CTRL(IRDA_RR, d->vr, 1), NULL, 0, fails);
            return;
        }
        phone_deliver(e, fails);
        return;
    }
    if ((c & 0x0F) == IRDA_RR) {
        if (d->pending && d->think_left > 0) {
            d->think_left--;
            phone_send(e, IRDA_S_CTRL(IRDA_RR, d->vr, 1), NULL, 0, fails);
        } else if (d->pending) {
            phone_deliver(e, fails);
        } else {
            phone_send(e, IRDA_S_CTRL(IRDA_RR, d->vr, 1), NULL, 0, fails);
        }
    }
}

static void irda_rx(struct semu *e, const uint8_t *p, size_t n)
{
    struct irda_dev *d = e->dev;

    while (n > 0) {
        size_t used = 0;
        int rc = irda_deframer_push(&d->df, p, n, &used, &d->in);
        p += used;
        n -= used;
        if (rc == 1) {
            phone_frame(e);
        } else if (rc < 0) {
            d->frames_bad++;
        }
    }
}

/* ---- control ------------------------------------------------------------- */

static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2 != 0 || len / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    *n = len / 2;
    return 0;
}

static int digits_ok(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static void to_bcd(const char *digits, uint8_t out[8])
{
    memset(out, 0, 8);
    for (size_t i = 0; i < 16 && digits[i]; i++) {
        uint8_t dd = (uint8_t)(digits[i] - '0');
        out[i / 2] |= (uint8_t)(i % 2 ? dd : dd << 4);
    }
}

/* Per-voucher key: AES-CMAC(IMK, 01 "GLWALLET" 00 number-BCD(8) 00 80). */
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

static int cmd_phone(struct irda_dev *d, char *args, char *reply, size_t cap)
{
    uint8_t imk[16];
    size_t n = 0;
    int have_imk = 0;
    char *save = NULL;
    uint32_t atc = 0;

    d->nv = 0;
    d->pin[0] = '\0';
    d->max_tries = 3;
    d->tries = -1;
    for (char *tok = strtok_r(args, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        if (strncmp(tok, "imk=", 4) == 0) {
            if (parse_hex(tok + 4, imk, sizeof imk, &n) != 0 || n != 16) {
                snprintf(reply, cap, "err imk");
                return GL_EINVAL;
            }
            have_imk = 1;
        } else if (strncmp(tok, "pin=", 4) == 0 && digits_ok(tok + 4, 4, 12)) {
            snprintf(d->pin, sizeof d->pin, "%s", tok + 4);
            snprintf(d->entered, sizeof d->entered, "%s", tok + 4);
        } else if (strncmp(tok, "tries=", 6) == 0) {
            d->tries = atoi(tok + 6);
        } else if (strncmp(tok, "atc=", 4) == 0) {
            atc = (uint32_t)strtoul(tok + 4, NULL, 10);
        } else if (strncmp(tok, "addr=", 5) == 0) {
            d->dev_addr = (uint32_t)strtoul(tok + 5, NULL, 16);
        } else if (strncmp(tok, "voucher=", 8) == 0 && d->nv < MAX_VOUCHERS) {
            struct voucher *v = &d->v[d->nv];
            char num[24] = "", flag[8] = "";
            unsigned prod = 0;
            unsigned long bal = 0;
            int k = sscanf(tok + 8, "%23[0-9],%u,%lu,%7s", num, &prod, &bal,
                           flag);
            if (k < 3 || !digits_ok(num, 16, 16)) {
                snprintf(reply, cap, "err voucher");
                return GL_EINVAL;
            }
            memset(v, 0, sizeof *v);
            to_bcd(num, v->bcd);
            v->product = (uint16_t)prod;
            v->balance = (uint32_t)bal;
            v->nopin = k == 4 && strcmp(flag, "nopin") == 0;
            d->nv++;
        } else {
            snprintf(reply, cap, "err %s", tok);
            return GL_EINVAL;
        }
    }
    if (!have_imk || d->pin[0] == '\0') {
        snprintf(reply, cap, "err need imk= and pin=");
        return GL_EINVAL;
    }
    for (int i = 0; i < d->nv; i++) {
        d->v[i].atc = atc;
        if (derive_key(imk, d->v[i].bcd, d->v[i].key) != GL_OK) {
            snprintf(reply, cap, "err crypto");
            return GL_EINVAL;
        }
    }
    if (d->tries < 0) {
        d->tries = d->max_tries;
    }
    d->have_wallet = 1;
    d->app = 0;
    d->cur = -1;
    snprintf(reply, cap, "ok phone vouchers=%d", d->nv);
    return GL_OK;
}

static int irda_cmd(struct semu *e, const char *verb, char *args, char *reply,
                    size_t cap)
{
    struct irda_dev *d = e->dev;

    if (strcmp(verb, "phone") == 0) {
        return cmd_phone(d, args, reply, cap);
    }
    if (strcmp(verb, "enter") == 0) {
        if (!digits_ok(args, 0, 15)) {
            snprintf(reply, cap, "err enter <digits>");
            return GL_EINVAL;
        }
        snprintf(d->entered, sizeof d->entered, "%s", args);
    } else if (strcmp(verb, "think") == 0) {
        d->think = atoi(args);
    } else if (strcmp(verb, "refuse") == 0) {
        d->refuse = strcmp(args, "on") == 0;
    } else {
        return GL_ENOTFOUND;
    }
    snprintf(reply, cap, "ok");
    return GL_OK;
}

static void irda_stats(struct semu *e, char *out, size_t cap)
{
    struct irda_dev *d = e->dev;
    uint32_t atc = 0;
    if (d->nv > 0) {
        atc = d->v[d->cur >= 0 ? d->cur : 0].atc;
    }
    snprintf(out, cap, " connected=%d apdus=%u atc=%u tries=%d bad=%u",
             d->conn != 0, d->apdus, (unsigned)atc, d->tries, d->frames_bad);
}

static const struct semu_dev_ops irda_ops = {
    .name = "irda",
    .on_rx = irda_rx,
    .command = irda_cmd,
    .stats = irda_stats,
};

struct semu *semu_irda_new(void)
{
    struct semu *e = semu_alloc_(&irda_ops, sizeof(struct irda_dev));
    if (e != NULL) {
        struct irda_dev *d = e->dev;
        irda_deframer_init(&d->df);
        d->dev_addr = 0x50484F4Eu; /* "PHON" */
        d->cur = -1;
    }
    return e;
}
