/*
 * magstripe_emu.c - a magnetic-stripe reader: each swipe writes one line
 * of track data ended by CR, with LRCs when set (see serial_emu.h).
 */
#include <stdio.h>
#include <string.h>

#include "gl_err.h"
#include "serial_emu.h"

struct magstripe_dev {
    int lrc;
    unsigned swipes;
};

static char track_lrc(const char *t, size_t n)
{
    unsigned base = t[0] == '%' ? 0x20 : 0x30;
    unsigned mask = base == 0x20 ? 0x3F : 0x0F;
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        x ^= ((unsigned)(unsigned char)t[i] - base) & mask;
    }
    return (char)(x + base);
}

/* in: tracks as on the card; out: as the reader sends them (LRC after each
 * end sentinel when on; a wrong one when bad_lrc). */
static size_t add_lrcs(const struct magstripe_dev *d, const char *in,
                       char *out, size_t cap, int bad_lrc)
{
    size_t o = 0, start = 0;

    for (size_t i = 0; in[i] != '\0' && o + 3 < cap; i++) {
        if (in[i] == '%' || in[i] == ';') {
            start = i;
        }
        out[o++] = in[i];
        if (in[i] == '?' && d->lrc) {
            char l = track_lrc(in + start, i - start + 1);
            if (bad_lrc) {
                l = (char)(in[start] == '%' ? 0x20 + ((l - 0x20 + 1) & 0x3F)
                                            : 0x30 + ((l - 0x30 + 1) & 0x0F));
            }
            out[o++] = l;
        }
    }
    out[o++] = '\r';
    return o;
}

static void magstripe_rx(struct semu *e, const uint8_t *p, size_t n)
{
    (void)e;
    (void)p;
    (void)n;
}

static int do_swipe(struct semu *e, const char *tracks, char *reply,
                    size_t cap)
{
    struct magstripe_dev *d = e->dev;
    char line[700];
    size_t n;
    int fails = semu_op_fails(e);
    const char *k = e->fail_kind;

    if (fails && strcmp(k, "drop") == 0) {
        snprintf(reply, cap, "ok dropped");
        return GL_OK;
    }
    n = add_lrcs(d, tracks, line, sizeof line,
                 fails && (k[0] == '\0' || strcmp(k, "lrc") == 0));
    if (fails && strcmp(k, "garbage") == 0 && n > 3) {
        line[n / 2] = (char)0x7F;
    } else if (fails && strcmp(k, "nostart") == 0) {
        line[0] = 'X';
    } else if (fails && strcmp(k, "noend") == 0) {
        char *q = memchr(line, '?', n);
        if (q != NULL) { /* the stripe ends before the end sentinel */
            n = (size_t)(q - line);
            line[n++] = '\r';
        }
    }
    semu_send(e, line, n);
    d->swipes++;
    snprintf(reply, cap, fails ? "ok failed %s" : "ok", k);
    return GL_OK;
}

static int magstripe_cmd(struct semu *e, const char *verb, char *args,
                         char *reply, size_t cap)
{
    struct magstripe_dev *d = e->dev;

    if (strcmp(verb, "swipe") == 0) {
        if (args[0] == '\0' || strlen(args) > 600) {
            snprintf(reply, cap, "err swipe <track data>");
            return GL_EINVAL;
        }
        return do_swipe(e, args, reply, cap);
    }
    if (strcmp(verb, "empty") == 0) {
        semu_send(e, "\r", 1);
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(verb, "card") == 0) {
        char pan[24], name[32], exp[8], svc[8], tracks[200];
        if (sscanf(args, "%23s %31s %7s %7s", pan, name, exp, svc) != 4) {
            snprintf(reply, cap, "err card <pan> <NAME> <yymm> <svc>");
            return GL_EINVAL;
        }
        for (char *c = name; *c; c++) {
            if (*c == '_') {
                *c = ' ';
            }
        }
        snprintf(tracks, sizeof tracks, "%%B%s^%s^%s%s000000?;%s=%s%s00000?",
                 pan, name, exp, svc, pan, exp, svc);
        return do_swipe(e, tracks, reply, cap);
    }
    if (strcmp(verb, "lrc") == 0) {
        if (strcmp(args, "on") != 0 && strcmp(args, "off") != 0) {
            snprintf(reply, cap, "err lrc on|off");
            return GL_EINVAL;
        }
        d->lrc = strcmp(args, "on") == 0;
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    return GL_ENOTFOUND;
}

static void magstripe_stats(struct semu *e, char *out, size_t cap)
{
    struct magstripe_dev *d = e->dev;
    snprintf(out, cap, " swipes=%u", d->swipes);
}

static const struct semu_dev_ops magstripe_ops = {
    .name = "magstripe",
    .on_rx = magstripe_rx,
    .command = magstripe_cmd,
    .stats = magstripe_stats,
};

struct semu *semu_magstripe_new(void)
{
    return semu_alloc_(&magstripe_ops, sizeof(struct magstripe_dev));
}
