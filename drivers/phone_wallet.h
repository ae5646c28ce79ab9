/*
 * phone_wallet.h - the terminal's side of the phone wallet application
 * (docs/phone-wallet.md), independent of the transport.
 *
 * The same ISO 7816-4 APDUs travel over NFC (drivers/nfc_reader, ISO
 * 14443-4) and over the IrDA serial link: the caller gives a transceive
 * callback that sends one C-APDU and returns one R-APDU.  This module
 * builds the commands, checks lengths and status words, and decodes the
 * answers; it keeps no secret (the cryptogram key never leaves the phone
 * and the host; the PIN never leaves the phone).
 *
 * Memory: struct phone_wallet is the caller's; nothing is allocated.
 * Status words become gl_err.h codes:
 *   9000 -> GL_OK; 6A82 -> GL_DEV_NOAPP; 6A83 -> GL_ENOTFOUND;
 *   63Cx -> GL_DEV_PINWRONG (x tries left); 6983 -> GL_DEV_PINBLOCKED;
 *   6982 -> GL_DEV_PINREQUIRED; anything else -> GL_DEV_CARDERR
 *   (the word is kept in w->last_sw); an R-APDU shorter than 2 bytes or
 *   with a malformed body -> GL_DEV_BADFRAME.  Transport errors (e.g.
 *   GL_DEV_CARDGONE) are passed through unchanged.
 */
#ifndef PHONE_WALLET_H
#define PHONE_WALLET_H

#include <stddef.h>
#include <stdint.h>

#define PHONE_WALLET_AID_LEN 9
#define PHONE_WALLET_MAX_VOUCHERS 32
#define PHONE_WALLET_CRYPTOGRAM_LEN 8
#define PHONE_WALLET_TID_LEN 8
#define PHONE_WALLET_CHALLENGE_LEN 8
#define PHONE_WALLET_APDU_MAX 261
/* The ATC goes to the host as DE 48 element AT, n 5: 1..99999. */
#define PHONE_WALLET_ATC_MAX 99999u

extern const uint8_t phone_wallet_aid[PHONE_WALLET_AID_LEN];

/* One C-APDU out, one R-APDU (with its status word) back.  Returns GL_OK
 * with *rlen set, or a gl_err.h code of the transport. */
typedef int (*phone_wallet_xfer_fn)(void *ctx, const uint8_t *capdu,
                                    size_t clen, uint8_t *rapdu, size_t cap,
                                    size_t *rlen);

struct phone_wallet_voucher {
    uint8_t index;
    char number[17];    /* 16 digits */
    uint16_t product;   /* product code */
    uint32_t balance;   /* minor units, as the phone last knew it */
    int pin_required;
};

/* What the host needs to authorise: which voucher, the counter, the MAC. */
struct phone_wallet_proof {
    char number[17];
    uint32_t atc;
    uint8_t cryptogram[PHONE_WALLET_CRYPTOGRAM_LEN];
};

struct phone_wallet {
    phone_wallet_xfer_fn xfer;
    void *ctx;
    uint8_t version;   /* from SELECT */
    uint8_t count;     /* vouchers the phone announced */
    int selected;      /* selected voucher index, -1 none */
    char selected_number[17];
    uint16_t last_sw;  /* status word of the last answer */
    uint8_t buf[PHONE_WALLET_APDU_MAX + 2];
};

/* Binds w to a transport.  Nothing is sent. */
void phone_wallet_init(struct phone_wallet *w, phone_wallet_xfer_fn xfer,
                       void *ctx);

/* SELECT the wallet application.  GL_OK, GL_DEV_NOAPP (not a wallet),
 * GL_DEV_BADFRAME, GL_DEV_CARDERR, transport errors. */
int phone_wallet_select(struct phone_wallet *w);

/*
 * LIST VOUCHERS (all pages) into out[cap]; *n = how many.  Returns GL_OK,
 * GL_ENOSPC (more than cap: out holds the first cap), GL_DEV_BADFRAME,
 * GL_DEV_CARDERR, transport errors.
 */
int phone_wallet_list(struct phone_wallet *w,
                      struct phone_wallet_voucher *out, size_t cap,
                      size_t *n);

/* SELECT VOUCHER by the index of a listed voucher (number remembered for
 * the proof).  GL_OK, GL_ENOTFOUND, GL_DEV_CARDERR, transport errors. */
int phone_wallet_select_voucher(struct phone_wallet *w,
                                const struct phone_wallet_voucher *v);

/*
 * VERIFY PIN ON PHONE: the phone asks its user for the PIN; the terminal
 * learns only the outcome.  *tries_left (may be NULL) is set for
 * GL_DEV_PINWRONG.  Returns GL_OK, GL_DEV_PINWRONG, GL_DEV_PINBLOCKED,
 * GL_DEV_CARDERR, transport errors.
 */
int phone_wallet_verify_pin(struct phone_wallet *w, int *tries_left);

/*
 * GENERATE CRYPTOGRAM over amount (minor units, at most 12 digits),
 * terminal id (8 characters) and the terminal's challenge (8 random
 * bytes).  *proof filled on GL_OK (zeroed otherwise).  Returns GL_OK,
 * GL_DEV_PINREQUIRED, GL_ERANGE (amount), GL_EINVAL (no voucher
 * selected), GL_DEV_BADFRAME (also an ATC of 0 or above
 * PHONE_WALLET_ATC_MAX, which the link could not carry), GL_DEV_CARDERR
 * (6A 81: the voucher's ATC is exhausted), transport errors.
 */
int phone_wallet_cryptogram(struct phone_wallet *w, uint64_t amount,
                            const char tid[PHONE_WALLET_TID_LEN],
                            const uint8_t challenge[PHONE_WALLET_CHALLENGE_LEN],
                            struct phone_wallet_proof *proof);

/* amount as the 6-byte BCD (n12) the cryptogram covers.  GL_ERANGE above
 * 999999999999. */
int phone_wallet_amount_bcd(uint64_t amount, uint8_t out[6]);

#endif /* PHONE_WALLET_H */
