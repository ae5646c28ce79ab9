/*
 * pinpad.h - PIN entry (pinpad_*): whatever the keys are, the caller gets
 * only an encrypted PIN block and its key serial number, never the PIN.
 *
 * The interface is an ops table plus a handle, so a secure PIN pad (EPP)
 * on a serial line and the keyboard of the emulated counter share one
 * contract:
 *  - pinpad_get_block() collects a PIN for the account number pan and
 *    returns an ISO 9564 format 4 block (16 bytes, AES) enciphered under
 *    the AES DUKPT PIN key of the next transaction counter, and that
 *    counter's 12-byte KSN.
 *  - Codes: GL_OK; GL_PIN_CANCEL (the customer pressed cancel);
 *    GL_ETIMEDOUT (no Enter in time); GL_PIN_LENGTH (fewer than 4 or more
 *    than 12 digits at Enter); GL_ECLOSED (the key source ended);
 *    GL_DUKPT_EXHAUSTED; the persist callback's code; GL_CRYPTO; GL_EINVAL.
 *  - The digits exist only in the handle's buffer while they are keyed and
 *    are wiped (mbedtls_platform_zeroize) on every return path, as are the
 *    DUKPT keys used.
 *
 * The keyboard backend (pinpad_keyboard) reads keys from a file
 * descriptor (a terminal in raw mode, a pipe in tests): '0'..'9' digits,
 * Enter ('\r' or '\n') ends, Backspace (0x08 or 0x7F) erases one digit,
 * Escape (0x1B) or 'c' cancels; anything else is ignored.  It echoes one
 * '*' per digit to echo_fd when that is not -1.  It draws the DUKPT key
 * from a caller-owned terminal state and calls persist (when not NULL)
 * with the advanced state before the key is used, so a counter is never
 * used twice after a crash.  It allocates nothing.
 */
#ifndef PINPAD_H
#define PINPAD_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_mac_msg.h"
#include "crypto_pinblock.h"

struct pinpad_block {
    uint8_t block[CRYPTO_PINBLOCK_AES_LEN]; /* format 4, enciphered */
    uint8_t ksn[CRYPTO_DUKPT_AES_KSN_LEN];
    /* The MAC keys of the same DUKPT transaction: the request carrying the
     * block is MACed under its KSN (docs/host-interface.md 12).  The PIN
     * key itself never leaves the pad.  Wipe with crypto_mac_keys_wipe. */
    struct crypto_mac_keys mac;
};

struct pinpad;

struct pinpad_ops {
    const char *name;
    int (*get_block)(struct pinpad *p, const char *pan, int timeout_ms,
                     struct pinpad_block *out);
};

/* Called with the advanced DUKPT state before its key is used. */
typedef int (*pinpad_persist_fn)(void *ctx,
                                 const struct crypto_dukpt_aes_term *t);

struct pinpad_keyboard_config {
    int in_fd;                          /* keys */
    int echo_fd;                        /* '*' per digit, or -1 */
    struct crypto_dukpt_aes_term *term; /* borrowed */
    pinpad_persist_fn persist;          /* may be NULL */
    void *persist_ctx;
    crypto_rng_fn f_rng; /* fill bytes of the block */
    void *p_rng;
};

struct pinpad {
    const struct pinpad_ops *ops;
    struct pinpad_keyboard_config kb; /* the keyboard backend's config */
    char digits[CRYPTO_PIN_MAX + 1];  /* wiped after every entry */
    size_t ndigits;
};

extern const struct pinpad_ops pinpad_keyboard;

/* Prepares p as a keyboard PIN pad (cfg copied; pointers borrowed). */
int pinpad_keyboard_init(struct pinpad *p,
                         const struct pinpad_keyboard_config *cfg);

/* Collects a PIN for pan (1..19 digits) within timeout_ms (-1: forever). */
int pinpad_get_block(struct pinpad *p, const char *pan, int timeout_ms,
                     struct pinpad_block *out);

#endif /* PINPAD_H */
