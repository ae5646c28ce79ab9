/*
 * irda_emu.c - a phone on an IrDA adapter: the secondary station of the
 * link of drivers/irda.h, holding the same wallet as the NFC phone of
 * pn532_emu.c (wallet_emu.h, docs/phone-wallet.md).  The wallet's APDUs
 * travel in I-frames; VERIFY PIN ON PHONE can be held for `think` polls
 * while the customer types.
 *
 * A repeated I-frame (same Ns) is answered with the last reply again and
 * never runs its APDU twice, so no retry moves the counter twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "irda.h"
#include "serial_emu.h"
#include "wallet_emu.h"

struct irda_dev {
    struct wallet_emu wallet;
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
        wallet_emu_reset_session(&d->wallet);
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
        (void)wallet_emu_apdu(&d->wallet, f->info, f->len, d->resp,
                              sizeof d->resp, &d->resp_len);
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

/* The IrDA phone's own option of the "phone" line: addr=<hex>, its device
 * address. */
static int phone_option(void *ctx, const char *tok)
{
    struct irda_dev *d = ctx;
    char *end = NULL;
    unsigned long v;

    if (strncmp(tok, "addr=", 5) != 0) {
        return 0;
    }
    v = strtoul(tok + 5, &end, 16);
    if (end == tok + 5 || *end != '\0' || v > 0xFFFFFFFFul) {
        return -1;
    }
    d->dev_addr = (uint32_t)v;
    return 1;
}

static int irda_cmd(struct semu *e, const char *verb, char *args, char *reply,
                    size_t cap)
{
    struct irda_dev *d = e->dev;

    if (strcmp(verb, "phone") == 0) {
        return wallet_emu_setup(&d->wallet, args, phone_option, d, reply,
                                cap);
    }
    if (strcmp(verb, "enter") == 0) {
        return wallet_emu_enter(&d->wallet, args, reply, cap);
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
    snprintf(out, cap, " connected=%d apdus=%u atc=%u tries=%d bad=%u",
             d->conn != 0, d->apdus, (unsigned)wallet_emu_atc(&d->wallet),
             d->wallet.tries, d->frames_bad);
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
        wallet_emu_init(&d->wallet);
    }
    return e;
}
