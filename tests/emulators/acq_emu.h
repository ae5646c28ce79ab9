/*
 * acq_emu.h - an acquirer for tests and by hand: speaks the acquirer link
 * of docs/acquirer-link.md (ISO 8583 ASCII profile, 2-byte length framing,
 * TLS 1.2 through hal/net or plain TCP), so the REAL host-server/acquirer.c
 * drives it.
 *
 * What it does:
 *  - 0100: checks the fields, then decides by rule, in this order:
 *      a mandatory field missing          30
 *      DE 49 not 410                      13
 *      card number fails its Luhn check   14
 *      a card in the decline table        that card's code (`decline`)
 *      the three digits in front of the check digit are 005, 051 or 054
 *                                         05, 51, 54
 *      expiry (DE 14, YYMM) before this month  54
 *      amount above the limit (`limit`, default 1,000,000 KRW)  61
 *      otherwise                          00 with a 6-digit approval code
 *    An approval adds the amount to the card's "charged" ledger.  A repeat
 *    of a request identity (DE 41 + 11 + 7) gets the first answer again
 *    and charges nothing; with other content (DE 2, 4) it gets 94.  A 0100
 *    whose identity a reversal already named gets 12 and charges nothing.
 *  - 0400/0401: finds the 0100 named by DE 90 (+ DE 41).  An approved one
 *    not yet reversed is undone (its amount leaves the ledger); a declined
 *    or already reversed one: no effect; an unknown one: no effect and
 *    remembered.  Always answered 0410 with 00 (DE 2 or 4 different from
 *    the original's: 12, no effect).
 *  - Every request is recorded (acq_emu_record), every effect counted
 *    (acq_emu_stats).  Logs mask card numbers.
 *
 * Script (acq_emu_command, or lines on the program's stdin); every command
 * answers "ok ..." or "err <reason>":
 *   silent N            process the next N requests but do not answer them
 *   delay MS            answer every request MS ms late (0: at once)
 *   close               process the next request, then drop the connection
 *                       without answering
 *   decline PAN RC      decline this card with RC (two characters)
 *   limit KRW           approve at most this amount (above: 61)
 *   answer wrongstan|wrongde7|truncated|badbitmap|oversize
 *                       damage the next answer: another STAN, another DE 7,
 *                       the last 3 bytes cut (header adjusted), a secondary
 *                       bitmap bit with an empty secondary bitmap, or a
 *                       length header of 65535
 *   charged PAN         -> "ok <amount>"
 *   stats               -> "ok requests=.. auths=.. approvals=.. ..."
 *   reset               forget ledger, records, script and decline table
 *
 * Thread model: acq_emu_start runs the acquirer in its own thread; the
 * other functions may be called from any thread and see the state as of
 * the last request fully processed.
 */
#ifndef ACQ_EMU_H
#define ACQ_EMU_H

#include <stddef.h>
#include <stdint.h>

struct acq_emu;

struct acq_emu_config {
    const char *host;      /* NULL: 127.0.0.1 */
    const char *port;      /* NULL or "0": a free port (acq_emu_port) */
    int plain;             /* 1: plain TCP; 0: TLS with the files below */
    const char *ca_file;   /* the CA our clients' certificates come from */
    const char *cert_file; /* the acquirer's server certificate */
    const char *key_file;
    uint64_t limit; /* 0: 1,000,000 KRW */
};

struct acq_emu_stats {
    unsigned connections; /* accepted (TLS: handshake completed) */
    unsigned handshake_failures;
    unsigned requests;   /* frames that decoded */
    unsigned bad_frames; /* frames that did not: connection closed */
    unsigned auths;      /* 0100 processed (repeats included) */
    unsigned approvals;  /* 0100 that charged */
    unsigned declines;
    unsigned duplicates;        /* 0100 repeats answered from the record */
    unsigned reversals;         /* 0400 + 0401 received */
    unsigned reversals_applied; /* ... that undid a charge */
    unsigned reversals_unknown; /* ... naming an unseen 0100 (remembered) */
    unsigned answers;           /* answers sent */
};

/* One recorded request. */
struct acq_emu_record {
    char mti[5];
    char stan[7];
    char de7[11];
    char pan[20];
    uint64_t amount;
    char orig_stan[7]; /* a reversal's DE 90 STAN */
    char rc[3];        /* what was (or would have been) answered */
    int answered;      /* 0: silent, dropped, or not yet sent */
};

/*
 * Creates the acquirer, binds its port and starts its thread.  Returns
 * GL_OK with *out owned by the caller (acq_emu_free), or a gl_err.h code
 * with err (256 bytes, may be NULL) saying why.
 */
int acq_emu_start(struct acq_emu **out, const struct acq_emu_config *cfg,
                  char *err);

/* The bound port. */
int acq_emu_port(const struct acq_emu *e);

/* Applies one script line (see above); reply (cap bytes) gets "ok ..." or
 * "err ...".  GL_OK or GL_EINVAL. */
int acq_emu_command(struct acq_emu *e, const char *line, char *reply,
                    size_t cap);

/* The card's charged total (approvals minus reversed approvals). */
int64_t acq_emu_charged(struct acq_emu *e, const char *pan);

void acq_emu_stats(struct acq_emu *e, struct acq_emu_stats *st);

/* Copies recorded request i (0 = first since start or reset) into *rec:
 * GL_OK, or GL_ENOTFOUND past the last. */
int acq_emu_record(struct acq_emu *e, size_t i, struct acq_emu_record *rec);

/* Stops the thread, closes every connection, frees e.  NULL is fine. */
void acq_emu_free(struct acq_emu *e);

/*
 * The program gl-acq:
 *   gl-acq [--host H] [--port P] [--plain | --ca F --cert F --key F]
 *          [--limit KRW]
 * Prints "gl-acq ready port <n>", then applies script lines from stdin
 * (replies on stdout) until "quit", end of input + SIGTERM/SIGINT.
 */
int acq_emu_main(int argc, char **argv);

#endif /* ACQ_EMU_H */
