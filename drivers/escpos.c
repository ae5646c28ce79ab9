/*
 * escpos.c - the ESC/POS encoder and the printer handle.
 */
#include "escpos.h"

#include <errno.h>
#include <string.h>

#include "dev_time.h"
#include "gl_err.h"
#include "gl_log.h"

#define ESC 0x1B
#define GS 0x1D
#define FS 0x1C
#define LF 0x0A

int escpos_enc_init(struct escpos_enc *e, uint8_t *buf, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->buf = buf;
    e->cap = cap;
    e->cd = iconv_open("EUC-KR", "UTF-8");
    if (e->cd == (iconv_t)-1) {
        return GL_ENOTSUP;
    }
    return GL_OK;
}

void escpos_enc_deinit(struct escpos_enc *e)
{
    if (e->cd != (iconv_t)-1 && e->cd != NULL) {
        iconv_close(e->cd);
    }
    e->cd = (iconv_t)-1;
}

void escpos_enc_reset(struct escpos_enc *e)
{
    e->len = 0;
    e->err = GL_OK;
}

int escpos_enc_finish(const struct escpos_enc *e, size_t *len)
{
    *len = e->err == GL_OK ? e->len : 0;
    return e->err;
}

static void enc_fail(struct escpos_enc *e, int err)
{
    if (e->err == GL_OK) {
        e->err = err;
    }
}

static void put(struct escpos_enc *e, const void *p, size_t n)
{
    if (e->err != GL_OK) {
        return;
    }
    if (n > e->cap - e->len) {
        enc_fail(e, GL_ENOSPC);
        return;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

static void put3(struct escpos_enc *e, uint8_t a, uint8_t b, uint8_t c)
{
    uint8_t v[3] = {a, b, c};
    put(e, v, 3);
}

void escpos_initialize(struct escpos_enc *e)
{
    static const uint8_t init[] = {ESC, '@', ESC, 't', 0, ESC, 'R', 13};
    put(e, init, sizeof init);
}

void escpos_bold(struct escpos_enc *e, int on)
{
    put3(e, ESC, 'E', on ? 1 : 0);
}

void escpos_size(struct escpos_enc *e, int width, int height)
{
    if (width < 1 || width > 8 || height < 1 || height > 8) {
        enc_fail(e, GL_EINVAL);
        return;
    }
    put3(e, GS, '!', (uint8_t)((width - 1) << 4 | (height - 1)));
}

void escpos_align(struct escpos_enc *e, enum escpos_align a)
{
    if (a != ESCPOS_LEFT && a != ESCPOS_CENTER && a != ESCPOS_RIGHT) {
        enc_fail(e, GL_EINVAL);
        return;
    }
    put3(e, ESC, 'a', (uint8_t)a);
}

/* One run of non-ASCII UTF-8 into FS & <EUC-KR> FS . */
static void put_korean(struct escpos_enc *e, const char *s, size_t n)
{
    static const uint8_t on[] = {FS, '&'}, off[] = {FS, '.'};
    char *in = (char *)s;
    size_t inleft = n;
    char *out;
    size_t outleft;
    const uint8_t *conv;

    /* C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F) are control
     * characters like those below 0x20; glibc's EUC-KR would pass them on
     * as single bytes inside two-byte mode */
    for (size_t i = 0; i + 1 < n; i++) {
        if ((uint8_t)s[i] == 0xC2 && (uint8_t)s[i + 1] >= 0x80 &&
            (uint8_t)s[i + 1] <= 0x9F) {
            enc_fail(e, GL_EINVAL);
            return;
        }
    }
    put(e, on, sizeof on);
    if (e->err != GL_OK) {
        return;
    }
    out = (char *)e->buf + e->len;
    outleft = e->cap - e->len;
    iconv(e->cd, NULL, NULL, NULL, NULL);
    if (iconv(e->cd, &in, &inleft, &out, &outleft) == (size_t)-1) {
        enc_fail(e, errno == E2BIG ? GL_ENOSPC : GL_PRN_CHARSET);
        return;
    }
    /* two-byte mode holds two-byte characters only (A1..FE pairs) */
    conv = e->buf + e->len;
    if (((uint8_t *)out - conv) % 2 != 0) {
        enc_fail(e, GL_PRN_CHARSET);
        return;
    }
    for (; conv < (uint8_t *)out; conv++) {
        if (*conv < 0xA1 || *conv == 0xFF) {
            enc_fail(e, GL_PRN_CHARSET);
            return;
        }
    }
    e->len = (size_t)((uint8_t *)out - e->buf);
    put(e, off, sizeof off);
}

void escpos_text(struct escpos_enc *e, const char *utf8)
{
    const char *p = utf8;

    while (*p != '\0' && e->err == GL_OK) {
        const char *q = p;
        if ((unsigned char)*p < 0x80) {
            while (*q != '\0' && (unsigned char)*q < 0x80) {
                if ((unsigned char)*q < 0x20 && *q != '\n') {
                    enc_fail(e, GL_EINVAL);
                    return;
                }
                if (*q == 0x7F) {
                    enc_fail(e, GL_EINVAL);
                    return;
                }
                q++;
            }
            put(e, p, (size_t)(q - p));
        } else {
            /* non-ASCII up to the next ASCII byte (never inside a UTF-8
             * sequence: continuation bytes are >= 0x80) */
            while (*q != '\0' && (unsigned char)*q >= 0x80) {
                q++;
            }
            put_korean(e, p, (size_t)(q - p));
        }
        p = q;
    }
}

void escpos_line(struct escpos_enc *e, const char *utf8)
{
    uint8_t lf = LF;
    escpos_text(e, utf8);
    put(e, &lf, 1);
}

void escpos_code128(struct escpos_enc *e, const char *data, size_t len,
                    int height)
{
    uint8_t body[2 + 200 * 2];
    size_t n = 0;
    int digits = len % 2 == 0;

    if (len < 1 || len > 200 || height < 1 || height > 255) {
        enc_fail(e, GL_EINVAL);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] < 0x20 || data[i] > 0x7E) {
            enc_fail(e, GL_EINVAL);
            return;
        }
        if (data[i] < '0' || data[i] > '9') {
            digits = 0;
        }
    }
    if (digits) {
        /* code set C: one byte per digit pair, half the width */
        body[n++] = '{';
        body[n++] = 'C';
        for (size_t i = 0; i < len; i += 2) {
            body[n++] = (uint8_t)((data[i] - '0') * 10 + (data[i + 1] - '0'));
        }
    } else {
        body[n++] = '{';
        body[n++] = 'B';
        for (size_t i = 0; i < len; i++) {
            if (data[i] == '{') {
                body[n++] = '{'; /* a literal brace is sent doubled */
            }
            body[n++] = (uint8_t)data[i];
        }
    }
    if (n > 255) {
        enc_fail(e, GL_EINVAL);
        return;
    }
    put3(e, GS, 'h', (uint8_t)height);
    put3(e, GS, 'w', 2);
    put3(e, GS, 'H', 2);
    put3(e, GS, 'k', 73);
    put(e, (uint8_t[]){(uint8_t)n}, 1);
    put(e, body, n);
}

/* GS ( k pL pH cn fn [params] */
static void qr_fn(struct escpos_enc *e, uint8_t fn, const void *params,
                  size_t n)
{
    uint8_t hdr[7] = {GS, '(', 'k', (uint8_t)((n + 2) & 0xFF),
                      (uint8_t)((n + 2) >> 8), 49, fn};
    put(e, hdr, sizeof hdr);
    put(e, params, n);
}

void escpos_qr(struct escpos_enc *e, const char *data, size_t len, int module,
               enum escpos_qr_ecc ecc)
{
    uint8_t model[2] = {50, 0}; /* model 2 */
    uint8_t size = (uint8_t)module;
    uint8_t level = (uint8_t)ecc;
    uint8_t print = 48;
    uint8_t store_hdr[8];

    if (len < 1 || len > 2000 || module < 1 || module > 16 ||
        ecc < ESCPOS_QR_L || ecc > ESCPOS_QR_H) {
        enc_fail(e, GL_EINVAL);
        return;
    }
    qr_fn(e, 65, model, 2);
    qr_fn(e, 67, &size, 1);
    qr_fn(e, 69, &level, 1);
    store_hdr[0] = GS;
    store_hdr[1] = '(';
    store_hdr[2] = 'k';
    store_hdr[3] = (uint8_t)((len + 3) & 0xFF);
    store_hdr[4] = (uint8_t)((len + 3) >> 8);
    store_hdr[5] = 49;
    store_hdr[6] = 80;
    store_hdr[7] = 48;
    put(e, store_hdr, sizeof store_hdr);
    put(e, data, len);
    qr_fn(e, 81, &print, 1);
}

void escpos_feed(struct escpos_enc *e, int lines)
{
    if (lines < 0 || lines > 255) {
        enc_fail(e, GL_EINVAL);
        return;
    }
    put3(e, ESC, 'd', (uint8_t)lines);
}

void escpos_cut(struct escpos_enc *e, int partial)
{
    put3(e, GS, 'V', partial ? 1 : 0);
}

/* ---- status -------------------------------------------------------------- */

static int status_fixed_ok(uint8_t b)
{
    return (b & 0x93) == 0x12;
}

int escpos_status_decode(uint8_t printer, uint8_t offline_cause,
                         uint8_t paper, struct escpos_status *st)
{
    memset(st, 0, sizeof *st);
    st->printer = printer;
    st->offline_cause = offline_cause;
    st->paper = paper;
    if (!status_fixed_ok(printer) || !status_fixed_ok(paper)) {
        return GL_PRN_STATUS;
    }
    st->offline = (printer & 0x08) != 0;
    st->paper_near_end = (paper & 0x0C) != 0;
    st->paper_end = (paper & 0x60) != 0;
    if (st->offline) {
        if (!status_fixed_ok(offline_cause)) {
            return GL_PRN_STATUS;
        }
        st->cover_open = (offline_cause & 0x04) != 0;
        if (offline_cause & 0x20) {
            st->paper_end = 1;
        }
    }
    if (st->paper_end) {
        return GL_DEV_PAPER;
    }
    if (st->cover_open) {
        return GL_PRN_COVER;
    }
    if (st->offline) {
        return GL_DEV_OFFLINE;
    }
    return GL_OK;
}

/* ---- the printer --------------------------------------------------------- */

int escpos_printer_init(struct escpos_printer *p, const char *path,
                        const struct hal_serial_line *line,
                        const struct hal_serial_ops *ops, int timeout_ms)
{
    struct hal_serial_config pc;

    memset(p, 0, sizeof *p);
    if (hal_serial_config_init(&pc, path, line) != GL_OK) {
        return GL_EINVAL;
    }
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    return hal_serial_init(&p->port, ops, &pc);
}

int escpos_printer_open(struct escpos_printer *p)
{
    return hal_serial_open(&p->port);
}

void escpos_printer_close(struct escpos_printer *p)
{
    hal_serial_close(&p->port);
}

static int printer_io(struct escpos_printer *p, int rc)
{
    if (rc == GL_ECLOSED) {
        GL_LOG_WARN("escpos", "printer line dropped");
        escpos_printer_close(p);
    }
    return rc;
}

/* DLE EOT n and its one-byte reply. */
static int printer_query(struct escpos_printer *p, uint8_t n, uint8_t *reply)
{
    uint8_t q[3] = {ESCPOS_DLE, ESCPOS_EOT, n};
    int64_t deadline = dev_time_deadline(p->timeout_ms);
    size_t got = 0;
    int rc;

    /* a reply that came after an earlier time-out must not answer this */
    (void)hal_serial_flush_input(&p->port);
    rc = hal_serial_write(&p->port, q, sizeof q, p->timeout_ms);
    if (rc != GL_OK) {
        return printer_io(p, rc);
    }
    rc = hal_serial_read(&p->port, reply, 1, dev_time_left(deadline), &got);
    if (rc == GL_OK && got != 1) {
        rc = GL_EIO;
    }
    return printer_io(p, rc);
}

int escpos_printer_status(struct escpos_printer *p)
{
    uint8_t s1 = 0, s2 = 0, s4 = 0;
    int rc;

    if (!p->port.is_open) {
        rc = escpos_printer_open(p);
        if (rc != GL_OK) {
            return rc;
        }
    }
    rc = printer_query(p, 1, &s1);
    if (rc == GL_OK) {
        rc = printer_query(p, 4, &s4);
    }
    if (rc == GL_OK && (s1 & 0x08) != 0) {
        rc = printer_query(p, 2, &s2);
    }
    if (rc != GL_OK) {
        return rc;
    }
    rc = escpos_status_decode(s1, s2, s4, &p->last);
    if (rc != GL_OK) {
        GL_LOG_WARN("escpos", "printer not ready: %s", gl_strerror(rc));
    }
    return rc;
}

int escpos_printer_print(struct escpos_printer *p, const uint8_t *buf,
                         size_t len)
{
    int rc = escpos_printer_status(p);

    if (rc != GL_OK) {
        return rc;
    }
    rc = hal_serial_write(&p->port, buf, len, p->timeout_ms);
    if (rc != GL_OK) {
        return printer_io(p, rc);
    }
    return escpos_printer_status(p);
}
