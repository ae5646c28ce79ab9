/*
 * store.h - the storage interface of gl-hostd (ledger and registry).
 *
 * Contract:
 *  - A store is a handle (struct store) plus a static const ops table chosen
 *    by the backend: SQLite (store_sqlite.c) is the embedded default; a
 *    PostgreSQL backend supplies the same ops later.  Callers see only this
 *    header.
 *  - Every statement the host runs is named by enum store_q.  The backend
 *    owns the SQL text of each (dialects differ) and prepares all of them when
 *    the handle opens; they live as long as the handle, so no request compiles
 *    SQL.  The backend also owns the schema and its versioned migrations.
 *  - Backend result codes are translated once, in the backend, into gl_err
 *    codes: GL_DB, GL_DB_FULL, GL_DB_BUSY, GL_DB_CORRUPT, and GL_EEXIST for a
 *    unique-key violation.  The backend's own text of the last error is kept
 *    in the handle (store_errmsg) for diagnostics.
 *  - Transactions: store_op_begin/store_op_end bracket one operation.  With
 *    no transaction open they run BEGIN IMMEDIATE ... COMMIT (or ROLLBACK);
 *    inside a transaction opened with store_txn_begin they run SAVEPOINT ...
 *    RELEASE (or ROLLBACK TO + RELEASE), so one failing operation of a group
 *    commit undoes only itself.  If the backend had to abandon the whole
 *    transaction (a full disk may force that), store_op_end reports
 *    GL_LEDGER_ABORTED and store_txn_commit refuses: the caller applies the
 *    group again.
 *  - A handle is used by one thread at a time.  Several processes may open
 *    the same database: writers are serialised by the backend (SQLite: WAL,
 *    BEGIN IMMEDIATE and a busy timeout).
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gl_sql.h"

/* Every statement of the host.  Append only; the backends index by it. */
enum store_q {
    /* transactions */
    STORE_Q_BEGIN,
    STORE_Q_COMMIT,
    STORE_Q_ROLLBACK,
    STORE_Q_SAVEPOINT,
    STORE_Q_RELEASE,
    STORE_Q_ROLLBACK_TO,
    /* ledger: accounts */
    STORE_Q_ACCOUNT_INSERT,
    STORE_Q_ACCOUNT_BY_REF,
    STORE_Q_ACCOUNT_GET,
    STORE_Q_ACCOUNT_ADD_BALANCE,
    STORE_Q_ACCOUNT_ADD_HELD,
    /* ledger: transfers */
    STORE_Q_TRANSFER_INSERT,
    STORE_Q_TRANSFER_BY_ID,
    STORE_Q_TRANSFER_HISTORY,
    STORE_Q_TRANSFER_OVERDRAFTS,
    /* ledger: holds */
    STORE_Q_HOLD_INSERT,
    STORE_Q_HOLD_BY_ID,
    STORE_Q_HOLD_CLOSE,
    STORE_Q_HOLD_EXPIRED,
    /* ledger: check */
    STORE_Q_CHECK_SUM,
    STORE_Q_CHECK_BALANCES,
    STORE_Q_CHECK_HELD,
    STORE_Q_CHECK_HOLD_ORPHANS,
    STORE_Q_CHECK_HOLD_EXPIRED,
    STORE_Q_CHECK_NEGATIVE,
    STORE_Q_CHECK_TRANSFER_ORPHANS,
    /* registry: merchants, groups, stores, terminals */
    STORE_Q_GROUP_ENSURE,
    STORE_Q_MERCHANT_INSERT,
    STORE_Q_MERCHANT_GROUP_ADD,
    STORE_Q_MERCHANT_GET,
    STORE_Q_MERCHANT_LIST,
    STORE_Q_STORE_INSERT,
    STORE_Q_STORE_GET,
    STORE_Q_STORE_LIST,
    STORE_Q_TERMINAL_INSERT,
    STORE_Q_TERMINAL_GET,
    STORE_Q_TERMINAL_LIST,
    STORE_Q_TERMINAL_SET_STATUS,
    STORE_Q_TERMINAL_SET_BATCH,
    /* registry: products */
    STORE_Q_PRODUCT_INSERT,
    STORE_Q_PRODUCT_FACE_ADD,
    STORE_Q_PRODUCT_GROUP_ADD,
    STORE_Q_PRODUCT_GET,
    STORE_Q_PRODUCT_FACE_HAS,
    STORE_Q_PRODUCT_LIST,
    STORE_Q_PRODUCT_FACES,
    STORE_Q_PRODUCT_GROUPS,
    STORE_Q_PRODUCT_ACCEPTED,
    /* registry: members */
    STORE_Q_MEMBER_INSERT,
    STORE_Q_MEMBER_BY_PHONE,
    STORE_Q_MEMBER_BY_CARD,
    STORE_Q_MEMBER_CARD_ADD,
    STORE_Q_MEMBER_LIST,
    /* registry: vouchers */
    STORE_Q_VOUCHER_INSERT,
    STORE_Q_VOUCHER_BY_NUMBER,
    STORE_Q_VOUCHER_SET_STATUS,
    STORE_Q_VOUCHER_SET_TRIES,
    STORE_Q_VOUCHER_SET_EXPIRES,
    STORE_Q_VOUCHER_FOR_MEMBER,
    STORE_Q_VOUCHER_LIST,
    STORE_Q__COUNT
};

/* Arguments are arrays of struct store_val (gl_sql.h): STORE_I, STORE_T,
 * STORE_B, STORE_N, STORE_ARGS. */

struct store;

/* A running query: rows are read with store_next and store_col_*.  Holds the
 * statement until store_done (always call it, also after an error). */
struct store_cursor {
    struct store *st;
    void *stmt; /* backend's */
};

struct store_ops {
    const char *name;
    int (*open)(struct store *st, const char *path);
    void (*close)(struct store *st);
    int (*exec_sql)(struct store *st, const char *sql);
    int (*query)(struct store *st, enum store_q q, const struct store_val *a,
                 size_t n, struct store_cursor *cur);
    int (*next)(struct store_cursor *cur);
    int64_t (*col_int)(struct store_cursor *cur, int col);
    const char *(*col_text)(struct store_cursor *cur, int col);
    const void *(*col_blob)(struct store_cursor *cur, int col, size_t *len);
    int (*col_is_null)(struct store_cursor *cur, int col);
    void (*done)(struct store_cursor *cur);
    int64_t (*changes)(struct store *st);
    int (*in_txn)(struct store *st);
};

/* Configuration of a handle (const while it is open). */
struct store_config {
    int busy_timeout_ms; /* 0: 5000 */
};

struct store {
    const struct store_ops *ops;
    struct store_config cfg;
    void *db;                   /* backend's connection */
    void *stmts[STORE_Q__COUNT]; /* backend's prepared statements */
    int txn_depth;  /* 1 while store_txn_begin's transaction is open */
    int txn_dead;   /* the backend abandoned that transaction */
    char errmsg[256];
};

/* The SQLite backend. */
extern const struct store_ops store_sqlite_ops;

/*
 * Opens the database at path with the given backend (NULL: SQLite) and
 * config (NULL: defaults), creating it and migrating its schema to the
 * current version.  st is the caller's memory.  Returns GL_OK or a GL_DB*
 * code (st is then closed; store_close is still safe).
 */
int store_open(struct store *st, const struct store_ops *ops,
               const struct store_config *cfg, const char *path);
/* Releases the statements and the connection.  Safe on a closed handle. */
void store_close(struct store *st);

/* The schema version this build migrates to. */
int store_schema_version(void);

/* Runs trusted SQL text (administration and tests; never request data). */
int store_exec_sql(struct store *st, const char *sql);

/* Runs statement q with arguments; rows through store_next.  Returns GL_OK
 * or an error (the cursor is then already done). */
int store_query(struct store *st, enum store_q q, const struct store_val *a,
                size_t n, struct store_cursor *cur);
/* 1: a row is ready; 0: no more rows; <0: error. */
int store_next(struct store_cursor *cur);
int64_t store_col_int(struct store_cursor *cur, int col);
/* Borrowed until the next store_next/store_done; "" for NULL. */
const char *store_col_text(struct store_cursor *cur, int col);
const void *store_col_blob(struct store_cursor *cur, int col, size_t *len);
int store_col_is_null(struct store_cursor *cur, int col);
void store_done(struct store_cursor *cur);

/* Runs q to completion (no rows expected).  changes (may be NULL) gets the
 * number of rows written. */
int store_exec(struct store *st, enum store_q q, const struct store_val *a,
               size_t n, int64_t *changes);
/* Runs q and reads column 0 of its first row into *out.  GL_ENOTFOUND when
 * there is no row. */
int store_get_int(struct store *st, enum store_q q, const struct store_val *a,
                  size_t n, int64_t *out);

/* Group commit: opens one write transaction (BEGIN IMMEDIATE). */
int store_txn_begin(struct store *st);
/* Commits it.  GL_LEDGER_ABORTED if an operation inside made the backend
 * abandon it; on any failure the transaction is rolled back. */
int store_txn_commit(struct store *st);
/* Rolls it back (safe when none is open). */
void store_txn_rollback(struct store *st);
/* 1 while a transaction of store_txn_begin is open. */
int store_txn_active(const struct store *st);

/* One operation: see the file comment.  store_op_end takes the operation's
 * result rc: GL_OK releases/commits, anything else undoes.  Returns rc, or
 * the commit's error, or GL_LEDGER_ABORTED (see above). */
int store_op_begin(struct store *st);
int store_op_end(struct store *st, int rc);

/* The backend's text of the last error ("" if none); borrowed. */
const char *store_errmsg(const struct store *st);

#endif /* STORE_H */
