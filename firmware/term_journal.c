/*
 * term_journal.c - gl-term's write-ahead journal (term_journal.h).
 *
 * The columns of txn are described once, in COLS below (name, type,
 * offset in struct term_txn); insert, update and read are generated from
 * that table, so a column cannot be forgotten by one of them.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gl_err.h"
#include "gl_sql.h"
#include "term_journal.h"

enum col_type { C_TEXT, C_INT, C_I64, C_I64NULL };

struct col {
    const char *name;
    enum col_type type;
    size_t off;
    size_t size; /* C_TEXT: the array's size */
};

#define T(f) {#f, C_TEXT, offsetof(struct term_txn, f), sizeof(((struct term_txn *)0)->f)}
#define I(f) {#f, C_INT, offsetof(struct term_txn, f), 0}
#define L(f) {#f, C_I64, offsetof(struct term_txn, f), 0}

/* Every column but id, in table order. */
static const struct col COLS[] = {
    I(batch),    T(kind),    T(mti),       T(proc),     T(pan),
    T(expiry),   T(entry),   T(method),    L(amount),   L(approved),
    I(stan),     T(de7),     T(de12),      T(de13),     T(rrn),
    T(cashier),  T(de48x),   L(orig_id),   T(de90),     T(state),
    T(rc),       T(auth),    L(balance),   I(has_balance), T(vd),
    I(offline),  L(voided_by), T(rev_mti), I(rev_stan), T(rev_de7),
    I(rev_sends), T(rev_rc), I(adv_sends), T(adv_rc),   L(next_at),
    T(created),  T(answered),
};
#define NCOLS (sizeof COLS / sizeof COLS[0])

static const char *const MIGRATIONS[] = {
    /* 1 */
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v);"
    "CREATE TABLE txn ("
    " id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, kind TEXT NOT NULL,"
    " mti TEXT NOT NULL, proc TEXT NOT NULL, pan TEXT NOT NULL, expiry TEXT,"
    " entry TEXT NOT NULL, method TEXT NOT NULL, amount INTEGER NOT NULL,"
    " approved INTEGER NOT NULL DEFAULT -1, stan INTEGER NOT NULL,"
    " de7 TEXT NOT NULL, de12 TEXT, de13 TEXT, rrn TEXT NOT NULL,"
    " cashier TEXT NOT NULL, de48x TEXT, orig_id INTEGER NOT NULL DEFAULT 0,"
    " de90 TEXT, state TEXT NOT NULL CHECK (state IN ('pending','done',"
    "  'reverse','reversed','advice','refused','dropped')),"
    " rc TEXT, auth TEXT, balance INTEGER NOT NULL DEFAULT 0,"
    " has_balance INTEGER NOT NULL DEFAULT 0, vd TEXT,"
    " offline INTEGER NOT NULL DEFAULT 0, voided_by INTEGER NOT NULL DEFAULT 0,"
    " rev_mti TEXT, rev_stan INTEGER NOT NULL DEFAULT 0, rev_de7 TEXT,"
    " rev_sends INTEGER NOT NULL DEFAULT 0, rev_rc TEXT,"
    " adv_sends INTEGER NOT NULL DEFAULT 0, adv_rc TEXT,"
    " next_at INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, answered TEXT);"
    "CREATE INDEX txn_batch ON txn(batch);"
    "CREATE INDEX txn_state ON txn(state) WHERE state NOT IN ('done','reversed',"
    " 'refused','dropped');"
    "CREATE UNIQUE INDEX txn_rrn ON txn(rrn);"
    "CREATE VIEW counted AS SELECT * FROM txn WHERE state IN ('done','advice')"
    " AND rc IN ('00','10') AND kind <> 'balance';",
};
#define NMIGRATIONS (int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0])

/* SQLite's code -> gl_err (gl_sql_rc), but ENOSPC during a write surfaces
 * as an I/O error: GL_DB_FULL too. */
static int db_err(int src)
{
    if (src == SQLITE_IOERR_WRITE || src == SQLITE_IOERR_FSYNC) {
        return GL_DB_FULL;
    }
    return gl_sql_rc(src);
}

static int exec(struct term_journal *j, const char *sql)
{
    return db_err(sqlite3_exec(j->db, sql, NULL, NULL, NULL));
}

static int prep(struct term_journal *j, sqlite3_stmt **st, const char *sql)
{
    return db_err(sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                     st, NULL));
}

static int migrate(struct term_journal *j, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) !=
        SQLITE_OK) {
        return GL_DB;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (version > NMIGRATIONS) {
        snprintf(err, errlen, "journal schema version %d is newer than this "
                 "gl-term (%d)", version, NMIGRATIONS);
        return GL_DB;
    }
    for (; version < NMIGRATIONS; version++) {
        char sql[64];
        int rc = exec(j, "BEGIN IMMEDIATE");
        if (rc == GL_OK) {
            rc = exec(j, MIGRATIONS[version]);
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
        if (rc == GL_OK) {
            rc = exec(j, sql);
        }
        if (rc == GL_OK) {
            rc = exec(j, "COMMIT");
        }
        if (rc != GL_OK) {
            snprintf(err, errlen, "journal migration %d: %s", version + 1,
                     sqlite3_errmsg(j->db));
            exec(j, "ROLLBACK");
            return rc;
        }
    }
    return GL_OK;
}

int tj_open(struct term_journal *j, const char *path, char *err, size_t errlen)
{
    char sql[2048];
    size_t n;
    int rc;

    memset(j, 0, sizeof *j);
    snprintf(j->path, sizeof j->path, "%s", path);
    /* The journal holds keys and full numbers: owner only, from birth. */
    mode_t old = umask(077);
    int src = sqlite3_open_v2(path, &j->db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                  SQLITE_OPEN_NOMUTEX,
                              NULL);
    umask(old);
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "journal %s: %s", path,
                 j->db ? sqlite3_errmsg(j->db) : "out of memory");
        tj_close(j);
        return GL_DB;
    }
    sqlite3_busy_timeout(j->db, 5000);
    rc = exec(j, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                 " PRAGMA foreign_keys = ON; PRAGMA cache_size = -512;");
    if (rc == GL_OK) {
        rc = migrate(j, err, errlen);
    } else {
        snprintf(err, errlen, "journal %s: %s", path, sqlite3_errmsg(j->db));
    }
    if (rc != GL_OK) {
        tj_close(j);
        return rc;
    }
    /* insert and update statements from COLS */
    n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO txn (");
    for (size_t i = 0; i < NCOLS; i++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%s", i ? "," : "",
                              COLS[i].name);
    }
    n += (size_t)snprintf(sql + n, sizeof sql - n, ") VALUES (");
    for (size_t i = 0; i < NCOLS; i++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s?", i ? "," : "");
    }
    snprintf(sql + n, sizeof sql - n, ")");
    rc = prep(j, &j->st_ins, sql);
    if (rc == GL_OK) {
        n = (size_t)snprintf(sql, sizeof sql, "UPDATE txn SET ");
        for (size_t i = 0; i < NCOLS; i++) {
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s%s=?",
                                  i ? "," : "", COLS[i].name);
        }
        snprintf(sql + n, sizeof sql - n, " WHERE id=?");
        rc = prep(j, &j->st_upd, sql);
    }
    if (rc == GL_OK) {
        rc = prep(j, &j->st_meta_get, "SELECT v FROM meta WHERE k=?");
    }
    if (rc == GL_OK) {
        rc = prep(j, &j->st_meta_set,
                  "INSERT INTO meta(k,v) VALUES(?,?) ON CONFLICT(k) DO UPDATE"
                  " SET v=excluded.v");
    }
    if (rc != GL_OK) {
        snprintf(err, errlen, "journal %s: %s", path, sqlite3_errmsg(j->db));
        tj_close(j);
    }
    return rc;
}

void tj_close(struct term_journal *j)
{
    if (j->db == NULL) {
        return;
    }
    sqlite3_finalize(j->st_ins);
    sqlite3_finalize(j->st_upd);
    sqlite3_finalize(j->st_meta_get);
    sqlite3_finalize(j->st_meta_set);
    for (size_t i = 0; i < sizeof j->st_sel / sizeof j->st_sel[0]; i++) {
        sqlite3_finalize(j->st_sel[i]);
    }
    sqlite3_close(j->db);
    j->db = NULL;
}

int tj_begin(struct term_journal *j)
{
    return exec(j, "BEGIN IMMEDIATE");
}

int tj_commit(struct term_journal *j)
{
    int rc = exec(j, "COMMIT");
    if (rc != GL_OK) {
        tj_rollback(j);
    }
    return rc;
}

void tj_rollback(struct term_journal *j)
{
    if (!sqlite3_get_autocommit(j->db)) {
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

static int step_done(sqlite3_stmt *st)
{
    int src = sqlite3_step(st);
    int rc = src == SQLITE_DONE ? GL_OK : db_err(src);
    if (src == SQLITE_ROW) {
        rc = GL_DB;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int tj_meta_int(struct term_journal *j, const char *k, int64_t *v)
{
    sqlite3_stmt *st = j->st_meta_get;
    int rc = GL_ENOTFOUND;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = GL_OK;
    } else if (src != SQLITE_DONE) {
        rc = db_err(src);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int tj_meta_set_int(struct term_journal *j, const char *k, int64_t v)
{
    gl_sql_bind(j->st_meta_set, STORE_ARGS(STORE_T(k), STORE_I(v)));
    return step_done(j->st_meta_set);
}

int tj_meta_blob(struct term_journal *j, const char *k, void *buf, size_t cap,
                 size_t *len)
{
    sqlite3_stmt *st = j->st_meta_get;
    int rc = GL_ENOTFOUND;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        if (n > cap) {
            rc = GL_ENOSPC;
        } else {
            if (n > 0) {
                memcpy(buf, p, n);
            }
            *len = n;
            rc = GL_OK;
        }
    } else if (src != SQLITE_DONE) {
        rc = db_err(src);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int tj_meta_set_blob(struct term_journal *j, const char *k, const void *v,
                     size_t len)
{
    gl_sql_bind(j->st_meta_set, STORE_ARGS(STORE_T(k), STORE_B(v, len)));
    return step_done(j->st_meta_set);
}

static void bind_row(sqlite3_stmt *st, const struct term_txn *t)
{
    const char *base = (const char *)t;
    for (size_t i = 0; i < NCOLS; i++) {
        const struct col *c = &COLS[i];
        int k = (int)i + 1;
        switch (c->type) {
        case C_TEXT: {
            const char *s = base + c->off;
            if (s[0] == '\0') {
                sqlite3_bind_null(st, k);
            } else {
                sqlite3_bind_text(st, k, s, -1, SQLITE_STATIC);
            }
            break;
        }
        case C_INT:
            sqlite3_bind_int(st, k, *(const int *)(const void *)(base + c->off));
            break;
        default:
            sqlite3_bind_int64(st, k,
                               *(const int64_t *)(const void *)(base + c->off));
            break;
        }
    }
}

static void get_row(sqlite3_stmt *st, struct term_txn *t)
{
    char *base = (char *)t;
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    for (size_t i = 0; i < NCOLS; i++) {
        const struct col *c = &COLS[i];
        int k = (int)i + 1;
        switch (c->type) {
        case C_TEXT:
            gl_sql_copy_text(base + c->off, c->size, st, k);
            break;
        case C_INT:
            *(int *)(void *)(base + c->off) = sqlite3_column_int(st, k);
            break;
        default:
            *(int64_t *)(void *)(base + c->off) = sqlite3_column_int64(st, k);
            break;
        }
    }
}

int tj_txn_insert(struct term_journal *j, struct term_txn *t)
{
    bind_row(j->st_ins, t);
    int rc = step_done(j->st_ins);
    if (rc == GL_OK) {
        t->id = sqlite3_last_insert_rowid(j->db);
    }
    return rc;
}

int tj_txn_update(struct term_journal *j, const struct term_txn *t)
{
    bind_row(j->st_upd, t);
    sqlite3_bind_int64(j->st_upd, (int)NCOLS + 1, t->id);
    int rc = step_done(j->st_upd);
    if (rc == GL_OK && sqlite3_changes(j->db) != 1) {
        rc = GL_ENOTFOUND;
    }
    return rc;
}

/* Runs "SELECT id, <COLS> FROM txn <where>" with one optional text and one
 * optional integer parameter; the first row into t.  Each call site has its
 * own slot: the statement is prepared once and kept (no allocation per
 * transaction). */
static int select_one(struct term_journal *j, int slot, const char *where,
                      const char *text, int64_t num, int has_num,
                      struct term_txn *t)
{
    sqlite3_stmt *st = j->st_sel[slot];
    int rc = GL_ENOTFOUND, src;

    if (st == NULL) {
        char sql[1536];
        size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT id");
        for (size_t i = 0; i < NCOLS; i++) {
            n += (size_t)snprintf(sql + n, sizeof sql - n, ",%s",
                                  COLS[i].name);
        }
        snprintf(sql + n, sizeof sql - n, " FROM txn %s", where);
        rc = prep(j, &j->st_sel[slot], sql);
        if (rc != GL_OK) {
            return rc;
        }
        st = j->st_sel[slot];
        rc = GL_ENOTFOUND;
    }
    int k = 1;
    if (text != NULL) {
        sqlite3_bind_text(st, k++, text, -1, SQLITE_STATIC);
    }
    if (has_num) {
        sqlite3_bind_int64(st, k, num);
    }
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        get_row(st, t);
        rc = GL_OK;
    } else if (src != SQLITE_DONE) {
        rc = db_err(src);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int tj_txn_get(struct term_journal *j, int64_t id, struct term_txn *t)
{
    return select_one(j, 0, "WHERE id=?", NULL, id, 1, t);
}

int tj_txn_by_rrn(struct term_journal *j, const char *rrn, struct term_txn *t)
{
    return select_one(j, 1, "WHERE rrn=?", rrn, 0, 0, t);
}

int tj_txn_first_in(struct term_journal *j, const char *states,
                    struct term_txn *t)
{
    /* "+id": order after the partial index on state found the few rows
     * still owed, rather than walking the whole table in rowid order */
    return select_one(j, 2,
                      "WHERE state NOT IN ('done','reversed','refused',"
                      "'dropped') AND instr(','||?||',', ','||state||',') > 0"
                      " ORDER BY +id LIMIT 1",
                      states, 0, 0, t);
}

int tj_txn_last(struct term_journal *j, struct term_txn *t)
{
    return select_one(j, 3, "WHERE kind <> 'balance' ORDER BY id DESC LIMIT 1",
                      NULL, 0, 0, t);
}

int tj_count_state(struct term_journal *j, const char *state, int64_t *n)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(j->db, "SELECT count(*) FROM txn WHERE state=?",
                                 -1, &st, NULL);
    if (src != SQLITE_OK) {
        return db_err(src);
    }
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    *n = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return src == SQLITE_ROW ? GL_OK : db_err(src);
}

int tj_totals(struct term_journal *j, int bn, struct term_totals *tot)
{
    /* class: D debit, C credit; a void takes its original's class */
    static const char sql[] =
        "SELECT"
        " sum(c.kind IN ('redeem','cashout')),"
        " sum(CASE WHEN c.kind IN ('redeem','cashout') THEN c.approved END),"
        " sum(c.kind IN ('refund','activate','reload')),"
        " sum(CASE WHEN c.kind IN ('refund','activate','reload')"
        "     THEN c.approved END),"
        " sum(c.kind = 'void' AND o.kind IN ('redeem','cashout')),"
        " sum(CASE WHEN c.kind = 'void' AND o.kind IN ('redeem','cashout')"
        "     THEN c.amount END),"
        " sum(c.kind = 'void' AND o.kind IN ('refund','activate','reload')),"
        " sum(CASE WHEN c.kind = 'void' AND o.kind IN ('refund','activate',"
        "     'reload') THEN c.amount END)"
        " FROM counted c LEFT JOIN txn o ON o.id = c.orig_id WHERE c.batch=?";
    sqlite3_stmt *st;
    memset(tot, 0, sizeof *tot);
    int src = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        return db_err(src);
    }
    sqlite3_bind_int(st, 1, bn);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        tot->debits_n = sqlite3_column_int64(st, 0);
        tot->debits_amt = sqlite3_column_int64(st, 1);
        tot->credits_n = sqlite3_column_int64(st, 2);
        tot->credits_amt = sqlite3_column_int64(st, 3);
        tot->debits_rev_n = sqlite3_column_int64(st, 4);
        tot->debits_rev_amt = sqlite3_column_int64(st, 5);
        tot->credits_rev_n = sqlite3_column_int64(st, 6);
        tot->credits_rev_amt = sqlite3_column_int64(st, 7);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_ROW) {
        return db_err(src);
    }
    if (sqlite3_prepare_v2(j->db,
                           "SELECT count(*) FROM txn WHERE batch=? AND"
                           " kind='balance' AND state='done' AND rc='00'",
                           -1, &st, NULL) != SQLITE_OK) {
        return GL_DB;
    }
    sqlite3_bind_int(st, 1, bn);
    if (sqlite3_step(st) == SQLITE_ROW) {
        tot->inquiries_n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    tot->net = (tot->debits_amt - tot->debits_rev_amt) -
               (tot->credits_amt - tot->credits_rev_amt);
    return GL_OK;
}

int tj_each_counted(struct term_journal *j, int bn,
                    int (*fn)(void *ctx, const struct term_txn *t), void *ctx)
{
    char sql[1536];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT id");
    sqlite3_stmt *st;
    struct term_txn t;
    int rc = GL_OK, src;

    for (size_t i = 0; i < NCOLS; i++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, ",%s", COLS[i].name);
    }
    snprintf(sql + n, sizeof sql - n, " FROM counted WHERE batch=? ORDER BY id");
    src = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        return db_err(src);
    }
    sqlite3_bind_int(st, 1, bn);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        get_row(st, &t);
        rc = fn(ctx, &t);
        if (rc != 0) {
            break;
        }
    }
    if (rc == GL_OK && src != SQLITE_DONE) {
        rc = db_err(src);
    }
    sqlite3_finalize(st);
    return rc;
}
