/*
 * nfc_reader.h - the contactless reader as the terminal uses it: polling
 * for a card or phone, reading a membership card's number, carrying the
 * phone wallet's APDUs, and coming back by itself after reader faults.
 *
 * Built on hal/nfc (libnfc) and hal/clock.  One reader per terminal; the
 * struct is the caller's memory and everything it needs per transaction
 * lives in it: after nfc_reader_init() nothing is allocated by this module
 * (libnfc allocates in its open, done at start-up and after a fault, and
 * one small copy of the target per selection).
 *
 * Life of a tap:
 *   nfc_reader_poll()  -> GL_OK with a tap (UID; iso_dep when it speaks
 *                         ISO 14443-4), GL_DEV_NOCARD, or GL_EAGAIN while
 *                         the reader is down and not yet due to reopen;
 *   then either nfc_reader_read_number() (membership card NDEF) or a
 *   struct phone_wallet bound to nfc_reader_xfer with the reader as ctx;
 *   nfc_reader_release() at the end.
 * Faults of the reader or its line (GL_EIO, GL_ETIMEDOUT, GL_ECLOSED,
 * GL_DEV_BADFRAME, GL_DEV_NODEV) close the reader; the next poll reopens it
 * (at once after a failed exchange, then every reopen_ms while opening
 * fails).  GL_DEV_CARDGONE is not a fault: the card left the field.
 */
#ifndef NFC_READER_H
#define NFC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "nfc.h"

#define NFC_READER_NUMBER_MAX 19

struct nfc_reader_config {
    struct hal_nfc_config nfc;
    int reopen_ms;      /* between failed opens (0: 1000) */
    int apdu_timeout_ms; /* one exchange (0: 2000) */
};

struct nfc_tap {
    uint8_t uid[HAL_NFC_UID_MAX];
    size_t uid_len;
    int iso_dep; /* answered RATS: can carry APDUs */
};

struct nfc_reader {
    struct hal_nfc hal;
    struct hal_clock *clock; /* borrowed */
    struct nfc_reader_config cfg;
    uint64_t next_open_ms;
    int xfer_timeout_ms;     /* current exchange time-out */
    int faults;              /* reader faults seen (for the screen/logs) */
    uint8_t apdu[HAL_NFC_ATS_MAX + 8];
    uint8_t resp[272];
};

/* Prepares r; clock is borrowed for r's life.  Nothing is opened.
 * GL_OK or GL_EINVAL. */
int nfc_reader_init(struct nfc_reader *r, const struct nfc_reader_config *cfg,
                    struct hal_clock *clock);

/* One polling step (see above).  *tap filled on GL_OK. */
int nfc_reader_poll(struct nfc_reader *r, struct nfc_tap *tap);

/*
 * Reads the membership number from a Type 4 tag's NDEF file (a Text record
 * or an external record "giftlink.org:member" holding only digits) into
 * out[cap] (NUL-terminated; cap >= NFC_READER_NUMBER_MAX + 1).  Returns
 * GL_OK, GL_DEV_NOAPP (no NDEF application), GL_DEV_NDEF (no usable
 * record), GL_DEV_CARDGONE, GL_ENOSPC, reader faults.
 */
int nfc_reader_read_number(struct nfc_reader *r, char *out, size_t cap);

/* The transport of drivers/phone_wallet (ctx = the reader). */
int nfc_reader_xfer(void *ctx, const uint8_t *capdu, size_t clen,
                    uint8_t *rapdu, size_t cap, size_t *rlen);

/* Time-out of the following exchanges (e.g. long while the customer types
 * a PIN on the phone); <= 0 restores the configured one. */
void nfc_reader_set_timeout(struct nfc_reader *r, int timeout_ms);

/* Is the tapped card or phone still there?  GL_OK, GL_DEV_CARDGONE, ... */
int nfc_reader_present(struct nfc_reader *r);

/* Ends the tap (deselect).  Never fails: a fault closes the reader. */
void nfc_reader_release(struct nfc_reader *r);

/* Closes the reader (the next poll reopens it). */
void nfc_reader_close(struct nfc_reader *r);

#endif /* NFC_READER_H */
