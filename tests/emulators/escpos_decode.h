/*
 * escpos_decode.h - turns the ESC/POS bytes a receipt printer received into
 * normalized text, for golden-file tests (no Debian package decodes
 * ESC/POS).  It knows the commands drivers/escpos.h emits, and a few more
 * a printer must skip.
 *
 * Output, one item per line:
 *   printed text as UTF-8 (two-byte mode text converted from EUC-KR), with
 *   style changes inline as markers: <b> </b> <size WxH> <left> <center>
 *   <right>
 *   [INIT]                   ESC @
 *   [CODE128 <data>]         GS k 73 (code sets A, B and C decoded)
 *   [QR <data>]              GS ( k print of the stored symbol
 *   [FEED n]                 ESC d n
 *   [CUT full] [CUT partial] GS V
 * Text not ended by LF before a bar code, feed or cut is ended there.
 * Code page selections, bar code sizes and QR settings print nothing.
 */
#ifndef ESCPOS_DECODE_H
#define ESCPOS_DECODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length of the command (or single text byte) at p[0..n): returns 1
 * with *len set, 0 when more bytes are needed, -1 for a byte that starts
 * no known command.
 */
int escpos_decode_cmdlen(const uint8_t *p, size_t n, size_t *len);

/* 1 when p[0..len) is DLE EOT n; *n gets n. */
int escpos_decode_is_status(const uint8_t *p, size_t len, int *n);

/*
 * Decodes p[0..n) into out[cap] (NUL-terminated).  Returns GL_OK,
 * GL_DEV_BADFRAME for an unknown command, a truncated command or bad
 * EUC-KR (*bad_at = its offset), GL_ENOSPC when out is too small (out
 * then holds the items that fit; nothing at all when cap is 0).
 */
int escpos_decode(const uint8_t *p, size_t n, char *out, size_t cap,
                  size_t *bad_at);

/* The payload of the first bar code or QR of kind ("CODE128" or "QR")
 * found in decoded text, into out[cap].  GL_OK or GL_ENOTFOUND. */
int escpos_decode_find(const char *text, const char *kind, char *out,
                       size_t cap);

#endif /* ESCPOS_DECODE_H */
