/*
 * fuzz_scanner.c - libFuzzer harness for the barcode scanner's line framer
 * (drivers/scanner.h).
 *
 * Input: byte 0 line end (bits 0-1) and AIM (bit 2), byte 1 the line
 * limit, byte 2 the allowed symbologies, byte 3 the seed of the chunk
 * sizes, then the bytes the scanner sends.  The stream is framed twice, whole and in pseudo-random chunks of
 * 1..17 bytes (as reads from a port come); what must hold:
 *  - every push consumes at least one byte when it returns a line or a
 *    drop, and all of them when it returns 0; no other return codes;
 *  - both framings give the same lines and drops in the same order;
 *  - a line holds 1..max_line printable ASCII characters, NUL-terminated,
 *    and comes from the input; with AIM on its prefix is "]" + a letter
 *    from the allowed set + a modifier, with AIM off it is empty;
 *  - scanner_voucher_check() accepts only 16 digits with a right Luhn
 *    digit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "scanner.h"

#define MAX_EVENTS 4096

struct event {
    int rc;
    size_t len;
    char text[SCANNER_LINE_MAX + 1];
    char aim[4];
};

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void check_code(const struct scanner_framer *f,
                       const struct scanner_code *c, const uint8_t *in,
                       size_t n)
{
    check(c->len >= 1 && c->len <= f->cfg.max_line);
    check(c->text[c->len] == '\0' && strlen(c->text) == c->len);
    for (size_t i = 0; i < c->len; i++) {
        check(c->text[i] >= 0x20 && c->text[i] <= 0x7E);
    }
    check(memmem(in, n, c->text, c->len) != NULL);
    if (f->cfg.aim) {
        check(strlen(c->aim) == 3 && c->aim[0] == ']');
        check((c->aim[1] >= 'A' && c->aim[1] <= 'Z') ||
              (c->aim[1] >= 'a' && c->aim[1] <= 'z'));
        check(f->cfg.aim_allow[0] == '\0' ||
              strchr(f->cfg.aim_allow, c->aim[1]) != NULL);
    } else {
        check(c->aim[0] == '\0');
    }
    if (scanner_voucher_check(c->text, c->len) == GL_OK) {
        check(c->len == SCANNER_VOUCHER_LEN);
        check(scanner_luhn_digit(c->text, c->len - 1) == c->text[c->len - 1]);
    }
}

/* Frames in[n] in chunks (chunk seed 0: all at once) into ev[]. */
static size_t frame_all(const struct scanner_config *cfg, const uint8_t *in,
                        size_t n, unsigned seed, struct event *ev)
{
    static struct scanner_framer f;
    struct scanner_code code;
    size_t pos = 0, nev = 0;
    unsigned x = seed * 2654435761u + 1;

    scanner_framer_init(&f, cfg);
    while (pos < n) {
        size_t chunk = n - pos, off = 0;
        if (seed != 0) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            chunk = 1 + x % 17;
            if (chunk > n - pos) {
                chunk = n - pos;
            }
        }
        while (off < chunk) {
            size_t used = 99999;
            int rc;
            memset(&code, 0x5A, sizeof code);
            rc = scanner_framer_push(&f, in + pos + off, chunk - off, &used,
                                     &code);
            check(used <= chunk - off);
            if (rc == 0) {
                check(used == chunk - off);
            } else {
                check(used >= 1);
                check(rc == 1 || rc == GL_SCAN_GARBAGE ||
                      rc == GL_SCAN_TOOLONG || rc == GL_SCAN_SYMBOLOGY);
                check(nev < MAX_EVENTS);
                ev[nev].rc = rc;
                ev[nev].len = 0;
                ev[nev].text[0] = '\0';
                ev[nev].aim[0] = '\0';
                if (rc == 1) {
                    check_code(&f, &code, in, n);
                    ev[nev].len = code.len;
                    memcpy(ev[nev].text, code.text, code.len + 1);
                    memcpy(ev[nev].aim, code.aim, sizeof code.aim);
                }
                nev++;
            }
            off += used;
        }
        pos += chunk;
    }
    return nev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *allow[] = {"", "C", "CQE", "Qd"};
    static struct event whole[MAX_EVENTS], parts[MAX_EVENTS];
    struct scanner_config cfg;
    size_t nw, np;

    if (size < 4 || size > MAX_EVENTS) {
        return 0;
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.eol = (enum scanner_eol)(data[0] & 3);
    cfg.aim = (data[0] >> 2) & 1;
    strcpy(cfg.aim_allow, allow[data[2] & 3]);
    cfg.max_line = data[1] % (SCANNER_LINE_MAX + 40); /* 0 and > max clamp */
    nw = frame_all(&cfg, data + 4, size - 4, 0, whole);
    np = frame_all(&cfg, data + 4, size - 4, (unsigned)data[3] | 1u, parts);
    check(nw == np);
    for (size_t i = 0; i < nw; i++) {
        check(whole[i].rc == parts[i].rc);
        check(whole[i].len == parts[i].len);
        check(strcmp(whole[i].text, parts[i].text) == 0);
        check(strcmp(whole[i].aim, parts[i].aim) == 0);
    }
    return 0;
}
