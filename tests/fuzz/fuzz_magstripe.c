/*
 * fuzz_magstripe.c - libFuzzer harness for the magnetic-stripe reader
 * (drivers/magstripe.h): track parsing, LRC, and the line framing of
 * magstripe_read() fed through a serial port backend that hands out the
 * input in pseudo-random chunks.
 *
 * Input: byte 0 bit 0 = the reader sends LRCs, byte 1 seeds the chunk
 * sizes, then the bytes the reader sends.  What must hold:
 *  - magstripe_parse() of the whole input returns GL_OK or a bad-swipe
 *    code; on GL_OK the PAN is 1..19 digits found in the input, expiry
 *    YYMM with month 01..12, service 3 digits, the name at most 26
 *    characters of the track 1 set without trailing spaces, and a track 2
 *    line rebuilt from the card (with its LRC) parses to the same card; on
 *    failure the card is all zeros;
 *  - magstripe_read() gives exactly what a reference framing gives (lines
 *    end at CR, LF or CR LF; an over-long line is GL_MSR_FORMAT; each line
 *    goes through magstripe_parse() and the issuer table), whatever the
 *    chunk sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "gl_log.h"
#include "magstripe.h"
#include "serial.h"

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static int all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

static int is_swipe_error(int rc)
{
    return rc == GL_MSR_EMPTY || rc == GL_MSR_NOSTART || rc == GL_MSR_NOEND ||
           rc == GL_MSR_LRC || rc == GL_MSR_BADCHAR || rc == GL_MSR_FORMAT;
}

static void check_card(const struct magstripe_card *c, const uint8_t *in,
                       size_t n)
{
    size_t nl = strlen(c->name);
    int month;

    check(all_digits(c->pan, 1, MAGSTRIPE_PAN_MAX));
    check(memmem(in, n, c->pan, strlen(c->pan)) != NULL);
    check(all_digits(c->expiry, 4, 4));
    month = (c->expiry[2] - '0') * 10 + (c->expiry[3] - '0');
    check(month >= 1 && month <= 12);
    check(all_digits(c->service, 3, 3));
    check(c->tracks >= 1 && c->tracks <= 3);
    check(nl <= MAGSTRIPE_NAME_MAX);
    check(nl == 0 || c->name[nl - 1] != ' ');
    check(nl == 0 || (c->tracks & MAGSTRIPE_TRACK1));
    for (size_t i = 0; i < nl; i++) {
        check(c->name[i] >= 0x20 && c->name[i] <= 0x5F);
    }
}

/* The card again as a track 2 line: it must parse to the same fields. */
static void check_rebuilt(const struct magstripe_card *c)
{
    char line[64];
    struct magstripe_card again;
    int n = snprintf(line, sizeof line, ";%s=%s%s?", c->pan, c->expiry,
                     c->service);

    check(n > 0 && (size_t)n + 1 < sizeof line);
    line[n] = magstripe_lrc(line, (size_t)n);
    check(line[n] >= 0x30 && line[n] <= 0x3F);
    check(magstripe_parse(line, (size_t)n + 1, 1, &again) == GL_OK);
    check(strcmp(again.pan, c->pan) == 0);
    check(strcmp(again.expiry, c->expiry) == 0);
    check(strcmp(again.service, c->service) == 0);
    check(again.tracks == MAGSTRIPE_TRACK2 && again.name[0] == '\0');
    check(magstripe_parse(line, (size_t)n, 0, &again) == GL_OK);
}

/* ---- a serial port made of the input --------------------------------------- */

struct feed {
    const uint8_t *p;
    size_t n, pos;
    unsigned x; /* chunk size generator */
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
    f->x ^= f->x << 13;
    f->x ^= f->x >> 17;
    f->x ^= f->x << 5;
    chunk = 1 + f->x % 300;
    if (chunk > cap) {
        chunk = cap;
    }
    if (chunk > f->n - f->pos) {
        chunk = f->n - f->pos;
    }
    memcpy(buf, f->p + f->pos, chunk);
    f->pos += chunk;
    *got = chunk;
    return GL_OK;
}

static int feed_write(struct hal_serial *s, const void *buf, size_t len,
                      int timeout_ms)
{
    (void)s;
    (void)buf;
    (void)len;
    (void)timeout_ms;
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

/* ---- the reference framing ------------------------------------------------- */

/* The result for one line as magstripe_read() must give it. */
static int expect_line(const struct magstripe_config *cfg, const char *line,
                       size_t len, int overflow, struct magstripe_card *card)
{
    int rc;

    if (overflow) {
        memset(card, 0, sizeof *card);
        return GL_MSR_FORMAT;
    }
    rc = magstripe_parse(line, len, cfg->lrc, card);
    if (rc == GL_OK) {
        card->kind = magstripe_issuers_classify(&cfg->issuers, card->pan);
        if (card->kind == MAGSTRIPE_UNKNOWN) {
            rc = GL_MSR_ISSUER;
        }
    }
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gl_log_set_level(GL_LOG_ERROR); /* refused swipes are the normal case */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct magstripe m;
    static char line[MAGSTRIPE_LINE_MAX];
    struct magstripe_config cfg;
    struct magstripe_issuer_cfg icfg = {.membership = "9410, 94105",
                                        .brand = "6277,941059"};
    struct magstripe_card card, want;
    const uint8_t *in;
    size_t n, len = 0, i = 0;
    int rc, overflow = 0, after_cr = 0, done = 0;

    if (size < 2 || size > 4096) {
        return 0;
    }
    in = data + 2;
    n = size - 2;
    memset(&cfg, 0, sizeof cfg);
    cfg.lrc = data[0] & 1;
    check(magstripe_issuers_build(&cfg.issuers, &icfg) == GL_OK);

    /* the parser on the whole input as one line */
    rc = magstripe_parse((const char *)in, n, cfg.lrc, &card);
    if (rc == GL_OK) {
        check_card(&card, in, n);
        check(card.kind == MAGSTRIPE_UNKNOWN);
        check_rebuilt(&card);
    } else {
        static const struct magstripe_card zero;
        check(is_swipe_error(rc));
        check(memcmp(&card, &zero, sizeof card) == 0);
    }

    /* the device: chunks from the port against the reference framing */
    g_feed = (struct feed){.p = in, .n = n, .x = data[1] * 2654435761u + 7};
    check(magstripe_init(&m, &cfg, "/dev/fuzz", NULL, &feed_ops) == GL_OK);
    while (!done) {
        /* the reference: the next line ending in the input */
        int ended = 0;
        while (i < n && !ended) {
            uint8_t b = in[i++];
            int was_cr = after_cr;
            after_cr = b == '\r';
            if (b == '\n' && was_cr) {
                continue;
            }
            if (b == '\r' || b == '\n') {
                ended = 1;
            } else if (len >= sizeof line) {
                overflow = 1;
            } else {
                line[len++] = (char)b;
            }
        }
        rc = magstripe_read(&m, &card, 0);
        if (!ended) {
            check(rc == GL_ETIMEDOUT);
            done = 1;
            continue;
        }
        check(rc == expect_line(&cfg, line, len, overflow, &want));
        if (rc == GL_OK || rc == GL_MSR_ISSUER) {
            check(memcmp(&card, &want, sizeof card) == 0);
            check_card(&card, in, n);
            check((rc == GL_OK) == (card.kind != MAGSTRIPE_UNKNOWN));
        } else {
            check(is_swipe_error(rc));
        }
        len = 0;
        overflow = 0;
    }
    magstripe_close(&m);
    return 0;
}
