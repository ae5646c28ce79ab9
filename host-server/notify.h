/*
 * notify.h - the notification outbox and its SMS sender.
 *
 * Contract:
 *  - The outbox is a table of the host's SQLite database.  A flow that
 *    changes something a customer must hear about (a voucher bought, gifted,
 *    used) writes its outbox row with notify_enqueue INSIDE its own
 *    transaction: the row exists exactly when the change does, so no result
 *    is lost, and a caller retrying its request with the same idempotency
 *    key adds nothing.
 *  - The sender (notify_sender_*) takes due rows one at a time, submits them
 *    over SMPP (smpp_client.h) and records each accepted part with the
 *    SMSC's message id; failures are retried with exponential back-off
 *    (cfg base, doubling, capped) until max_attempts, then the row is failed.
 *    A delivery receipt, found by the SMSC's message id, makes a row
 *    delivered (all its parts DELIVRD) or failed (UNDELIV, EXPIRED, ...).
 *  - Row states: queued -> sending -> sent -> delivered, or -> failed;
 *    sending -> queued again on a retry.  A row left in sending by a crash
 *    is taken again when its lease (cfg lease_s) runs out.
 *  - Delivery is at least once: a part the SMSC accepted (its id recorded)
 *    is never sent again, but a submit that got no answer (timeout, lost
 *    link) is sent again, and the SMSC may then hold it twice.
 *  - Times are seconds given by the caller (the injectable clock; the host
 *    passes wall-clock seconds).  Phone numbers are stored in full (they are
 *    needed to send) and logged only through gl_mask_phone.
 *  - Errors are gl_err codes; SQLite's are GL_DB, GL_DB_BUSY, GL_DB_FULL,
 *    GL_DB_CORRUPT, with SQLite's text in the handle's errmsg (or, for the
 *    functions that take a bare sqlite3 *, in sqlite3_errmsg(db)).
 *  - MMS rows (kind 'mms', notify_enqueue_mms) share the outbox, its
 *    states, idempotency and back-off; their subject, barcode number and
 *    add-on paths live in the side table outbox_mms.  The sender sends them
 *    through mms.h when its config names an MMSC, else they wait queued.
 *  - A handle (outbox or sender) is used by one thread at a time.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <iconv.h>
#include <sqlite3.h>
#include <stdint.h>

#include "gl_sql.h"
#include "mms.h"
#include "smpp_client.h"

/* Korean mobile number: 01X and 7 or 8 more digits. */
#define NOTIFY_PHONE_MAX 16
/* Longest text in UCS-2 characters (SMPP_MAX_PARTS parts of 67). */
#define NOTIFY_TEXT_CHARS (SMPP_MAX_PARTS * (SMPP_PART_OCTETS / 2))
/* Room for that text in UTF-8 (3 octets a BMP character) plus NUL. */
#define NOTIFY_TEXT_MAX (NOTIFY_TEXT_CHARS * 3 + 1)
#define NOTIFY_KEY_MAX 128

enum notify_state {
    NOTIFY_QUEUED,
    NOTIFY_SENDING,
    NOTIFY_SENT,
    NOTIFY_DELIVERED,
    NOTIFY_FAILED,
};

/* Retry policy (configuration).  Zeros take the defaults. */
struct notify_retry {
    int base_s;       /* first back-off; 0: 5 */
    int cap_s;        /* longest back-off; 0: 600 */
    int max_attempts; /* failed after this many; 0: 8 */
    int lease_s;      /* a sending row is taken again after; 0: 300 */
};

/* A row as the sender takes it (caller's memory). */
struct notify_msg {
    int64_t id;
    char phone[NOTIFY_PHONE_MAX];
    char text[NOTIFY_TEXT_MAX];
    int attempts;        /* failed attempts so far */
    uint32_t done_parts; /* bit p-1 set: part p already accepted */
};

/* An MMS row as the sender takes it (caller's memory). */
struct notify_mms {
    int64_t id;
    int attempts;
    char phone[NOTIFY_PHONE_MAX];
    char key[NOTIFY_KEY_MAX];
    char subject[MMS_SUBJECT_MAX];
    char text[NOTIFY_TEXT_MAX];
    char barcode[MMS_BARCODE_MAX]; /* "" : none */
    char addons[MMS_ADDONS_MAX][MMS_PATH_MAX];
    int naddons;
};

/* A whole row, for inspection (tests, glctl). */
struct notify_row {
    int64_t id, created, next_at;
    char kind[4];
    char phone[NOTIFY_PHONE_MAX];
    char text[NOTIFY_TEXT_MAX];
    char key[NOTIFY_KEY_MAX];
    enum notify_state state;
    int attempts, parts;
    char smsc_id[SMPP_MSGID_MAX]; /* first part's, "" before */
    char last_error[256];
};

/*
 * Creates or migrates the outbox tables (outbox, outbox_part; version kept
 * in notify_schema, independent of the store's user_version).  Each step
 * runs in its own BEGIN IMMEDIATE transaction, so db must not be inside a
 * transaction (GL_EINVAL).  Returns GL_OK or a GL_DB* code.
 */
int notify_outbox_init(sqlite3 *db);

/* GL_OK if phone is a Korean mobile number written as digits only
 * (010 + 8 digits; 011, 016..019 + 7 or 8), else GL_SMS_PHONE. */
int notify_phone_check(const char *phone);

/* GL_OK if text is non-empty well-formed UTF-8 of characters UCS-2 can
 * carry (U+0000..U+FFFF, no surrogates), at most NOTIFY_TEXT_CHARS of them;
 * else GL_SMS_TEXT. */
int notify_text_check(const char *text);

/*
 * Adds an SMS to the outbox, due now.  Runs INSIDE the caller's
 * transaction: it neither begins nor commits, so the row commits or rolls
 * back with the caller's change (outside a transaction it commits alone).
 * key (1..NOTIFY_KEY_MAX-1 characters) is the caller's idempotency key: a
 * second enqueue with the same key, phone and text does nothing and returns
 * GL_OK; with other phone or text GL_SMS_CONFLICT.  Other returns:
 * GL_EINVAL (key), GL_SMS_PHONE, GL_SMS_TEXT, GL_DB*.  Compiles its
 * statement per call (the host may allocate; the sender's hot path does
 * not).  notify_enqueue uses the wall clock, notify_enqueue_at the given
 * time in seconds.
 */
int notify_enqueue(sqlite3 *db, const char *key, const char *phone,
                   const char *text);
int notify_enqueue_at(sqlite3 *db, const char *key, const char *phone,
                      const char *text, int64_t now);

/*
 * Adds an MMS to the outbox, due now; the same transaction rules and
 * idempotency as notify_enqueue (the same key with every field equal:
 * GL_OK, nothing added; else GL_SMS_CONFLICT).  subject (may be ""),
 * barcode (the voucher number drawn as Code 128; NULL: none) and addons
 * (naddons file paths, read by the sender when it sends: give absolute
 * paths that stay) are checked by mms_check: GL_MMS_CONTENT.  text as for
 * SMS (notify_text_check): GL_SMS_TEXT; phone: GL_SMS_PHONE.  The outbox
 * row's text is the MMS text.
 */
int notify_enqueue_mms(sqlite3 *db, const char *key, const char *phone,
                       const char *subject, const char *text,
                       const char *barcode, const char *const *addons,
                       int naddons);
int notify_enqueue_mms_at(sqlite3 *db, const char *key, const char *phone,
                          const char *subject, const char *text,
                          const char *barcode, const char *const *addons,
                          int naddons, int64_t now);

/* Back-off after the attempts-th failure: base * 2^(attempts-1), capped. */
int64_t notify_backoff(const struct notify_retry *r, int attempts);

const char *notify_state_name(enum notify_state s);

/* ---- the outbox handle: prepared statements for the sender ------------ */

enum {
    NOTIFY_Q_TAKE,
    NOTIFY_Q_PARTS,
    NOTIFY_Q_PART_INSERT,
    NOTIFY_Q_PART_DONE,
    NOTIFY_Q_RETRY,
    NOTIFY_Q_FAIL,
    NOTIFY_Q_RELEASE,
    NOTIFY_Q_NOTE_DUE,
    NOTIFY_Q_RECEIPT,
    NOTIFY_Q_DELIVERED,
    NOTIFY_Q_UNDELIVERED,
    NOTIFY_Q_GET,
    NOTIFY_Q_GET_BY_KEY,
    NOTIFY_Q_TAKE_MMS,
    NOTIFY_Q_MMS_PARTS,
    NOTIFY_Q__COUNT
};

struct notify_outbox {
    struct gl_sql sql; /* on the borrowed connection; errmsg: SQLite's */
    struct notify_retry retry;
};

/* Runs notify_outbox_init, then prepares the statements (once; kept until
 * close).  retry may be NULL (defaults).  db is borrowed and must outlive
 * the handle.  On failure the handle is closed. */
int notify_outbox_open(struct notify_outbox *ob, sqlite3 *db,
                       const struct notify_retry *retry);
/* Finalizes the statements.  Safe on a closed handle. */
void notify_outbox_close(struct notify_outbox *ob);

/* Claims the most overdue row due at now (queued, or sending with its
 * lease run out) into m and marks it sending.  GL_ENOTFOUND if none. */
int notify_outbox_take(struct notify_outbox *ob, int64_t now,
                       struct notify_msg *m);
/* Claims the most overdue MMS row due at now into m, as
 * notify_outbox_take does for SMS (which takes only SMS rows).  An MMS row
 * whose outbox_mms row is missing is failed and the next one taken.
 * GL_ENOTFOUND if none. */
int notify_outbox_take_mms(struct notify_outbox *ob, int64_t now,
                           struct notify_mms *m);
/* Records that part (1-based) of total was accepted as smsc_id; with the
 * last part the row becomes sent. */
int notify_outbox_part_sent(struct notify_outbox *ob, int64_t id, int part,
                            int total, const char *smsc_id, int64_t now);
/* A failed attempt of m (as taken): back to queued after the back-off, or
 * failed after max_attempts.  why is kept as last_error. */
int notify_outbox_retry(struct notify_outbox *ob, const struct notify_msg *m,
                        const char *why, int64_t now);
/* A permanent failure: the row becomes failed. */
int notify_outbox_fail(struct notify_outbox *ob, int64_t id, const char *why,
                       int64_t now);
/* Back to queued, due at now, no attempt counted (nothing was sent). */
int notify_outbox_release(struct notify_outbox *ob, int64_t id, const char *why,
                          int64_t now);
/* Records why on every row due at now that waits in queued (the SMSC
 * cannot be reached: the rows stay queued). */
int notify_outbox_note_due(struct notify_outbox *ob, const char *why,
                           int64_t now);
/* Applies a delivery receipt: stat DELIVRD on all parts -> delivered;
 * UNDELIV, EXPIRED, DELETED, REJECTD, UNKNOWN -> failed; others (ENROUTE,
 * ACCEPTD) only noted.  GL_ENOTFOUND for an unknown smsc_id. */
int notify_outbox_receipt(struct notify_outbox *ob, const char *smsc_id,
                          const char *stat, const char *err, int64_t now);
/* Reads a row by id or by idempotency key.  GL_ENOTFOUND if none. */
int notify_outbox_get(struct notify_outbox *ob, int64_t id,
                      struct notify_row *row);
int notify_outbox_get_by_key(struct notify_outbox *ob, const char *key,
                             struct notify_row *row);

/* ---- the SMS sender ---------------------------------------------------- */

struct notify_sender_config {
    struct smpp_client_config smpp; /* on_receipt/ctx are set by the sender */
    struct notify_retry retry;
    int batch; /* most rows one notify_send_due call sends; 0: 32 */
    struct mms_config mms; /* url NULL: MMS rows wait queued */
};

struct notify_sender {
    struct notify_outbox ob;
    struct smpp_client smpp;
    iconv_t utf8_to_ucs2; /* opened once */
    int batch;
    int connect_failures;
    int64_t next_connect_at; /* no reconnect before (seconds) */
    int64_t now;             /* the current call's time, for receipts */
    struct notify_msg cur;   /* the row being sent */
    int mms_on;              /* cfg.mms.url was given */
    struct mms_client mms;
    struct notify_mms cur_mms;
    char errmsg[512];
};

/* Opens the outbox (notify_outbox_open) and the converter; connects
 * nothing yet.  db is borrowed.  On failure everything is released. */
int notify_sender_init(struct notify_sender *s, sqlite3 *db,
                       const struct notify_sender_config *cfg);

/*
 * Sends what is due at now, bounded: at most cfg.batch rows of each kind.
 * MMS rows (when an MMSC is configured) go first, one HTTP POST each, at
 * most the MMS timeout_ms each; a throttled, temporarily failed or
 * unanswered POST puts its row back with back-off and ends the MMS pass
 * (the SMS pass still runs); a rejection or a content error fails the row.
 * An MMS error is returned only when the SMS pass returned GL_OK.  SMS: each submit
 * waiting at most the client's resp_timeout_ms, a (re)connect at most
 * connect_timeout_ms + resp_timeout_ms.  Connects and binds when needed;
 * while the SMSC cannot be reached or refuses the bind, the due rows stay
 * queued with the reason as their last_error and reconnects back off like
 * retries (GL_EAGAIN while waiting).  A throttled, temporarily failed or
 * unanswered submit puts its row back with back-off and ends the call; a
 * permanent rejection fails the row and the call goes on.  *sent (may be
 * NULL) gets the number of rows that became sent.  Returns GL_OK, GL_EAGAIN,
 * or the error that ended the call (its text in notify_sender_errmsg).
 */
int notify_send_due(struct notify_sender *s, int64_t now, int *sent);

/* Serves the link for up to timeout_ms while idle: receipts applied to the
 * outbox at time now, enquire_link kept.  GL_OK, or GL_ECLOSED and the like
 * when the link is gone (the next notify_send_due reconnects). */
int notify_sender_poll(struct notify_sender *s, int64_t now, int timeout_ms);

/* Unbinds, closes the link and the outbox. */
void notify_sender_deinit(struct notify_sender *s);

const char *notify_sender_errmsg(const struct notify_sender *s);

#endif /* NOTIFY_H */
