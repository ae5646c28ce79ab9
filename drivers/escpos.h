/*
 * escpos.h - ESC/POS receipt printers on a serial line (escpos_*).
 *
 * Two halves:
 *  - The encoder writes commands into the caller's buffer.  Errors are
 *    sticky: after the first failure (buffer full, text the code page
 *    cannot hold, a control byte in text) every further call does nothing
 *    and escpos_enc_finish() returns that first code, so a receipt is
 *    written as a straight list of calls and checked once.
 *  - The printer handle sends a finished buffer through hal/serial and asks
 *    the printer's real-time status (DLE EOT) before and after, reporting
 *    paper out (GL_DEV_PAPER), cover open (GL_PRN_COVER), offline for any
 *    other reason (GL_DEV_OFFLINE), no answer (GL_ETIMEDOUT), a malformed
 *    answer (GL_PRN_STATUS) and a dropped line (GL_ECLOSED).
 *
 * Commands emitted (ESC = 1B, GS = 1D, FS = 1C, DLE = 10):
 *   ESC @                       initialise
 *   ESC t 0, ESC R 13           code table PC437 for 1-byte text,
 *                               international character set Korea
 *   ESC E n                     bold on/off
 *   GS ! n                      character size (width-1) << 4 | (height-1)
 *   ESC a n                     align 0 left, 1 centre, 2 right
 *   FS & ... FS .               two-byte (Korean) character mode around each
 *                               run of non-ASCII text
 *   GS h n, GS w n, GS H n      bar code height, module width, HRI position
 *   GS k 73 n {B.. / {C..       Code 128 (code set C for even-length digits)
 *   GS ( k                      QR: model 2 (fn 65), module size (fn 67),
 *                               error correction (fn 69), store (fn 80),
 *                               print (fn 81)
 *   ESC d n                     print and feed n lines
 *   GS V 0 / GS V 1             full / partial cut
 *   DLE EOT 1, 2, 4             real-time status (printer, offline cause,
 *                               paper roll sensor)
 *
 * Korean text: the printer's two-byte code is KS X 1001 (KS C 5601) in its
 * EUC-KR form, the code of Korean-market ESC/POS printers in two-byte
 * mode.  The encoder converts UTF-8 with glibc's iconv ("EUC-KR"), opened
 * once in escpos_enc_init() (iconv_open allocates; converting does not).
 * Hangul syllables outside KS X 1001's 2,350 give GL_PRN_CHARSET.
 *
 * Text must be printable: bytes below 0x20 other than '\n', DEL and the C1
 * controls U+0080..U+009F are refused (GL_EINVAL) so that no data (a gift
 * message) can smuggle commands; in two-byte mode only two-byte characters
 * are sent (anything the converter would give as single bytes there is
 * GL_PRN_CHARSET).
 */
#ifndef ESCPOS_H
#define ESCPOS_H

#include <iconv.h>
#include <stddef.h>
#include <stdint.h>

#include "serial.h"

enum escpos_align {
    ESCPOS_LEFT = 0,
    ESCPOS_CENTER = 1,
    ESCPOS_RIGHT = 2,
};

enum escpos_qr_ecc {
    ESCPOS_QR_L = 48,
    ESCPOS_QR_M = 49,
    ESCPOS_QR_Q = 50,
    ESCPOS_QR_H = 51,
};

struct escpos_enc {
    uint8_t *buf; /* borrowed: the caller's */
    size_t cap, len;
    int err;      /* first error, sticky */
    iconv_t cd;   /* UTF-8 -> EUC-KR */
};

/* Opens the converter (start-up: iconv_open allocates) and attaches
 * buf[cap].  GL_OK, GL_ENOTSUP (no EUC-KR converter). */
int escpos_enc_init(struct escpos_enc *e, uint8_t *buf, size_t cap);
/* Closes the converter; idempotent. */
void escpos_enc_deinit(struct escpos_enc *e);
/* Empties the buffer and clears the error, for the next receipt. */
void escpos_enc_reset(struct escpos_enc *e);
/* The first error (GL_OK if none) and the bytes written. */
int escpos_enc_finish(const struct escpos_enc *e, size_t *len);

void escpos_initialize(struct escpos_enc *e);
void escpos_bold(struct escpos_enc *e, int on);
/* width, height: 1..8 (else GL_EINVAL). */
void escpos_size(struct escpos_enc *e, int width, int height);
void escpos_align(struct escpos_enc *e, enum escpos_align a);
/* UTF-8 text; '\n' prints the line. */
void escpos_text(struct escpos_enc *e, const char *utf8);
/* escpos_text then '\n'. */
void escpos_line(struct escpos_enc *e, const char *utf8);
/* Code 128 of data[len] (printable ASCII, 1..200 bytes; else GL_EINVAL),
 * height in dots (1..255), HRI text below. */
void escpos_code128(struct escpos_enc *e, const char *data, size_t len,
                    int height);
/* QR (model 2) of data[len] (1..2000 bytes), module 1..16 dots. */
void escpos_qr(struct escpos_enc *e, const char *data, size_t len,
               int module, enum escpos_qr_ecc ecc);
void escpos_feed(struct escpos_enc *e, int lines);
void escpos_cut(struct escpos_enc *e, int partial);

/* ---- status -------------------------------------------------------------- */

#define ESCPOS_DLE 0x10
#define ESCPOS_EOT 0x04

struct escpos_status {
    uint8_t printer; /* DLE EOT 1 reply */
    uint8_t offline_cause; /* DLE EOT 2 reply (0 when not asked) */
    uint8_t paper;   /* DLE EOT 4 reply */
    int offline, cover_open, paper_end, paper_near_end;
};

/*
 * Interprets the replies of DLE EOT 1 and 4 (and 2 when offline) into st
 * and returns the verdict: GL_OK (near end is only a flag), GL_DEV_PAPER,
 * GL_PRN_COVER, GL_DEV_OFFLINE, or GL_PRN_STATUS when a reply lacks the
 * fixed bits (bit 1 and 4 set, 0 and 7 clear).
 */
int escpos_status_decode(uint8_t printer, uint8_t offline_cause,
                         uint8_t paper, struct escpos_status *st);

/* ---- the printer --------------------------------------------------------- */

struct escpos_printer {
    struct hal_serial port;
    int timeout_ms; /* per status reply and per write */
    struct escpos_status last;
};

/* Prepares p for path (line NULL: 9600 8N1; ops NULL: libserialport);
 * timeout_ms <= 0 means 2000.  GL_OK, GL_EINVAL. */
int escpos_printer_init(struct escpos_printer *p, const char *path,
                        const struct hal_serial_line *line,
                        const struct hal_serial_ops *ops, int timeout_ms);
int escpos_printer_open(struct escpos_printer *p);
void escpos_printer_close(struct escpos_printer *p);

/*
 * Asks the status (opening the port when closed).  Returns the verdict of
 * escpos_status_decode with p->last set, or GL_ETIMEDOUT, GL_ECLOSED (the
 * port is closed; the next call reopens), GL_DEV_NODEV, GL_EIO.
 */
int escpos_printer_status(struct escpos_printer *p);

/*
 * Prints buf[len]: status, the bytes, status again (paper can run out
 * during the job).  GL_OK or any code of escpos_printer_status or
 * hal_serial_write.  A job that fails may be printed partly; the caller
 * decides whether to print it again (a copy mark is the firmware's).
 */
int escpos_printer_print(struct escpos_printer *p, const uint8_t *buf,
                         size_t len);

#endif /* ESCPOS_H */
