/*
 * scanner_emu.c - a serial barcode scanner: each `scan` writes one line,
 * with the AIM prefix and line ending it is set to (see serial_emu.h).
 */
#include <stdio.h>
#include <string.h>

#include "gl_err.h"
#include "serial_emu.h"

struct scanner_dev {
    char eol[3];
    char aim[4]; /* "" or "]C0" */
    unsigned scans;
};

static void scanner_rx(struct semu *e, const uint8_t *p, size_t n)
{
    (void)e; /* a scanner ignores what the host sends (no commands) */
    (void)p;
    (void)n;
}

static int scanner_cmd(struct semu *e, const char *verb, char *args,
                       char *reply, size_t cap)
{
    struct scanner_dev *d = e->dev;

    if (strcmp(verb, "scan") == 0) {
        char line[600];
        size_t n;
        int fails;
        if (args[0] == '\0' || strlen(args) > 512) {
            snprintf(reply, cap, "err scan <code>");
            return GL_EINVAL;
        }
        fails = semu_op_fails(e);
        n = (size_t)snprintf(line, sizeof line, "%s%s%s", d->aim, args,
                             d->eol);
        if (fails && strcmp(e->fail_kind, "drop") == 0) {
            snprintf(reply, cap, "ok dropped");
            return GL_OK;
        }
        if (fails && strcmp(e->fail_kind, "cut") == 0) {
            n -= strlen(d->eol);
        } else if (fails) { /* garbage */
            line[strlen(d->aim) + strlen(args) / 2] = (char)0xFF;
        }
        semu_send(e, line, n);
        d->scans++;
        snprintf(reply, cap, fails ? "ok failed %s" : "ok", e->fail_kind);
        return GL_OK;
    }
    if (strcmp(verb, "raw") == 0) {
        semu_send(e, args, strlen(args));
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(verb, "eol") == 0) {
        const char *v = strcmp(args, "cr") == 0     ? "\r"
                        : strcmp(args, "lf") == 0   ? "\n"
                        : strcmp(args, "crlf") == 0 ? "\r\n"
                                                    : NULL;
        if (v == NULL) {
            snprintf(reply, cap, "err eol cr|lf|crlf");
            return GL_EINVAL;
        }
        snprintf(d->eol, sizeof d->eol, "%s", v);
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    if (strcmp(verb, "aim") == 0) {
        if (strcmp(args, "off") == 0) {
            d->aim[0] = '\0';
        } else if (strlen(args) == 3 && args[0] == ']') {
            memcpy(d->aim, args, 4);
        } else {
            snprintf(reply, cap, "err aim off|]cm");
            return GL_EINVAL;
        }
        snprintf(reply, cap, "ok");
        return GL_OK;
    }
    return GL_ENOTFOUND;
}

static void scanner_stats(struct semu *e, char *out, size_t cap)
{
    struct scanner_dev *d = e->dev;
    snprintf(out, cap, " scans=%u", d->scans);
}

static const struct semu_dev_ops scanner_ops = {
    .name = "scanner",
    .on_rx = scanner_rx,
    .command = scanner_cmd,
    .stats = scanner_stats,
};

struct semu *semu_scanner_new(void)
{
    struct semu *e = semu_alloc_(&scanner_ops, sizeof(struct scanner_dev));
    if (e != NULL) {
        struct scanner_dev *d = e->dev;
        strcpy(d->eol, "\r");
    }
    return e;
}
