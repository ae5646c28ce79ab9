/*
 * printer_emu.c - an ESC/POS receipt printer: captures the print data it
 * receives and answers the real-time status queries DLE EOT 1, 2 and 4 as
 * they arrive in the byte stream, from its paper, cover and online state
 * (see serial_emu.h for the control commands).  While it is not ready
 * (paper out, cover open, offline) it discards print data, as a printer
 * whose buffer is not printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escpos_decode.h"
#include "gl_err.h"
#include "serial_emu.h"

#define CAPTURE_MAX (256 * 1024)

struct printer_dev {
    uint8_t pend[8192]; /* bytes not yet a whole command */
    size_t pend_len;
    uint8_t cap[CAPTURE_MAX];
    size_t cap_len;
    int paper; /* 2 in, 1 near end, 0 out */
    int cover_open, offline;
    unsigned queries, discarded;
};


static uint8_t status_byte(const struct printer_dev *d, int n)
{
    int paper = d->paper;
    int off = d->offline || d->cover_open || paper == 0;
    uint8_t b = 0x12;

    switch (n) {
    case 1:
        return (uint8_t)(b | (off ? 0x08 : 0));
    case 2:
        return (uint8_t)(b | (d->cover_open ? 0x04 : 0) |
                         (paper == 0 ? 0x20 : 0) | (d->offline ? 0x40 : 0));
    case 4:
        return (uint8_t)(b | (paper <= 1 ? 0x0C : 0) | (paper == 0 ? 0x60 : 0));
    default:
        return b;
    }
}

static void printer_rx(struct semu *e, const uint8_t *p, size_t n)
{
    struct printer_dev *d = e->dev;

    if (n > sizeof d->pend - d->pend_len) {
        n = sizeof d->pend - d->pend_len; /* a flood: the rest is lost */
    }
    memcpy(d->pend + d->pend_len, p, n);
    d->pend_len += n;
    for (;;) {
        size_t len = 0;
        int q;
        int r = escpos_decode_cmdlen(d->pend, d->pend_len, &len);
        if (r == 0) {
            if (d->pend_len == sizeof d->pend) {
                d->pend_len = 0; /* a command longer than the buffer */
            }
            break;
        }
        if (r < 0) {
            len = 1; /* unknown: captured so the decoder reports it */
        }
        if (r == 1 && escpos_decode_is_status(d->pend, len, &q)) {
            int fails = semu_op_fails(e);
            const char *k = e->fail_kind;
            d->queries++;
            if (fails && strcmp(k, "paper") == 0) {
                d->paper = 0; /* the roll runs out now */
            }
            if (!(fails && strcmp(k, "silent") == 0)) {
                uint8_t b = status_byte(d, q);
                if (fails && strcmp(k, "garbage") == 0) {
                    b = 0xFF;
                }
                semu_send(e, &b, 1);
            }
        } else if (status_byte(d, 1) & 0x08) {
            d->discarded += (unsigned)len;
        } else if (len <= sizeof d->cap - d->cap_len) {
            memcpy(d->cap + d->cap_len, d->pend, len);
            d->cap_len += len;
        }
        memmove(d->pend, d->pend + len, d->pend_len - len);
        d->pend_len -= len;
    }
}

/* "save PATH": the captured bytes decoded to normalized text
 * (escpos_decode.h) into the file PATH; the capture is then forgotten. */
static int printer_save(struct printer_dev *d, const char *path, char *reply,
                        size_t cap)
{
    static char text[4 * CAPTURE_MAX];
    size_t bad_at = 0;
    int rc = escpos_decode(d->cap, d->cap_len, text, sizeof text, &bad_at);
    if (rc != GL_OK) {
        snprintf(reply, cap, "err cannot decode at byte %zu: %s", bad_at,
                 gl_strerror(rc));
        return GL_EINVAL;
    }
    FILE *f = path[0] != '\0' ? fopen(path, "w") : NULL;
    if (f == NULL) {
        snprintf(reply, cap, "err save PATH: cannot write \"%s\"", path);
        return GL_EINVAL;
    }
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        snprintf(reply, cap, "err write failed");
        return GL_EINVAL;
    }
    snprintf(reply, cap, "ok bytes=%zu", d->cap_len);
    d->cap_len = 0;
    return GL_OK;
}

static int printer_cmd(struct semu *e, const char *verb, char *args,
                       char *reply, size_t cap)
{
    struct printer_dev *d = e->dev;

    if (strcmp(verb, "paper") == 0) {
        if (strcmp(args, "out") == 0) {
            d->paper = 0;
        } else if (strcmp(args, "near") == 0) {
            d->paper = 1;
        } else if (strcmp(args, "in") == 0) {
            d->paper = 2;
        } else {
            snprintf(reply, cap, "err paper out|near|in");
            return GL_EINVAL;
        }
    } else if (strcmp(verb, "cover") == 0) {
        d->cover_open = strcmp(args, "open") == 0;
    } else if (strcmp(verb, "offline") == 0) {
        d->offline = 1;
    } else if (strcmp(verb, "online") == 0) {
        d->offline = 0;
    } else if (strcmp(verb, "clear") == 0) {
        d->cap_len = 0;
    } else if (strcmp(verb, "save") == 0) {
        return printer_save(d, args, reply, cap);
    } else {
        return GL_ENOTFOUND;
    }
    snprintf(reply, cap, "ok");
    return GL_OK;
}

static void printer_stats(struct semu *e, char *out, size_t cap)
{
    struct printer_dev *d = e->dev;
    snprintf(out, cap, " captured=%zu queries=%u discarded=%u", d->cap_len,
             d->queries, d->discarded);
}

static const struct semu_dev_ops printer_ops = {
    .name = "printer",
    .on_rx = printer_rx,
    .command = printer_cmd,
    .stats = printer_stats,
};

struct semu *semu_printer_new(void)
{
    struct semu *e = semu_alloc_(&printer_ops, sizeof(struct printer_dev));
    if (e != NULL) {
        ((struct printer_dev *)e->dev)->paper = 2;
    }
    return e;
}

int semu_printer_take(struct semu *e, uint8_t *buf, size_t cap, size_t *len)
{
    struct printer_dev *d = e->dev;
    int rc = GL_OK;

    pthread_mutex_lock(&e->mu);
    *len = 0;
    if (d->cap_len > cap) {
        rc = GL_ENOSPC;
    } else {
        memcpy(buf, d->cap, d->cap_len);
        *len = d->cap_len;
        d->cap_len = 0;
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}
