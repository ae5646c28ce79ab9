/*
 * phone_wallet.c - the phone wallet's APDUs.  Contract in phone_wallet.h;
 * the protocol in docs/phone-wallet.md.
 */
#include "phone_wallet.h"

#include <string.h>

#include "gl_err.h"

const uint8_t phone_wallet_aid[PHONE_WALLET_AID_LEN] = {
    0xF0, 0x47, 0x4C, 0x57, 0x41, 0x4C, 0x4C, 0x45, 0x54};

#define CLA 0x80
#define INS_LIST 0x10
#define INS_SELECT_VOUCHER 0x12
#define INS_VERIFY 0x20
#define INS_CRYPTOGRAM 0x30
#define LIST_ENTRY 16

void phone_wallet_init(struct phone_wallet *w, phone_wallet_xfer_fn xfer,
                       void *ctx)
{
    memset(w, 0, sizeof *w);
    w->xfer = xfer;
    w->ctx = ctx;
    w->selected = -1;
}

static int sw_to_err(uint16_t sw)
{
    if (sw == 0x9000) {
        return GL_OK;
    }
    if ((sw & 0xFFF0) == 0x63C0) {
        return GL_DEV_PINWRONG;
    }
    switch (sw) {
    case 0x6A82:
        return GL_DEV_NOAPP;
    case 0x6A83:
        return GL_ENOTFOUND;
    case 0x6983:
        return GL_DEV_PINBLOCKED;
    case 0x6982:
        return GL_DEV_PINREQUIRED;
    default:
        return GL_DEV_CARDERR;
    }
}

/* Sends capdu; on success the answer body is in w->buf, *blen long. */
static int exchange(struct phone_wallet *w, const uint8_t *capdu, size_t clen,
                    size_t *blen)
{
    size_t rlen = 0;
    int rc = w->xfer(w->ctx, capdu, clen, w->buf, sizeof w->buf, &rlen);

    *blen = 0;
    if (rc != GL_OK) {
        return rc;
    }
    if (rlen < 2 || rlen > sizeof w->buf) {
        return GL_DEV_BADFRAME;
    }
    w->last_sw = (uint16_t)(w->buf[rlen - 2] << 8 | w->buf[rlen - 1]);
    *blen = rlen - 2;
    return GL_OK;
}

int phone_wallet_select(struct phone_wallet *w)
{
    uint8_t c[5 + PHONE_WALLET_AID_LEN + 1] = {0x00, 0xA4, 0x04, 0x00,
                                               PHONE_WALLET_AID_LEN};
    size_t blen;
    int rc;

    memcpy(c + 5, phone_wallet_aid, PHONE_WALLET_AID_LEN);
    c[sizeof c - 1] = 0x00;
    w->selected = -1;
    if ((rc = exchange(w, c, sizeof c, &blen)) != GL_OK) {
        return rc;
    }
    if ((rc = sw_to_err(w->last_sw)) != GL_OK) {
        return rc;
    }
    if (blen < 2) {
        return GL_DEV_BADFRAME;
    }
    w->version = w->buf[0];
    w->count = w->buf[1];
    return w->version == 0x01 ? GL_OK : GL_DEV_CARDERR;
}

static void bcd_to_digits(const uint8_t *bcd, char out[17])
{
    for (int i = 0; i < 16; i++) {
        uint8_t d = (uint8_t)(i % 2 ? bcd[i / 2] & 0x0F : bcd[i / 2] >> 4);
        out[i] = (char)('0' + d);
    }
    out[16] = '\0';
}

static int bcd_valid(const uint8_t *bcd)
{
    for (int i = 0; i < 8; i++) {
        if ((bcd[i] >> 4) > 9 || (bcd[i] & 0x0F) > 9) {
            return 0;
        }
    }
    return 1;
}

int phone_wallet_list(struct phone_wallet *w,
                      struct phone_wallet_voucher *out, size_t cap,
                      size_t *n)
{
    uint8_t start = 0;
    size_t got = 0;
    int rc = GL_OK, more = 1;

    *n = 0;
    while (more) {
        uint8_t c[5] = {CLA, INS_LIST, start, 0x00, 0x00};
        size_t blen, cnt;
        if ((rc = exchange(w, c, sizeof c, &blen)) != GL_OK) {
            return rc;
        }
        if (w->last_sw != 0x9000 && w->last_sw != 0x6310) {
            return sw_to_err(w->last_sw);
        }
        if (blen < 1) {
            return GL_DEV_BADFRAME;
        }
        cnt = w->buf[0];
        if (blen != 1 + cnt * LIST_ENTRY ||
            (w->last_sw == 0x6310 && cnt == 0)) {
            return GL_DEV_BADFRAME;
        }
        for (size_t i = 0; i < cnt; i++) {
            const uint8_t *e = w->buf + 1 + i * LIST_ENTRY;
            struct phone_wallet_voucher v;
            if (e[0] != (uint8_t)(start + i) || !bcd_valid(e + 1)) {
                return GL_DEV_BADFRAME;
            }
            v.index = e[0];
            bcd_to_digits(e + 1, v.number);
            v.product = (uint16_t)(e[9] << 8 | e[10]);
            v.balance = (uint32_t)e[11] << 24 | (uint32_t)e[12] << 16 |
                        (uint32_t)e[13] << 8 | e[14];
            v.pin_required = (e[15] & 0x01) != 0;
            if (got < cap) {
                out[got] = v;
            } else {
                rc = GL_ENOSPC;
            }
            got++;
        }
        more = w->last_sw == 0x6310;
        if (start + cnt > 255) {
            return GL_DEV_BADFRAME;
        }
        start = (uint8_t)(start + cnt);
    }
    *n = got < cap ? got : cap;
    return rc;
}

int phone_wallet_select_voucher(struct phone_wallet *w,
                                const struct phone_wallet_voucher *v)
{
    uint8_t c[4] = {CLA, INS_SELECT_VOUCHER, v->index, 0x00};
    size_t blen;
    int rc;

    w->selected = -1;
    if ((rc = exchange(w, c, sizeof c, &blen)) != GL_OK) {
        return rc;
    }
    if ((rc = sw_to_err(w->last_sw)) != GL_OK) {
        return rc;
    }
    w->selected = v->index;
    memcpy(w->selected_number, v->number, sizeof w->selected_number);
    return GL_OK;
}

int phone_wallet_verify_pin(struct phone_wallet *w, int *tries_left)
{
    uint8_t c[4] = {CLA, INS_VERIFY, 0x00, 0x00};
    size_t blen;
    int rc;

    if (tries_left != NULL) {
        *tries_left = -1;
    }
    if ((rc = exchange(w, c, sizeof c, &blen)) != GL_OK) {
        return rc;
    }
    rc = sw_to_err(w->last_sw);
    if (rc == GL_DEV_PINWRONG && tries_left != NULL) {
        *tries_left = w->last_sw & 0x0F;
    }
    return rc;
}

int phone_wallet_amount_bcd(uint64_t amount, uint8_t out[6])
{
    if (amount > 999999999999ULL) {
        return GL_ERANGE;
    }
    for (int i = 5; i >= 0; i--) {
        uint8_t lo = (uint8_t)(amount % 10);
        amount /= 10;
        uint8_t hi = (uint8_t)(amount % 10);
        amount /= 10;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return GL_OK;
}

int phone_wallet_cryptogram(struct phone_wallet *w, uint64_t amount,
                            const char tid[PHONE_WALLET_TID_LEN],
                            const uint8_t challenge[PHONE_WALLET_CHALLENGE_LEN],
                            struct phone_wallet_proof *proof)
{
    uint8_t c[5 + 22 + 1] = {CLA, INS_CRYPTOGRAM, 0x00, 0x00, 22};
    size_t blen;
    uint32_t atc;
    int rc;

    memset(proof, 0, sizeof *proof);
    if (w->selected < 0) {
        return GL_EINVAL;
    }
    if ((rc = phone_wallet_amount_bcd(amount, c + 5)) != GL_OK) {
        return rc;
    }
    memcpy(c + 11, tid, PHONE_WALLET_TID_LEN);
    memcpy(c + 19, challenge, PHONE_WALLET_CHALLENGE_LEN);
    c[27] = 0x00;
    if ((rc = exchange(w, c, sizeof c, &blen)) != GL_OK) {
        return rc;
    }
    if ((rc = sw_to_err(w->last_sw)) != GL_OK) {
        return rc;
    }
    if (blen != 4 + PHONE_WALLET_CRYPTOGRAM_LEN) {
        return GL_DEV_BADFRAME;
    }
    atc = (uint32_t)w->buf[0] << 24 | (uint32_t)w->buf[1] << 16 |
          (uint32_t)w->buf[2] << 8 | w->buf[3];
    if (atc == 0 || atc > PHONE_WALLET_ATC_MAX) {
        return GL_DEV_BADFRAME; /* DE 48 AT could not carry it */
    }
    memcpy(proof->number, w->selected_number, sizeof proof->number);
    proof->atc = atc;
    memcpy(proof->cryptogram, w->buf + 4, PHONE_WALLET_CRYPTOGRAM_LEN);
    return GL_OK;
}
