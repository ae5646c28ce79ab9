/*
 * nfc.h - the contactless-reader seam of the terminal (hal_nfc_*).
 *
 * A reader is a handle (struct hal_nfc: ops, a const config, mutable
 * state) behind a static const ops table.  The real backend is libnfc
 * (hal_nfc_libnfc), which reaches a PN532 over a serial line with a
 * connection string such as "pn532_uart:/dev/ttyUSB0:115200" (tests use a
 * pty from tests/emulators/pn532_emu.h).  libnfc's error codes are
 * translated into gl_err.h codes here, where it is called.
 *
 * Ordinary outcomes are return values, not faults:
 *  - GL_DEV_NOCARD: nothing answered the selection (no card in the field);
 *  - GL_DEV_CARDGONE: the card left the field during an exchange (libnfc
 *    NFC_ERFTRANS / NFC_ETGRELEASED), or a presence check found it gone.
 * Faults of the reader or its line (GL_EIO, GL_ETIMEDOUT, GL_DEV_BADFRAME,
 * GL_ECLOSED) mean the caller should hal_nfc_close() and reopen later.
 *
 * Every call that talks to the reader is bounded in time, so a reader that
 * stops answering (firmware hang, USB-serial adapter whose cable is pulled
 * but whose tty stays) never blocks the terminal:
 *  - open: libnfc's own time-outs of its start-up commands;
 *  - selection: libnfc 1.8.0 waits at most HAL_NFC_SELECT_TIMEOUT_MS for
 *    the ACK and again for the answer of InListPassiveTarget.  That bound is
 *    libnfc's and fixed (NP_TIMEOUT_COMMAND does not change it; checked with
 *    the emulator, whose test pins it).  Since the reader selects finitely,
 *    a live PN532 always answers a selection, if only with "no target", so
 *    a time-out there is a silent reader: GL_ETIMEDOUT, not GL_DEV_NOCARD;
 *  - exchanges: the caller's time-out; presence and deselect: libnfc's
 *    command time-out.
 *
 * Memory: the handle is the caller's.  hal_nfc_open() allocates libnfc's
 * context and device (start-up, and again after a reopen).  Selection,
 * exchanges and presence checks allocate nothing in this module; libnfc
 * itself keeps a copy of the selected target (one malloc per selection).
 * Not thread-safe: one thread uses a handle at a time.
 */
#ifndef HAL_NFC_H
#define HAL_NFC_H

#include <stddef.h>
#include <stdint.h>

#define HAL_NFC_CONNSTRING_MAX 1024
#define HAL_NFC_UID_MAX 10
#define HAL_NFC_ATS_MAX 254
#define HAL_NFC_ERRMSG_MAX 128
/* libnfc 1.8.0's bound on each wait of a selection (see above). */
#define HAL_NFC_SELECT_TIMEOUT_MS 300
/* Room for libnfc's nfc_target (291 bytes in 1.8; checked in nfc.c). */
#define HAL_NFC_TARGET_STORE 320

struct hal_nfc_config {
    char connstring[HAL_NFC_CONNSTRING_MAX]; /* "pn532_uart:<path>:115200" */
    int timeout_ms; /* default time-out of one exchange (0: 2000 ms) */
};

/* An ISO 14443A target as selected. */
struct hal_nfc_target {
    uint8_t uid[HAL_NFC_UID_MAX];
    size_t uid_len;
    uint8_t atqa[2];
    uint8_t sak;
    uint8_t ats[HAL_NFC_ATS_MAX]; /* without its length byte */
    size_t ats_len;               /* 0: not ISO 14443-4 */
};

struct hal_nfc;

/* The backend; each entry has the contract of the public function of the
 * same name below (arguments and state already checked). */
struct hal_nfc_ops {
    const char *name;
    int (*open)(struct hal_nfc *n);
    void (*close)(struct hal_nfc *n);
    int (*select)(struct hal_nfc *n, struct hal_nfc_target *t);
    int (*transceive)(struct hal_nfc *n, const uint8_t *capdu, size_t clen,
                      uint8_t *rapdu, size_t cap, size_t *rlen,
                      int timeout_ms);
    int (*present)(struct hal_nfc *n);
    int (*release)(struct hal_nfc *n);
};

struct hal_nfc {
    const struct hal_nfc_ops *ops;
    struct hal_nfc_config cfg; /* const after hal_nfc_init */
    /* mutable state */
    void *ctx;      /* nfc_context *, NULL when closed */
    void *dev;      /* nfc_device *, NULL when closed */
    int selected;   /* a target is selected */
    _Alignas(8) unsigned char target[HAL_NFC_TARGET_STORE]; /* nfc_target */
    int last_lib_err;                  /* libnfc's code, for logs */
    char errmsg[HAL_NFC_ERRMSG_MAX];   /* libnfc's text, for logs */
};

extern const struct hal_nfc_ops hal_nfc_libnfc;

/* Prepares n for cfg (copied); ops NULL = hal_nfc_libnfc.  Does not open.
 * Returns GL_OK or GL_EINVAL (empty connection string). */
int hal_nfc_init(struct hal_nfc *n, const struct hal_nfc_ops *ops,
                 const struct hal_nfc_config *cfg);

/*
 * Opens the reader and makes it an ISO 14443A initiator that does not
 * select forever (a selection with no card ends with GL_DEV_NOCARD).
 * Returns GL_OK, GL_DEV_NODEV (no reader answers at connstring), GL_EIO,
 * GL_ENOMEM, GL_EINVAL (already open).
 */
int hal_nfc_open(struct hal_nfc *n);

/* Releases any target, turns the field off and closes.  Idempotent. */
void hal_nfc_close(struct hal_nfc *n);

/* 1 while open. */
int hal_nfc_is_open(const struct hal_nfc *n);

/*
 * Selects one ISO 14443A target (106 kbps), with RATS when the target is
 * ISO 14443-4.  *t filled on GL_OK.  Returns GL_OK, GL_DEV_NOCARD (the
 * reader answered: nothing in the field), GL_DEV_CARDGONE (lost during
 * anticollision), GL_ETIMEDOUT (the reader did not answer within
 * HAL_NFC_SELECT_TIMEOUT_MS: a fault, close and reopen), GL_EIO,
 * GL_DEV_BADFRAME, GL_EINVAL (not open).  Returns within about
 * 2 * HAL_NFC_SELECT_TIMEOUT_MS whatever the reader does.
 */
int hal_nfc_select(struct hal_nfc *n, struct hal_nfc_target *t);

/*
 * Sends capdu[clen] to the selected target and receives its answer into
 * rapdu[cap]; *rlen = its length (0 unless GL_OK).  timeout_ms <= 0 takes
 * cfg.timeout_ms.  Returns GL_OK, GL_DEV_CARDGONE, GL_DEV_NOCARD (nothing
 * selected), GL_ENOSPC (answer longer than cap), GL_ETIMEDOUT (the reader
 * did not answer), GL_EIO, GL_DEV_BADFRAME, GL_EINVAL.
 */
int hal_nfc_transceive(struct hal_nfc *n, const uint8_t *capdu, size_t clen,
                       uint8_t *rapdu, size_t cap, size_t *rlen,
                       int timeout_ms);

/* Is the selected target still in the field?  GL_OK (yes),
 * GL_DEV_CARDGONE (no), GL_DEV_NOCARD (nothing selected), reader faults. */
int hal_nfc_present(struct hal_nfc *n);

/* Deselects the target (it stays in the field).  GL_OK or a fault. */
int hal_nfc_release(struct hal_nfc *n);

/* Translates a libnfc error code (NFC_E*) into a gl_err.h code (a time-out
 * is GL_ETIMEDOUT wherever it happens).  Exposed for tests. */
int hal_nfc_err_from_libnfc(int nfc_err);

#endif /* HAL_NFC_H */
