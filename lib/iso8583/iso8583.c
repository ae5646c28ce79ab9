/*
 * iso8583.c - message values, pack and unpack; see iso8583.h.
 *
 * Wire layout per profile (docs/host-interface.md, "Encoding"):
 *   MTI        ASCII: 4 digits            BCD: 2 bytes
 *   bitmaps    8 binary bytes each; the secondary only when a field > 64 is set
 *   LL / LLL   ASCII: 2 / 3 digits        BCD: 1 / 2 bytes (0L LL)
 *   n, x+n     ASCII: the characters      BCD: nibbles, left-padded with 0
 *                                         when odd; x+n's sign C/D is a nibble
 *   an, ans, ns, z   the characters in both profiles
 *   b          raw bytes in both profiles
 * Variable-length prefixes of n fields count digits; of b fields, bytes.
 */
#include "iso8583.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gl_err.h"

/* Character classes, one bit each, looked up per byte. */
enum {
    CL_DIGIT = 1,
    CL_ALPHA = 2,
    CL_SPACE = 4,
    CL_PUNCT = 8,
    CL_ZSEP = 16, /* '=' and 'D' in track data */
};

#define D1(c) [c] = CL_DIGIT
static const uint8_t cls[256] = {
    ['0'] = CL_DIGIT, ['1'] = CL_DIGIT, ['2'] = CL_DIGIT, ['3'] = CL_DIGIT,
    ['4'] = CL_DIGIT, ['5'] = CL_DIGIT, ['6'] = CL_DIGIT, ['7'] = CL_DIGIT,
    ['8'] = CL_DIGIT, ['9'] = CL_DIGIT,
    ['A'] = CL_ALPHA, ['B'] = CL_ALPHA, ['C'] = CL_ALPHA,
    ['D'] = CL_ALPHA | CL_ZSEP, ['E'] = CL_ALPHA, ['F'] = CL_ALPHA,
    ['G'] = CL_ALPHA, ['H'] = CL_ALPHA, ['I'] = CL_ALPHA, ['J'] = CL_ALPHA,
    ['K'] = CL_ALPHA, ['L'] = CL_ALPHA, ['M'] = CL_ALPHA, ['N'] = CL_ALPHA,
    ['O'] = CL_ALPHA, ['P'] = CL_ALPHA, ['Q'] = CL_ALPHA, ['R'] = CL_ALPHA,
    ['S'] = CL_ALPHA, ['T'] = CL_ALPHA, ['U'] = CL_ALPHA, ['V'] = CL_ALPHA,
    ['W'] = CL_ALPHA, ['X'] = CL_ALPHA, ['Y'] = CL_ALPHA, ['Z'] = CL_ALPHA,
    ['a'] = CL_ALPHA, ['b'] = CL_ALPHA, ['c'] = CL_ALPHA, ['d'] = CL_ALPHA,
    ['e'] = CL_ALPHA, ['f'] = CL_ALPHA, ['g'] = CL_ALPHA, ['h'] = CL_ALPHA,
    ['i'] = CL_ALPHA, ['j'] = CL_ALPHA, ['k'] = CL_ALPHA, ['l'] = CL_ALPHA,
    ['m'] = CL_ALPHA, ['n'] = CL_ALPHA, ['o'] = CL_ALPHA, ['p'] = CL_ALPHA,
    ['q'] = CL_ALPHA, ['r'] = CL_ALPHA, ['s'] = CL_ALPHA, ['t'] = CL_ALPHA,
    ['u'] = CL_ALPHA, ['v'] = CL_ALPHA, ['w'] = CL_ALPHA, ['x'] = CL_ALPHA,
    ['y'] = CL_ALPHA, ['z'] = CL_ALPHA,
    [' '] = CL_SPACE,
    ['!'] = CL_PUNCT, ['"'] = CL_PUNCT, ['#'] = CL_PUNCT, ['$'] = CL_PUNCT,
    ['%'] = CL_PUNCT, ['&'] = CL_PUNCT, ['\''] = CL_PUNCT, ['('] = CL_PUNCT,
    [')'] = CL_PUNCT, ['*'] = CL_PUNCT, ['+'] = CL_PUNCT, [','] = CL_PUNCT,
    ['-'] = CL_PUNCT, ['.'] = CL_PUNCT, ['/'] = CL_PUNCT, [':'] = CL_PUNCT,
    [';'] = CL_PUNCT, ['<'] = CL_PUNCT, ['='] = CL_PUNCT | CL_ZSEP,
    ['>'] = CL_PUNCT, ['?'] = CL_PUNCT, ['@'] = CL_PUNCT, ['['] = CL_PUNCT,
    ['\\'] = CL_PUNCT, [']'] = CL_PUNCT, ['^'] = CL_PUNCT, ['_'] = CL_PUNCT,
    ['`'] = CL_PUNCT, ['{'] = CL_PUNCT, ['|'] = CL_PUNCT, ['}'] = CL_PUNCT,
    ['~'] = CL_PUNCT,
};
#undef D1

/* Allowed classes per type (x+n: the digits after the sign). */
static const uint8_t type_mask[] = {
    [ISO_T_NONE] = 0,
    [ISO_T_N] = CL_DIGIT,
    [ISO_T_AN] = CL_DIGIT | CL_ALPHA,
    [ISO_T_ANS] = CL_DIGIT | CL_ALPHA | CL_SPACE | CL_PUNCT,
    [ISO_T_NS] = CL_DIGIT | CL_SPACE | CL_PUNCT,
    [ISO_T_XN] = CL_DIGIT,
    [ISO_T_Z] = CL_DIGIT | CL_ZSEP,
    [ISO_T_B] = 0,
};

static const char *const type_names[] = {
    [ISO_T_NONE] = "undefined", [ISO_T_N] = "n",   [ISO_T_AN] = "an",
    [ISO_T_ANS] = "ans",        [ISO_T_NS] = "ns", [ISO_T_XN] = "x+n",
    [ISO_T_Z] = "z",            [ISO_T_B] = "b",
};

static int iso_fail(struct iso_error *err, int code, int field, size_t offset,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int iso_fail(struct iso_error *err, int code, int field, size_t offset,
                    const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        int n = 0;
        err->code = code;
        err->field = field;
        err->offset = offset;
        if (field == 0) {
            n = snprintf(err->text, sizeof err->text, "MTI at offset %zu: ",
                         offset);
        } else if (field == 1) {
            n = snprintf(err->text, sizeof err->text, "bitmap at offset %zu: ",
                         offset);
        } else if (field > 1) {
            n = snprintf(err->text, sizeof err->text,
                         "field %d (%s) at offset %zu: ", field,
                         iso_fields_1987[field].name, offset);
        } else {
            n = snprintf(err->text, sizeof err->text, "offset %zu: ", offset);
        }
        if (n > 0 && (size_t)n < sizeof err->text) {
            va_start(ap, fmt);
            vsnprintf(err->text + n, sizeof err->text - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

static inline int bit_get(const uint64_t bm[2], int f)
{
    return (int)((bm[(f - 1) >> 6] >> (63 - ((f - 1) & 63))) & 1u);
}

static inline void bit_set(uint64_t bm[2], int f)
{
    bm[(f - 1) >> 6] |= (uint64_t)1 << (63 - ((f - 1) & 63));
}

static inline void bit_clear(uint64_t bm[2], int f)
{
    bm[(f - 1) >> 6] &= ~((uint64_t)1 << (63 - ((f - 1) & 63)));
}

static void char_desc(char *out, size_t cap, uint8_t c)
{
    if (c >= 0x20 && c < 0x7f) {
        snprintf(out, cap, "'%c' (0x%02X)", c, c);
    } else {
        snprintf(out, cap, "0x%02X", c);
    }
}

/*
 * Checks a decoded value against definition d of field f.  base is the
 * offset of the value's first byte in the packed message (or 0 when the
 * value comes from a caller), for the error.
 */
static int value_check(int f, const struct iso_field_def *d, const uint8_t *v,
                       size_t len, size_t base, struct iso_error *err)
{
    char cd[24];

    if (d->lenkind == ISO_FIXED) {
        if (len != d->max) {
            return iso_fail(err, GL_ISO_WRONGLEN, f, base,
                            "length %zu, fixed length is %u", len, d->max);
        }
    } else if (len == 0) {
        return iso_fail(err, GL_ISO_EMPTY, f, base,
                        "variable-length field is empty");
    } else if (len > d->max) {
        return iso_fail(err, GL_ISO_TOOLONG, f, base,
                        "length %zu, maximum is %u", len, d->max);
    }
    if (d->type == ISO_T_B) {
        return GL_OK;
    }
    size_t i = 0;
    if (d->type == ISO_T_XN) {
        if (v[0] != 'C' && v[0] != 'D') {
            char_desc(cd, sizeof cd, v[0]);
            return iso_fail(err, GL_ISO_BADCHAR, f, base,
                            "sign %s is not C or D", cd);
        }
        i = 1;
    }
    uint8_t mask = type_mask[d->type];
    for (; i < len; i++) {
        if ((cls[v[i]] & mask) == 0) {
            char_desc(cd, sizeof cd, v[i]);
            return iso_fail(err, GL_ISO_BADCHAR, f, base + i,
                            "character %s not allowed in type %s", cd,
                            type_names[d->type]);
        }
    }
    return GL_OK;
}

/*
 * Fast check of a value's characters, without the reason: 8 bytes at a time
 * for the common types (n: every byte 0x30..0x39; ans: 0x20..0x7E), a table
 * without early exit for the others.  value_check() finds the culprit when
 * this says no.  Loads go through memcpy, which compiles to one move.
 */
#define ONES ((uint64_t)0x0101010101010101u)
#define HIGHS ((uint64_t)0x8080808080808080u)

static inline uint64_t load8(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static inline int digits8(uint64_t x)
{
    /* High nibble 3, and low nibble + 6 does not carry into it.  A byte
     * of 0xFA or more could carry into its neighbour, but its own high
     * nibble already fails the first test. */
    const uint64_t m = ONES * 0xF0, t = ONES * 0x30;
    return (x & m) == t && ((x + ONES * 0x06) & m) == t;
}

static inline int printable8(uint64_t x)
{
    /* No byte below 0x20 and none above 0x7E. */
    uint64_t below = (x - ONES * 0x20) & ~x & HIGHS;
    uint64_t above = ((x + ONES * (127 - 0x7E)) | x) & HIGHS;
    return (below | above) == 0;
}

/* The first n bytes of x kept, the others replaced by the bytes of fill
 * (little-endian byte order assumed, see the static assertion). */
static inline uint64_t keep_first(uint64_t x, size_t n, uint64_t fill)
{
    uint64_t keep = n >= 8 ? ~(uint64_t)0 : (((uint64_t)1 << (8 * n)) - 1);
    return (x & keep) | (fill & ~keep);
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the SWAR checks assume a little-endian machine");

/*
 * n and ans values are checked in 8-byte words; a short tail is read as a
 * whole word when avail (bytes readable from v) allows, its extra bytes
 * replaced by a harmless fill.  Other types go through the class table.
 */
static inline __attribute__((always_inline)) int
chars_ok(uint8_t type, const uint8_t *v, size_t n, size_t avail)
{
    size_t i = 0;
    unsigned bad = 0;
    uint8_t mask;

    if (type == ISO_T_N) {
        for (; i + 8 <= n; i += 8) {
            if (!digits8(load8(v + i))) {
                return 0;
            }
        }
        if (i == n) {
            return 1;
        }
        if (n >= 8) {
            return digits8(load8(v + n - 8)); /* overlapping last word */
        }
        if (avail >= 8) {
            return digits8(keep_first(load8(v), n, ONES * '0'));
        }
    } else if (type == ISO_T_ANS) {
        for (; i + 8 <= n; i += 8) {
            if (!printable8(load8(v + i))) {
                return 0;
            }
        }
        if (i == n) {
            return 1;
        }
        if (n >= 8) {
            return printable8(load8(v + n - 8));
        }
        if (avail >= 8) {
            return printable8(keep_first(load8(v), n, ONES * ' '));
        }
    } else if (type == ISO_T_B) {
        return 1;
    } else if (type == ISO_T_XN) {
        if (n == 0 || (v[0] != 'C' && v[0] != 'D')) {
            return 0;
        }
        i = 1;
    }
    mask = type_mask[type];
    for (; i < n; i++) {
        bad |= (cls[v[i]] & mask) == 0;
    }
    return !bad;
}

void iso_msg_init(struct iso_msg *msg)
{
    msg->mti[0] = '\0';
    msg->present[0] = 0;
    msg->present[1] = 0;
    msg->used = 0;
}

static int mti_ok(const char *m)
{
    for (int i = 0; i < 4; i++) {
        if (m[i] < '0' || m[i] > '9') {
            return 0;
        }
    }
    return 1;
}

int iso_msg_set_mti(struct iso_msg *msg, const char *mti)
{
    if (strlen(mti) != 4 || !mti_ok(mti)) {
        return GL_ISO_BADMTI;
    }
    memcpy(msg->mti, mti, 5);
    return GL_OK;
}

static int field_defined(int f)
{
    return f >= 2 && f <= ISO_FIELDS && iso_fields_1987[f].type != ISO_T_NONE;
}

/* Stores a checked value: in place when it fits the old one, else appended. */
static int value_store(struct iso_msg *msg, int f, const void *val, size_t len)
{
    if (bit_get(msg->present, f) && len <= msg->len[f]) {
        memmove(msg->data + msg->off[f], val, len);
        msg->len[f] = (uint16_t)len;
        return GL_OK;
    }
    if (len > (size_t)(ISO_MSG_DATA - msg->used)) {
        return GL_ENOSPC;
    }
    memcpy(msg->data + msg->used, val, len);
    msg->off[f] = msg->used;
    msg->len[f] = (uint16_t)len;
    msg->used = (uint16_t)(msg->used + len);
    bit_set(msg->present, f);
    return GL_OK;
}

int iso_msg_set(struct iso_msg *msg, int f, const void *val, size_t len,
                struct iso_error *err)
{
    int rc;

    if (!field_defined(f)) {
        return iso_fail(err, GL_ISO_UNDEF, f < 0 || f > ISO_FIELDS ? -1 : f, 0,
                        "field %d is not defined", f);
    }
    rc = value_check(f, &iso_fields_1987[f], val, len, 0, err);
    if (rc != GL_OK) {
        return rc;
    }
    rc = value_store(msg, f, val, len);
    if (rc != GL_OK) {
        return iso_fail(err, rc, f, 0, "message buffer full");
    }
    return GL_OK;
}

int iso_msg_set_str(struct iso_msg *msg, int f, const char *s,
                    struct iso_error *err)
{
    return iso_msg_set(msg, f, s, strlen(s), err);
}

int iso_msg_set_u64(struct iso_msg *msg, int f, uint64_t v)
{
    char buf[24];
    size_t n = 0, width;

    if (!field_defined(f) || iso_fields_1987[f].type != ISO_T_N) {
        return GL_EINVAL;
    }
    do {
        buf[sizeof buf - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < sizeof buf);
    width = iso_fields_1987[f].lenkind == ISO_FIXED ? iso_fields_1987[f].max
                                                    : n;
    if (n > width || width > sizeof buf) {
        return GL_ERANGE;
    }
    while (n < width) {
        buf[sizeof buf - 1 - n++] = '0';
    }
    return iso_msg_set(msg, f, buf + sizeof buf - n, n, NULL);
}

void iso_msg_unset(struct iso_msg *msg, int f)
{
    if (f >= 1 && f <= ISO_FIELDS) {
        bit_clear(msg->present, f);
    }
}

int iso_msg_has(const struct iso_msg *msg, int f)
{
    return f >= 1 && f <= ISO_FIELDS && bit_get(msg->present, f);
}

int iso_msg_get(const struct iso_msg *msg, int f, const uint8_t **val,
                size_t *len)
{
    if (!iso_msg_has(msg, f)) {
        *val = NULL;
        *len = 0;
        return GL_ENOTFOUND;
    }
    *val = msg->data + msg->off[f];
    *len = msg->len[f];
    return GL_OK;
}

int iso_msg_get_str(const struct iso_msg *msg, int f, char *buf, size_t cap)
{
    const uint8_t *v;
    size_t n;

    if (cap > 0) {
        buf[0] = '\0';
    }
    if (iso_msg_get(msg, f, &v, &n) != GL_OK) {
        return GL_ENOTFOUND;
    }
    if (n + 1 > cap) {
        return GL_ENOSPC;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    return GL_OK;
}

int iso_msg_get_u64(const struct iso_msg *msg, int f, uint64_t *out)
{
    const uint8_t *v;
    size_t n;
    uint64_t x = 0;

    *out = 0;
    if (iso_msg_get(msg, f, &v, &n) != GL_OK) {
        return GL_ENOTFOUND;
    }
    if (n > 19) {
        return GL_ERANGE;
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return GL_ISO_BADCHAR;
        }
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return GL_OK;
}

void iso_msg_copy(struct iso_msg *dst, const struct iso_msg *src)
{
    memcpy(dst, src, offsetof(struct iso_msg, data) + src->used);
}

/* ---- pack --------------------------------------------------------------- */

static inline int is_bcd_numeric(const struct iso_profile *p,
                                 const struct iso_field_def *d)
{
    return p->enc == ISO_ENC_BCD &&
           (d->type == ISO_T_N || d->type == ISO_T_XN);
}

static inline uint8_t nib_of(uint8_t c)
{
    /* digits, and the x+n signs C and D, as nibbles */
    return c <= '9' ? (uint8_t)(c - '0') : (uint8_t)(c - 'A' + 10);
}

/* Packs n characters of digits as BCD, left-padded: (n + 1) / 2 bytes. */
static void bcd_pack(uint8_t *out, const uint8_t *v, size_t n)
{
    size_t i = 0;

    if (n & 1) {
        *out++ = nib_of(v[0]);
        i = 1;
    }
    for (; i < n; i += 2) {
        *out++ = (uint8_t)(nib_of(v[i]) << 4 | nib_of(v[i + 1]));
    }
}

int iso_pack(const struct iso_profile *p, const struct iso_msg *msg,
             uint8_t *buf, size_t cap, size_t *out_len, struct iso_error *err)
{
    uint64_t bm[2] = {msg->present[0], msg->present[1]};
    size_t pos = 0;
    const int bcd = p->enc == ISO_ENC_BCD;

    *out_len = 0;
    if (!mti_ok(msg->mti) || msg->mti[4] != '\0') {
        return iso_fail(err, GL_ISO_BADMTI, 0, 0, "no MTI set");
    }
    bm[0] &= ~((uint64_t)1 << 63);
    if (bm[1] != 0) {
        bm[0] |= (uint64_t)1 << 63;
    }
    size_t head = (bcd ? 2 : 4) + (bm[1] != 0 ? 16 : 8);
    if (cap < head) {
        return iso_fail(err, GL_ENOSPC, -1, 0, "buffer of %zu bytes too small",
                        cap);
    }
    if (bcd) {
        buf[0] = (uint8_t)(nib_of((uint8_t)msg->mti[0]) << 4 |
                           nib_of((uint8_t)msg->mti[1]));
        buf[1] = (uint8_t)(nib_of((uint8_t)msg->mti[2]) << 4 |
                           nib_of((uint8_t)msg->mti[3]));
        pos = 2;
    } else {
        memcpy(buf, msg->mti, 4);
        pos = 4;
    }
    for (int w = 0; w < (bm[1] != 0 ? 2 : 1); w++) {
        for (int k = 0; k < 8; k++) {
            buf[pos++] = (uint8_t)(bm[w] >> (56 - 8 * k));
        }
    }
    for (int w = 0; w < 2; w++) {
        uint64_t bits = msg->present[w];
        if (w == 0) {
            bits &= ~((uint64_t)1 << 63);
        }
        while (bits != 0) {
            int b = __builtin_clzll(bits);
            int f = w * 64 + b + 1;
            bits &= ~((uint64_t)1 << (63 - b));
            const struct iso_field_def *d = &p->fields[f];
            const uint8_t *v = msg->data + msg->off[f];
            size_t n = msg->len[f];
            int bcdn = is_bcd_numeric(p, d);
            size_t body = bcdn ? (n + 1) / 2 : n;
            size_t pre = 0;
            if (d->lenkind != ISO_FIXED) {
                pre = d->lenkind == ISO_LLVAR ? (bcd ? 1 : 2) : (bcd ? 2 : 3);
            }
            if (cap - pos < pre + body) {
                return iso_fail(err, GL_ENOSPC, f, pos,
                                "buffer of %zu bytes too small", cap);
            }
            if (d->lenkind == ISO_LLVAR) {
                if (bcd) {
                    buf[pos++] = (uint8_t)((n / 10) << 4 | (n % 10));
                } else {
                    buf[pos++] = (uint8_t)('0' + n / 10);
                    buf[pos++] = (uint8_t)('0' + n % 10);
                }
            } else if (d->lenkind == ISO_LLLVAR) {
                if (bcd) {
                    buf[pos++] = (uint8_t)(n / 100);
                    buf[pos++] = (uint8_t)((n / 10 % 10) << 4 | (n % 10));
                } else {
                    buf[pos++] = (uint8_t)('0' + n / 100);
                    buf[pos++] = (uint8_t)('0' + n / 10 % 10);
                    buf[pos++] = (uint8_t)('0' + n % 10);
                }
            }
            if (bcdn) {
                bcd_pack(buf + pos, v, n);
            } else {
                memcpy(buf + pos, v, n);
            }
            pos += body;
        }
    }
    *out_len = pos;
    return GL_OK;
}

int iso_pack_frame(const struct iso_profile *p, const struct iso_msg *msg,
                   uint8_t *buf, size_t cap, size_t *out_len,
                   struct iso_error *err)
{
    size_t n = 0;
    int rc;

    *out_len = 0;
    if (cap < ISO_HDR_LEN) {
        return iso_fail(err, GL_ENOSPC, -1, 0, "buffer of %zu bytes too small",
                        cap);
    }
    rc = iso_pack(p, msg, buf + ISO_HDR_LEN, cap - ISO_HDR_LEN, &n, err);
    if (rc != GL_OK) {
        return rc;
    }
    if (n > 0xffff) {
        return iso_fail(err, GL_ISO_FRAMELEN, -1, 0,
                        "message of %zu bytes does not fit a 2-byte header", n);
    }
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    *out_len = n + ISO_HDR_LEN;
    return GL_OK;
}

/* ---- unpack ------------------------------------------------------------- */

/* Reads a variable length prefix at buf[pos]; returns GL_OK and *n. */
static inline int prefix_read(const int bcd, int f,
                              const struct iso_field_def *d,
                              const uint8_t *buf, size_t len, size_t *pos,
                              size_t *n, struct iso_error *err)
{
    size_t digits = d->lenkind == ISO_LLVAR ? 2 : 3;
    size_t bytes = bcd ? (digits + 1) / 2 : digits;
    size_t v = 0;

    if (len - *pos < bytes) {
        return iso_fail(err, GL_ISO_TRUNC, f, *pos,
                        "length prefix truncated: %zu of %zu bytes",
                        len - *pos, bytes);
    }
    const uint8_t *q = buf + *pos;
    if (bcd) {
        for (size_t i = 0; i < bytes; i++) {
            uint8_t hi = q[i] >> 4, lo = q[i] & 15;
            if (hi > 9 || lo > 9 || (digits == 3 && i == 0 && hi != 0)) {
                return iso_fail(err, GL_ISO_BADLEN, f, *pos + i,
                                "length prefix byte 0x%02X is not BCD", q[i]);
            }
            v = v * 100 + hi * 10u + lo;
        }
    } else {
        for (size_t i = 0; i < bytes; i++) {
            if (q[i] < '0' || q[i] > '9') {
                char cd[24];
                char_desc(cd, sizeof cd, q[i]);
                return iso_fail(err, GL_ISO_BADLEN, f, *pos + i,
                                "length prefix character %s is not a digit",
                                cd);
            }
            v = v * 10 + (size_t)(q[i] - '0');
        }
    }
    if (v == 0) {
        return iso_fail(err, GL_ISO_EMPTY, f, *pos,
                        "variable-length field is empty");
    }
    if (v > d->max) {
        return iso_fail(err, GL_ISO_TOOLONG, f, *pos,
                        "length %zu, maximum is %u", v, d->max);
    }
    *pos += bytes;
    *n = v;
    return GL_OK;
}

/* Unpacks n BCD digits (xn: the first is a C/D sign nibble) into out. */
static int bcd_unpack(int f, const struct iso_field_def *d, const uint8_t *in,
                      size_t n, uint8_t *out, size_t base,
                      struct iso_error *err)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t bytes = (n + 1) / 2;
    size_t o = 0;

    for (size_t i = 0; i < bytes; i++) {
        uint8_t hi = in[i] >> 4, lo = in[i] & 15;
        if (i == 0 && (n & 1)) {
            if (hi != 0) {
                return iso_fail(err, GL_ISO_BADCHAR, f, base,
                                "pad nibble of byte 0x%02X is not 0", in[i]);
            }
        } else {
            out[o++] = (uint8_t)hex[hi];
        }
        out[o++] = (uint8_t)hex[lo];
    }
    /* Check the nibbles as characters: digits, and C/D first for x+n. */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = out[i];
        int ok = (i == 0 && d->type == ISO_T_XN) ? (c == 'C' || c == 'D')
                                                 : (c >= '0' && c <= '9');
        if (!ok) {
            size_t at = base + (i + (n & 1)) / 2;
            return iso_fail(err, GL_ISO_BADCHAR, f, at,
                            "nibble %c of byte 0x%02X not allowed in type %s",
                            c, in[(i + (n & 1)) / 2], type_names[d->type]);
        }
    }
    return GL_OK;
}

/* The body of iso_unpack, instantiated once per encoding so that the
 * compiler drops the other encoding's branches from the per-field loop. */
static inline __attribute__((always_inline)) int
unpack_enc(const struct iso_profile *p, const int bcd, struct iso_msg *msg,
           const uint8_t *buf, size_t len, struct iso_error *err)
{
    size_t pos;
    uint64_t bm[2] = {0, 0};

    iso_msg_init(msg);
    if (bcd) {
        if (len < 2) {
            return iso_fail(err, GL_ISO_TRUNC, 0, 0,
                            "MTI truncated: %zu of 2 bytes", len);
        }
        for (int i = 0; i < 2; i++) {
            uint8_t hi = buf[i] >> 4, lo = buf[i] & 15;
            if (hi > 9 || lo > 9) {
                return iso_fail(err, GL_ISO_BADMTI, 0, (size_t)i,
                                "byte 0x%02X is not BCD", buf[i]);
            }
            msg->mti[2 * i] = (char)('0' + hi);
            msg->mti[2 * i + 1] = (char)('0' + lo);
        }
        pos = 2;
    } else {
        if (len < 4) {
            return iso_fail(err, GL_ISO_TRUNC, 0, 0,
                            "MTI truncated: %zu of 4 bytes", len);
        }
        for (int i = 0; i < 4; i++) {
            if (buf[i] < '0' || buf[i] > '9') {
                char cd[24];
                char_desc(cd, sizeof cd, buf[i]);
                return iso_fail(err, GL_ISO_BADMTI, 0, (size_t)i,
                                "character %s is not a digit", cd);
            }
            msg->mti[i] = (char)buf[i];
        }
        pos = 4;
    }
    msg->mti[4] = '\0';
    for (int w = 0; w < 2; w++) {
        if (len - pos < 8) {
            return iso_fail(err, GL_ISO_TRUNC, 1, pos,
                            "%s bitmap truncated: %zu of 8 bytes",
                            w ? "secondary" : "primary", len - pos);
        }
        for (int k = 0; k < 8; k++) {
            bm[w] = bm[w] << 8 | buf[pos++];
        }
        if (w == 0 && !(bm[0] >> 63)) {
            break;
        }
    }
    if ((bm[0] >> 63) && bm[1] == 0) {
        return iso_fail(err, GL_ISO_BITMAP, 1, pos - 8,
                        "secondary bitmap present but no field above 64");
    }
    for (int w = 0; w < 2; w++) {
        uint64_t bits = bm[w];
        if (w == 0) {
            bits &= ~((uint64_t)1 << 63);
        }
        while (bits != 0) {
            int b = __builtin_clzll(bits);
            int f = w * 64 + b + 1;
            bits &= ~((uint64_t)1 << (63 - b));
            const struct iso_field_def *d = &p->fields[f];
            size_t start = pos, n = 0, body;
            int rc;
            if (d->type == ISO_T_NONE) {
                return iso_fail(err, GL_ISO_UNDEF, f, pos,
                                "bitmap sets field %d, which the %s profile "
                                "does not define",
                                f, p->name);
            }
            if (d->lenkind == ISO_FIXED) {
                n = d->max;
            } else {
                rc = prefix_read(bcd, f, d, buf, len, &pos, &n, err);
                if (rc != GL_OK) {
                    return rc;
                }
            }
            int bcdn = bcd && (d->type == ISO_T_N || d->type == ISO_T_XN);
            body = bcdn ? (n + 1) / 2 : n;
            if (len - pos < body) {
                return iso_fail(err, GL_ISO_TRUNC, f, start,
                                "value truncated: %zu of %zu bytes", len - pos,
                                body);
            }
            if (n > (size_t)(ISO_MSG_DATA - msg->used)) {
                return iso_fail(err, GL_ENOSPC, f, start,
                                "message buffer full");
            }
            uint8_t *dst = msg->data + msg->used;
            if (bcdn) {
                rc = bcd_unpack(f, d, buf + pos, n, dst, pos, err);
                if (rc != GL_OK) {
                    return rc;
                }
            } else {
                if (!chars_ok(d->type, buf + pos, n, len - pos)) {
                    rc = value_check(f, d, buf + pos, n, pos, err);
                    return rc != GL_OK ? rc
                                       : iso_fail(err, GL_ISO_BADCHAR, f, pos,
                                                  "invalid characters");
                }
                if (n <= 16 && len - pos >= 16 &&
                    ISO_MSG_DATA - msg->used >= 16) {
                    /* Short values: two word moves instead of a call; the
                     * bytes past n are overwritten by the next value. */
                    uint64_t w0 = load8(buf + pos), w1 = load8(buf + pos + 8);
                    memcpy(dst, &w0, 8);
                    memcpy(dst + 8, &w1, 8);
                } else {
                    memcpy(dst, buf + pos, n);
                }
            }
            msg->off[f] = msg->used;
            msg->len[f] = (uint16_t)n;
            msg->used = (uint16_t)(msg->used + n);
            pos += body;
        }
    }
    msg->present[0] = bm[0] & ~((uint64_t)1 << 63);
    msg->present[1] = bm[1];
    if (pos != len) {
        return iso_fail(err, GL_ISO_TRAILING, -1, pos,
                        "%zu trailing bytes after the last field", len - pos);
    }
    return GL_OK;
}

int iso_unpack(const struct iso_profile *p, struct iso_msg *msg,
               const uint8_t *buf, size_t len, struct iso_error *err)
{
    if (p->enc == ISO_ENC_BCD) {
        return unpack_enc(p, 1, msg, buf, len, err);
    }
    return unpack_enc(p, 0, msg, buf, len, err);
}
