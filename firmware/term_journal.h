/*
 * term_journal.h - gl-term's write-ahead journal in SQLite.
 *
 * One file (the [journal] path of gl-term.ini, mode 0600: it holds the
 * DUKPT registers and the full numbers that reversals and batch uploads
 * must resend).  WAL, synchronous=FULL: a row is durable before the request
 * it describes leaves the terminal, and the STAN and the DUKPT state are
 * saved in the same SQLite transaction as that row, before either is used.
 *
 * Schema (version 1; PRAGMA user_version):
 *
 *   meta(k TEXT PRIMARY KEY, v)      stan     last STAN used (1..999999)
 *                                    batch    open batch number (BN)
 *                                    rrn      last RRN sequence used
 *                                    dukpt    crypto_dukpt_aes_term_save blob
 *                                    last_receipt  id of the last receipt
 *   txn(...)                         one row per cashier transaction:
 *     id        INTEGER PRIMARY KEY
 *     batch     INTEGER  BN of the batch it belongs to
 *     kind      TEXT     redeem | balance | refund | void | activate |
 *                        reload | cashout
 *     mti       TEXT     MTI of its first transmission: 0100, 0200, 0220
 *     proc      TEXT     DE 3
 *     pan       TEXT     DE 2 as sent
 *     expiry    TEXT     DE 14 or NULL
 *     entry     TEXT     DE 22
 *     method    TEXT     barcode | card | contactless | nfc_phone |
 *                        irda_phone | keyed
 *     amount    INTEGER  DE 4 as requested (0 for a balance inquiry)
 *     approved  INTEGER  DE 4 of the approval (00: = amount; 10: less)
 *     stan, de7, de12, de13, rrn   DE 11, 7, 12, 13, 37 of the request
 *     cashier   TEXT     DE 48 CA
 *     de48x     TEXT     DE 48 elements other than KS, PF, PB (as TLV)
 *     orig_id   INTEGER  void / refund: the txn it names (DE 90)
 *     de90      TEXT
 *     state     TEXT     pending   journalled; no answer recorded yet
 *                        done      answered (rc, auth, balance, vd)
 *                        reverse   no answer: a reversal is owed
 *                        reversed  the reversal was answered
 *                        advice    approved offline; 0220 owed
 *                        refused   a 0230 answered 14: nothing moved
 *                        dropped   unanswered balance inquiry (no effect)
 *     rc, auth  TEXT     DE 39, DE 38 (offline: "00", "OFF" + STAN[3..5])
 *     balance   INTEGER  available balance after (DE 54 02, signed)
 *     vd        TEXT     DE 48 VD of a card redemption
 *     offline   INTEGER  1: approved by the terminal under the floor limit
 *     voided_by INTEGER  the approved void of this txn
 *     rev_mti   TEXT     0400 (time-out / dropped link) or 0420 (power cut)
 *     rev_stan, rev_de7  identity of the reversal (kept by its repeats)
 *     rev_sends INTEGER  transmissions of the reversal so far
 *     rev_rc    TEXT     DE 39 of the 0410/0430
 *     adv_sends INTEGER, adv_rc TEXT   the same for the 0220/0221
 *     next_at   INTEGER  CLOCK_REALTIME seconds of the next repeat
 *     created, answered TEXT  ISO 8601 local time (KST)
 *
 * What counts in the batch (docs/host-interface.md 11.8) is the view
 * `counted`: rows with state done or advice, rc 00 or 10, kind not
 * balance.  Debits: redeem, cashout (amount: approved); credits: refund,
 * activate, reload; a void is a reversal of its original's class
 * (amount: the original's approved).
 */
#ifndef TERM_JOURNAL_H
#define TERM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define TERM_PAN_MAX 19
#define TERM_DE48X_MAX 200

/* One row of txn, as the engine and the printers use it. */
struct term_txn {
    int64_t id;
    int batch;
    char kind[12];
    char mti[5];
    char proc[7];
    char pan[TERM_PAN_MAX + 1];
    char expiry[5];
    char entry[4];
    char method[12];
    int64_t amount;
    int64_t approved; /* -1 when none */
    int stan;
    char de7[11], de12[7], de13[5];
    char rrn[13];
    char cashier[9];
    char de48x[TERM_DE48X_MAX + 1];
    int64_t orig_id; /* 0 when none */
    char de90[43];
    char state[10];
    char rc[3], auth[7];
    int64_t balance;  /* valid when has_balance */
    int has_balance;
    char vd[400];
    int offline;
    int64_t voided_by;
    char rev_mti[5];
    int rev_stan;
    char rev_de7[11];
    int rev_sends;
    char rev_rc[3];
    int adv_sends;
    char adv_rc[3];
    int64_t next_at;
    char created[20], answered[20];
};

/* Batch totals (docs/host-interface.md 11.8). */
struct term_totals {
    int64_t credits_n, credits_amt;     /* DE 74, DE 86 */
    int64_t credits_rev_n, credits_rev_amt; /* DE 75, DE 87 */
    int64_t debits_n, debits_amt;       /* DE 76, DE 88 */
    int64_t debits_rev_n, debits_rev_amt;   /* DE 77, DE 89 */
    int64_t inquiries_n;                /* DE 80 */
    int64_t net;                        /* (88-89)-(86-87): >= 0 -> 'D' */
};

struct term_journal {
    sqlite3 *db;
    char path[512];
    sqlite3_stmt *st_ins, *st_upd, *st_meta_get, *st_meta_set;
    sqlite3_stmt *st_sel[4]; /* prepared on first use (term_journal.c) */
};

/* Opens (creating, migrating) the journal at path.  GL_OK, GL_DB_*. */
int tj_open(struct term_journal *j, const char *path, char *err, size_t errlen);
void tj_close(struct term_journal *j);

int tj_begin(struct term_journal *j);
int tj_commit(struct term_journal *j);
void tj_rollback(struct term_journal *j);

/* meta: integers and blobs.  GL_ENOTFOUND when absent. */
int tj_meta_int(struct term_journal *j, const char *k, int64_t *v);
int tj_meta_set_int(struct term_journal *j, const char *k, int64_t v);
int tj_meta_blob(struct term_journal *j, const char *k, void *buf, size_t cap,
                 size_t *len);
int tj_meta_set_blob(struct term_journal *j, const char *k, const void *v,
                     size_t len);

/* Inserts t (t->id set on return). */
int tj_txn_insert(struct term_journal *j, struct term_txn *t);
/* Writes every column of t back. */
int tj_txn_update(struct term_journal *j, const struct term_txn *t);
int tj_txn_get(struct term_journal *j, int64_t id, struct term_txn *t);
/* The txn of this batch with retrieval reference rrn. */
int tj_txn_by_rrn(struct term_journal *j, const char *rrn, struct term_txn *t);
/* The oldest row in one of the states (comma list, e.g. "reverse,pending"),
 * GL_ENOTFOUND when none. */
int tj_txn_first_in(struct term_journal *j, const char *states,
                    struct term_txn *t);
/* The last row of kind other than balance, GL_ENOTFOUND when none. */
int tj_txn_last(struct term_journal *j, struct term_txn *t);
/* Counts rows of a batch in a state. */
int tj_count_state(struct term_journal *j, const char *state, int64_t *n);

/* Totals of batch bn. */
int tj_totals(struct term_journal *j, int bn, struct term_totals *tot);

/* Calls fn for every counted row of batch bn (for 0320 uploads), oldest
 * first; a non-zero return stops and is returned. */
int tj_each_counted(struct term_journal *j, int bn,
                    int (*fn)(void *ctx, const struct term_txn *t), void *ctx);

#endif /* TERM_JOURNAL_H */
