/*
 * shop.h - the customer's purchase of vouchers (issue 7; the patent's flow
 * 1, S10-S80) as a library the customer HTTP API calls: member check,
 * payment by phone bill (internal) or card (external, through the
 * acquirer client), then the vouchers, their ledger transfers, the SMS and
 * the purchase row in ONE database transaction.
 *
 * Contract:
 *  - A shop is a handle over the host's SQLite store (the registry's, which
 *    must use the SQLite backend: the shop's own tables live in the same
 *    database) and an optional acquirer client (NULL: card payments answer
 *    GL_ENOTSUP).  Everything it points to is borrowed and must outlive it.
 *    One thread at a time; the acquirer calls block (the API runs them in a
 *    worker thread, like gl-hostd does).
 *  - Tables (created by shop_open, CREATE IF NOT EXISTS): shop_purchase (one
 *    row per idempotency key, UNIQUE), shop_billing_account (phone-bill
 *    accounts: per-phone monthly limit override), shop_billing_charge (the
 *    month's charges), shop_reversal (card reversals waiting for an 0410).
 *    The SMS outbox is notify.h's.
 *  - Idempotency: the key names a purchase.  A retry with the same key and
 *    the same content (phone, product, face, count, method, masked card)
 *    gets the first result again with replay = 1 and changes nothing; other
 *    content gets SHOP_CONFLICT.  Only not_member and bad input are not
 *    recorded (nothing was done: the same key may be used again).
 *  - Phone bill: the month's charges of the phone (months in Korea Standard
 *    Time) plus the purchase must stay within its limit (the phone's
 *    override, else cfg.bill_limit); else SHOP_LIMIT and nothing charged.
 *    The check, the charge and the issue are one transaction.
 *  - Card: STANs come from one counter in the database (shop_stan), shared
 *    by every thread and process that sends for this terminal id and kept
 *    across restarts, so no two requests share DE 11 and DE 7.
 *  - Card: the reversal of the authorization (card number, expiry, amount,
 *    both identities) is committed BEFORE the 0100 is sent, armed but not
 *    due.  An approval completes the purchase and deletes that row in the
 *    same transaction, so the card number is kept no longer than a reversal
 *    may need it.  No answer, a partial approval, or a local transaction
 *    that fails after an approval make the row due and it is sent at once;
 *    shop_flush_reversals repeats it (0401) until a 0410 comes.  An armed
 *    row older than cfg.abandon_s (a crash between the commit and the
 *    answer) is due as well.  No CVV is accepted anywhere.
 *  - Time is the ledger's clock (seconds), so tests move time.
 *  - Logs mask card numbers (gl_mask_pan) and phones (gl_mask_phone).
 *  - Memory: the statements are prepared once by shop_open; a purchase
 *    allocates nothing of its own (the registry and the outbox may).
 */
#ifndef SHOP_H
#define SHOP_H

#include <stdint.h>
#include <stdio.h>

#include "acquirer.h"
#include "gl_log.h"
#include "gl_sql.h"
#include "registry.h"

#define SHOP_COUNT_MAX 10 /* vouchers per purchase */
#define SHOP_KEY_MAX 64   /* characters of an idempotency key */
#define SHOP_REF_MAX 32   /* payment reference */
#define SHOP_ERR_MAX 256
#define SHOP_DEFAULT_BILL_LIMIT 300000 /* KRW a month */

enum shop_method {
    SHOP_PHONE_BILL = 1, /* internal: the carrier's bill */
    SHOP_CARD = 2,       /* external: the acquirer */
};

/* What a purchase came to (the API's "result"; shop_outcome_name). */
enum shop_outcome {
    SHOP_DONE = 0,            /* "done": paid and issued */
    SHOP_NOT_MEMBER,          /* "not_member": offer shop_join; nothing done */
    SHOP_LIMIT,               /* "limit": phone bill's month limit reached */
    SHOP_DECLINED,            /* "declined": acquirer's code in acq_rc */
    SHOP_PAYMENT_TIMEOUT,     /* "payment_timeout": no answer; reversed */
    SHOP_PAYMENT_UNAVAILABLE, /* "payment_unavailable": the acquirer could
                                 not be reached, nothing was sent; the same
                                 key may be tried again */
    SHOP_FAILED,              /* "failed": approved, but the local
                                 transaction failed; the payment is reversed */
    SHOP_CONFLICT,            /* "conflict": key used with other content */
    SHOP_IN_PROGRESS,         /* "in_progress": the key's card payment is
                                 still out (another worker, or a crash
                                 before the answer: see abandon_s) */
};

struct shop_config {
    int64_t bill_limit; /* default monthly phone-bill limit; 0: 300,000 */
    int abandon_s;      /* armed reversal due after this; 0: 300 */
};

/* A purchase request; all pointers borrowed for the call. */
struct shop_request {
    const char *key;     /* idempotency key: 1..SHOP_KEY_MAX printable */
    const char *phone;   /* the buyer: Korean mobile, digits only */
    const char *product; /* product id */
    int64_t face;        /* one of the product's face values */
    int count;           /* 1..SHOP_COUNT_MAX */
    enum shop_method method;
    const char *card_pan;    /* SHOP_CARD: 12..19 digits, Luhn */
    const char *card_expiry; /* SHOP_CARD: YYMM */
};

struct shop_result {
    enum shop_outcome outcome;
    int replay;          /* 1: the first result of this key, nothing done */
    int64_t purchase_id; /* 0 when nothing was recorded */
    int64_t amount;      /* face * count */
    char payment_ref[SHOP_REF_MAX + 1]; /* approval code; "bill:<id>" */
    char acq_rc[3]; /* the acquirer's DE 39 ("" without one) */
    int nvouchers;
    char vouchers[SHOP_COUNT_MAX][VOUCHER_NUM_LEN + 1]; /* the buyer's */
    char err[SHOP_ERR_MAX]; /* why, for failures and refusals */
};

enum {
    SHOP_Q_BY_KEY,
    SHOP_Q_BY_ID,
    SHOP_Q_INSERT,
    SHOP_Q_FINISH,
    SHOP_Q_DELETE,
    SHOP_Q_BILL_LIMIT,
    SHOP_Q_BILL_SET_LIMIT,
    SHOP_Q_BILL_ENSURE,
    SHOP_Q_BILL_SUM,
    SHOP_Q_BILL_CHARGE,
    SHOP_Q_BILL_STATEMENT,
    SHOP_Q_REV_INSERT,
    SHOP_Q_REV_DUE,
    SHOP_Q_REV_NEXT,
    SHOP_Q_REV_ATTEMPT,
    SHOP_Q_REV_DELETE,
    SHOP_Q_LIST,
    SHOP_Q_REFUND_GET,
    SHOP_Q_REFUND_INSERT,
    SHOP_Q_KEEP_INSERT,
    SHOP_Q_KEEP_TO_REVERSAL,
    SHOP_Q_KEEP_DELETE,
    SHOP_Q_KEEP_PURGE,
    SHOP_Q_REV_SET_IDENT,
    SHOP_Q_STAN_NEXT,
    SHOP_Q__COUNT
};

struct shop {
    struct registry *reg;   /* borrowed */
    struct ledger *lg;      /* the registry's */
    struct store *st;       /* the ledger's */
    struct acq_client *acq; /* borrowed; NULL: no card payments */
    struct shop_config cfg;
    struct gl_sql sql; /* on the store's connection; errmsg: ours too */
};

/*
 * Attaches a shop to reg (its store must be SQLite and outside a
 * transaction) and acq (may be NULL); cfg may be NULL.  Creates the tables
 * and the outbox, prepares the statements.  Returns GL_OK; GL_ENOTSUP (not
 * SQLite); GL_DB* (text in shop_errmsg).  On failure the shop is closed.
 */
int shop_open(struct shop *s, struct registry *reg, struct acq_client *acq,
              const struct shop_config *cfg);
/* Finalizes the statements.  Safe on a closed shop. */
void shop_close(struct shop *s);

/*
 * The purchase (see the file comment).  res (caller's) is filled on every
 * path.  Returns GL_OK when the request came to an outcome (any of enum
 * shop_outcome, including the refusals); GL_EINVAL for bad input (count,
 * unknown product, face not offered, phone, key, card data; res->err
 * says which); GL_ENOTSUP (card without an acquirer client); or a storage
 * error (GL_DB*, res->err) when nothing could be decided.
 */
int shop_purchase(struct shop *s, const struct shop_request *req,
                  struct shop_result *res);

/* Adds phone as a member (S60'').  GL_OK, GL_EEXIST, GL_EINVAL, GL_DB*. */
int shop_join(struct shop *s, const char *phone);

/* The phone's monthly phone-bill limit: limit >= 0 sets an override, < 0
 * returns it to the default.  GL_OK, GL_EINVAL, GL_DB*. */
int shop_billing_set_limit(struct shop *s, const char *phone, int64_t limit);
/* The phone's limit and what remains of it in month ("YYYY-MM"; NULL: the
 * current month, KST).  Either out may be NULL. */
int shop_billing_remaining(struct shop *s, const char *phone, const char *month,
                           int64_t *limit, int64_t *remaining);

/*
 * The carrier's statement export: the month's ("YYYY-MM") phone-bill
 * charges per phone, phones in ascending order, as CSV:
 *   month,phone,purchases,vouchers,amount
 *   2026-12,01012345678,2,3,30000
 * (header always; phone numbers whole: the carrier bills them).  Returns
 * GL_OK, GL_EINVAL (month), GL_EIO (write), GL_DB*.
 */
int shop_billing_statement(struct shop *s, const char *month, FILE *csv);

/*
 * Sends every due reversal (0400 first, 0401 after), each once, in order
 * of creation; an answered one (any DE 39) leaves the queue.  *sent and
 * *left (may be NULL) get how many were answered and how many stay.
 * Returns GL_OK (also when some stay: the acquirer did not answer, see
 * acq_reversal_delay_ms for the pace), GL_ENOTSUP (no client), GL_DB*.
 */
int shop_flush_reversals(struct shop *s, int *sent, int *left);

/* Deletes the card data kept for refunds (shop_card_keep) past the refund
 * window and a day.  GL_OK, GL_DB*. */
int shop_purge_card_data(struct shop *s);

/* A purchase of the phone's history (shop_list). */
struct shop_purchase_info {
    int64_t id;
    char key[SHOP_KEY_MAX + 1];
    char product[REGISTRY_ID_MAX + 1];
    int64_t face;
    int count;
    char method[16];        /* "phone_bill", "card" */
    char card[GL_MASK_MAX]; /* masked card number; "" for the phone bill */
    int64_t amount;
    char state[24]; /* "pending", "done", "limit", "declined",
                       "payment_timeout", "failed" */
    char payment_ref[SHOP_REF_MAX + 1];
    char acq_rc[3];
    int64_t created;
    int64_t refunded; /* when it was refunded in full; 0: not */
};
/* Called per purchase; p is valid for the call only; a non-zero return
 * stops the listing and is returned.  Must not call back into the shop. */
typedef int (*shop_list_cb)(void *ctx, const struct shop_purchase_info *p);
/*
 * The phone's purchases, newest first (at most limit of them; limit <= 0:
 * 100).  Returns GL_OK, GL_EINVAL (phone), the callback's value, GL_DB*.
 */
int shop_list(struct shop *s, const char *phone, int limit, shop_list_cb cb,
              void *ctx);

/* Standard terms: a full refund is allowed within SHOP_REFUND_DAYS of the
 * purchase while none of its vouchers was touched. */
#define SHOP_REFUND_DAYS 7
enum shop_refund_verdict {
    SHOP_REFUND_OK = 0,   /* "ok" */
    SHOP_REFUND_NOT_DONE, /* "not_done": the purchase issued nothing */
    SHOP_REFUND_TOO_LATE, /* "too_late" */
    SHOP_REFUND_USED,     /* "used": a voucher was used, gifted away,
                             frozen or cancelled */
    SHOP_REFUND_NO_CARD_DATA, /* "no_card_data": a card purchase whose
                                 authorization is no longer kept (made
                                 before refunds kept it): the call centre
                                 refunds it by hand */
};
/*
 * Checks (changes nothing) whether the purchase of key may be refunded in
 * full now.  *verdict gets the answer.  GL_OK, GL_ENOTFOUND, GL_DB*.
 */
int shop_refund_check(struct shop *s, const char *key, int *verdict);

struct shop_refund_result {
    int verdict;      /* enum shop_refund_verdict */
    int replay;       /* 1: refunded before; nothing done now */
    int64_t purchase_id;
    int64_t amount;   /* refunded (ok) */
    char method[16];  /* "phone_bill", "card" */
    int64_t refunded; /* when (ok) */
    int nvouchers;    /* cancelled (ok) */
    char vouchers[SHOP_COUNT_MAX][VOUCHER_NUM_LEN + 1];
    char err[SHOP_ERR_MAX];
};
/*
 * The full refund of purchase id, asked for by phone (its buyer), in ONE
 * transaction: each voucher's value goes back to the payment's clearing
 * account (transfer "shop-refund:<id>:<i>", kind refund) and the voucher
 * is cancelled; a phone-bill purchase gets a credit on the statement of
 * the refund's month (and its charge stops counting against the month it
 * was charged in); a card purchase's kept authorization becomes a due
 * reversal (0400/0401 by shop_flush_reversals: the acquirer's approval
 * cancellation, docs/acquirer-link.md); the SMS; the refund row.
 * Any verdict but ok changes nothing.  A repeated call of a refunded
 * purchase answers ok with replay = 1.  out is filled on every path.
 * Returns GL_OK (any verdict), GL_EINVAL (phone), GL_ENOTFOUND (no such
 * purchase of this phone), GL_DB* (out->err).
 */
int shop_refund(struct shop *s, int64_t id, const char *phone,
                struct shop_refund_result *out);

const char *shop_outcome_name(enum shop_outcome o);
const char *shop_refund_name(int verdict);
/* "phone_bill", "card"; "" otherwise. */
const char *shop_method_name(enum shop_method m);

/* The last storage error's text ("" if none); borrowed. */
const char *shop_errmsg(const struct shop *s);

#endif /* SHOP_H */
