/*
 * online.h - vouchers used in merchants' web and mobile shops (issue 7): API
 * credentials, authorize / capture / void with idempotency keys on the same
 * ledger and holds as the terminals, and the standard terms of Korean mobile
 * vouchers (cash-out of the remainder, expiry notices, extension).  A
 * library; gl-webd calls it.
 *
 * Contract:
 *  - A handle over the registry's SQLite store (the online tables live in
 *    the same database, on the same connection, and take part in its
 *    transactions).  Everything it points to is borrowed and must outlive
 *    it.  One thread at a time.
 *  - Tables (created by online_open, CREATE IF NOT EXISTS): online_key (API
 *    keys: public id, merchant, HMAC of the secret), online_auth (one row
 *    per authorization: merchant, voucher, hold, amounts, state),
 *    online_request (one row per (merchant, idempotency key): the request's
 *    fingerprint and its first answer), online_extension (one row per
 *    extended voucher).
 *  - The checks are the terminal host's (docs/host-interface.md 4 and 6,
 *    hostd_proc.c): the voucher is found and its PIN checked by
 *    registry_voucher_authorize (PIN tries counted and locked out there);
 *    an unknown number, a cancelled voucher, a wrong, missing or locked PIN
 *    all answer ONLINE_INVALID with nothing else told (no balance); then
 *    frozen, expired, not accepted in the merchant's groups, not activated
 *    (a till card never funded), insufficient funds.
 *  - Authorize places a hold (LEDGER_F_PENDING, kind REDEEM) from the
 *    voucher to the merchant's payable account that expires after
 *    cfg.hold_timeout (the host's default, 2 hours).  When the product
 *    allows partial use and the voucher holds less than asked, the hold is
 *    what is available (ONLINE_PARTIAL, like DE 39 10); the shop collects
 *    the rest another way.  (The terminal's 0100 holds are never partial;
 *    online, a split tender is ordinary, so the product's rule decides.)
 *  - Capture posts at most the held amount, once; the rest of the hold is
 *    released.  Void releases an open hold; a captured authorization is
 *    refunded in full (merchant payable -> voucher, kind REFUND) when the
 *    void comes within cfg.void_window (the host's, 24 hours) of the
 *    capture, else ONLINE_NOT_ALLOWED.  Partial refunds are not offered.
 *  - Idempotency: a key is the merchant's (two merchants may use the same
 *    key).  The first answer of a key, approvals and refusals alike, is
 *    kept; a retry with the same operation and content (voucher number,
 *    amount, authorization id; the PIN is not part of it and never stored)
 *    gets it again with replay = 1 and nothing is done; other content gets
 *    ONLINE_CONFLICT.  Bad input (GL_EINVAL) and storage errors are not
 *    recorded.  Ledger transfer ids come from the authorization id
 *    ("online:h:", ":c:", ":v:", ":r:" + id), so the ledger refuses a second
 *    capture or release even if the table were wrong.
 *  - An authorization id is the merchant's: another merchant's id answers
 *    ONLINE_NOT_FOUND, exactly like an unknown one.
 *  - Every action is one database transaction (ledger_batch_begin/commit):
 *    the registry's PIN count, the ledger transfer, the online rows.  An
 *    answer is returned only after its commit.
 *  - Time is the ledger's clock (seconds), so tests move time.
 *  - Logs mask voucher numbers and never hold a PIN or an API key.
 *  - Memory: the statements are prepared by online_open; the actions
 *    allocate nothing of their own.
 */
#ifndef ONLINE_H
#define ONLINE_H

#include <stdint.h>

#include "gl_log.h"
#include "gl_sql.h"
#include "registry.h"

#define ONLINE_IDEM_MAX 64    /* characters of an idempotency key */
#define ONLINE_AUTH_ID_LEN 35 /* "au_" + 32 hex digits */
#define ONLINE_KEY_ID_LEN 16  /* public part of an API key: hex digits */
/* "glk_" + key id + "_" + 64 hex digits of secret */
#define ONLINE_KEY_LEN (4 + ONLINE_KEY_ID_LEN + 1 + 64)
#define ONLINE_ERR_MAX 256
#define ONLINE_AMOUNT_MAX 100000000000LL /* KRW; above: bad input */

#define ONLINE_DEFAULT_HOLD_TIMEOUT (120 * 60) /* hostd's hold_timeout */
#define ONLINE_DEFAULT_VOID_WINDOW (24 * 3600) /* hostd's void_window */
#define ONLINE_EXTEND_MAX_DAYS 90 /* per extension; one per voucher */

/* What an action came to (online_outcome_name; online_outcome_code gives
 * the DE 39 a terminal would get). */
enum online_outcome {
    ONLINE_APPROVED = 0,  /* "approved" (00) */
    ONLINE_PARTIAL,       /* "partial": held less than asked (10) */
    ONLINE_INVALID,       /* "invalid_number_or_pin" (14) */
    ONLINE_FROZEN,        /* "frozen" (62) */
    ONLINE_EXPIRED,       /* "expired": the voucher's validity ended (54) */
    ONLINE_NOT_ACCEPTED,  /* "not_accepted" at this merchant (58) */
    ONLINE_NOT_ACTIVATED, /* "not_activated": a till card not sold (78) */
    ONLINE_INSUFFICIENT,  /* "insufficient_funds" (51) */
    ONLINE_NOT_FOUND,     /* "not_found": no such authorization of this
                             merchant (25) */
    ONLINE_HOLD_EXPIRED,  /* "hold_expired": its timeout passed, the hold
                             is (or will be) released (25) */
    ONLINE_AMOUNT,        /* "invalid_amount": capture above the hold (13) */
    ONLINE_NOT_ALLOWED,   /* "not_allowed": already captured, voided or
                             refunded, or a refund past the window (12) */
    ONLINE_CONFLICT,      /* "conflict": key used with other content (94) */
};

struct online_config {
    int64_t hold_timeout; /* seconds; 0: ONLINE_DEFAULT_HOLD_TIMEOUT */
    int64_t void_window;  /* seconds; 0: ONLINE_DEFAULT_VOID_WINDOW */
    /* Key of the HMAC that stores API key secrets (a deployment secret, so
     * a copy of the database alone cannot test guesses); NULL: a fixed
     * label (the secrets are 256-bit random, so a plain hash is safe). */
    const uint8_t *key_pepper;
    size_t key_pepper_len;
};

/* The answer to authorize, capture and void; the caller's memory, filled on
 * every path. */
struct online_result {
    enum online_outcome outcome;
    int replay;                           /* 1: the key's first answer */
    char auth_id[ONLINE_AUTH_ID_LEN + 1]; /* "" when none */
    int64_t amount;   /* authorize: held; capture: moved to the merchant;
                         void: released or refunded; 0 for refusals */
    int64_t released; /* capture: the rest of the hold given back */
    int64_t balance;  /* the voucher's, after; 0 unless approved (or
                         insufficient_funds, after its PIN was verified) */
    int64_t available;
    int64_t hold_expires;     /* authorize: when the hold lapses */
    char err[ONLINE_ERR_MAX]; /* why, for refusals and failures */
};

/* An authorization as it stands. */
enum online_auth_state {
    ONLINE_A_HELD = 0, /* "held" */
    ONLINE_A_CAPTURED, /* "captured" */
    ONLINE_A_VOIDED,   /* "voided": released */
    ONLINE_A_REFUNDED, /* "refunded": captured, then voided */
    ONLINE_A_EXPIRED,  /* "expired": the hold lapsed */
};

struct online_auth {
    char auth_id[ONLINE_AUTH_ID_LEN + 1];
    char merchant[REGISTRY_ID_MAX + 1];
    char voucher_masked[GL_MASK_MAX]; /* gl_mask_pan */
    int state;                        /* enum online_auth_state */
    int64_t requested, held, captured, refunded;
    int64_t hold_expires, created, updated;
};

enum {
    ONLINE_Q_KEY_INSERT,
    ONLINE_Q_KEY_GET,
    ONLINE_Q_KEY_REVOKE,
    ONLINE_Q_REQ_GET,
    ONLINE_Q_REQ_INSERT,
    ONLINE_Q_AUTH_INSERT,
    ONLINE_Q_AUTH_GET,
    ONLINE_Q_AUTH_SET,
    ONLINE_Q_EXT_GET,
    ONLINE_Q_EXT_INSERT,
    ONLINE_Q_PAYOUT_LAST,
    ONLINE_Q_PAYOUT_INSERT,
    ONLINE_Q_NOTICE_INSERT,
    ONLINE_Q_PAYOUT_DUE,
    ONLINE_Q_PAYOUT_MARK,
    ONLINE_Q__COUNT
};

struct online {
    struct registry *reg; /* borrowed */
    struct ledger *lg;    /* the registry's */
    struct store *st;     /* the ledger's */
    struct online_config cfg;
    uint8_t pepper[64];
    size_t pepper_len;
    struct gl_sql sql; /* on the store's connection; errmsg: ours too */
};

/*
 * Attaches to reg (its store must be SQLite and outside a transaction);
 * cfg may be NULL (copied; the pepper too).  Creates the tables and
 * prepares the statements.  Returns GL_OK, GL_EINVAL (pepper longer than 64
 * bytes, negative times), GL_ENOTSUP (not SQLite), GL_DB* (online_errmsg).
 * On failure the handle is closed.
 */
int online_open(struct online *o, struct registry *reg,
                const struct online_config *cfg);
/* Finalizes the statements and wipes the pepper.  Safe on a closed one. */
void online_close(struct online *o);

/* ---- API credentials ---------------------------------------------------- */

/*
 * Creates an API key for the registered merchant: key_out (caller's,
 * ONLINE_KEY_LEN + 1 bytes) gets "glk_<id>_<secret>", shown this once;
 * only the id and an HMAC of the secret are stored.  The caller wipes it
 * after handing it over.  Returns GL_OK, GL_EINVAL, GL_ENOTFOUND (no such
 * merchant), GL_CRYPTO (no random bytes), GL_DB*.
 */
int online_key_add(struct online *o, const char *merchant,
                   char key_out[ONLINE_KEY_LEN + 1]);
/*
 * The merchant of an API key: merchant (caller's, REGISTRY_ID_MAX + 1) is
 * set on GL_OK.  GL_ENOTFOUND alike for a malformed, unknown, revoked or
 * wrong key (the secret is compared in constant time); GL_DB*.
 */
int online_key_check(struct online *o, const char *key,
                     char merchant[REGISTRY_ID_MAX + 1]);
/* Revokes the key whose public id is key_id (the 16 hex digits after
 * "glk_").  GL_OK, GL_ENOTFOUND, GL_DB*. */
int online_key_revoke(struct online *o, const char *key_id);

/* ---- authorize / capture / void ----------------------------------------- */

/*
 * A hold of amount on the voucher for merchant (see the file comment).
 * pin: NULL or "" when none was entered, else 4..12 digits.  res gets the
 * outcome; on ONLINE_APPROVED / ONLINE_PARTIAL its auth_id, amount (held),
 * balance and available (after the hold) and hold_expires.  Returns GL_OK
 * when an outcome was reached (refusals included); GL_EINVAL for bad input
 * (merchant, key, a number that is not 16 digits, PIN format, amount
 * outside 1..ONLINE_AMOUNT_MAX; res->err says which), GL_ENOTFOUND (no such
 * merchant), or a storage error (nothing done; res->err).
 */
int online_authorize(struct online *o, const char *merchant,
                     const char *idem_key, const char *voucher, const char *pin,
                     int64_t amount, struct online_result *res);
/*
 * (auth_id may point into res: it is copied first.)
 * Posts amount (1..held) of the merchant's authorization auth_id; the rest
 * of the hold is released.  res->amount gets what moved, res->released the
 * rest.  Returns as online_authorize.
 */
int online_capture(struct online *o, const char *merchant, const char *idem_key,
                   const char *auth_id, int64_t amount,
                   struct online_result *res);
/*
 * Releases the merchant's authorization auth_id, or refunds it when it was
 * captured within cfg.void_window.  res->amount gets what was released or
 * refunded.  Returns as online_authorize.
 */
int online_void(struct online *o, const char *merchant, const char *idem_key,
                const char *auth_id, struct online_result *res);
/* The merchant's authorization as it stands (a held one past its timeout
 * reads expired).  GL_OK, GL_ENOTFOUND (unknown or another merchant's),
 * GL_EINVAL, GL_DB*. */
int online_auth_get(struct online *o, const char *merchant, const char *auth_id,
                    struct online_auth *out);

/* ---- standard terms ---------------------------------------------------- */

/* Cash-out of the remainder (docs/host-interface.md 4, 616000; the same
 * comparison as hostd_proc.c's op_cashout): at least 60 % of the face value
 * used, 80 % for a face value of 10,000 KRW or less. */
enum online_cashout_verdict {
    ONLINE_CASHOUT_OK = 0,          /* "ok": available may be paid out */
    ONLINE_CASHOUT_TOO_LITTLE_USED, /* "too_little_used" */
    ONLINE_CASHOUT_NOTHING_LEFT,    /* "nothing_left": available <= 0 */
    ONLINE_CASHOUT_NOT_USABLE,      /* "not_usable": frozen, cancelled or
                                       expired */
};

struct online_cashout {
    int verdict;           /* enum online_cashout_verdict */
    int used_pct_required; /* 60 or 80 */
    int64_t face, balance, available;
    int64_t used;     /* face - balance */
    int64_t min_used; /* the least used amount that allows it */
    int64_t payout;   /* available when ok, else 0 */
};

/*
 * Checks (changes nothing) whether the voucher's remainder may be cashed
 * out now.  No PIN: the caller has authenticated the customer.  out
 * (caller's) is filled on GL_OK.  GL_OK, GL_EINVAL, GL_ENOTFOUND, GL_DB*.
 */
int online_cashout_allowed(struct online *o, const char *voucher,
                           struct online_cashout *out);

/* The payout of a cash-out to the customer's bank account. */
#define ONLINE_BANK_LEN 3         /* Korean bank code: 3 digits */
#define ONLINE_ACCOUNT_MIN 10     /* account number digits */
#define ONLINE_ACCOUNT_MAX 16
struct online_payout {
    struct online_cashout check; /* the rule's figures, as checked */
    int replay;                  /* 1: paid out before, nothing done now */
    int64_t payout_id;           /* ok: the payout row */
    int64_t amount;              /* ok: paid out */
    int64_t created;
    char bank[ONLINE_BANK_LEN + 1];
    char account_masked[GL_MASK_MAX]; /* all but the last 4 digits hidden */
};
/*
 * The cash-out itself (the standard terms; online_cashout_allowed's rule):
 * for the voucher's owner phone, in ONE transaction, the available value
 * moves to the cash-out account (transfer "payout:<id>", kind cashout), a
 * payout row (bank, account number, amount, state "due") is written for
 * the operators' bank transfer file (glctl payout export), and the SMS is
 * queued.  A voucher paid out before with nothing left since answers the
 * same payout again with replay = 1.  Any verdict but ok changes nothing.
 * out (caller's) is filled on GL_OK.  Returns GL_OK (any verdict),
 * GL_EINVAL (number, bank code, account number, phone), GL_ENOTFOUND (no
 * such voucher of this phone), GL_DB*.
 */
int online_cashout(struct online *o, const char *voucher, const char *phone,
                   const char *bank, const char *account,
                   struct online_payout *out);

/*
 * The operators' bank transfer file: every due payout, oldest first, as
 * CSV (header "payout_id,created,bank,account,amount,phone"; account
 * numbers whole: the bank needs them) into path, which must not exist; the
 * file is synced, then the rows are marked exported in one transaction (a
 * failed commit removes the file: nothing is paid twice).  *count (may be
 * NULL) gets the rows.  GL_OK, GL_EEXIST (path exists), GL_EIO, GL_DB*.
 */
int online_payout_export(struct online *o, const char *path, int *count);

/*
 * The expiry notices: for every voucher online_expiring finds within days
 * of now that has an owner phone, one SMS per voucher and expiry date
 * (table online_notice: an extension's new date gets its own notice, a
 * second run adds nothing), each in the same transaction as its row.
 * *queued (may be NULL) gets how many were queued now.  GL_OK, GL_EINVAL,
 * GL_ENOMEM, GL_DB*.
 */
int online_notify_expiring(struct online *o, int64_t now, int days,
                           int *queued);

/* Called per voucher listed; v is valid for the call only; a non-zero
 * return stops the listing and is returned.  The callback must not write
 * to the store (the listing's cursor is open). */
typedef int (*online_voucher_cb)(void *ctx, const struct registry_voucher *v);
/*
 * Every active voucher with value left (balance > 0) whose validity ends
 * within days of now (now < expires <= now + days * 86400), in issue order:
 * the expiry notices (30 days ahead in the standard terms).  days 1..366.
 * Returns GL_OK, GL_EINVAL, the callback's value, GL_DB*.  (A scan of all
 * vouchers: run it from a daily job.)
 */
int online_expiring(struct online *o, int64_t now, int days,
                    online_voucher_cb cb, void *ctx);

/* Extension of validity: days 1..ONLINE_EXTEND_MAX_DAYS, once per voucher,
 * for an active voucher with value left that has not expired yet; the new
 * expiry is the old one plus days. */
enum online_extend_verdict {
    ONLINE_EXTEND_OK = 0,       /* "ok" */
    ONLINE_EXTEND_ALREADY,      /* "already_extended": dates of the first */
    ONLINE_EXTEND_EXPIRED,      /* "expired": too late */
    ONLINE_EXTEND_NOT_USABLE,   /* "not_usable": frozen or cancelled */
    ONLINE_EXTEND_NOTHING_LEFT, /* "nothing_left": balance 0 */
};

struct online_extension {
    int verdict;                      /* enum online_extend_verdict */
    int64_t old_expires, new_expires; /* ok and already_extended */
};

/* Extends the voucher's validity by days (see above); an owned voucher's
 * owner gets an SMS with the new date, in the same transaction.  out
 * (caller's) is filled on GL_OK.  GL_OK (any verdict), GL_EINVAL (days, number),
 * GL_ENOTFOUND, GL_DB*. */
int online_extend(struct online *o, const char *voucher, int days,
                  struct online_extension *out);

/* ---- names ------------------------------------------------------------- */

const char *online_outcome_name(enum online_outcome oc);
/* The DE 39 a terminal gets for the same case ("00", "10", "14"...). */
const char *online_outcome_code(enum online_outcome oc);
const char *online_auth_state_name(int state);
const char *online_cashout_name(int verdict);
const char *online_extend_name(int verdict);
/* The last storage error's text ("" if none); borrowed. */
const char *online_errmsg(const struct online *o);

#endif /* ONLINE_H */
