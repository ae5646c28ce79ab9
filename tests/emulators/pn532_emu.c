/*
 * pn532_emu.c - a PN532 on a pty for libnfc.  Contract in pn532_emu.h;
 * the phone wallet it plays is wallet_emu.h (docs/phone-wallet.md).
 */
#include "pn532_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu_pty.h"
#include "gl_err.h"
#include "wallet_emu.h"

#define MAX_REGS 64

enum tg_kind { TG_NONE = 0, TG_CARD = 1, TG_PHONE = 2 };
enum fail_kind { F_ERROR, F_NACK, F_BADSUM, F_NOISE, F_SILENT, F_GONE };

static const uint8_t NDEF_AID[] = {0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01};
static const uint8_t ACK[] = {0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00};
static const uint8_t NACK[] = {0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00};
static const uint8_t ERRFRAME[] = {0x00, 0x00, 0xFF, 0x01,
                                   0xFF, 0x7F, 0x81, 0x00};

struct target {
    enum tg_kind kind;
    uint8_t uid[10];
    size_t uid_len;
    int active; /* selected by InListPassiveTarget, ISO-DEP session up */
    /* membership card (Type 4 tag) */
    uint8_t cc[15];
    uint8_t ndef[160]; /* NLEN(2) + message */
    size_t ndef_len;
    int t4_app;
    int file; /* 0 none, 1 CC, 2 NDEF */
    /* phone (docs/phone-wallet.md) */
    struct wallet_emu wallet;
};

struct emu_pn532 {
    struct emu_pty pty;
    char connstring[EMU_PTY_PATH_MAX + 32];
    pthread_t th;
    int running;
    int stop;
    int wake[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* command handshake */
    const char *cmd_line;
    char *cmd_reply;
    size_t cmd_cap;
    int cmd_rc;
    int cmd_pending;
    /* chip */
    uint8_t in[2048];
    size_t in_len;
    struct {
        uint16_t addr;
        uint8_t val;
    } regs[MAX_REGS];
    int nregs;
    uint8_t mx_rty_passive;
    int pending_list;
    unsigned ops;
    unsigned fail_at;
    enum fail_kind fail_kind;
    int silent;
    struct target tg;
    int present;
};

/* ---- frames out ----------------------------------------------------------- */

static void send_raw(struct emu_pn532 *e, const void *p, size_t n)
{
    (void)emu_pty_write(&e->pty, p, n, 2000);
}

/* Sends an information frame D5 <resp...>; corrupt: wrong data checksum. */
static void send_frame(struct emu_pn532 *e, const uint8_t *resp, size_t n,
                       int corrupt)
{
    uint8_t f[600];
    size_t len = n + 1, o = 0;
    uint8_t sum = 0xD5;

    f[o++] = 0x00;
    f[o++] = 0x00;
    f[o++] = 0xFF;
    if (len <= 254) {
        f[o++] = (uint8_t)len;
        f[o++] = (uint8_t)(0x100 - len);
    } else {
        f[o++] = 0xFF;
        f[o++] = 0xFF;
        f[o++] = (uint8_t)(len >> 8);
        f[o++] = (uint8_t)len;
        f[o++] = (uint8_t)(0x100 - (((len >> 8) + len) & 0xFF));
    }
    f[o++] = 0xD5;
    for (size_t i = 0; i < n; i++) {
        f[o++] = resp[i];
        sum = (uint8_t)(sum + resp[i]);
    }
    f[o++] = (uint8_t)(0x100 - sum) ^ (corrupt ? 0x5A : 0x00);
    f[o++] = 0x00;
    send_raw(e, f, o);
}

/* ---- the cards ------------------------------------------------------------ */

static size_t sw(uint8_t *r, size_t o, uint16_t s)
{
    r[o] = (uint8_t)(s >> 8);
    r[o + 1] = (uint8_t)s;
    return o + 2;
}

static void card_reset_session(struct target *t)
{
    t->t4_app = 0;
    t->file = 0;
    wallet_emu_reset_session(&t->wallet);
}

/* Type 4 tag: NDEF application, CC file E103, NDEF file E104. */
static size_t card_apdu(struct target *t, const uint8_t *c, size_t n,
                        uint8_t *r)
{
    if (n < 4) {
        return sw(r, 0, 0x6700);
    }
    if (c[0] != 0x00) {
        return sw(r, 0, 0x6E00);
    }
    if (c[1] == 0xA4 && c[2] == 0x04) {
        if (n >= 5 + sizeof NDEF_AID && c[4] == sizeof NDEF_AID &&
            memcmp(c + 5, NDEF_AID, sizeof NDEF_AID) == 0) {
            t->t4_app = 1;
            t->file = 0;
            return sw(r, 0, 0x9000);
        }
        return sw(r, 0, 0x6A82);
    }
    if (c[1] == 0xA4 && c[2] == 0x00) {
        if (!t->t4_app || n < 7 || c[4] != 2) {
            return sw(r, 0, 0x6A82);
        }
        if (c[5] == 0xE1 && c[6] == 0x03) {
            t->file = 1;
        } else if (c[5] == 0xE1 && c[6] == 0x04) {
            t->file = 2;
        } else {
            return sw(r, 0, 0x6A82);
        }
        return sw(r, 0, 0x9000);
    }
    if (c[1] == 0xB0) {
        const uint8_t *data = t->file == 1 ? t->cc : t->ndef;
        size_t size = t->file == 1 ? sizeof t->cc : t->ndef_len;
        size_t off = ((size_t)c[2] << 8) | c[3];
        size_t le = n >= 5 ? (c[4] ? c[4] : 256) : 256;
        if (t->file == 0) {
            return sw(r, 0, 0x6986);
        }
        if (off > size) {
            return sw(r, 0, 0x6B00);
        }
        if (le > size - off) {
            le = size - off;
        }
        memcpy(r, data + off, le);
        return sw(r, le, 0x9000);
    }
    return sw(r, 0, 0x6D00);
}

/* ---- chip commands --------------------------------------------------------- */

static uint8_t reg_get(struct emu_pn532 *e, uint16_t a)
{
    for (int i = 0; i < e->nregs; i++) {
        if (e->regs[i].addr == a) {
            return e->regs[i].val;
        }
    }
    return 0;
}

static void reg_set(struct emu_pn532 *e, uint16_t a, uint8_t v)
{
    for (int i = 0; i < e->nregs; i++) {
        if (e->regs[i].addr == a) {
            e->regs[i].val = v;
            return;
        }
    }
    if (e->nregs < MAX_REGS) {
        e->regs[e->nregs].addr = a;
        e->regs[e->nregs].val = v;
        e->nregs++;
    }
}

static size_t target_data(struct emu_pn532 *e, uint8_t *r)
{
    struct target *t = &e->tg;
    size_t o = 0;

    r[o++] = 0x01; /* Tg */
    if (t->kind == TG_PHONE) {
        r[o++] = 0x00;
        r[o++] = 0x04;
    } else {
        r[o++] = 0x03;
        r[o++] = 0x44;
    }
    r[o++] = 0x20; /* SAK: ISO 14443-4 */
    r[o++] = (uint8_t)t->uid_len;
    memcpy(r + o, t->uid, t->uid_len);
    o += t->uid_len;
    /* ATS with its length byte */
    if (t->kind == TG_PHONE) {
        static const uint8_t ats[] = {0x05, 0x78, 0x80, 0x70, 0x02};
        memcpy(r + o, ats, sizeof ats);
        o += sizeof ats;
    } else {
        static const uint8_t ats[] = {0x06, 0x75, 0x77, 0x81, 0x02, 0x80};
        memcpy(r + o, ats, sizeof ats);
        o += sizeof ats;
    }
    return o;
}

static void answer_list(struct emu_pn532 *e)
{
    uint8_t r[64];
    size_t o = 0;

    r[o++] = 0x4B;
    r[o++] = 0x01;
    e->tg.active = 1;
    card_reset_session(&e->tg);
    o += target_data(e, r + o);
    send_frame(e, r, o, 0);
}

/* One command frame (d[0] = D4).  Answers with ACK + response. */
static void chip_command(struct emu_pn532 *e, const uint8_t *d, size_t n)
{
    uint8_t r[600];
    size_t o = 0;
    uint8_t cmd;
    const uint8_t *a;
    size_t na;
    int corrupt = 0;

    if (n < 2 || d[0] != 0xD4) {
        send_raw(e, ERRFRAME, sizeof ERRFRAME);
        return;
    }
    e->pending_list = 0;
    if (e->silent) {
        return;
    }
    e->ops++;
    if (e->fail_at != 0 && e->ops == e->fail_at) {
        e->fail_at = 0;
        switch (e->fail_kind) {
        case F_ERROR:
            send_raw(e, ACK, sizeof ACK);
            send_raw(e, ERRFRAME, sizeof ERRFRAME);
            return;
        case F_NACK:
            send_raw(e, NACK, sizeof NACK);
            return;
        case F_NOISE: {
            static const uint8_t noise[] = {0xA5, 0x5A, 0x00, 0x13, 0xFF,
                                            0x00, 0xFF, 0x7E, 0x00, 0x00};
            send_raw(e, ACK, sizeof ACK);
            send_raw(e, noise, sizeof noise);
            return;
        }
        case F_SILENT:
            return;
        case F_BADSUM:
            corrupt = 1;
            break;
        case F_GONE:
            e->present = 0;
            e->tg.active = 0;
            break;
        }
    }
    cmd = d[1];
    a = d + 2;
    na = n - 2;
    r[o++] = (uint8_t)(cmd + 1);
    switch (cmd) {
    case 0x00: /* Diagnose: echo */
        memcpy(r + o, a, na);
        o += na;
        break;
    case 0x02: /* GetFirmwareVersion: PN532 v1.6 */
        r[o++] = 0x32;
        r[o++] = 0x01;
        r[o++] = 0x06;
        r[o++] = 0x07;
        break;
    case 0x04: /* GetGeneralStatus */
        r[o++] = 0x00;
        r[o++] = (uint8_t)(e->tg.active ? 1 : 0);
        r[o++] = 0x00;
        break;
    case 0x06: /* ReadRegister: one byte per address */
        for (size_t i = 0; i + 1 < na; i += 2) {
            r[o++] = reg_get(e, (uint16_t)(a[i] << 8 | a[i + 1]));
        }
        break;
    case 0x08: /* WriteRegister */
        for (size_t i = 0; i + 2 < na; i += 3) {
            reg_set(e, (uint16_t)(a[i] << 8 | a[i + 1]), a[i + 2]);
        }
        break;
    case 0x12: /* SetParameters */
    case 0x14: /* SAMConfiguration */
        break;
    case 0x16: /* PowerDown */
        r[o++] = 0x00;
        break;
    case 0x32: /* RFConfiguration */
        if (na >= 4 && a[0] == 0x05) {
            e->mx_rty_passive = a[3];
        }
        if (na >= 2 && a[0] == 0x01 && (a[1] & 1) == 0) {
            e->tg.active = 0; /* field off */
        }
        break;
    case 0x4A: /* InListPassiveTarget */
        if (na < 2 || a[1] != 0x00) {
            r[o++] = 0x00; /* only 106 kbps type A here */
            break;
        }
        if (e->present) {
            send_raw(e, ACK, sizeof ACK);
            answer_list(e);
            return;
        }
        if (e->mx_rty_passive == 0xFF) {
            send_raw(e, ACK, sizeof ACK); /* polls until a card comes */
            e->pending_list = 1;
            return;
        }
        r[o++] = 0x00;
        break;
    case 0x40: /* InDataExchange */
        if (!e->present || !e->tg.active || na < 1) {
            r[o++] = 0x01; /* time-out: nothing answered on RF */
            break;
        }
        r[o++] = 0x00;
        if (e->tg.kind == TG_PHONE) {
            size_t rl = 0;
            (void)wallet_emu_apdu(&e->tg.wallet, a + 1, na - 1, r + o,
                                  sizeof r - o, &rl);
            o += rl;
        } else {
            o += card_apdu(&e->tg, a + 1, na - 1, r + o);
        }
        break;
    case 0x42: /* InCommunicateThru (presence check R(NAK)) */
        /* Only an ISO-DEP R(NAK) has an answer; raw frames of other
         * protocols (ISO 14443B, Jewel...) meet silence on RF. */
        if (!e->present || !e->tg.active || na != 1 ||
            (a[0] & 0xF6) != 0xB2) {
            r[o++] = 0x01;
            break;
        }
        r[o++] = 0x00;
        r[o++] = (uint8_t)(0xA2 | ((a[0] & 1) ^ 1));
        break;
    case 0x44: /* InDeselect */
    case 0x52: /* InRelease */
        e->tg.active = 0;
        card_reset_session(&e->tg);
        r[o++] = 0x00;
        break;
    case 0x4E: /* InSelect */
        r[o++] = e->present ? 0x00 : 0x27;
        break;
    case 0x60: /* InAutoPoll */
        if (e->present) {
            uint8_t td[64];
            size_t tl = target_data(e, td);
            r[o++] = 0x01;
            r[o++] = 0x20; /* ISO 14443-4A 106 kbps */
            r[o++] = (uint8_t)(tl - 1);
            memcpy(r + o, td + 1, tl - 1);
            o += tl - 1;
            e->tg.active = 1;
            card_reset_session(&e->tg);
        } else {
            r[o++] = 0x00;
        }
        break;
    default:
        send_raw(e, ACK, sizeof ACK);
        send_raw(e, ERRFRAME, sizeof ERRFRAME);
        return;
    }
    send_raw(e, ACK, sizeof ACK);
    send_frame(e, r, o, corrupt);
}

/* Takes complete frames out of e->in; keeps a partial one. */
static void chip_parse(struct emu_pn532 *e)
{
    for (;;) {
        size_t i = 0, hdr, len;
        uint8_t sum = 0;

        while (i + 1 < e->in_len && !(e->in[i] == 0x00 && e->in[i + 1] == 0xFF)) {
            i++;
        }
        if (i + 1 >= e->in_len) { /* no start code: keep a trailing 00 */
            if (e->in_len > 0 && e->in[e->in_len - 1] == 0x00) {
                e->in[0] = 0x00;
                e->in_len = 1;
            } else {
                e->in_len = 0;
            }
            return;
        }
        memmove(e->in, e->in + i, e->in_len - i); /* in[0..1] = 00 FF */
        e->in_len -= i;
        if (e->in_len < 4) {
            return;
        }
        if (e->in[2] == 0x00 && e->in[3] == 0xFF) { /* ACK from host: abort */
            e->pending_list = 0;
            memmove(e->in, e->in + 4, e->in_len - 4);
            e->in_len -= 4;
            continue;
        }
        if (e->in[2] == 0xFF && e->in[3] == 0xFF) { /* extended */
            if (e->in_len < 7) {
                return;
            }
            if (((e->in[4] + e->in[5] + e->in[6]) & 0xFF) != 0) {
                memmove(e->in, e->in + 2, e->in_len - 2);
                e->in_len -= 2;
                continue;
            }
            len = (size_t)e->in[4] << 8 | e->in[5];
            hdr = 7;
        } else {
            if (((e->in[2] + e->in[3]) & 0xFF) != 0) {
                memmove(e->in, e->in + 2, e->in_len - 2);
                e->in_len -= 2;
                continue;
            }
            len = e->in[2];
            hdr = 4;
        }
        if (len + hdr + 1 > sizeof e->in) {
            e->in_len = 0;
            return;
        }
        if (e->in_len < hdr + len + 1) {
            return;
        }
        for (size_t k = 0; k <= len; k++) {
            sum = (uint8_t)(sum + e->in[hdr + k]);
        }
        if (sum == 0 && len > 0) {
            chip_command(e, e->in + hdr, len);
        } /* else: bad data checksum, dropped like a chip does */
        memmove(e->in, e->in + hdr + len + 1, e->in_len - (hdr + len + 1));
        e->in_len -= hdr + len + 1;
    }
}

/* ---- control lines ---------------------------------------------------------- */

static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
    size_t l = strlen(s);
    if (l == 0 || l % 2 != 0 || l / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < l / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    *n = l / 2;
    return 0;
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

static void build_ndef(struct target *t, const char *number, int text)
{
    static const char type[] = "giftlink.org:member";
    size_t nl = strlen(number), o = 2, msg;
    uint8_t *p = t->ndef;

    if (text) {
        p[o++] = 0xD1; /* MB ME SR, well-known */
        p[o++] = 1;
        p[o++] = (uint8_t)(3 + nl);
        p[o++] = 'T';
        p[o++] = 0x02; /* UTF-8, language "en" */
        p[o++] = 'e';
        p[o++] = 'n';
    } else {
        p[o++] = 0xD4; /* MB ME SR, external */
        p[o++] = (uint8_t)(sizeof type - 1);
        p[o++] = (uint8_t)nl;
        memcpy(p + o, type, sizeof type - 1);
        o += sizeof type - 1;
    }
    memcpy(p + o, number, nl);
    o += nl;
    msg = o - 2;
    p[0] = (uint8_t)(msg >> 8);
    p[1] = (uint8_t)msg;
    t->ndef_len = o;
    static const uint8_t cc[15] = {0x00, 0x0F, 0x20, 0x00, 0x3B, 0x00, 0x34,
                                   0x04, 0x06, 0xE1, 0x04, 0x00, 0xA0, 0x00,
                                   0xFF};
    memcpy(t->cc, cc, sizeof cc);
}

/* "tap phone <uid> <wallet options>": a phone holding the wallet of
 * wallet_emu.h in the field. */
static int cmd_tap_phone(struct emu_pn532 *e, char *args, char *reply,
                         size_t cap)
{
    struct target t;
    char *save = NULL;
    char *tok = strtok_r(args, " ", &save);
    int rc;

    memset(&t, 0, sizeof t);
    t.kind = TG_PHONE;
    wallet_emu_init(&t.wallet);
    if (tok == NULL || parse_hex(tok, t.uid, sizeof t.uid, &t.uid_len) != 0) {
        snprintf(reply, cap, "err uid");
        return GL_EINVAL;
    }
    rc = wallet_emu_setup(&t.wallet, save != NULL ? save : (char *)"", NULL,
                          NULL, reply, cap);
    if (rc == GL_OK) {
        card_reset_session(&t);
        wallet_emu_clear(&e->tg.wallet);
        e->tg = t;
        e->present = 1;
    }
    wallet_emu_clear(&t.wallet);
    return rc;
}

static int apply_command(struct emu_pn532 *e, const char *line, char *reply,
                         size_t cap)
{
    char buf[1024], *save = NULL, *w;

    snprintf(buf, sizeof buf, "%s", line);
    buf[strcspn(buf, "\r\n")] = '\0';
    w = strtok_r(buf, " ", &save);
    if (w == NULL) {
        snprintf(reply, cap, "err empty");
        return GL_EINVAL;
    }
    if (strcmp(w, "tap") == 0) {
        char *what = strtok_r(NULL, " ", &save);
        if (what != NULL && strcmp(what, "phone") == 0) {
            int rc = cmd_tap_phone(e, save, reply, cap);
            if (rc == GL_OK && e->pending_list) {
                e->pending_list = 0;
                answer_list(e);
            }
            return rc;
        }
        if (what != NULL && strcmp(what, "card") == 0) {
            char *uid = strtok_r(NULL, " ", &save);
            char *num = strtok_r(NULL, " ", &save);
            char *opt = strtok_r(NULL, " ", &save);
            struct target t;
            memset(&t, 0, sizeof t);
            t.kind = TG_CARD;
            if (uid == NULL ||
                parse_hex(uid, t.uid, sizeof t.uid, &t.uid_len) != 0 ||
                num == NULL || !digits_ok(num, 1, 19)) {
                snprintf(reply, cap, "err usage: tap card <uid> <number>");
                return GL_EINVAL;
            }
            build_ndef(&t, num, opt != NULL && strcmp(opt, "text") == 0);
            card_reset_session(&t);
            wallet_emu_clear(&e->tg.wallet);
            e->tg = t;
            e->present = 1;
            if (e->pending_list) {
                e->pending_list = 0;
                answer_list(e);
            }
            snprintf(reply, cap, "ok card");
            return GL_OK;
        }
        snprintf(reply, cap, "err tap card|phone");
        return GL_EINVAL;
    }
    if (strcmp(w, "phone") == 0) {
        char *sub = strtok_r(NULL, " ", &save);
        char *val = strtok_r(NULL, " ", &save);
        if (sub != NULL && strcmp(sub, "enter") == 0 && val != NULL &&
            e->tg.kind == TG_PHONE) {
            return wallet_emu_enter(&e->tg.wallet, val, reply, cap);
        }
        snprintf(reply, cap, "err phone enter <digits> (with a phone)");
        return GL_EINVAL;
    }
    if (strcmp(w, "remove") == 0) {
        e->present = 0;
        e->tg.active = 0;
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(w, "fail") == 0) {
        char *nstr = strtok_r(NULL, " ", &save);
        char *kind = strtok_r(NULL, " ", &save);
        static const char *names[] = {"error", "nack",   "badsum",
                                      "noise", "silent", "gone"};
        int k = 0;
        if (nstr == NULL || atoi(nstr) <= 0) {
            snprintf(reply, cap, "err fail <n> [kind]");
            return GL_EINVAL;
        }
        if (kind != NULL) {
            for (k = 0; k < 6 && strcmp(kind, names[k]) != 0; k++) {
            }
            if (k == 6) {
                snprintf(reply, cap, "err kind");
                return GL_EINVAL;
            }
        }
        e->fail_at = e->ops + (unsigned)atoi(nstr);
        e->fail_kind = (enum fail_kind)k;
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(w, "silent") == 0 || strcmp(w, "talk") == 0) {
        e->silent = w[0] == 's';
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(w, "unplug") == 0) {
        emu_pty_unplug(&e->pty);
        e->in_len = 0;
        e->pending_list = 0;
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(w, "plug") == 0) {
        int rc = e->pty.master >= 0 ? GL_OK : emu_pty_replug(&e->pty);
        snprintf(reply, cap, rc == GL_OK ? "ok" : "err replug");
        return rc;
    }
    if (strcmp(w, "reset-count") == 0) {
        e->ops = 0;
        e->fail_at = 0;
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(w, "stats") == 0) {
        unsigned atc = 0;
        if (e->tg.kind == TG_PHONE) {
            atc = (unsigned)wallet_emu_atc(&e->tg.wallet);
        }
        snprintf(reply, cap, "ok ops=%u card=%d atc=%u tries=%d", e->ops,
                 e->present, atc, e->tg.wallet.tries);
        return GL_OK;
    }
    snprintf(reply, cap, "err unknown command");
    return GL_EINVAL;
}

/* ---- the chip thread ----------------------------------------------------------- */

static void *chip_thread(void *arg)
{
    struct emu_pn532 *e = arg;

    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        struct pollfd p[2];
        int np = 1, r;
        uint8_t junk[64];

        if (e->cmd_pending) {
            e->cmd_rc = apply_command(e, e->cmd_line, e->cmd_reply,
                                      e->cmd_cap);
            e->cmd_pending = 0;
            pthread_cond_broadcast(&e->cv);
        }
        p[0].fd = e->wake[0];
        p[0].events = POLLIN;
        if (e->pty.master >= 0) {
            p[1].fd = e->pty.master;
            p[1].events = POLLIN;
            np = 2;
        }
        pthread_mutex_unlock(&e->mu);
        r = poll(p, (nfds_t)np, 1000);
        pthread_mutex_lock(&e->mu);
        if (r <= 0) {
            continue;
        }
        if (p[0].revents & POLLIN) {
            while (read(e->wake[0], junk, sizeof junk) > 0) {
            }
        }
        if (np == 2 && (p[1].revents & POLLIN) && e->pty.master == p[1].fd) {
            size_t got = 0;
            if (emu_pty_read(&e->pty, e->in + e->in_len,
                             sizeof e->in - e->in_len, 0, &got) == GL_OK) {
                e->in_len += got;
                chip_parse(e);
            }
        }
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

struct emu_pn532 *emu_pn532_new(void)
{
    struct emu_pn532 *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return NULL;
    }
    e->pty.master = -1;
    e->pty.slave_keep = -1;
    e->wake[0] = e->wake[1] = -1;
    e->mx_rty_passive = 0xFF;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    return e;
}

int emu_pn532_start(struct emu_pn532 *e, const char *link)
{
    int rc;

    if (e->running) {
        return GL_EINVAL;
    }
    rc = emu_pty_open(&e->pty, link);
    if (rc != GL_OK) {
        return rc;
    }
    snprintf(e->connstring, sizeof e->connstring, "pn532_uart:%s:115200",
             e->pty.link);
    if (pipe2(e->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        emu_pty_close(&e->pty);
        return GL_EOS;
    }
    e->stop = 0;
    if (pthread_create(&e->th, NULL, chip_thread, e) != 0) {
        close(e->wake[0]);
        close(e->wake[1]);
        e->wake[0] = e->wake[1] = -1;
        emu_pty_close(&e->pty);
        return GL_EOS;
    }
    e->running = 1;
    return GL_OK;
}

const char *emu_pn532_connstring(const struct emu_pn532 *e)
{
    return e->connstring;
}

int emu_pn532_command(struct emu_pn532 *e, const char *line, char *reply,
                      size_t cap)
{
    char dummy[128];
    int rc;

    if (reply == NULL || cap == 0) {
        reply = dummy;
        cap = sizeof dummy;
    }
    pthread_mutex_lock(&e->mu);
    if (!e->running) {
        rc = apply_command(e, line, reply, cap);
        pthread_mutex_unlock(&e->mu);
        return rc;
    }
    while (e->cmd_pending) {
        pthread_cond_wait(&e->cv, &e->mu);
    }
    e->cmd_line = line;
    e->cmd_reply = reply;
    e->cmd_cap = cap;
    e->cmd_pending = 1;
    (void)!write(e->wake[1], "x", 1);
    while (e->cmd_pending) {
        pthread_cond_wait(&e->cv, &e->mu);
    }
    rc = e->cmd_rc;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void emu_pn532_stop(struct emu_pn532 *e)
{
    if (e == NULL || !e->running) {
        return;
    }
    pthread_mutex_lock(&e->mu);
    e->stop = 1;
    (void)!write(e->wake[1], "x", 1);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->th, NULL);
    e->running = 0;
    close(e->wake[0]);
    close(e->wake[1]);
    e->wake[0] = e->wake[1] = -1;
    emu_pty_close(&e->pty);
}

void emu_pn532_free(struct emu_pn532 *e)
{
    if (e == NULL) {
        return;
    }
    emu_pn532_stop(e);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

/* ---- the program ------------------------------------------------------------------ */

struct linebuf {
    int fd;
    char buf[1024];
    size_t len;
};

/* Reads from lb->fd and runs every complete line.  Returns 0 to go on,
 * 1 at end of input, 2 on "quit". */
static int serve_lines(struct emu_pn532 *e, struct linebuf *lb, int out_fd)
{
    ssize_t n = read(lb->fd, lb->buf + lb->len, sizeof lb->buf - 1 - lb->len);
    char *nl;

    if (n <= 0) {
        return 1;
    }
    lb->len += (size_t)n;
    lb->buf[lb->len] = '\0';
    while ((nl = strchr(lb->buf, '\n')) != NULL) {
        char reply[256];
        size_t used = (size_t)(nl - lb->buf) + 1;
        *nl = '\0';
        if (strcmp(lb->buf, "quit") == 0) {
            return 2;
        }
        if (lb->buf[0] != '\0' && lb->buf[0] != '#') {
            emu_pn532_command(e, lb->buf, reply, sizeof reply);
            dprintf(out_fd, "%s\n", reply);
        }
        memmove(lb->buf, lb->buf + used, lb->len - used + 1);
        lb->len -= used;
    }
    if (lb->len >= sizeof lb->buf - 1) {
        lb->len = 0; /* overlong line: dropped */
    }
    return 0;
}

int emu_pn532_main(int argc, char **argv)
{
    const char *link = NULL, *control = NULL;
    struct emu_pn532 *e = NULL;
    int lfd = -1, sfd = -1, status = 1, done = 0;
    struct linebuf in = {.fd = 0}, cl = {.fd = -1};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--link") == 0 && i + 1 < argc) {
            link = argv[++i];
        } else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
            control = argv[++i];
        } else {
            fprintf(stderr, "usage: pn532 --link PATH [--control SOCKET]\n");
            return 2;
        }
    }
    if (link == NULL) {
        fprintf(stderr, "usage: pn532 --link PATH [--control SOCKET]\n");
        return 2;
    }
    sfd = emu_pty_term_fd();
    if (sfd < 0) {
        fprintf(stderr, "pn532: signalfd: %s\n", strerror(errno));
        goto out;
    }
    e = emu_pn532_new();
    if (e == NULL || emu_pn532_start(e, link) != GL_OK) {
        fprintf(stderr, "pn532: cannot start at %s\n", link);
        goto out;
    }
    if (control != NULL) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(control) >= sizeof sa.sun_path) {
            fprintf(stderr, "pn532: control path too long\n");
            goto out;
        }
        strcpy(sa.sun_path, control);
        (void)unlink(control);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(lfd, 4) != 0) {
            fprintf(stderr, "pn532: control socket: %s\n", strerror(errno));
            goto out;
        }
    }
    printf("pn532 ready %s\n", emu_pn532_connstring(e));
    fflush(stdout);
    while (!done) {
        struct pollfd p[4];
        int np = 1, r;
        int i_in = -1, i_l = -1, i_c = -1;
        p[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (in.fd >= 0) {
            i_in = np;
            p[np++] = (struct pollfd){.fd = in.fd, .events = POLLIN};
        }
        if (lfd >= 0 && cl.fd < 0) {
            i_l = np;
            p[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        }
        if (cl.fd >= 0) {
            i_c = np;
            p[np++] = (struct pollfd){.fd = cl.fd, .events = POLLIN};
        }
        if (np == 1) {
            break; /* nothing left to serve */
        }
        r = poll(p, (nfds_t)np, -1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 || p[0].revents) {
            break; /* SIGTERM / SIGINT: clean up and end */
        }
        if (i_in >= 0 && p[i_in].revents) {
            int s = serve_lines(e, &in, 1);
            if (s == 2 || (s == 1 && lfd < 0)) {
                done = 1;
            } else if (s == 1) {
                in.fd = -1; /* stdin closed: the socket still serves */
            }
        }
        if (i_l >= 0 && p[i_l].revents) {
            cl.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            cl.len = 0;
        }
        if (i_c >= 0 && p[i_c].revents) {
            int s = serve_lines(e, &cl, cl.fd);
            if (s != 0) {
                close(cl.fd);
                cl.fd = -1;
                done = s == 2;
            }
        }
    }
    status = 0;
out:
    if (cl.fd >= 0) {
        close(cl.fd);
    }
    if (lfd >= 0) {
        close(lfd);
        (void)unlink(control);
    }
    emu_pn532_free(e);
    if (sfd >= 0) {
        close(sfd);
    }
    return status;
}
