/*
 * wallet_emu.h - the phone wallet application of docs/phone-wallet.md, as
 * a phone plays it: the one model behind both emulated phones, the NFC one
 * of pn532_emu.c and the IrDA one of irda_emu.c.  The transport (ISO-DEP
 * over a PN532, IrLAP I-frames) belongs to those emulators; this module
 * takes one C-APDU and gives one R-APDU.
 *
 * What it answers: SELECT of the wallet AID, LIST VOUCHERS (pages of 8),
 * SELECT VOUCHER, VERIFY PIN ON PHONE (the PIN the customer typed, tries,
 * blocking), GENERATE CRYPTOGRAM (ATC + 1, then AES-CMAC under the
 * voucher's key K_v of amount || terminal id || challenge || ATC; the ATC
 * stops at WALLET_EMU_ATC_MAX, past it the answer is 6A 81).
 *
 * Control lines (the text the emulators take and hand over here):
 *   imk=<32 hex> pin=<4..12 digits> voucher=<16 digits>,<product>,
 *       <balance-minor>[,nopin] ... [tries=<0..15>] [atc=<0..99999>]
 *       a new wallet: K_v derived from the IMK per voucher (the IMK itself
 *       is not kept), every voucher's ATC set to atc (default 0), tries
 *       left (default and maximum 3); reply "ok phone vouchers=<n>"
 *   enter <0..15 digits>   what the customer types at the next PIN request
 *                          (the wallet's PIN until then)
 *
 * Memory: struct wallet_emu is the caller's (embedded in the emulator's
 * state); nothing is allocated.  Not thread-safe: the emulator's thread
 * owns it.  It holds keys and the PIN: wallet_emu_clear() wipes them.
 */
#ifndef WALLET_EMU_H
#define WALLET_EMU_H

#include <stddef.h>
#include <stdint.h>

#define WALLET_EMU_MAX_VOUCHERS 16
#define WALLET_EMU_LIST_PAGE 8
/* DE 48 element AT is n 5: the last ATC a phone may use. */
#define WALLET_EMU_ATC_MAX 99999u
#define WALLET_EMU_MAX_TRIES 3
/* The longest R-APDU: a full LIST page and its status word. */
#define WALLET_EMU_RAPDU_MAX (1 + WALLET_EMU_LIST_PAGE * 16 + 2)

struct wallet_emu_voucher {
    uint8_t bcd[8];   /* number, 16 digits packed BCD */
    uint16_t product;
    uint32_t balance; /* minor units */
    int nopin;        /* 1: no PIN needed for this voucher */
    uint8_t key[16];  /* K_v */
    uint32_t atc;     /* last ATC used, 0 none yet */
};

struct wallet_emu {
    int installed; /* 0: the phone has no wallet (SELECT answers 6A 82) */
    struct wallet_emu_voucher v[WALLET_EMU_MAX_VOUCHERS];
    int nv;
    char pin[16];     /* NUL-padded, compared over the whole array */
    char entered[16]; /* what the customer typed, NUL-padded */
    int tries;        /* tries left */
    int max_tries;
    /* the session: cleared by a new SELECT or wallet_emu_reset_session() */
    int app;    /* application selected */
    int cur;    /* selected voucher, -1 none */
    int pin_ok; /* a verified PIN, good for one cryptogram */
};

/* Extra option of a control line the caller knows (e.g. the IrDA phone's
 * addr=): returns 1 when it took tok, 0 when it does not know it, -1 when
 * the value is bad. */
typedef int (*wallet_emu_option_fn)(void *ctx, const char *tok);

/* An empty phone: no wallet, no session. */
void wallet_emu_init(struct wallet_emu *w);

/* Wipes keys and PIN and empties w (as wallet_emu_init). */
void wallet_emu_clear(struct wallet_emu *w);

/*
 * Installs a new wallet from the space-separated options in args (see
 * above; args is modified).  Tokens the wallet does not know go to
 * option(ctx, tok) when option is not NULL.  All or nothing: on an error
 * w is unchanged.  reply (cap bytes, the caller's) gets "ok phone
 * vouchers=<n>" or "err <reason>".  Returns GL_OK or GL_EINVAL.
 */
int wallet_emu_setup(struct wallet_emu *w, char *args,
                     wallet_emu_option_fn option, void *ctx, char *reply,
                     size_t cap);

/* The digits the customer types at the next PIN request (0 to 15 digits).
 * reply gets "ok" or "err ...".  GL_OK or GL_EINVAL. */
int wallet_emu_enter(struct wallet_emu *w, const char *digits, char *reply,
                     size_t cap);

/* The field or the link was lost: no application, voucher or PIN. */
void wallet_emu_reset_session(struct wallet_emu *w);

/*
 * Runs one C-APDU capdu[len] and writes the R-APDU (answer data and status
 * word) into rapdu[cap], *rlen its length.  Every command gets an answer,
 * errors as status words (docs/phone-wallet.md).  Returns GL_OK, or
 * GL_ENOSPC when cap is smaller than the answer (*rlen = 0, the command
 * still ran).
 */
int wallet_emu_apdu(struct wallet_emu *w, const uint8_t *capdu, size_t len,
                    uint8_t *rapdu, size_t cap, size_t *rlen);

/* The ATC of the selected voucher, else of the first one; 0 without
 * vouchers (for the emulators' stats line). */
uint32_t wallet_emu_atc(const struct wallet_emu *w);

#endif /* WALLET_EMU_H */
