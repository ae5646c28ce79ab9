/*
 * term.h - gl-term, the terminal application: the pieces and how they meet.
 *
 *   term_config.c  gl-term.ini -> struct term_config
 *   term_link.c    the host link: TLS connection, sign-on, echo, one
 *                  request/answer exchange with its DUKPT KSN and MAC
 *   term_txn.c     the transaction engine: journal first, send, answer,
 *                  reversals (0400/0401, 0420/0421), store-and-forward
 *                  advices (0220/0221), batch close (0500, 0320)
 *   term_dev.c     the devices: scanner, magstripe, NFC reader (cards and
 *                  phone wallets), IrDA phone, PIN pad, printer
 *   term_ui.c      the cashier's commands: line-scripted on stdin, or the
 *                  ncurses screen
 *   term_main.c    start-up, recovery, the event loop
 *
 * One thread.  The loop polls stdin, the scanner and magstripe lines and
 * the link; a cashier command runs to its end inside one loop step (the
 * cashier waits for the answer anyway), bounded by the configured
 * time-outs.  Nothing is allocated per transaction.
 */
#ifndef TERM_H
#define TERM_H

#include <stdint.h>

#include "clock.h"
#include "crypto.h"
#include "crypto_dukpt.h"
#include "crypto_mac_msg.h"
#include "escpos.h"
#include "irda.h"
#include "iso8583.h"
#include "magstripe.h"
#include "net.h"
#include "nfc_reader.h"
#include "phone_wallet.h"
#include "pinpad.h"
#include "scanner.h"
#include "term_journal.h"
#include "term_msg.h"
#include "term_print.h"

#define TERM_PATH_MAX 256

struct term_config {
    /* [terminal] */
    char tid[9];
    char merchant[16];
    char cashier[9];       /* logged in at start (DE 48 CA) */
    char lang[3];          /* ko | en */
    char header[128];      /* receipt header; "\n" splits lines */
    int offline;           /* approve small redemptions when the link is down */
    long long floor_limit; /* KRW, with offline */
    char pin_prefixes[128]; /* issuer prefixes of vouchers that carry a PIN */
    int card_pin;          /* membership/brand cards: ask for the PIN */
    long long copies;      /* 1: customer copy only, 2: merchant + customer */
    /* [host] */
    char host[128];
    char port[8];
    char server_cn[65];
    long long connect_timeout_s;
    long long response_timeout_s;
    long long close_timeout_s;
    long long echo_idle_s;
    long long repeat_first_s; /* first repeat of 0401/0421/0221 */
    long long repeat_max_s;
    long long signon_retry_s;
    long long reconnect_max_s;
    /* [tls] */
    char ca[TERM_PATH_MAX], cert[TERM_PATH_MAX], key[TERM_PATH_MAX];
    /* [keys] */
    char ikey[TERM_PATH_MAX];
    /* [journal] */
    char journal[TERM_PATH_MAX];
    char export_dir[TERM_PATH_MAX];
    /* [devices] */
    char scanner[TERM_PATH_MAX];
    char scanner_eol[8];
    int scanner_aim;
    char magstripe[TERM_PATH_MAX];
    int magstripe_lrc;
    struct magstripe_issuer_cfg issuers;
    char nfc[TERM_PATH_MAX];   /* libnfc connection string */
    char irda[TERM_PATH_MAX];
    char printer[TERM_PATH_MAX];
    char pinpad[TERM_PATH_MAX]; /* "stdin" or a tty/FIFO path */
    long long present_timeout_s; /* waiting for a scan, swipe or tap */
    long long pin_timeout_s;
    /* [log] */
    char log_level[8];
    int log_syslog;
};

int term_config_load(struct term_config *c, const char *path, char *err,
                     size_t errlen);

/* The host link. */
struct term_link {
    struct net_ctx *ctx;
    struct net_conn *c;
    struct iso_reasm ra;
    int signed_on;
    int refused;            /* the last sign-on was refused (58) */
    uint64_t last_io_ms;    /* last message sent or received */
    uint64_t next_try_ms;   /* no connection attempt before this */
    int failures;           /* consecutive connection failures */
    struct iso_msg in;      /* the awaited answer, once received */
    int have_in;
    int bad_frame;          /* an undecodable frame arrived */
    char want_mti[5], want_stan[7], want_de7[11]; /* the answer awaited */
    unsigned long sent, received, reconnects, resumed;
};

/* What the cashier asked for. */
enum term_kind {
    TK_REDEEM = 0,
    TK_BALANCE,
    TK_REFUND,
    TK_VOID,
    TK_ACTIVATE,
    TK_RELOAD,
    TK_CASHOUT,
};

struct term_present {      /* a presentation, as read from a device */
    char pan[TERM_PAN_MAX + 1];
    char expiry[5];
    char entry[4];         /* DE 22 */
    char method[12];
    char de48x[TERM_DE48X_MAX + 1]; /* PC, CH, AT of a phone */
    int need_pin;
};

struct term {
    struct term_config cfg;
    enum term_lang lang;
    struct term_ident ident;
    struct hal_clock clock;
    struct crypto_rng rng;
    struct term_journal j;
    struct crypto_dukpt_aes_term dk;
    struct term_link link;
    int batch;             /* open batch number */
    /* devices (term_dev.c); present = configured and opened */
    struct scanner scanner;
    int has_scanner;
    struct magstripe msr;
    int has_msr;
    struct nfc_reader nfc;
    int has_nfc;
    struct irda irda;
    int has_irda;
    struct escpos_printer printer;
    int has_printer;
    struct pinpad pinpad;
    int pin_fd;
    struct escpos_enc enc;
    uint8_t print_buf[16384];
    struct phone_wallet wallet;
    /* scratch messages: no allocation per transaction */
    struct iso_msg req, resp;
    struct term_txn cur, aux;
    int stopping;
    int script;            /* line-scripted cashier interface */
    /* the screen's way to tell the cashier what the terminal waits for
     * (a scan, the customer's PIN); NULL in scripts */
    void (*prompt)(struct term *t, enum term_msg_id id);
    int journal_broken;    /* a journal write failed: no transactions until
                              tx_recover succeeds again */
};

/* term_link.c */
int link_init(struct term *t, char *err, size_t errlen);
void link_free(struct term *t);
/* Connects and signs on when not connected.  Automatic retries wait for
 * the back-off (1, 2, 4 ... s up to reconnect_max, +-20 %); at_once (a
 * cashier's request) tries now.  GL_OK when signed on. */
int link_up(struct term *t, int at_once);
void link_close(struct term *t, const char *why);
/* Takes the next DUKPT transaction, saves the state in the journal (inside
 * the caller's journal transaction when one is open) and gives its MAC
 * keys; GL_DUKPT_EXHAUSTED when the keys are used up. */
int link_next_keys(struct term *t, struct crypto_mac_keys *keys);
/* One journal transaction: the next STAN and the next DUKPT keys, both
 * saved before either is used. */
int link_new_stan_keys(struct term *t, int *stan, struct crypto_mac_keys *keys);
/* Puts KS (from keys) into DE 48 of m, after CA and before the rest. */
int link_set_ks(struct iso_msg *m, const struct crypto_mac_keys *keys);
/* Signs and sends req, then waits up to timeout_s for its answer (same
 * DE 11 and DE 7, the response MTI), verified under keys, into t->resp.
 * GL_OK; GL_ETIMEDOUT (no answer); GL_ECLOSED (the link broke, or the
 * answer failed its MAC: the connection is closed); other codes. */
int link_exchange(struct term *t, struct iso_msg *req,
                  const struct crypto_mac_keys *keys, long long timeout_s);
/* Echo when idle; reads and drops anything the host sent unasked. */
void link_tick(struct term *t);
int link_fd(const struct term *t);
/* 0800 sign-off and close. */
void link_signoff(struct term *t);

/* term_txn.c */
struct term_result {
    char rc[3];            /* DE 39, or "" when no answer */
    int code;              /* GL_OK, or why nothing was approved */
    enum term_msg_id msg;  /* when no host code applies */
    int has_msg;
};
int tx_recover(struct term *t);
/* After a failed journal write: retries recovery; GL_OK once the journal
 * takes writes again (pending rows then owe their reversals). */
int tx_journal_retry(struct term *t);
/* Sends what is owed (reversals, advices) that is due; force: now, ignoring
 * the repeat schedule.  GL_OK when nothing is owed any more. */
int tx_flush(struct term *t, int force);
/* Runs one transaction for a presentation; the journal row in t->cur. */
int tx_run(struct term *t, enum term_kind kind, int64_t amount,
           const struct term_present *p, const char *orig_rrn,
           struct term_result *res);
/* Batch close (0500; on 95 the 0320 uploads and a second 0500).  The
 * caller prints the Z report on success. */
int tx_close(struct term *t, struct term_result *res);
/* 1 when a 0500 was sent and its answer never journalled (a crash): the
 * close must be resumed (tx_close) before anything else. */
int tx_close_pending(struct term *t);
/* Fault injection for the crash tests: GL_TERM_KILL_AT=<step>[#n] in the
 * environment kills the process with SIGKILL at the n-th pass of step. */
void tx_fault_point(const char *step);

/* term_dev.c */
int dev_open_all(struct term *t);
void dev_close_all(struct term *t);
/* Waits for a presentation by method (scan, card, nfc, irda) for the
 * transaction amount (phones need it for the cryptogram), index: the phone
 * wallet voucher to use (0: the first one with enough balance). */
int dev_present(struct term *t, const char *method, int64_t amount,
                int index, struct term_present *p, struct term_result *res);
/* PIN entry: the block (PIN pad) with its KSN and MAC keys. */
int dev_pin(struct term *t, const char *pan, struct pinpad_block *pb);
/* Prints the encoder's bytes. */
int dev_print(struct term *t, struct term_result *res);
int dev_persist_dukpt(void *ctx, const struct crypto_dukpt_aes_term *dk);

/* term_ui.c */
int ui_script_line(struct term *t, char *line);
int ui_run_screen(struct term *t);

#endif /* TERM_H */
