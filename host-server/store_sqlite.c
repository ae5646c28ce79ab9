/*
 * store_sqlite.c - the SQLite backend of the storage interface (store.h).
 *
 * Contract:
 *  - The connection runs in WAL mode with synchronous=FULL (a commit that
 *    returned is on disk), foreign_keys=ON and a busy timeout, so several
 *    processes may share one database file.
 *  - The schema is built by versioned migrations: PRAGMA user_version holds
 *    the number of the last applied step; each step runs in its own
 *    BEGIN IMMEDIATE transaction together with the version bump, so a crash
 *    leaves either the old or the new version, never a half step.
 *  - Every statement of enum store_q is prepared once at open with
 *    SQLITE_PREPARE_PERSISTENT and kept until close.
 *  - SQLite result codes become gl_err codes in sq_err(), through the
 *    project's one translation (gl_sql_rc in gl_sql.h).
 *  - Transfers are immutable: triggers refuse UPDATE and DELETE on them.
 */
#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "store.h"

/* ---- schema ---------------------------------------------------------- */

static const char *const sq_migrations[] = {
    /* 1: the ledger */
    "CREATE TABLE account ("
    "  id INTEGER PRIMARY KEY,"
    "  kind INTEGER NOT NULL,"
    "  ref TEXT NOT NULL,"
    "  flags INTEGER NOT NULL DEFAULT 0,"
    "  balance INTEGER NOT NULL DEFAULT 0,"
    "  held INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  UNIQUE (kind, ref));"
    "CREATE TABLE transfer ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  debit INTEGER NOT NULL REFERENCES account(id),"
    "  credit INTEGER NOT NULL REFERENCES account(id),"
    "  requested INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL CHECK (amount >= 0),"
    "  kind INTEGER NOT NULL,"
    "  flags INTEGER NOT NULL,"
    "  pending_id TEXT,"
    "  timeout INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  debit_after INTEGER NOT NULL,"
    "  credit_after INTEGER NOT NULL);"
    "CREATE INDEX transfer_debit ON transfer(debit);"
    "CREATE INDEX transfer_credit ON transfer(credit);"
    "CREATE TRIGGER transfer_no_update BEFORE UPDATE ON transfer"
    "  BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;"
    "CREATE TRIGGER transfer_no_delete BEFORE DELETE ON transfer"
    "  BEGIN SELECT RAISE(ABORT, 'transfers are immutable'); END;"
    "CREATE TABLE hold ("
    "  transfer_id TEXT PRIMARY KEY REFERENCES transfer(id),"
    "  debit INTEGER NOT NULL REFERENCES account(id),"
    "  credit INTEGER NOT NULL REFERENCES account(id),"
    "  amount INTEGER NOT NULL,"
    "  timeout INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  closed_by TEXT);"
    "CREATE INDEX hold_open ON hold(state, timeout);",

    /* 2: the registry */
    "CREATE TABLE merchant_group ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE merchant ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  account_id INTEGER NOT NULL REFERENCES account(id),"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE merchant_group_member ("
    "  group_id INTEGER NOT NULL REFERENCES merchant_group(id),"
    "  merchant_id TEXT NOT NULL REFERENCES merchant(id),"
    "  PRIMARY KEY (group_id, merchant_id));"
    "CREATE INDEX mgm_merchant ON merchant_group_member(merchant_id);"
    "CREATE TABLE store ("
    "  id INTEGER PRIMARY KEY,"
    "  merchant_id TEXT NOT NULL REFERENCES merchant(id),"
    "  code TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  UNIQUE (merchant_id, code));"
    "CREATE TABLE terminal ("
    "  id TEXT PRIMARY KEY,"
    "  merchant_id TEXT NOT NULL REFERENCES merchant(id),"
    "  store_id INTEGER REFERENCES store(id),"
    "  cert_cn TEXT,"
    "  key_id TEXT,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  batch_no INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE product ("
    "  id TEXT PRIMARY KEY,"
    "  issuer TEXT NOT NULL,"
    "  brand TEXT NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  prefix TEXT NOT NULL,"
    "  validity_days INTEGER NOT NULL,"
    "  partial_ok INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE product_face ("
    "  product_id TEXT NOT NULL REFERENCES product(id),"
    "  amount INTEGER NOT NULL,"
    "  PRIMARY KEY (product_id, amount));"
    "CREATE TABLE product_group ("
    "  product_id TEXT NOT NULL REFERENCES product(id),"
    "  group_id INTEGER NOT NULL REFERENCES merchant_group(id),"
    "  PRIMARY KEY (product_id, group_id));"
    "CREATE TABLE member ("
    "  id INTEGER PRIMARY KEY,"
    "  phone TEXT NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE member_card ("
    "  card_no TEXT PRIMARY KEY,"
    "  member_id INTEGER NOT NULL REFERENCES member(id),"
    "  kind INTEGER NOT NULL);"
    "CREATE INDEX member_card_member ON member_card(member_id);"
    "CREATE TABLE voucher ("
    "  id INTEGER PRIMARY KEY,"
    "  number TEXT NOT NULL UNIQUE,"
    "  product_id TEXT NOT NULL REFERENCES product(id),"
    "  face INTEGER NOT NULL,"
    "  account_id INTEGER NOT NULL UNIQUE REFERENCES account(id),"
    "  member_id INTEGER REFERENCES member(id),"
    "  pin_hash BLOB,"
    "  pin_tries INTEGER NOT NULL DEFAULT 0,"
    "  status INTEGER NOT NULL DEFAULT 0,"
    "  issued INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL);"
    "CREATE INDEX voucher_member ON voucher(member_id, expires);",
};

#define SQ_NMIGRATIONS ((int)(sizeof sq_migrations / sizeof sq_migrations[0]))

/* ---- statements ------------------------------------------------------ */

#define SQ_TRANSFER_COLS                                                      \
    "seq, id, debit, credit, requested, amount, kind, flags,"                 \
    " COALESCE(pending_id, ''), timeout, created, debit_after, credit_after"

#define SQ_MERCHANT_SELECT                                                    \
    "SELECT m.id, m.name, m.status, m.account_id,"                            \
    " COALESCE((SELECT group_concat(name, ',') FROM (SELECT g.name"           \
    "   FROM merchant_group_member gm JOIN merchant_group g"                  \
    "   ON g.id = gm.group_id WHERE gm.merchant_id = m.id ORDER BY g.name)),"  \
    " '') FROM merchant m "

#define SQ_TERMINAL_SELECT                                                    \
    "SELECT t.id, t.merchant_id, COALESCE(s.code, ''),"                       \
    " COALESCE(t.cert_cn, ''), COALESCE(t.key_id, ''), t.status, t.batch_no"  \
    " FROM terminal t LEFT JOIN store s ON s.id = t.store_id "

#define SQ_PRODUCT_SELECT                                                     \
    "SELECT id, issuer, brand, type, prefix, validity_days, partial_ok"       \
    " FROM product "

#define SQ_VOUCHER_SELECT                                                     \
    "SELECT v.id, v.number, v.product_id, v.face, v.account_id,"              \
    " COALESCE(m.phone, ''), v.pin_hash, v.pin_tries, v.status, v.issued,"    \
    " v.expires, a.balance, a.held"                                           \
    " FROM voucher v JOIN account a ON a.id = v.account_id"                   \
    " LEFT JOIN member m ON m.id = v.member_id "

static const char *const sq_sql[STORE_Q__COUNT] = {
    [STORE_Q_BEGIN] = "BEGIN IMMEDIATE",
    [STORE_Q_COMMIT] = "COMMIT",
    [STORE_Q_ROLLBACK] = "ROLLBACK",
    [STORE_Q_SAVEPOINT] = "SAVEPOINT op",
    [STORE_Q_RELEASE] = "RELEASE op",
    [STORE_Q_ROLLBACK_TO] = "ROLLBACK TO op",

    [STORE_Q_ACCOUNT_INSERT] =
        "INSERT INTO account (kind, ref, flags, created)"
        " VALUES (?1, ?2, ?3, ?4) RETURNING id",
    [STORE_Q_ACCOUNT_BY_REF] =
        "SELECT id FROM account WHERE kind = ?1 AND ref = ?2",
    [STORE_Q_ACCOUNT_GET] =
        "SELECT id, kind, ref, flags, balance, held, created"
        " FROM account WHERE id = ?1",
    [STORE_Q_ACCOUNT_ADD_BALANCE] =
        "UPDATE account SET balance = balance + ?2 WHERE id = ?1",
    [STORE_Q_ACCOUNT_ADD_HELD] =
        "UPDATE account SET held = held + ?2 WHERE id = ?1",

    [STORE_Q_TRANSFER_INSERT] =
        "INSERT INTO transfer (id, debit, credit, requested, amount, kind,"
        " flags, pending_id, timeout, created, debit_after, credit_after)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " RETURNING seq",
    [STORE_Q_TRANSFER_BY_ID] =
        "SELECT " SQ_TRANSFER_COLS " FROM transfer WHERE id = ?1",
    [STORE_Q_TRANSFER_HISTORY] =
        "SELECT " SQ_TRANSFER_COLS " FROM transfer"
        " WHERE debit = ?1 OR credit = ?1 ORDER BY seq",
    [STORE_Q_TRANSFER_OVERDRAFTS] =
        "SELECT " SQ_TRANSFER_COLS " FROM transfer"
        " WHERE (flags & ?1) != 0 ORDER BY seq",

    [STORE_Q_HOLD_INSERT] =
        "INSERT INTO hold (transfer_id, debit, credit, amount, timeout)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [STORE_Q_HOLD_BY_ID] =
        "SELECT transfer_id, debit, credit, amount, timeout, state,"
        " COALESCE(closed_by, '') FROM hold WHERE transfer_id = ?1",
    [STORE_Q_HOLD_CLOSE] =
        "UPDATE hold SET state = ?2, closed_by = ?3"
        " WHERE transfer_id = ?1 AND state = 0",
    [STORE_Q_HOLD_EXPIRED] =
        "SELECT transfer_id FROM hold WHERE state = 0 AND timeout <= ?1"
        " ORDER BY timeout, transfer_id LIMIT ?2",

    [STORE_Q_CHECK_SUM] =
        "SELECT COALESCE(SUM(balance), 0), COUNT(*) FROM account",
    [STORE_Q_CHECK_BALANCES] =
        "SELECT a.id, a.kind, a.ref, a.balance,"
        " COALESCE(c.s, 0) - COALESCE(d.s, 0) AS computed"
        " FROM account a"
        " LEFT JOIN (SELECT credit AS acc, SUM(amount) AS s FROM transfer"
        "   WHERE (flags & ?1) = 0 GROUP BY credit) c ON c.acc = a.id"
        " LEFT JOIN (SELECT debit AS acc, SUM(amount) AS s FROM transfer"
        "   WHERE (flags & ?1) = 0 GROUP BY debit) d ON d.acc = a.id"
        " WHERE a.balance != COALESCE(c.s, 0) - COALESCE(d.s, 0)"
        " ORDER BY a.id",
    [STORE_Q_CHECK_HELD] =
        "SELECT a.id, a.kind, a.ref, a.held, COALESCE(h.s, 0)"
        " FROM account a"
        " LEFT JOIN (SELECT debit AS acc, SUM(amount) AS s FROM hold"
        "   WHERE state = 0 GROUP BY debit) h ON h.acc = a.id"
        " WHERE a.held != COALESCE(h.s, 0) ORDER BY a.id",
    [STORE_Q_CHECK_HOLD_ORPHANS] =
        "SELECT h.transfer_id, h.debit, h.credit, t.id IS NULL,"
        " da.id IS NULL, ca.id IS NULL, h.amount"
        " FROM hold h LEFT JOIN transfer t ON t.id = h.transfer_id"
        " LEFT JOIN account da ON da.id = h.debit"
        " LEFT JOIN account ca ON ca.id = h.credit"
        " WHERE t.id IS NULL OR da.id IS NULL OR ca.id IS NULL"
        " ORDER BY h.transfer_id",
    [STORE_Q_CHECK_HOLD_EXPIRED] =
        "SELECT transfer_id, debit, amount, timeout FROM hold"
        " WHERE state = 0 AND timeout <= ?1 ORDER BY transfer_id",
    [STORE_Q_CHECK_NEGATIVE] =
        "SELECT a.id, a.kind, a.ref, a.balance, a.held FROM account a"
        " WHERE (a.flags & ?1) != 0 AND a.balance - a.held < 0"
        " AND NOT EXISTS (SELECT 1 FROM transfer t"
        "   WHERE t.debit = a.id AND (t.flags & ?2) != 0)"
        " ORDER BY a.id",
    [STORE_Q_CHECK_TRANSFER_ORPHANS] =
        "SELECT t.id, t.debit, t.credit, t.amount FROM transfer t"
        " WHERE NOT EXISTS (SELECT 1 FROM account a WHERE a.id = t.debit)"
        " OR NOT EXISTS (SELECT 1 FROM account a WHERE a.id = t.credit)"
        " ORDER BY t.seq",

    [STORE_Q_GROUP_ENSURE] =
        "INSERT INTO merchant_group (name) VALUES (?1)"
        " ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
    [STORE_Q_MERCHANT_INSERT] =
        "INSERT INTO merchant (id, name, account_id, created)"
        " VALUES (?1, ?2, ?3, ?4)",
    [STORE_Q_MERCHANT_GROUP_ADD] =
        "INSERT INTO merchant_group_member (group_id, merchant_id)"
        " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [STORE_Q_MERCHANT_GET] = SQ_MERCHANT_SELECT "WHERE m.id = ?1",
    [STORE_Q_MERCHANT_LIST] = SQ_MERCHANT_SELECT "ORDER BY m.id",
    [STORE_Q_STORE_INSERT] =
        "INSERT INTO store (merchant_id, code, name) VALUES (?1, ?2, ?3)"
        " RETURNING id",
    [STORE_Q_STORE_GET] =
        "SELECT id, merchant_id, code, name FROM store"
        " WHERE merchant_id = ?1 AND code = ?2",
    [STORE_Q_STORE_LIST] =
        "SELECT id, merchant_id, code, name FROM store"
        " WHERE ?1 IS NULL OR merchant_id = ?1 ORDER BY merchant_id, code",
    [STORE_Q_TERMINAL_INSERT] =
        "INSERT INTO terminal (id, merchant_id, store_id, cert_cn, key_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
    [STORE_Q_TERMINAL_GET] = SQ_TERMINAL_SELECT "WHERE t.id = ?1",
    [STORE_Q_TERMINAL_LIST] = SQ_TERMINAL_SELECT "ORDER BY t.id",
    [STORE_Q_TERMINAL_SET_STATUS] =
        "UPDATE terminal SET status = ?2 WHERE id = ?1",
    [STORE_Q_TERMINAL_SET_BATCH] =
        "UPDATE terminal SET batch_no = ?2 WHERE id = ?1",

    [STORE_Q_PRODUCT_INSERT] =
        "INSERT INTO product (id, issuer, brand, type, prefix, validity_days,"
        " partial_ok, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [STORE_Q_PRODUCT_FACE_ADD] =
        "INSERT INTO product_face (product_id, amount) VALUES (?1, ?2)"
        " ON CONFLICT DO NOTHING",
    [STORE_Q_PRODUCT_GROUP_ADD] =
        "INSERT INTO product_group (product_id, group_id) VALUES (?1, ?2)"
        " ON CONFLICT DO NOTHING",
    [STORE_Q_PRODUCT_GET] = SQ_PRODUCT_SELECT "WHERE id = ?1",
    [STORE_Q_PRODUCT_FACE_HAS] =
        "SELECT 1 FROM product_face WHERE product_id = ?1 AND amount = ?2",
    [STORE_Q_PRODUCT_LIST] = SQ_PRODUCT_SELECT "ORDER BY id",
    [STORE_Q_PRODUCT_FACES] =
        "SELECT amount FROM product_face WHERE product_id = ?1"
        " ORDER BY amount",
    [STORE_Q_PRODUCT_GROUPS] =
        "SELECT g.name FROM product_group pg JOIN merchant_group g"
        " ON g.id = pg.group_id WHERE pg.product_id = ?1 ORDER BY g.name",
    [STORE_Q_PRODUCT_ACCEPTED] =
        "SELECT 1 FROM product_group pg JOIN merchant_group_member gm"
        " ON gm.group_id = pg.group_id"
        " WHERE pg.product_id = ?1 AND gm.merchant_id = ?2 LIMIT 1",

    [STORE_Q_MEMBER_INSERT] =
        "INSERT INTO member (phone, created) VALUES (?1, ?2) RETURNING id",
    [STORE_Q_MEMBER_BY_PHONE] = "SELECT id FROM member WHERE phone = ?1",
    [STORE_Q_MEMBER_BY_CARD] =
        "SELECT member_id FROM member_card WHERE card_no = ?1",
    [STORE_Q_MEMBER_CARD_ADD] =
        "INSERT INTO member_card (card_no, member_id, kind)"
        " VALUES (?1, ?2, ?3)",
    [STORE_Q_MEMBER_LIST] =
        "SELECT m.id, m.phone, (SELECT COUNT(*) FROM member_card c"
        " WHERE c.member_id = m.id), (SELECT COUNT(*) FROM voucher v"
        " WHERE v.member_id = m.id) FROM member m ORDER BY m.id",

    [STORE_Q_VOUCHER_INSERT] =
        "INSERT INTO voucher (number, product_id, face, account_id,"
        " member_id, pin_hash, issued, expires)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
    [STORE_Q_VOUCHER_BY_NUMBER] = SQ_VOUCHER_SELECT "WHERE v.number = ?1",
    [STORE_Q_VOUCHER_SET_STATUS] =
        "UPDATE voucher SET status = ?2 WHERE id = ?1",
    [STORE_Q_VOUCHER_SET_TRIES] =
        "UPDATE voucher SET pin_tries = ?2 WHERE id = ?1",
    [STORE_Q_VOUCHER_SET_EXPIRES] =
        "UPDATE voucher SET expires = ?2 WHERE id = ?1",
    [STORE_Q_VOUCHER_FOR_MEMBER] =
        SQ_VOUCHER_SELECT
        "WHERE v.member_id = ?1 AND v.status = 0 AND v.expires > ?3"
        " AND a.balance - a.held > 0"
        " AND EXISTS (SELECT 1 FROM product_group pg"
        "   JOIN merchant_group_member gm ON gm.group_id = pg.group_id"
        "   WHERE pg.product_id = v.product_id AND gm.merchant_id = ?2)"
        " ORDER BY v.expires, v.id",
    [STORE_Q_VOUCHER_LIST] =
        SQ_VOUCHER_SELECT "WHERE (?1 IS NULL OR m.phone = ?1) ORDER BY v.id",
};

/* ---- errors ---------------------------------------------------------- */

/* SQLite's code -> gl_err (gl_sql_rc), keeping SQLite's text.  Out of
 * memory is the store's own GL_ENOMEM. */
static int sq_err(struct store *st, int rc)
{
    sqlite3 *db = st->db;
    if (db != NULL) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(db));
    } else {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errstr(rc));
    }
    return (rc & 0xff) == SQLITE_NOMEM ? GL_ENOMEM : gl_sql_rc(rc);
}

/* ---- open / migrate / close ------------------------------------------ */

static int sq_pragma_text(struct store *st, const char *sql, char *out,
                          size_t cap)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    out[0] = '\0';
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(s, 0);
            snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? GL_OK : sq_err(st, rc);
}

static int sq_migrate(struct store *st)
{
    char buf[32], sql[64];
    int rc = GL_OK, in_txn = 0;

    for (;;) {
        int src = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = sq_err(st, src);
            goto out;
        }
        in_txn = 1;
        rc = sq_pragma_text(st, "PRAGMA user_version", buf, sizeof buf);
        if (rc != GL_OK) {
            goto out;
        }
        int version = atoi(buf);
        if (version > SQ_NMIGRATIONS) {
            snprintf(st->errmsg, sizeof st->errmsg,
                     "schema version %d is newer than this build's %d",
                     version, SQ_NMIGRATIONS);
            rc = GL_DB;
            goto out;
        }
        if (version == SQ_NMIGRATIONS) {
            break;
        }
        src = sqlite3_exec(st->db, sq_migrations[version], NULL, NULL, NULL);
        if (src == SQLITE_OK) {
            snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
            src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
        }
        if (src == SQLITE_OK) {
            src = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
        }
        if (src != SQLITE_OK) {
            rc = sq_err(st, src);
            goto out;
        }
        in_txn = 0;
    }
out:
    if (in_txn && !sqlite3_get_autocommit(st->db)) {
        if (rc == GL_OK) {
            int src = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
            if (src != SQLITE_OK) {
                rc = sq_err(st, src);
            }
        }
        if (rc != GL_OK) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    return rc;
}

static void sq_close(struct store *st)
{
    for (int i = 0; i < STORE_Q__COUNT; i++) {
        sqlite3_finalize(st->stmts[i]);
        st->stmts[i] = NULL;
    }
    if (st->db != NULL) {
        sqlite3_close(st->db);
        st->db = NULL;
    }
}

static int sq_open(struct store *st, const char *path)
{
    sqlite3 *db = NULL;
    char mode[16];
    int rc;
    int src = sqlite3_open_v2(path, &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                  SQLITE_OPEN_NOMUTEX,
                              NULL);
    st->db = db;
    if (src != SQLITE_OK) {
        rc = sq_err(st, src);
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, st->cfg.busy_timeout_ms);
    rc = sq_pragma_text(st, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    if (rc != GL_OK) {
        goto out;
    }
    if (strcmp(mode, "wal") != 0) {
        snprintf(st->errmsg, sizeof st->errmsg,
                 "cannot switch to WAL (journal_mode is %s)", mode);
        rc = GL_DB;
        goto out;
    }
    src = sqlite3_exec(db,
                       "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                       " PRAGMA cache_size = -16384;",
                       NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = sq_err(st, src);
        goto out;
    }
    rc = sq_migrate(st);
    if (rc != GL_OK) {
        goto out;
    }
    for (int i = 0; i < STORE_Q__COUNT; i++) {
        sqlite3_stmt *s = NULL;
        assert(sq_sql[i] != NULL);
        src = sqlite3_prepare_v3(db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                 &s, NULL);
        if (src != SQLITE_OK) {
            rc = sq_err(st, src);
            goto out;
        }
        st->stmts[i] = s;
    }
out:
    if (rc != GL_OK) {
        char keep[sizeof st->errmsg];
        memcpy(keep, st->errmsg, sizeof keep);
        sq_close(st);
        memcpy(st->errmsg, keep, sizeof keep);
    }
    return rc;
}

/* ---- statements ------------------------------------------------------ */

static int sq_exec_sql(struct store *st, const char *sql)
{
    int src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? GL_OK : sq_err(st, src);
}

static int sq_query(struct store *st, enum store_q q, const struct store_val *a,
                    size_t n, struct store_cursor *cur)
{
    sqlite3_stmt *s = st->stmts[q];
    int src;
    cur->st = st;
    cur->stmt = NULL;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    src = gl_sql_bind(s, a, n);
    if (src != SQLITE_OK) {
        int rc = sq_err(st, src);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return rc;
    }
    cur->stmt = s;
    return GL_OK;
}

static int sq_next(struct store_cursor *cur)
{
    int src = sqlite3_step(cur->stmt);
    if (src == SQLITE_ROW) {
        return 1;
    }
    if (src == SQLITE_DONE) {
        return 0;
    }
    return sq_err(cur->st, src);
}

static int64_t sq_col_int(struct store_cursor *cur, int col)
{
    return sqlite3_column_int64(cur->stmt, col);
}

static const char *sq_col_text(struct store_cursor *cur, int col)
{
    const unsigned char *t = sqlite3_column_text(cur->stmt, col);
    return t != NULL ? (const char *)t : "";
}

static const void *sq_col_blob(struct store_cursor *cur, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(cur->stmt, col);
    *len = (size_t)sqlite3_column_bytes(cur->stmt, col);
    return p;
}

static int sq_col_is_null(struct store_cursor *cur, int col)
{
    return sqlite3_column_type(cur->stmt, col) == SQLITE_NULL;
}

static void sq_done(struct store_cursor *cur)
{
    sqlite3_reset(cur->stmt);
    sqlite3_clear_bindings(cur->stmt);
}

static int64_t sq_changes(struct store *st)
{
    return sqlite3_changes64(st->db);
}

static int sq_in_txn(struct store *st)
{
    return st->db != NULL && !sqlite3_get_autocommit(st->db);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .exec_sql = sq_exec_sql,
    .query = sq_query,
    .next = sq_next,
    .col_int = sq_col_int,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .col_is_null = sq_col_is_null,
    .done = sq_done,
    .changes = sq_changes,
    .in_txn = sq_in_txn,
};

int store_schema_version(void)
{
    return SQ_NMIGRATIONS;
}
