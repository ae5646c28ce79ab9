/*
 * iso_util.c - the masked pretty-printer, the stream reassembler and the
 * DE 48 TLV helpers of the codec; see iso8583.h.
 */
#include <stdio.h>
#include <string.h>

#include "gl_err.h"
#include "gl_log.h"
#include "iso8583.h"

/* ---- printing ----------------------------------------------------------- */

struct outbuf {
    char *p;
    size_t cap, len;
    int full;
};

static void out_bytes(struct outbuf *o, const char *s, size_t n)
{
    if (o->full || o->len + n + 1 > o->cap) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void out_str(struct outbuf *o, const char *s)
{
    out_bytes(o, s, strlen(s));
}

static int is_card_field(int f)
{
    return f == 2 || f == 34 || f == 35 || f == 36 || f == 45;
}

static int tlv_next(const uint8_t *tlv, size_t len, size_t *pos,
                    const uint8_t **tag, const uint8_t **val, size_t *vlen);

/* DE 48: elements as they are, but the AES PIN block (tag PB) withheld. */
static void print_tlv(struct outbuf *o, const uint8_t *v, size_t n, int clear)
{
    size_t pos = 0;

    while (pos < n) {
        const uint8_t *t, *val;
        size_t vl, start;
        if (tlv_next(v, n, &pos, &t, &val, &vl) != GL_OK) {
            return; /* checked by the caller */
        }
        out_bytes(o, (const char *)t, 5);
        if (t[0] == 'P' && t[1] == 'B') {
            out_str(o, "(withheld)");
            continue;
        }
        start = o->len;
        out_bytes(o, (const char *)val, vl);
        if (!clear && !o->full) {
            gl_mask_digit_runs(o->p + start, vl);
        }
    }
}

int iso_msg_print(const struct iso_msg *msg, int clear, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    struct outbuf o = {out, cap, 0, 0};
    char head[16];

    if (cap == 0) {
        return GL_ENOSPC;
    }
    out[0] = '\0';
    out_str(&o, "mti=");
    out_str(&o, msg->mti);
    out_str(&o, "\n");
    for (int f = 2; f <= ISO_FIELDS; f++) {
        const uint8_t *v;
        size_t n;
        if (iso_msg_get(msg, f, &v, &n) != GL_OK) {
            continue;
        }
        snprintf(head, sizeof head, "%d=", f);
        out_str(&o, head);
        if (f == 52) {
            /* PIN data: withheld whatever the mode. */
            out_str(&o, "(withheld)\n");
            continue;
        }
        if (iso_fields_1987[f].type == ISO_T_B) {
            for (size_t i = 0; i < n; i++) {
                char h[2] = {hex[v[i] >> 4], hex[v[i] & 15]};
                out_bytes(&o, h, 2);
            }
        } else if (!clear && is_card_field(f)) {
            char m[GL_MASK_MAX];
            /* Track 1 starts with a format code: mask from the PAN on. */
            size_t skip = (f == 45 && n > 0 && (v[0] < '0' || v[0] > '9'));
            out_bytes(&o, (const char *)v, skip);
            out_str(&o, gl_mask_pan(m, (const char *)v + skip, n - skip));
        } else if (f == 48 && iso_tlv_check(v, n) == GL_OK) {
            print_tlv(&o, v, n, clear);
        } else if (!clear && (iso_fields_1987[f].type == ISO_T_ANS ||
                              iso_fields_1987[f].type == ISO_T_NS)) {
            /* Free text could hold a number: mask digit runs.  Numeric and
             * alphanumeric fields (amounts, totals, DE 54, DE 90) are not
             * free text and stay as they are. */
            size_t start = o.len;
            out_bytes(&o, (const char *)v, n);
            if (!o.full) {
                gl_mask_digit_runs(o.p + start, n);
            }
        } else {
            out_bytes(&o, (const char *)v, n);
        }
        out_str(&o, "\n");
    }
    return o.full ? GL_ENOSPC : (int)o.len;
}

/* ---- stream reassembly -------------------------------------------------- */

void iso_reasm_init(struct iso_reasm *r, size_t max)
{
    r->max = max > ISO_FRAME_MAX || max == 0 ? ISO_FRAME_MAX : max;
    r->have = 0;
}

size_t iso_reasm_pending(const struct iso_reasm *r)
{
    return r->have;
}

int iso_reasm_feed(struct iso_reasm *r, const uint8_t *data, size_t len,
                   iso_frame_cb cb, void *ctx)
{
    int rc;

    while (len > 0) {
        if (r->have == 0 && len >= ISO_HDR_LEN) {
            /* Fast path: whole frames straight from the caller's bytes. */
            size_t n = (size_t)data[0] << 8 | data[1];
            if (n == 0 || n > r->max) {
                return GL_ISO_FRAMELEN;
            }
            if (len - ISO_HDR_LEN >= n) {
                rc = cb(ctx, data + ISO_HDR_LEN, n);
                if (rc != 0) {
                    return rc;
                }
                data += ISO_HDR_LEN + n;
                len -= ISO_HDR_LEN + n;
                continue;
            }
        }
        /* Buffer the header first, then the body. */
        if (r->have < ISO_HDR_LEN) {
            size_t take = ISO_HDR_LEN - r->have;
            if (take > len) {
                take = len;
            }
            memcpy(r->buf + r->have, data, take);
            r->have += take;
            data += take;
            len -= take;
            if (r->have < ISO_HDR_LEN) {
                break;
            }
        }
        size_t n = (size_t)r->buf[0] << 8 | r->buf[1];
        if (n == 0 || n > r->max) {
            r->have = 0;
            return GL_ISO_FRAMELEN;
        }
        size_t want = ISO_HDR_LEN + n - r->have;
        size_t take = want < len ? want : len;
        memcpy(r->buf + r->have, data, take);
        r->have += take;
        data += take;
        len -= take;
        if (r->have == ISO_HDR_LEN + n) {
            r->have = 0;
            rc = cb(ctx, r->buf + ISO_HDR_LEN, n);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return GL_OK;
}

/* ---- DE 48 TLV ---------------------------------------------------------- */

static int tag_ok(const uint8_t *t)
{
    for (int i = 0; i < 2; i++) {
        uint8_t c = t[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
              (c >= 'a' && c <= 'z'))) {
            return 0;
        }
    }
    return 1;
}

/* Reads one element at tlv[*pos]; GL_ISO_BADTLV when malformed. */
static int tlv_next(const uint8_t *tlv, size_t len, size_t *pos,
                    const uint8_t **tag, const uint8_t **val, size_t *vlen)
{
    size_t p = *pos, n = 0;

    if (len - p < 5 || !tag_ok(tlv + p)) {
        return GL_ISO_BADTLV;
    }
    for (int i = 2; i < 5; i++) {
        if (tlv[p + i] < '0' || tlv[p + i] > '9') {
            return GL_ISO_BADTLV;
        }
        n = n * 10 + (size_t)(tlv[p + i] - '0');
    }
    if (len - p - 5 < n) {
        return GL_ISO_BADTLV;
    }
    *tag = tlv + p;
    *val = tlv + p + 5;
    *vlen = n;
    *pos = p + 5 + n;
    return GL_OK;
}

int iso_tlv_find(const uint8_t *tlv, size_t len, const char tag[2],
                 const uint8_t **val, size_t *vlen)
{
    size_t pos = 0;

    *val = NULL;
    *vlen = 0;
    while (pos < len) {
        const uint8_t *t, *v;
        size_t n;
        if (tlv_next(tlv, len, &pos, &t, &v, &n) != GL_OK) {
            return GL_ISO_BADTLV;
        }
        if (t[0] == (uint8_t)tag[0] && t[1] == (uint8_t)tag[1]) {
            *val = v;
            *vlen = n;
            return GL_OK;
        }
    }
    return GL_ENOTFOUND;
}

int iso_tlv_check(const uint8_t *tlv, size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        const uint8_t *t, *v;
        size_t n;
        if (tlv_next(tlv, len, &pos, &t, &v, &n) != GL_OK) {
            return GL_ISO_BADTLV;
        }
    }
    return GL_OK;
}

int iso_tlv_append(uint8_t *buf, size_t cap, size_t *len, const char tag[2],
                   const void *val, size_t vlen)
{
    if (vlen > 999 || !tag_ok((const uint8_t *)tag)) {
        return GL_EINVAL;
    }
    if (*len > cap || cap - *len < 5 + vlen) {
        return GL_ENOSPC;
    }
    uint8_t *p = buf + *len;
    p[0] = (uint8_t)tag[0];
    p[1] = (uint8_t)tag[1];
    p[2] = (uint8_t)('0' + vlen / 100);
    p[3] = (uint8_t)('0' + vlen / 10 % 10);
    p[4] = (uint8_t)('0' + vlen % 10);
    memcpy(p + 5, val, vlen);
    *len += 5 + vlen;
    return GL_OK;
}
