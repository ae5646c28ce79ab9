/*
 * escpos_decode.c - ESC/POS bytes to normalized text (see the header).
 */
#include "escpos_decode.h"

#include <iconv.h>
#include <stdio.h>
#include <string.h>

#include "gl_err.h"

int escpos_decode_cmdlen(const uint8_t *p, size_t n, size_t *len)
{
    if (n == 0) {
        return 0;
    }
    switch (p[0]) {
    case 0x10: /* DLE EOT n */
        if (n < 2) {
            return 0;
        }
        if (p[1] != 0x04) {
            return -1;
        }
        *len = 3;
        return n >= 3;
    case 0x1B: /* ESC */
        if (n < 2) {
            return 0;
        }
        switch (p[1]) {
        case '@':
            *len = 2;
            return 1;
        case 'E': case 'a': case 'd': case 't': case 'R': case '!': case '-':
        case 'G': case 'J': case 'M':
            *len = 3;
            return n >= 3;
        default:
            return -1;
        }
    case 0x1D: /* GS */
        if (n < 2) {
            return 0;
        }
        switch (p[1]) {
        case '!': case 'h': case 'w': case 'H': case 'f':
            *len = 3;
            return n >= 3;
        case 'V':
            if (n < 3) {
                return 0;
            }
            *len = (p[2] == 65 || p[2] == 66) ? 4 : 3;
            return n >= *len;
        case 'k':
            if (n < 4) {
                return 0;
            }
            if (p[2] < 65) {
                return -1; /* NUL-terminated forms are not used */
            }
            *len = 4 + (size_t)p[3];
            return n >= *len;
        case '(':
            if (n < 5) {
                return 0;
            }
            *len = 5 + (size_t)p[3] + ((size_t)p[4] << 8);
            return n >= *len;
        default:
            return -1;
        }
    case 0x1C: /* FS */
        if (n < 2) {
            return 0;
        }
        if (p[1] == '&' || p[1] == '.') {
            *len = 2;
            return 1;
        }
        return -1;
    case 0x0A:
        *len = 1;
        return 1;
    default:
        if (p[0] < 0x20 || p[0] == 0x7F) {
            return -1;
        }
        *len = 1;
        return 1;
    }
}

int escpos_decode_is_status(const uint8_t *p, size_t len, int *n)
{
    if (len == 3 && p[0] == 0x10 && p[1] == 0x04) {
        *n = p[2];
        return 1;
    }
    return 0;
}

struct out {
    char *p;
    size_t cap, len;
    int err;
    int midline; /* text since the last line end */
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (o->err) {
        return;
    }
    if (n + 1 > o->cap - o->len) {
        o->err = GL_ENOSPC;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
    if (n > 0) {
        o->midline = s[n - 1] != '\n';
    }
}

static void emits(struct out *o, const char *s)
{
    emit(o, s, strlen(s));
}

/* A block item on its own line. */
static void emit_item(struct out *o, const char *s, size_t n)
{
    if (o->midline) {
        emit(o, "\n", 1);
    }
    emit(o, s, n);
    emit(o, "\n", 1);
}

static int code128_text(const uint8_t *d, size_t n, char *t, size_t cap)
{
    size_t o = 0;
    char set = 'B';

    for (size_t i = 0; i < n; i++) {
        if (d[i] == '{' && i + 1 < n) {
            uint8_t c = d[++i];
            if (c == 'A' || c == 'B' || c == 'C') {
                set = (char)c;
                continue;
            }
            if (c != '{') {
                return -1; /* FNC codes are not used */
            }
        }
        if (set == 'C') {
            if (d[i] > 99 || o + 2 >= cap) {
                return -1;
            }
            t[o++] = (char)('0' + d[i] / 10);
            t[o++] = (char)('0' + d[i] % 10);
        } else {
            if (o + 1 >= cap) {
                return -1;
            }
            t[o++] = (char)d[i];
        }
    }
    t[o] = '\0';
    return (int)o;
}

int escpos_decode(const uint8_t *p, size_t n, char *outbuf, size_t cap,
                  size_t *bad_at)
{
    struct out o = {.p = outbuf, .cap = cap};
    char qr[4096];
    size_t qr_len = 0;
    int have_qr = 0, kanji = 0;
    size_t i = 0;
    iconv_t cd = iconv_open("UTF-8", "EUC-KR");
    int rc = GL_OK;

    *bad_at = 0;
    if (cd == (iconv_t)-1) {
        return GL_ENOTSUP;
    }
    if (cap == 0) {
        iconv_close(cd);
        return GL_ENOSPC; /* not even room for the NUL */
    }
    outbuf[0] = '\0';
    while (i < n && !o.err) {
        size_t len = 0;
        const uint8_t *c = p + i;
        char item[4200];

        if (kanji && c[0] >= 0xA1) {
            /* a run of two-byte characters */
            size_t j = i;
            char *in, *op;
            size_t inleft, outleft;
            char u[1024];
            while (j + 1 < n && p[j] >= 0xA1 && p[j + 1] >= 0xA1 &&
                   j - i < 600) {
                j += 2;
            }
            if (j == i) {
                rc = GL_DEV_BADFRAME;
                goto bad;
            }
            in = (char *)(uintptr_t)c;
            inleft = j - i;
            op = u;
            outleft = sizeof u;
            if (iconv(cd, &in, &inleft, &op, &outleft) == (size_t)-1) {
                rc = GL_DEV_BADFRAME;
                goto bad;
            }
            emit(&o, u, (size_t)(op - u));
            i = j;
            continue;
        }
        if (escpos_decode_cmdlen(c, n - i, &len) != 1) {
            rc = GL_DEV_BADFRAME;
            goto bad;
        }
        if (c[0] == 0x0A) {
            emit(&o, "\n", 1);
            o.midline = 0;
        } else if (c[0] >= 0x20) {
            emit(&o, (const char *)c, 1);
        } else if (c[0] == 0x10) {
            /* status queries print nothing */
        } else if (c[0] == 0x1B) {
            switch (c[1]) {
            case '@':
                emit_item(&o, "[INIT]", 6);
                kanji = 0;
                break;
            case 'E':
                emits(&o, c[2] & 1 ? "<b>" : "</b>");
                break;
            case 'a':
                emits(&o, c[2] == 1 ? "<center>" : c[2] == 2 ? "<right>" : "<left>");
                break;
            case 'd':
                snprintf(item, sizeof item, "[FEED %u]", c[2]);
                emit_item(&o, item, strlen(item));
                break;
            default:
                break; /* code tables, international set */
            }
        } else if (c[0] == 0x1D) {
            switch (c[1]) {
            case '!':
                snprintf(item, sizeof item, "<size %ux%u>", (c[2] >> 4) + 1u,
                         (c[2] & 0x0F) + 1u);
                emits(&o, item);
                break;
            case 'V':
                emit_item(&o, (c[2] & 1) ? "[CUT partial]" : "[CUT full]",
                          (c[2] & 1) ? 13 : 10);
                break;
            case 'k': {
                char t[600];
                if (c[2] != 73 || code128_text(c + 4, c[3], t, sizeof t) < 0) {
                    rc = GL_DEV_BADFRAME;
                    goto bad;
                }
                snprintf(item, sizeof item, "[CODE128 %s]", t);
                emit_item(&o, item, strlen(item));
                break;
            }
            case '(':
                if (c[2] == 'k' && len >= 8 && c[5] == 49 && c[6] == 80) {
                    qr_len = len - 8;
                    if (qr_len >= sizeof qr) {
                        rc = GL_DEV_BADFRAME;
                        goto bad;
                    }
                    memcpy(qr, c + 8, qr_len);
                    qr[qr_len] = '\0';
                    have_qr = 1;
                } else if (c[2] == 'k' && len >= 7 && c[5] == 49 &&
                           c[6] == 81) {
                    if (!have_qr) {
                        rc = GL_DEV_BADFRAME;
                        goto bad;
                    }
                    snprintf(item, sizeof item, "[QR %s]", qr);
                    emit_item(&o, item, strlen(item));
                }
                break;
            default:
                break; /* bar code height, width, HRI */
            }
        } else if (c[0] == 0x1C) {
            kanji = c[1] == '&';
        }
        i += len;
    }
    if (o.err) {
        rc = o.err;
    }
    iconv_close(cd);
    return rc;
bad:
    *bad_at = i;
    iconv_close(cd);
    return rc;
}

int escpos_decode_find(const char *text, const char *kind, char *out,
                       size_t cap)
{
    char tag[32];
    const char *s, *e;

    snprintf(tag, sizeof tag, "[%s ", kind);
    s = strstr(text, tag);
    if (s == NULL) {
        return GL_ENOTFOUND;
    }
    s += strlen(tag);
    e = strchr(s, '\n');
    if (e == NULL || e == s || e[-1] != ']' || (size_t)(e - s) > cap) {
        return GL_ENOTFOUND;
    }
    memcpy(out, s, (size_t)(e - s - 1));
    out[e - s - 1] = '\0';
    return GL_OK;
}
