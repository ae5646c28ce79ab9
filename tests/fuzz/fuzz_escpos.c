/*
 * fuzz_escpos.c - libFuzzer harness for the ESC/POS decoder of
 * tests/emulators/escpos_decode.h (what the printer emulator and the
 * receipt tests read printed bytes with), the printer status decoder, and
 * the encoder of drivers/escpos.h feeding the decoder.
 *
 * Input: byte 0 selects the mode.
 *  - Mode 0 (even): byte 1 is an output size, the rest is printer input.
 *    Decoding returns GL_OK, GL_DEV_BADFRAME or GL_ENOSPC; the output is
 *    NUL-terminated inside its buffer; a smaller buffer gives a prefix of
 *    the full output; on GL_DEV_BADFRAME bad_at is inside the input and
 *    the bytes before it decode cleanly to the same output; the command
 *    lengths walk the input without overrunning it; escpos_decode_find
 *    returns a payload that fits.  The first 3 bytes also go through
 *    escpos_status_decode, whose verdict must follow the fixed bits.
 *  - Mode 1 (odd): the rest is split at 0x00 bytes into text, a Code 128
 *    payload and a QR payload.  What the encoder accepts, the decoder must
 *    decode: text made printable comes back as printed, Code 128 and QR
 *    payloads come back exactly; arbitrary bytes as text are either
 *    refused by the encoder or decode without error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escpos.h"
#include "escpos_decode.h"
#include "gl_err.h"

#define OUT_MAX 65536

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static int fixed_ok(uint8_t b)
{
    return (b & 0x93) == 0x12; /* bits 1 and 4 set, 0 and 7 clear */
}

static void fuzz_status(const uint8_t *p)
{
    struct escpos_status st;
    int rc = escpos_status_decode(p[0], p[1], p[2], &st);

    check(st.printer == p[0] && st.offline_cause == p[1] && st.paper == p[2]);
    if (!fixed_ok(p[0]) || !fixed_ok(p[2]) ||
        ((p[0] & 0x08) && !fixed_ok(p[1]))) {
        check(rc == GL_PRN_STATUS);
        return;
    }
    check(rc == GL_OK || rc == GL_DEV_PAPER || rc == GL_PRN_COVER ||
          rc == GL_DEV_OFFLINE);
    check((rc == GL_OK) == (!st.offline && !st.paper_end && !st.cover_open));
    check(rc != GL_DEV_PAPER || st.paper_end);
}

static void fuzz_decode(const uint8_t *p, size_t n, size_t small)
{
    static char full[OUT_MAX], part[OUT_MAX], again[OUT_MAX], pay[OUT_MAX];
    size_t bad = 12345, bad2 = 12345, off = 0, len;
    int rc, rc2;

    rc = escpos_decode(p, n, full, sizeof full, &bad);
    check(rc == GL_OK || rc == GL_DEV_BADFRAME);
    check(memchr(full, '\0', sizeof full) != NULL);
    if (rc == GL_OK) {
        check(bad == 0);
    } else {
        check(bad < n);
        rc2 = escpos_decode(p, bad, again, sizeof again, &bad2);
        check(rc2 == GL_OK && strcmp(again, full) == 0);
    }
    /* a small buffer: a prefix, or an error no later than the full one */
    rc2 = escpos_decode(p, n, part, small, &bad2);
    check(rc2 == GL_OK || rc2 == GL_DEV_BADFRAME || rc2 == GL_ENOSPC);
    if (small > 0) {
        check(memchr(part, '\0', small) != NULL);
        check(strncmp(part, full, strlen(part)) == 0);
    }
    check(small > 0 || rc2 == GL_ENOSPC);
    if (rc2 == GL_OK) {
        check(rc == GL_OK && strcmp(part, full) == 0);
    } else if (rc2 == GL_DEV_BADFRAME) {
        check(rc == GL_DEV_BADFRAME && bad2 == bad);
    }
    /* the command lengths */
    while (off < n) {
        int r = escpos_decode_cmdlen(p + off, n - off, &len);
        int st;
        check(r == 1 || r == 0 || r == -1);
        if (r != 1) {
            break;
        }
        check(len >= 1 && len <= n - off);
        if (escpos_decode_is_status(p + off, len, &st)) {
            check(len == 3 && p[off] == 0x10 && p[off + 1] == 0x04 &&
                  st == p[off + 2]);
        }
        off += len;
    }
    if (escpos_decode_find(full, "CODE128", pay, 600) == GL_OK) {
        check(strlen(pay) < 600);
    }
    if (escpos_decode_find(full, "QR", pay, sizeof pay) == GL_OK) {
        check(strlen(pay) < sizeof pay);
    }
}

/* The next 0x00-ended field of p[*pos..n). */
static size_t field(const uint8_t *p, size_t n, size_t *pos, char *out,
                    size_t cap)
{
    size_t k = 0;

    while (*pos < n && p[*pos] != 0x00) {
        if (k + 1 < cap) {
            out[k++] = (char)p[*pos];
        }
        (*pos)++;
    }
    if (*pos < n) {
        (*pos)++;
    }
    out[k] = '\0';
    return k;
}

static void fuzz_roundtrip(const uint8_t *p, size_t n)
{
    static uint8_t buf[8192];
    static char text[512], ascii[512], code[256], qr[2100], out[OUT_MAX],
        pay[OUT_MAX], want[4096];
    struct escpos_enc e;
    size_t pos = 0, tl, cl, ql, len = 0, bad = 0;
    int rc;

    tl = field(p, n, &pos, text, sizeof text);
    cl = field(p, n, &pos, code, sizeof code);
    ql = field(p, n, &pos, qr, sizeof qr);
    check(escpos_enc_init(&e, buf, sizeof buf) == GL_OK);

    /* printable ASCII text, a bar code and a QR: all must come back */
    for (size_t i = 0; i < tl; i++) {
        ascii[i] = (char)(0x20 + ((unsigned char)text[i] % 0x5F));
    }
    ascii[tl] = '\0';
    for (size_t i = 0; i < cl; i++) {
        code[i] = (char)(0x20 + ((unsigned char)code[i] % 0x5F));
    }
    for (size_t i = 0; i < ql; i++) {
        qr[i] = (char)(0x20 + ((unsigned char)qr[i] % 0x5F)); /* no LF */
    }
    escpos_initialize(&e);
    escpos_line(&e, ascii);
    if (cl > 0) {
        escpos_code128(&e, code, cl, 80);
    }
    if (ql > 0) {
        escpos_qr(&e, qr, ql, 4, ESCPOS_QR_M);
    }
    escpos_cut(&e, 1);
    rc = escpos_enc_finish(&e, &len);
    check(rc == GL_OK || rc == GL_EINVAL || rc == GL_ENOSPC);
    check(len <= sizeof buf);
    if (rc == GL_OK) {
        int w = snprintf(want, sizeof want, "[INIT]\n%s\n", ascii);
        if (cl > 0) {
            w += snprintf(want + w, sizeof want - (size_t)w,
                          "[CODE128 %s]\n", code);
        }
        if (ql > 0) {
            w += snprintf(want + w, sizeof want - (size_t)w, "[QR %s]\n", qr);
        }
        snprintf(want + w, sizeof want - (size_t)w, "[CUT partial]\n");
        check(escpos_decode(buf, len, out, sizeof out, &bad) == GL_OK);
        check(strcmp(out, want) == 0);
        if (cl > 0 && strstr(ascii, "[CODE128 ") == NULL) {
            check(escpos_decode_find(out, "CODE128", pay, sizeof pay) ==
                  GL_OK);
            check(strcmp(pay, code) == 0);
        }
    }

    /* the raw text field as UTF-8: refused, or printed as it was */
    escpos_enc_reset(&e);
    escpos_text(&e, text);
    rc = escpos_enc_finish(&e, &len);
    check(rc == GL_OK || rc == GL_EINVAL || rc == GL_PRN_CHARSET ||
          rc == GL_ENOSPC);
    if (rc == GL_OK) {
        check(escpos_decode(buf, len, out, sizeof out, &bad) == GL_OK);
        check(strcmp(out, text) == 0);
    }
    escpos_enc_deinit(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 8192) {
        return 0;
    }
    fuzz_status(data + 1);
    if (data[0] & 1) {
        fuzz_roundtrip(data + 1, size - 1);
    } else {
        fuzz_decode(data + 2, size - 2, data[1]);
    }
    return 0;
}
