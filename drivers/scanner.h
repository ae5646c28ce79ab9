/*
 * scanner.h - serial barcode scanners (scanner_*).
 *
 * A serial scanner sends each code it reads as one line of printable ASCII
 * ended by CR, LF or CR LF (set in the scanner; configured here to match).
 * With the AIM option on, each line starts with the AIM symbology
 * identifier "]cm" (c: symbology letter such as 'C' Code 128, 'Q' QR,
 * 'E' EAN; m: modifier character).
 *
 * Contract:
 *  - The framer (scanner_framer_*) works on byte buffers and holds the
 *    partial line between reads: a line cut across two reads completes on
 *    the next one.  A line holding a control or non-ASCII byte (line noise)
 *    is dropped at its end with GL_SCAN_GARBAGE, a line longer than
 *    cfg.max_line with GL_SCAN_TOOLONG, a line without a valid AIM prefix
 *    (AIM on) or with a symbology not in cfg.aim_allow with
 *    GL_SCAN_SYMBOLOGY.  Empty lines are ignored, and so (AIM on) is a line
 *    holding only a valid prefix: a code has 1 to max_line characters.
 *    The bytes after a dropped line are framed normally: one bad line
 *    never costs the next scan.
 *  - scanner_voucher_check() decides, with no host request, whether a code
 *    is a voucher number: 16 digits whose last is the Luhn check digit.
 *    It returns GL_SCAN_LENGTH, GL_SCAN_NONDIGIT or GL_SCAN_CHECKDIGIT (in
 *    that order of precedence) otherwise.
 *  - A device handle (struct scanner) owns one hal_serial port; any number
 *    of scanners work at once, each with its own handle.  Nothing is
 *    allocated after scanner_open() (libserialport's port object).
 *  - When the line drops (adapter pulled, GL_ECLOSED) the handle closes the
 *    port and forgets any partial line; the next scanner_read() reopens it
 *    (GL_DEV_NODEV while it is absent).
 *  - Logs never show a full code: gl_log masks digit runs.
 */
#ifndef SCANNER_H
#define SCANNER_H

#include <stddef.h>
#include <stdint.h>

#include "serial.h"

#define SCANNER_LINE_MAX 128 /* longest line the framer can hold */
#define SCANNER_VOUCHER_LEN 16

enum scanner_eol {
    SCANNER_EOL_CR = 0,   /* "\r" ends a line; '\n' is noise */
    SCANNER_EOL_LF = 1,   /* "\n" ends a line; '\r' is noise */
    SCANNER_EOL_CRLF = 2, /* "\r\n" ends a line; a lone '\r'/'\n' is noise */
    SCANNER_EOL_ANY = 3,  /* '\r', '\n' or "\r\n" end a line */
};

struct scanner_config {
    enum scanner_eol eol;
    int aim;              /* 1: lines carry the AIM "]cm" prefix */
    char aim_allow[16];   /* symbology letters accepted ("CQ"); "" = all */
    size_t max_line;      /* payload limit, 1..SCANNER_LINE_MAX; 0 = max */
};

/* One code read.  text is NUL-terminated and excludes the AIM prefix. */
struct scanner_code {
    char text[SCANNER_LINE_MAX + 1];
    size_t len;
    char aim[4]; /* "]C0", or "" when AIM is off */
};

/* The line framer: caller-owned, no allocation. */
struct scanner_framer {
    struct scanner_config cfg;
    char line[SCANNER_LINE_MAX + 4]; /* AIM prefix + payload */
    size_t len;
    int garbage;  /* the current line saw a bad byte */
    int toolong;  /* the current line overflowed */
    int after_cr; /* last byte was '\r' (CRLF and ANY modes) */
};

/* Prepares f for cfg (copied; a zero max_line means SCANNER_LINE_MAX). */
void scanner_framer_init(struct scanner_framer *f,
                         const struct scanner_config *cfg);

/* Forgets any partial line (after a line drop). */
void scanner_framer_reset(struct scanner_framer *f);

/*
 * Feeds data[len] into the framer until one line ends.  *used = bytes
 * consumed (the caller feeds the rest in the next call).  Returns 1 with
 * *code filled when a good line ended, 0 when all bytes were consumed
 * without ending a line, or GL_SCAN_GARBAGE / GL_SCAN_TOOLONG /
 * GL_SCAN_SYMBOLOGY when a line ended and was dropped.
 */
int scanner_framer_push(struct scanner_framer *f, const uint8_t *data,
                        size_t len, size_t *used, struct scanner_code *code);

/* Luhn check digit ('0'..'9') for the digits digits[len]; -1 when a
 * character is not a digit. */
int scanner_luhn_digit(const char *digits, size_t len);

/* GL_OK when code[len] is a voucher number; GL_SCAN_LENGTH,
 * GL_SCAN_NONDIGIT or GL_SCAN_CHECKDIGIT otherwise. */
int scanner_voucher_check(const char *code, size_t len);

/* ---- the device ---------------------------------------------------------- */

struct scanner {
    struct hal_serial port;
    struct scanner_framer fr;
    uint8_t rx[64]; /* bytes read but not framed yet */
    size_t rx_len, rx_off;
    unsigned long dropped; /* lines dropped since init */
};

/*
 * Prepares s for the port path (the pty trick in tests) with the line
 * settings line (NULL: 9600 8N1) through ops (NULL: libserialport).
 * Does not open.  GL_OK or GL_EINVAL.
 */
int scanner_init(struct scanner *s, const struct scanner_config *cfg,
                 const char *path, const struct hal_serial_line *line,
                 const struct hal_serial_ops *ops);

/* Opens the port.  GL_OK or hal_serial_open's codes. */
int scanner_open(struct scanner *s);

/* Closes the port; idempotent. */
void scanner_close(struct scanner *s);

/*
 * Waits up to timeout_ms (-1: forever) for the next line and frames it.
 * Returns GL_OK with *code filled; GL_ETIMEDOUT when no complete line came
 * (a partial line stays for the next call); GL_SCAN_GARBAGE,
 * GL_SCAN_TOOLONG, GL_SCAN_SYMBOLOGY for a dropped line; GL_ECLOSED when
 * the line dropped (port closed; the next call reopens it); GL_DEV_NODEV
 * or GL_EOS when reopening fails; GL_EIO.
 */
int scanner_read(struct scanner *s, struct scanner_code *code,
                 int timeout_ms);

/*
 * scanner_read() then scanner_voucher_check(): GL_OK with voucher[17]
 * holding the 16 digits, or any code of both.  voucher is the caller's.
 */
int scanner_read_voucher(struct scanner *s,
                         char voucher[SCANNER_VOUCHER_LEN + 1],
                         int timeout_ms);

/*
 * Waits up to timeout_ms for input on any of v[0..n) (open handles, or
 * handles holding unframed bytes).  Returns GL_OK with *which set to the
 * first ready index, GL_ETIMEDOUT, GL_EINVAL, GL_EOS.
 */
int scanner_wait_any(struct scanner *const *v, size_t n, int timeout_ms,
                     size_t *which);

#endif /* SCANNER_H */
