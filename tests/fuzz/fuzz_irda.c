/*
 * fuzz_irda.c - libFuzzer harness for the IrDA link's receiving side
 * (drivers/irda.h): the deframer, and the primary station's handling of
 * whatever the phone sends (connect, one APDU exchange, disconnect).
 *
 * Input: byte 0 selects the mode, byte 1 seeds the chunk sizes.
 *  - Mode 0 (byte 0 even): the rest is line bytes.  They are deframed
 *    whole and in chunks of 1..23 bytes; both give the same frames and
 *    drops.  Every push consumes a byte when it returns something and all
 *    of them when it returns 0; a frame is never longer than the bytes
 *    consumed since the previous result (info + A, C, FCS), its info fits
 *    IRDA_INFO_MAX, and encoding it again and deframing that gives it back.
 *  - Mode 1 (byte 0 odd): byte 2 is the R-APDU buffer size, the rest are
 *    records <kind><len><bytes>: kind bit 0 set = a frame whose A, C and
 *    info are the bytes (encoded here, so that the FCS is right; kind bit
 *    1 flips a bit of it), else raw line bytes.  That is what the "phone"
 *    answers, in chunks; the terminal connects, exchanges one APDU and
 *    disconnects.  Every call returns one of its documented codes, an
 *    R-APDU is never longer than the buffer, and no call hangs (the port
 *    times out when the input is used up).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gl_err.h"
#include "gl_log.h"
#include "irda.h"
#include "serial.h"

#define MAX_EVENTS 2048

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static unsigned next_rand(unsigned *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* ---- mode 0: the deframer --------------------------------------------------- */

struct event {
    int rc;
    uint8_t addr, ctrl;
    size_t len;
    uint16_t fcs; /* of the info, to compare frames cheaply */
};

static size_t deframe_all(const uint8_t *in, size_t n, unsigned seed,
                          struct event *ev)
{
    static struct irda_deframer d;
    static struct irda_frame f, g;
    static uint8_t wire[IRDA_FRAME_MAX];
    size_t pos = 0, nev = 0, since = 0;
    unsigned x = seed * 2654435761u + 3;

    irda_deframer_init(&d);
    while (pos < n) {
        size_t chunk = n - pos, off = 0;
        if (seed != 0) {
            chunk = 1 + next_rand(&x) % 23;
            if (chunk > n - pos) {
                chunk = n - pos;
            }
        }
        while (off < chunk) {
            size_t used = 99999;
            int rc = irda_deframer_push(&d, in + pos + off, chunk - off,
                                        &used, &f);
            check(used <= chunk - off);
            since += used;
            off += used;
            if (rc == 0) {
                check(off == chunk);
                continue;
            }
            check(used >= 1);
            check(rc == 1 || rc == GL_IRDA_FCS || rc == GL_IRDA_TRUNC ||
                  rc == GL_IRDA_TOOLONG);
            check(nev < MAX_EVENTS);
            ev[nev].rc = rc;
            ev[nev].addr = ev[nev].ctrl = 0;
            ev[nev].len = 0;
            ev[nev].fcs = 0;
            if (rc == 1) {
                struct irda_deframer d2;
                size_t wl = 0, u2 = 0;
                check(f.len <= IRDA_INFO_MAX);
                check(f.len + 4 <= since); /* BOF and EOF come on top */
                ev[nev].addr = f.addr;
                ev[nev].ctrl = f.ctrl;
                ev[nev].len = f.len;
                ev[nev].fcs = irda_fcs(f.info, f.len);
                check(irda_frame_encode(f.addr, f.ctrl, f.info, f.len, wire,
                                        sizeof wire, &wl) == GL_OK);
                irda_deframer_init(&d2);
                check(irda_deframer_push(&d2, wire, wl, &u2, &g) == 1);
                check(u2 == wl && g.addr == f.addr && g.ctrl == f.ctrl &&
                      g.len == f.len && memcmp(g.info, f.info, f.len) == 0);
            }
            nev++;
            since = 0;
        }
        pos += chunk;
    }
    return nev;
}

static void fuzz_deframer(const uint8_t *in, size_t n, unsigned seed)
{
    static struct event whole[MAX_EVENTS], parts[MAX_EVENTS];
    size_t nw = deframe_all(in, n, 0, whole);
    size_t np = deframe_all(in, n, seed | 1u, parts);

    check(nw == np);
    for (size_t i = 0; i < nw; i++) {
        check(whole[i].rc == parts[i].rc && whole[i].addr == parts[i].addr &&
              whole[i].ctrl == parts[i].ctrl && whole[i].len == parts[i].len &&
              whole[i].fcs == parts[i].fcs);
    }
}

/* ---- mode 1: the link against a phone made of the input -------------------- */

struct feed {
    uint8_t bytes[16384];
    size_t n, pos;
    unsigned x;
};

static struct feed g_feed;

static int feed_open(struct hal_serial *s)
{
    s->is_open = 1;
    return GL_OK;
}

static void feed_close(struct hal_serial *s)
{
    s->is_open = 0;
}

static int feed_read(struct hal_serial *s, void *buf, size_t cap,
                     int timeout_ms, size_t *got)
{
    struct feed *f = &g_feed;
    size_t chunk;

    (void)s;
    (void)timeout_ms;
    if (f->pos >= f->n) {
        return GL_ETIMEDOUT;
    }
    chunk = 1 + next_rand(&f->x) % 40;
    if (chunk > cap) {
        chunk = cap;
    }
    if (chunk > f->n - f->pos) {
        chunk = f->n - f->pos;
    }
    memcpy(buf, f->bytes + f->pos, chunk);
    f->pos += chunk;
    *got = chunk;
    return GL_OK;
}

static int feed_write(struct hal_serial *s, const void *buf, size_t len,
                      int timeout_ms)
{
    (void)s;
    (void)timeout_ms;
    check(buf != NULL && len >= 6 && len <= IRDA_FRAME_MAX);
    return GL_OK;
}

static int feed_ok(struct hal_serial *s)
{
    (void)s;
    return GL_OK;
}

static int feed_set_line(struct hal_serial *s,
                         const struct hal_serial_line *line)
{
    (void)s;
    (void)line;
    return GL_OK;
}

static int feed_get_line(struct hal_serial *s, struct hal_serial_line *line)
{
    (void)s;
    memset(line, 0, sizeof *line);
    return GL_OK;
}

static int feed_fd(struct hal_serial *s)
{
    (void)s;
    return GL_EINVAL;
}

static const struct hal_serial_ops feed_ops = {
    .name = "fuzz-feed",
    .open = feed_open,
    .close = feed_close,
    .read = feed_read,
    .write = feed_write,
    .drain = feed_ok,
    .flush_input = feed_ok,
    .set_line = feed_set_line,
    .get_line = feed_get_line,
    .fd = feed_fd,
};

/* Turns the records into line bytes in g_feed. */
static void build_feed(const uint8_t *in, size_t n)
{
    struct feed *f = &g_feed;
    size_t i = 0;

    f->n = 0;
    f->pos = 0;
    while (i + 2 <= n) {
        uint8_t kind = in[i], len = in[i + 1];
        const uint8_t *p = in + i + 2;
        size_t wl = 0;
        i += 2;
        if (len > n - i) {
            len = (uint8_t)(n - i);
        }
        i += len;
        if (kind & 1) {
            uint8_t a = len > 0 ? p[0] : 0, c = len > 1 ? p[1] : 0;
            size_t il = len > 2 ? (size_t)len - 2 : 0;
            if (f->n + IRDA_FRAME_MAX > sizeof f->bytes ||
                irda_frame_encode(a, c, p + 2, il, f->bytes + f->n,
                                  sizeof f->bytes - f->n, &wl) != GL_OK) {
                return;
            }
            if ((kind & 2) && wl > 2) {
                f->bytes[f->n + 1 + kind % (wl - 2)] ^= 0x04;
            }
            f->n += wl;
        } else {
            if (f->n + len > sizeof f->bytes) {
                return;
            }
            memcpy(f->bytes + f->n, p, len);
            f->n += len;
        }
    }
}

static void fuzz_link(const uint8_t *in, size_t n, unsigned seed)
{
    static struct irda l;
    static struct hal_clock clock;
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0,
                                     0x47, 0x4C, 0x57, 0x41, 0x4C, 0x4C,
                                     0x45, 0x54, 0x00};
    uint8_t rapdu[IRDA_INFO_MAX + 8];
    struct irda_config cfg = {.dev_addr = 0x7E4D0001u, .conn_addr = 0x21,
                              .turn_ms = 100, .retries = 2, .poll_ms = 10,
                              .busy_ms = 1000};
    size_t cap, rlen = 12345;
    int rc;

    if (n < 1) {
        return;
    }
    cap = in[0] % (sizeof rapdu + 1);
    build_feed(in + 1, n - 1);
    g_feed.x = seed * 2654435761u + 11;
    hal_clock_init(&clock, &hal_clock_test, 1000);
    check(irda_init(&l, &cfg, "/dev/fuzz", NULL, &feed_ops, &clock) == GL_OK);
    rc = irda_connect(&l);
    check(rc == GL_OK || rc == GL_IRDA_NOLINK || rc == GL_ETIMEDOUT);
    check(l.connected == (rc == GL_OK));
    if (rc == GL_OK) {
        rc = irda_transceive(&l, select, sizeof select, rapdu, cap, &rlen);
        check(rc == GL_OK || rc == GL_ETIMEDOUT || rc == GL_IRDA_DISC ||
              rc == GL_IRDA_PROTO || rc == GL_ENOSPC);
        check(rlen <= cap && (rc == GL_OK || rlen == 0));
        rc = irda_disconnect(&l);
        check(rc == GL_OK || rc == GL_ETIMEDOUT);
        check(!l.connected);
    }
    check(l.st.frames_in + l.st.dropped <= g_feed.n);
    irda_close(&l);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gl_log_set_level(GL_LOG_ERROR); /* dropped frames are the normal case */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 8192) {
        return 0;
    }
    if (data[0] & 1) {
        fuzz_link(data + 2, size - 2, data[1]);
    } else {
        fuzz_deframer(data + 2, size - 2, data[1]);
    }
    return 0;
}
