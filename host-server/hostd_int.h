/*
 * hostd_int.h - internals shared by the files of gl-hostd: the worker (one
 * per event loop: its database handle, ledger, registry, keys and rate
 * limits), the per-connection session, the request processor and the
 * host's own tables.
 *
 * Contract:
 *  - A worker belongs to one thread.  hostd_proc_request runs inside the
 *    worker's group commit (hostd_batch_begin .. hostd_batch_commit); each
 *    request is bracketed by hostd_req_begin / hostd_req_end, a SAVEPOINT,
 *    so a request that fails half-way (a storage error) leaves nothing.
 *  - The host's own tables (hostd_db.c: request identities and their
 *    stored answers, reversals that came before their original, phone
 *    counters, batch uploads) live in the ledger's SQLite database and are
 *    written in the same transaction as the transfers, so an answer is
 *    stored exactly when its effect is.  They are reached through the SQLite
 *    connection of the store (the SQLite backend is required); moving them
 *    behind enum store_q is the path to the PostgreSQL backend.
 */
#ifndef HOSTD_INT_H
#define HOSTD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_mac_msg.h"
#include "hostd.h"
#include "iso8583.h"
#include "ledger.h"
#include "net.h"
#include "registry.h"
#include "store.h"

/* Statements of the host's own tables (hostd_db.c). */
enum hostd_q {
    HDB_TXN_GET,
    HDB_TXN_PUT,
    HDB_TXN_SET_STATE,
    HDB_TXN_ADD_REFUNDED,
    HDB_TXN_TOTALS,
    HDB_EARLY_GET,
    HDB_EARLY_PUT,
    HDB_ATC_GET,
    HDB_ATC_PUT,
    HDB_UPLOAD_PUT,
    HDB_UPLOAD_TOTALS,
    HDB_SAVEPOINT,
    HDB_RELEASE,
    HDB_ROLLBACK_TO,
    HDB_TXN_PURGE,
    HDB_TXN_AFTER,
    HDB_EARLY_PURGE,
    HDB__COUNT
};

/* What a request did, kept with its identity. */
enum hostd_op {
    HOP_NONE = 0,
    HOP_BALANCE = 1,
    HOP_HOLD = 2,
    HOP_REDEEM = 3,
    HOP_REFUND = 4,
    HOP_VOID = 5,
    HOP_ACTIVATE = 6,
    HOP_RELOAD = 7,
    HOP_CASHOUT = 8,
    HOP_COMPLETION = 9,
    HOP_OFFLINE = 10,
    HOP_REVERSAL = 11,
    HOP_RECONCILE = 12,
    HOP_UPLOAD = 13,
};

/* Reconciliation class (docs/host-interface.md 11.8). */
enum hostd_bcls {
    HBC_NONE = 0,
    HBC_DEBIT = 1,
    HBC_CREDIT = 2,
    HBC_DEBIT_REV = 3,  /* a void of a debit */
    HBC_CREDIT_REV = 4, /* a void of a credit */
};

enum hostd_state {
    HST_NORMAL = 0,
    HST_REVERSED = 1,
    HST_VOIDED = 2,
};

#define HOSTD_PIECES_MAX 20  /* vouchers one request may draw */
#define HOSTD_PIECES_TEXT 2048

/* One stored request (table hostd_txn). */
struct hostd_txn {
    char tid[REGISTRY_TID_MAX + 1];
    char stan[7];
    char de7[11];
    char mti[5];
    char digest[65];
    char proc[7];
    char pan[20];
    int64_t req_amount;
    int64_t amount; /* approved (moved or held) */
    char rc[3];
    int op;
    /* transfers: "xferid debit credit amount;..." (hold: one piece) */
    char pieces[HOSTD_PIECES_TEXT];
    int state;
    int64_t refunded;
    int64_t batch;
    int bcls;
    char target[24]; /* a void's original: "stan de7" */
    uint8_t resp[ISO_FRAME_MAX];
    size_t resp_len;
    int64_t created;
};

/* Sliding-window decline counter for one key (a terminal, a number). */
struct hostd_rl_entry {
    char key[24];
    int64_t start;      /* window start */
    int64_t count;      /* 14s in the window */
    int64_t cool_until; /* answering 05 until then */
};

#define HOSTD_RL_SLOTS 4096

struct hostd_rl {
    struct hostd_rl_entry slot[HOSTD_RL_SLOTS];
};

/* One terminal connection's session state. */
struct hostd_sess {
    char tid[NET_CN_MAX];
    int signed_on;
    struct registry_terminal term;
    int64_t merchant_acct;
};

/* Request identities and their answers are kept this long (the spec's
 * "at least 35 days"), then swept a window at a time: every
 * HOSTD_PURGE_EVERY stored answers, the rows of one window of
 * HOSTD_PURGE_WINDOW rowids older than that, except those of a batch still
 * open, are deleted in the same transaction. */
#define HOSTD_ANSWER_DAYS 35
#define HOSTD_PURGE_EVERY 256
#define HOSTD_PURGE_WINDOW 512

struct hostd_worker {
    const struct hostd_config *cfg;
    int id;
    struct store st;
    struct ledger lg;
    struct registry reg;
    int store_open, ledger_ready, reg_ready;
    struct crypto_bdk bdk;
    uint8_t imk[16];
    int have_imk;
    struct gl_sql sql; /* hostd_db.c's statements, on st's connection */
    struct hostd_rl *rl_term, *rl_voucher;
    int64_t cashout_acct, cash_acct;
    int64_t last_expire;
    uint64_t seq; /* host-assigned retrieval references */
    /* the sweep of answers past HOSTD_ANSWER_DAYS (hostd_db_txn_put) */
    uint64_t puts;
    int64_t purge_from; /* rowid: the sweep's window starts after it */
    /* scratch of hostd_proc_request, allocated once per worker: the
     * request's context and the one earlier request an operation reads
     * (an original, a repeat's first answer) */
    void *pctx_buf;
    struct hostd_txn *orig_buf;
};

/* What the loop does with a request after processing. */
enum hostd_action {
    HOSTD_ANSWER = 0, /* send resp (the loop MACs it) */
    HOSTD_SILENT = 1, /* send nothing */
    HOSTD_CLOSE = 2,  /* close the connection after pending answers */
};

/* Opens the database, ledger, registry, keys and the host's tables.
 * Returns GL_OK or an error with the reason in err[256]; call
 * hostd_worker_deinit in every case. */
int hostd_worker_init(struct hostd_worker *w, const struct hostd_config *cfg,
                      int id, char *err);
void hostd_worker_deinit(struct hostd_worker *w);

/* The scratch memory of hostd_proc_request (hostd_worker_init calls it). */
int hostd_proc_scratch_init(struct hostd_worker *w);
void hostd_proc_scratch_free(struct hostd_worker *w);

/* Group commit around one round of requests. */
int hostd_batch_begin(struct hostd_worker *w);
int hostd_batch_commit(struct hostd_worker *w);
void hostd_batch_rollback(struct hostd_worker *w);
/* Releases expired holds (at most once a second), inside a batch. */
void hostd_expire_holds(struct hostd_worker *w);

/*
 * Processes one decoded request whose MAC verified and whose DE 41 is the
 * connection's CN.  resp (caller's) receives the answer without MAC, its
 * DE 48 starting with the request's KS.  Returns an enum hostd_action.
 */
int hostd_proc_request(struct hostd_worker *w, struct hostd_sess *s,
                       const struct iso_msg *req, struct iso_msg *resp);

/* Builds a bare answer with DE 39 = code (30 to a message that could not be
 * unpacked whole, 96 after a failed commit): the response MTI, DE 7, 11, 41
 * and DE 48 KS + RS of req.  GL_OK, or GL_ENOTFOUND when req lacks the
 * MTI, DE 11, DE 41 or KS (then nothing can be answered). */
int hostd_error_answer(const struct iso_msg *req, const char *code,
                       struct iso_msg *resp);

/* The response MTI of a request MTI ("0200" -> "0210", "0401" -> "0410"). */
void hostd_resp_mti(const char *mti, char out[5]);

/* ---- the host's tables (hostd_db.c) ------------------------------------ */

int hostd_db_init(struct hostd_worker *w, char *err);
void hostd_db_deinit(struct hostd_worker *w);
/* GL_OK with t filled, GL_ENOTFOUND, or a storage error. */
int hostd_db_txn_get(struct hostd_worker *w, const char *tid,
                     const char *stan, const char *de7, struct hostd_txn *t);
int hostd_db_txn_put(struct hostd_worker *w, const struct hostd_txn *t);
int hostd_db_txn_set_state(struct hostd_worker *w, const char *tid,
                           const char *stan, const char *de7, int state);
int hostd_db_txn_add_refunded(struct hostd_worker *w, const char *tid,
                              const char *stan, const char *de7,
                              int64_t amount);
/* Counts and sums per class of a terminal's batch: cnt[5], sum[5] indexed
 * by enum hostd_bcls. */
int hostd_db_totals(struct hostd_worker *w, int q, const char *tid,
                    int64_t batch, int64_t cnt[5], int64_t sum[5]);
/* 1 when a reversal of (tid, stan, de7) came first, 0 when not, <0. */
int hostd_db_early_get(struct hostd_worker *w, const char *tid,
                       const char *stan, const char *de7);
int hostd_db_early_put(struct hostd_worker *w, const char *tid,
                       const char *stan, const char *de7, int64_t now);
/* The highest ATC accepted for number (0 when none), or <0. */
int64_t hostd_db_atc_get(struct hostd_worker *w, const char *number);
int hostd_db_atc_put(struct hostd_worker *w, const char *number, int64_t atc);
int hostd_db_upload_put(struct hostd_worker *w, const char *tid,
                        int64_t batch, const char *stan, const char *de7,
                        int bcls, int64_t amount);
int hostd_db_savepoint(struct hostd_worker *w, int q);
/* The path of the database's write-ahead log into out[cap]: GL_OK, or
 * GL_ENOTFOUND (no WAL, or cap too small). */
int hostd_db_wal_path(struct hostd_worker *w, char *out, size_t cap);

#endif /* HOSTD_INT_H */
