/*
 * ledger.h - the double-entry voucher ledger of gl-hostd.
 *
 * Contract:
 *  - Value lives in accounts: one per voucher, a payable per merchant, a
 *    payment clearing account per channel (phone bill, card, counter cash),
 *    breakage, refunds, cash-out.  A balance is credits minus debits, in
 *    minor units (int64).  The sum of all balances is always zero.
 *  - Every movement is an immutable transfer of a positive amount from a
 *    debit account to a credit account, applied in the same database
 *    transaction as the balance updates of both accounts.
 *  - Transfer ids are chosen by the caller from the request (terminal id +
 *    STAN + transmission date, an API idempotency key...).  Applying an id
 *    again moves nothing and returns the first result (duplicate = 1); the
 *    same id with other accounts, amount, kind or flags is refused with
 *    GL_LEDGER_CONFLICT.  Refusals (insufficient funds...) are not recorded:
 *    a retry of a refused request is evaluated again.
 *  - Holds: a PENDING transfer reserves its amount on the debit account (the
 *    available balance is balance - held) until a POST transfer moves all or
 *    part of it, a VOID transfer releases it, or ledger_holds_expire()
 *    releases it after its timeout.
 *  - Accounts flagged LEDGER_AF_NONNEG (every voucher) never go below zero
 *    available, except through a transfer flagged LEDGER_F_OFFLINE_OVERDRAFT
 *    (an offline advice approved under the terminal's floor limit); such
 *    transfers are listed by ledger_overdrafts_list().
 *  - Group commit: between ledger_batch_begin and ledger_batch_commit every
 *    operation (of the ledger or of the registry on the same store) runs in
 *    its own SAVEPOINT inside one write transaction, so a failing operation
 *    undoes only itself and the group costs one commit (one fsync).  Results
 *    returned inside a batch are durable only once ledger_batch_commit
 *    returned GL_OK; if it fails, nothing of the batch was applied.
 *    Outside a batch each operation is its own committed transaction.
 *  - Time comes from the configured clock (seconds), so tests move time.
 *  - One handle per thread; several processes may share the database.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define LEDGER_ID_MAX 64  /* characters of a client transfer id */
#define LEDGER_REF_MAX 64 /* characters of an account reference */
/* Room for any stored transfer id (system ids add a prefix). */
#define LEDGER_ID_CAP (LEDGER_ID_MAX + 16)

enum ledger_account_kind {
    LEDGER_ACC_VOUCHER = 1,  /* ref: voucher number */
    LEDGER_ACC_MERCHANT = 2, /* merchant payable; ref: merchant id */
    LEDGER_ACC_CLEARING = 3, /* payment clearing; ref: LEDGER_CH_* */
    LEDGER_ACC_BREAKAGE = 4, /* ref: "" */
    LEDGER_ACC_REFUNDS = 5,  /* ref: "" */
    LEDGER_ACC_CASHOUT = 6,  /* ref: "" */
};

/* Clearing channels (refs of LEDGER_ACC_CLEARING accounts). */
#define LEDGER_CH_PHONE_BILL "phone_bill"
#define LEDGER_CH_CARD "card"
#define LEDGER_CH_COUNTER_CASH "counter_cash"

enum ledger_account_flag {
    LEDGER_AF_NONNEG = 1, /* available balance may not go below zero */
};

enum ledger_transfer_kind {
    LEDGER_TK_ISSUE = 1,
    LEDGER_TK_REDEEM = 2,
    LEDGER_TK_REFUND = 3,
    LEDGER_TK_RELOAD = 4,
    LEDGER_TK_CASHOUT = 5,
    LEDGER_TK_BREAKAGE = 6,
    LEDGER_TK_ACTIVATE = 7,
    LEDGER_TK_ADJUST = 8,
    LEDGER_TK_SETTLE = 9,
    LEDGER_TK_EXPIRE = 10, /* the release of an expired hold */
};

enum ledger_transfer_flag {
    LEDGER_F_PENDING = 1,           /* a hold: reserves, moves nothing yet */
    LEDGER_F_VOID = 2,              /* releases the hold pending_id */
    LEDGER_F_POST = 4,              /* moves (part of) the hold pending_id */
    LEDGER_F_OFFLINE_OVERDRAFT = 8, /* offline advice: may go below zero */
    LEDGER_F_EXPIRED = 16,          /* set by ledger_holds_expire on voids */
    LEDGER_F_PARTIAL = 32,          /* move what is available, up to amount */
};

/* POST with this amount moves the whole hold. */
#define LEDGER_AMOUNT_HOLD (-1)

struct ledger_config {
    /* Seconds since the epoch; NULL: time(NULL). */
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
};

struct ledger {
    struct store *st; /* borrowed */
    struct ledger_config cfg;
};

/* A transfer request (all pointers borrowed for the call). */
struct ledger_transfer {
    const char *id;         /* 1..LEDGER_ID_MAX characters */
    int64_t debit;          /* account ids; POST/VOID: 0 or the hold's */
    int64_t credit;
    int64_t amount;         /* > 0; POST: <= the hold, or LEDGER_AMOUNT_HOLD;
                               VOID: ignored (0) */
    int kind;               /* enum ledger_transfer_kind */
    unsigned flags;         /* enum ledger_transfer_flag */
    const char *pending_id; /* POST/VOID: the hold's transfer id */
    int64_t timeout;        /* PENDING: seconds until it expires; 0: never */
};

/* What a transfer did (identical for every retry of its id). */
struct ledger_result {
    int64_t seq;            /* order of application */
    int64_t amount;         /* moved, or held for PENDING, or released */
    int64_t created;        /* clock at application */
    int64_t debit_balance;  /* balances right after the transfer */
    int64_t credit_balance;
    int duplicate;          /* 1: applied before; nothing moved now */
};

struct ledger_account {
    int64_t id;
    int kind;
    char ref[LEDGER_REF_MAX + 1];
    unsigned flags;
    int64_t balance;
    int64_t held;      /* sum of open holds debiting it */
    int64_t available; /* balance - held */
    int64_t created;
};

/* A stored transfer, as listed. */
struct ledger_transfer_row {
    int64_t seq;
    char id[LEDGER_ID_CAP + 1];
    int64_t debit, credit;
    int64_t requested, amount;
    int kind;
    unsigned flags;
    char pending_id[LEDGER_ID_CAP + 1];
    int64_t timeout; /* PENDING: absolute expiry (seconds); else 0 */
    int64_t created;
    int64_t debit_after, credit_after;
};

/* Called per listed row; a non-zero return stops the listing and is
 * returned by the listing function. */
typedef int (*ledger_row_cb)(void *ctx, const struct ledger_transfer_row *r);

/*
 * Attaches a ledger to an open store (borrowed; it must outlive the ledger).
 * l is the caller's memory.  cfg may be NULL.  Returns GL_OK.
 */
int ledger_init(struct ledger *l, struct store *st,
                const struct ledger_config *cfg);
void ledger_deinit(struct ledger *l);

/* The ledger's current time (its clock). */
int64_t ledger_now(const struct ledger *l);

/*
 * The id of the account (kind, ref), created with flags if it does not
 * exist.  Returns GL_OK or a storage error.
 */
int ledger_account_ensure(struct ledger *l, int kind, const char *ref,
                          unsigned flags, int64_t *id);
/* The id of an existing account, or GL_LEDGER_NOACCOUNT. */
int ledger_account_find(struct ledger *l, int kind, const char *ref,
                        int64_t *id);
/* Reads account id into *out, or GL_LEDGER_NOACCOUNT. */
int ledger_account_get(struct ledger *l, int64_t id,
                       struct ledger_account *out);

/*
 * Applies one transfer (see the file comment).  res (caller's) is filled on
 * GL_OK.  Returns GL_OK; GL_EINVAL (bad id, flags, same account on both
 * sides); GL_LEDGER_AMOUNT; GL_LEDGER_NOACCOUNT; GL_LEDGER_FUNDS;
 * GL_LEDGER_CONFLICT; GL_LEDGER_NOHOLD; GL_LEDGER_HOLD_CLOSED;
 * GL_LEDGER_HOLD_EXPIRED (POST after the timeout); GL_LEDGER_ABORTED (the
 * batch is lost); or a storage error (GL_DB_FULL, GL_DB_BUSY...).  On any
 * error nothing was applied.
 */
int ledger_transfer_apply(struct ledger *l, const struct ledger_transfer *t,
                          struct ledger_result *res);

/* Reads the transfer id into *out, or GL_ENOTFOUND. */
int ledger_transfer_get(struct ledger *l, const char *id,
                        struct ledger_transfer_row *out);

/*
 * Releases every open hold whose timeout is at or before now, each through a
 * VOID|EXPIRED transfer with id "expire:<hold id>".  *count (may be NULL)
 * gets how many.  Returns GL_OK or an error (then none was released).
 */
int ledger_holds_expire(struct ledger *l, int64_t now, int *count);

/* Every transfer touching account, oldest first. */
int ledger_history(struct ledger *l, int64_t account, ledger_row_cb cb,
                   void *ctx);
/* Every transfer flagged LEDGER_F_OFFLINE_OVERDRAFT, oldest first. */
int ledger_overdrafts_list(struct ledger *l, ledger_row_cb cb, void *ctx);

/* Group commit (see the file comment). */
int ledger_batch_begin(struct ledger *l);
int ledger_batch_commit(struct ledger *l);
void ledger_batch_rollback(struct ledger *l);

/* ---- consistency check ----------------------------------------------- */

enum ledger_check_what {
    LEDGER_CHK_SUM = 1,         /* sum of balances not zero */
    LEDGER_CHK_BALANCE,         /* stored balance != sum of its transfers */
    LEDGER_CHK_HELD,            /* stored held != sum of its open holds */
    LEDGER_CHK_HOLD_ORPHAN,     /* hold without its transfer or account */
    LEDGER_CHK_HOLD_EXPIRED,    /* open hold past its timeout */
    LEDGER_CHK_NEGATIVE,        /* non-negative account below zero */
    LEDGER_CHK_TRANSFER_ORPHAN, /* transfer naming a missing account */
};

struct ledger_finding {
    enum ledger_check_what what;
    int64_t account;               /* 0 when not about one account */
    char hold[LEDGER_ID_CAP + 1];  /* hold or transfer id, or "" */
    int64_t expected, actual;
    char text[256];                /* one line, numbers masked */
};

struct ledger_report {
    struct ledger_finding *items; /* owned; ledger_report_free */
    size_t n, cap;
    int64_t accounts;             /* accounts examined */
    int64_t total;                /* sum of all balances */
};

/*
 * Checks the ledger as of now (expired holds are those with timeout <= now):
 * the sum of balances is zero; each account's balance equals its transfers
 * and its held amount its open holds; no hold is orphaned or expired but
 * open; no non-negative account is below zero without an offline-overdraft
 * transfer.  rep (caller's struct) receives the findings; it is clean when
 * rep->n == 0.  Returns GL_OK when the check ran, else an error (rep then
 * holds nothing).  Free rep with ledger_report_free in both cases.
 */
int ledger_check(struct ledger *l, int64_t now, struct ledger_report *rep);
void ledger_report_free(struct ledger_report *rep);
/* "sum", "balance", "held", "hold-orphan", "hold-expired", "negative",
 * "transfer-orphan". */
const char *ledger_check_name(enum ledger_check_what what);

#endif /* LEDGER_H */
