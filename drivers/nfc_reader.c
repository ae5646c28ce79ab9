/*
 * nfc_reader.c - polling, NDEF membership numbers and the APDU transport
 * over hal/nfc.  Contract in nfc_reader.h.
 */
#include "nfc_reader.h"

#include <string.h>

#include "gl_err.h"

#define DEFAULT_REOPEN_MS 1000
#define DEFAULT_APDU_MS 2000

static const uint8_t ndef_aid[] = {0xD2, 0x76, 0x00, 0x00, 0x85, 0x01, 0x01};
static const char member_type[] = "giftlink.org:member";

static int is_fault(int rc)
{
    return rc == GL_EIO || rc == GL_ETIMEDOUT || rc == GL_ECLOSED ||
           rc == GL_DEV_BADFRAME || rc == GL_DEV_NODEV || rc == GL_EAGAIN ||
           rc == GL_ENOMEM || rc == GL_ENOTSUP;
}

/* A fault: close now, reopen at the next poll. */
static int fault(struct nfc_reader *r, int rc)
{
    if (is_fault(rc)) {
        hal_nfc_close(&r->hal);
        r->faults++;
        r->next_open_ms = hal_clock_now_ms(r->clock);
    }
    return rc;
}

int nfc_reader_init(struct nfc_reader *r, const struct nfc_reader_config *cfg,
                    struct hal_clock *clock)
{
    int rc;

    memset(r, 0, sizeof *r);
    if (cfg == NULL || clock == NULL) {
        return GL_EINVAL;
    }
    r->cfg = *cfg;
    if (r->cfg.reopen_ms <= 0) {
        r->cfg.reopen_ms = DEFAULT_REOPEN_MS;
    }
    if (r->cfg.apdu_timeout_ms <= 0) {
        r->cfg.apdu_timeout_ms = DEFAULT_APDU_MS;
    }
    r->cfg.nfc.timeout_ms = r->cfg.apdu_timeout_ms;
    r->clock = clock;
    r->xfer_timeout_ms = r->cfg.apdu_timeout_ms;
    rc = hal_nfc_init(&r->hal, NULL, &r->cfg.nfc);
    r->next_open_ms = hal_clock_now_ms(clock);
    return rc;
}

int nfc_reader_poll(struct nfc_reader *r, struct nfc_tap *tap)
{
    struct hal_nfc_target t;
    int rc;

    memset(tap, 0, sizeof *tap);
    if (!hal_nfc_is_open(&r->hal)) {
        uint64_t now = hal_clock_now_ms(r->clock);
        if (now < r->next_open_ms) {
            return GL_EAGAIN;
        }
        rc = hal_nfc_open(&r->hal);
        if (rc != GL_OK) {
            r->faults++;
            r->next_open_ms = now + (uint64_t)r->cfg.reopen_ms;
            return rc;
        }
    }
    rc = hal_nfc_select(&r->hal, &t);
    if (rc != GL_OK) {
        return fault(r, rc);
    }
    memcpy(tap->uid, t.uid, t.uid_len);
    tap->uid_len = t.uid_len;
    tap->iso_dep = t.ats_len > 0;
    r->xfer_timeout_ms = r->cfg.apdu_timeout_ms;
    return GL_OK;
}

int nfc_reader_xfer(void *ctx, const uint8_t *capdu, size_t clen,
                    uint8_t *rapdu, size_t cap, size_t *rlen)
{
    struct nfc_reader *r = ctx;
    int rc;

    *rlen = 0;
    if (!hal_nfc_is_open(&r->hal)) {
        return GL_ECLOSED;
    }
    rc = hal_nfc_transceive(&r->hal, capdu, clen, rapdu, cap, rlen,
                            r->xfer_timeout_ms);
    return fault(r, rc);
}

void nfc_reader_set_timeout(struct nfc_reader *r, int timeout_ms)
{
    r->xfer_timeout_ms = timeout_ms > 0 ? timeout_ms : r->cfg.apdu_timeout_ms;
}

int nfc_reader_present(struct nfc_reader *r)
{
    if (!hal_nfc_is_open(&r->hal)) {
        return GL_ECLOSED;
    }
    return fault(r, hal_nfc_present(&r->hal));
}

void nfc_reader_release(struct nfc_reader *r)
{
    if (hal_nfc_is_open(&r->hal)) {
        (void)fault(r, hal_nfc_release(&r->hal));
    }
    r->xfer_timeout_ms = r->cfg.apdu_timeout_ms;
}

void nfc_reader_close(struct nfc_reader *r)
{
    hal_nfc_close(&r->hal);
}

/* ---- NDEF (Type 4 tag) ------------------------------------------------------ */

/* Sends r->apdu[clen]; the answer body goes to r->resp, *blen its length,
 * *sw its status word. */
static int t4_cmd(struct nfc_reader *r, size_t clen, size_t *blen,
                  uint16_t *sw)
{
    size_t rlen = 0;
    int rc = nfc_reader_xfer(r, r->apdu, clen, r->resp, sizeof r->resp, &rlen);

    *blen = 0;
    *sw = 0;
    if (rc != GL_OK) {
        return rc;
    }
    if (rlen < 2) {
        return GL_DEV_BADFRAME;
    }
    *sw = (uint16_t)(r->resp[rlen - 2] << 8 | r->resp[rlen - 1]);
    *blen = rlen - 2;
    return GL_OK;
}

static int t4_select_file(struct nfc_reader *r, uint16_t fid)
{
    size_t blen;
    uint16_t sw;
    int rc;
    const uint8_t c[] = {0x00, 0xA4, 0x00, 0x0C, 0x02,
                         (uint8_t)(fid >> 8), (uint8_t)fid};

    memcpy(r->apdu, c, sizeof c);
    if ((rc = t4_cmd(r, sizeof c, &blen, &sw)) != GL_OK) {
        return rc;
    }
    return sw == 0x9000 ? GL_OK : GL_DEV_NDEF;
}

/* READ BINARY of n bytes at off into out. */
static int t4_read(struct nfc_reader *r, size_t off, uint8_t *out, size_t n)
{
    size_t blen;
    uint16_t sw;
    int rc;

    r->apdu[0] = 0x00;
    r->apdu[1] = 0xB0;
    r->apdu[2] = (uint8_t)(off >> 8);
    r->apdu[3] = (uint8_t)off;
    r->apdu[4] = (uint8_t)n;
    if ((rc = t4_cmd(r, 5, &blen, &sw)) != GL_OK) {
        return rc;
    }
    if (sw != 0x9000 || blen != n) {
        return GL_DEV_NDEF;
    }
    memcpy(out, r->resp, n);
    return GL_OK;
}

static int digits_only(const uint8_t *p, size_t n)
{
    if (n == 0 || n > NFC_READER_NUMBER_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Finds the number in an NDEF message; GL_OK with *num and *nlen set. */
static int ndef_find_number(const uint8_t *m, size_t len, const uint8_t **num,
                            size_t *nlen)
{
    size_t o = 0;

    while (o < len) {
        uint8_t h = m[o++];
        size_t tl, pl, il = 0;
        const uint8_t *type, *pay;
        if (o >= len) {
            break;
        }
        tl = m[o++];
        if (h & 0x10) { /* short record */
            if (o >= len) {
                break;
            }
            pl = m[o++];
        } else {
            if (o + 4 > len) {
                break;
            }
            pl = (size_t)m[o] << 24 | (size_t)m[o + 1] << 16 |
                 (size_t)m[o + 2] << 8 | m[o + 3];
            o += 4;
        }
        if (h & 0x08) {
            if (o >= len) {
                break;
            }
            il = m[o++];
        }
        if (tl > len - o || il > len - o - tl || pl > len - o - tl - il) {
            break;
        }
        type = m + o;
        pay = m + o + tl + il;
        o += tl + il + pl;
        if ((h & 0x07) == 0x01 && tl == 1 && type[0] == 'T' && pl >= 1) {
            size_t lang = pay[0] & 0x3F;
            if ((pay[0] & 0x80) == 0 && lang + 1 <= pl &&
                digits_only(pay + 1 + lang, pl - 1 - lang)) {
                *num = pay + 1 + lang;
                *nlen = pl - 1 - lang;
                return GL_OK;
            }
        } else if ((h & 0x07) == 0x04 && tl == sizeof member_type - 1 &&
                   memcmp(type, member_type, tl) == 0 && digits_only(pay, pl)) {
            *num = pay;
            *nlen = pl;
            return GL_OK;
        }
        if (h & 0x40) { /* ME */
            break;
        }
    }
    return GL_DEV_NDEF;
}

int nfc_reader_read_number(struct nfc_reader *r, char *out, size_t cap)
{
    uint8_t cc[15], nl[2], msg[240];
    size_t blen, mlen, mle, off;
    uint16_t sw, fid;
    const uint8_t *num;
    size_t numlen;
    int rc;

    out[0] = '\0';
    if (cap < NFC_READER_NUMBER_MAX + 1) {
        return GL_ENOSPC;
    }
    r->apdu[0] = 0x00;
    r->apdu[1] = 0xA4;
    r->apdu[2] = 0x04;
    r->apdu[3] = 0x00;
    r->apdu[4] = sizeof ndef_aid;
    memcpy(r->apdu + 5, ndef_aid, sizeof ndef_aid);
    r->apdu[5 + sizeof ndef_aid] = 0x00;
    if ((rc = t4_cmd(r, 6 + sizeof ndef_aid, &blen, &sw)) != GL_OK) {
        return rc;
    }
    if (sw != 0x9000) {
        return GL_DEV_NOAPP;
    }
    if ((rc = t4_select_file(r, 0xE103)) != GL_OK ||
        (rc = t4_read(r, 0, cc, sizeof cc)) != GL_OK) {
        return rc;
    }
    /* CC: CCLEN(2) version MLe(2) MLc(2) TLV 04 06 fid(2) max(2) r w */
    if ((cc[2] >> 4) != 2 || cc[7] != 0x04 || cc[8] != 0x06 || cc[13] != 0) {
        return GL_DEV_NDEF;
    }
    mle = (size_t)cc[3] << 8 | cc[4];
    if (mle < 15) {
        return GL_DEV_NDEF;
    }
    if (mle > 250) {
        mle = 250;
    }
    fid = (uint16_t)(cc[9] << 8 | cc[10]);
    if ((rc = t4_select_file(r, fid)) != GL_OK ||
        (rc = t4_read(r, 0, nl, 2)) != GL_OK) {
        return rc;
    }
    mlen = (size_t)nl[0] << 8 | nl[1];
    if (mlen == 0 || mlen > sizeof msg) {
        return GL_DEV_NDEF;
    }
    for (off = 0; off < mlen;) {
        size_t n = mlen - off < mle ? mlen - off : mle;
        if ((rc = t4_read(r, 2 + off, msg + off, n)) != GL_OK) {
            return rc;
        }
        off += n;
    }
    if ((rc = ndef_find_number(msg, mlen, &num, &numlen)) != GL_OK) {
        return rc;
    }
    memcpy(out, num, numlen);
    out[numlen] = '\0';
    return GL_OK;
}
