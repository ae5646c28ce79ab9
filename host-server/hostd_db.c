/*
 * hostd_db.c - the worker's resources and the host's own tables (see
 * hostd_int.h): request identities with their stored answers, reversals
 * that arrived before their original, phone wallet counters, uploads.
 */
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "gl_err.h"
#include "gl_log.h"
#include "gl_sql.h"
#include "hostd_int.h"

static const char hdb_schema[] =
    "CREATE TABLE IF NOT EXISTS hostd_txn ("
    "  tid TEXT NOT NULL, stan TEXT NOT NULL, de7 TEXT NOT NULL,"
    "  mti TEXT NOT NULL, digest TEXT NOT NULL, proc TEXT NOT NULL,"
    "  pan TEXT NOT NULL, req_amount INTEGER NOT NULL,"
    "  amount INTEGER NOT NULL, rc TEXT NOT NULL, op INTEGER NOT NULL,"
    "  pieces TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    "  refunded INTEGER NOT NULL DEFAULT 0, batch INTEGER NOT NULL,"
    "  bcls INTEGER NOT NULL, target TEXT NOT NULL, resp BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY (tid, stan, de7));"
    "CREATE INDEX IF NOT EXISTS hostd_txn_batch ON hostd_txn(tid, batch);"
    "CREATE TABLE IF NOT EXISTS hostd_early ("
    "  tid TEXT NOT NULL, stan TEXT NOT NULL, de7 TEXT NOT NULL,"
    "  created INTEGER NOT NULL, PRIMARY KEY (tid, stan, de7));"
    "CREATE TABLE IF NOT EXISTS hostd_atc ("
    "  number TEXT PRIMARY KEY, atc INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS hostd_upload ("
    "  tid TEXT NOT NULL, batch INTEGER NOT NULL, stan TEXT NOT NULL,"
    "  de7 TEXT NOT NULL, bcls INTEGER NOT NULL, amount INTEGER NOT NULL,"
    "  PRIMARY KEY (tid, batch, stan, de7));";

static const char *const hdb_sql[HDB__COUNT] = {
    /* ?1 cutoff, ?2 the window's first rowid - 1, ?3 its size */
    [HDB_TXN_PURGE] =
        "DELETE FROM hostd_txn WHERE rowid IN (SELECT t.rowid FROM hostd_txn t"
        " WHERE t.rowid > ?2 AND t.rowid <= ?2 + ?3 AND t.created < ?1"
        " AND t.batch != COALESCE((SELECT batch_no FROM terminal"
        " WHERE id = t.tid), -1))",
    /* when the first row after the window was stored; none: no row */
    [HDB_TXN_AFTER] = "SELECT created FROM hostd_txn WHERE rowid > ?1 + ?2"
                      " ORDER BY rowid LIMIT 1",
    [HDB_EARLY_PURGE] = "DELETE FROM hostd_early WHERE rowid IN (SELECT"
                        " rowid FROM hostd_early WHERE created < ?1"
                        " ORDER BY rowid LIMIT 64)",
    [HDB_TXN_GET] =
        "SELECT tid, stan, de7, mti, digest, proc, pan, req_amount, amount,"
        " rc, op, pieces, state, refunded, batch, bcls, target, resp, created"
        " FROM hostd_txn WHERE tid = ?1 AND stan = ?2 AND de7 = ?3",
    [HDB_TXN_PUT] =
        "INSERT INTO hostd_txn (tid, stan, de7, mti, digest, proc, pan,"
        " req_amount, amount, rc, op, pieces, state, refunded, batch, bcls,"
        " target, resp, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
        " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    [HDB_TXN_SET_STATE] = "UPDATE hostd_txn SET state = ?4 WHERE tid = ?1"
                          " AND stan = ?2 AND de7 = ?3",
    [HDB_TXN_ADD_REFUNDED] = "UPDATE hostd_txn SET refunded = refunded + ?4"
                             " WHERE tid = ?1 AND stan = ?2 AND de7 = ?3",
    [HDB_TXN_TOTALS] =
        "SELECT bcls, COUNT(*), SUM(amount) FROM hostd_txn"
        " WHERE tid = ?1 AND batch = ?2 AND rc IN ('00', '10')"
        " AND state != 1 AND bcls != 0 GROUP BY bcls",
    [HDB_EARLY_GET] = "SELECT 1 FROM hostd_early WHERE tid = ?1 AND stan = ?2"
                      " AND de7 = ?3",
    [HDB_EARLY_PUT] = "INSERT OR IGNORE INTO hostd_early (tid, stan, de7,"
                      " created) VALUES (?1, ?2, ?3, ?4)",
    [HDB_ATC_GET] = "SELECT atc FROM hostd_atc WHERE number = ?1",
    [HDB_ATC_PUT] = "INSERT OR REPLACE INTO hostd_atc (number, atc)"
                    " VALUES (?1, ?2)",
    [HDB_UPLOAD_PUT] = "INSERT OR REPLACE INTO hostd_upload (tid, batch,"
                       " stan, de7, bcls, amount) VALUES (?1, ?2, ?3, ?4,"
                       " ?5, ?6)",
    [HDB_UPLOAD_TOTALS] = "SELECT bcls, COUNT(*), SUM(amount) FROM"
                          " hostd_upload WHERE tid = ?1 AND batch = ?2"
                          " AND bcls != 0 GROUP BY bcls",
    [HDB_SAVEPOINT] = "SAVEPOINT hreq",
    [HDB_RELEASE] = "RELEASE hreq",
    [HDB_ROLLBACK_TO] = "ROLLBACK TO hreq",
};

static sqlite3 *hdb(struct hostd_worker *w)
{
    return (sqlite3 *)w->st.db;
}

/* rc, with SQLite's text logged when it is an unexpected failure. */
static int hdb_logged(struct hostd_worker *w, int rc)
{
    if (rc == GL_DB) {
        GL_LOG_ERR("hostd", "loop %d: sqlite: %s", w->id, w->sql.errmsg);
    }
    return rc;
}

/* The error of the step that just failed. */
static int hdb_err(struct hostd_worker *w)
{
    return hdb_logged(w, gl_sql_last_err(&w->sql));
}

/* Runs q (no rows). */
static int hdb_exec(struct hostd_worker *w, int q, const struct store_val *a,
                    size_t n)
{
    return hdb_logged(w, gl_sql_exec(&w->sql, q, a, n, NULL));
}

static int hdb_read_file(const char *path, uint8_t *buf, size_t cap,
                         size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return GL_EIO;
    }
    *len = fread(buf, 1, cap, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    return more ? GL_ERANGE : GL_OK;
}

/* Hex key file (glctl pki bdk): want bytes, whitespace at the end. */
static int hdb_read_hex_key(const char *path, uint8_t *key, size_t want)
{
    char text[160];
    size_t n = 0;
    int rc = hdb_read_file(path, (uint8_t *)text, sizeof text - 1, &n);
    if (rc != GL_OK) {
        return rc;
    }
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
                     text[n - 1] == ' ')) {
        n--;
    }
    rc = n == 2 * want ? crypto_hex_decode(text, n, key, want) : GL_EINVAL;
    crypto_wipe(text, sizeof text);
    return rc;
}

int hostd_worker_init(struct hostd_worker *w, const struct hostd_config *cfg,
                      int id, char *err)
{
    uint8_t pin_key[REGISTRY_PIN_KEY_MAX + 1];
    size_t pin_len = 0;
    enum crypto_key_type kt = CRYPTO_KEY_AES128;
    struct registry_config rcfg;
    int rc;

    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    w->id = id;
    err[0] = '\0';
    w->rl_term = calloc(1, sizeof *w->rl_term);
    w->rl_voucher = calloc(1, sizeof *w->rl_voucher);
    if (w->rl_term == NULL || w->rl_voucher == NULL ||
        hostd_proc_scratch_init(w) != GL_OK) {
        rc = GL_ENOMEM;
        goto out;
    }
    (void)crypto_key_type_parse(cfg->bdk_type, &kt);
    w->bdk.type = kt;
    rc = hdb_read_hex_key(cfg->bdk_file, w->bdk.key, crypto_key_len(kt));
    if (rc != GL_OK) {
        snprintf(err, 256, "BDK file %.200s: not %zu bytes of hex (%s)",
                 cfg->bdk_file, crypto_key_len(kt), gl_strerror(rc));
        rc = GL_ECONFIG;
        goto out;
    }
    if (cfg->imk_file[0] != '\0') {
        rc = hdb_read_hex_key(cfg->imk_file, w->imk, sizeof w->imk);
        if (rc != GL_OK) {
            snprintf(err, 256, "IMK file %.200s: not 16 bytes of hex",
                     cfg->imk_file);
            rc = GL_ECONFIG;
            goto out;
        }
        w->have_imk = 1;
    }
    memset(&rcfg, 0, sizeof rcfg);
    if (cfg->pin_key_file[0] != '\0') {
        rc = hdb_read_file(cfg->pin_key_file, pin_key, sizeof pin_key,
                           &pin_len);
        if (rc != GL_OK || pin_len < 16 || pin_len > REGISTRY_PIN_KEY_MAX) {
            snprintf(err, 256, "PIN key file %.200s: need 16..%d bytes",
                     cfg->pin_key_file, REGISTRY_PIN_KEY_MAX);
            rc = GL_ECONFIG;
            goto out;
        }
        rcfg.pin_key = pin_key;
        rcfg.pin_key_len = pin_len;
    }
    rc = store_open(&w->st, NULL, NULL, cfg->db_path);
    if (rc != GL_OK) {
        snprintf(err, 256, "database %.100s: %s (%.80s)", cfg->db_path,
                 gl_strerror(rc), store_errmsg(&w->st));
        goto out;
    }
    w->store_open = 1;
    if (w->st.ops != &store_sqlite_ops) {
        snprintf(err, 256, "the host's tables need the SQLite store");
        rc = GL_ENOTSUP;
        goto out;
    }
    /*
     * synchronous=NORMAL: a COMMIT writes its WAL frames without fsync; the
     * loop does not answer before the sync thread's fdatasync of the WAL
     * has covered the commit (hostd_loop.c).  Checkpoints still sync the
     * WAL before copying and the database after.  temp_store=MEMORY keeps
     * the savepoints' statement journals in memory (they spilled to a
     * temporary file past 64 KiB, a write per page).
     */
    if (sqlite3_exec(hdb(w), "PRAGMA synchronous = NORMAL;"
                     " PRAGMA temp_store = MEMORY", NULL, NULL,
                     NULL) != SQLITE_OK) {
        snprintf(err, 256, "database %.100s: synchronous: %.100s",
                 cfg->db_path, sqlite3_errmsg(hdb(w)));
        rc = GL_DB;
        goto out;
    }
    rc = ledger_init(&w->lg, &w->st, NULL);
    if (rc != GL_OK) {
        goto out;
    }
    w->ledger_ready = 1;
    rc = registry_init(&w->reg, &w->lg, &rcfg);
    w->reg_ready = 1;
    if (rc != GL_OK) {
        snprintf(err, 256, "registry: %s", gl_strerror(rc));
        goto out;
    }
    rc = hostd_db_init(w, err);
    if (rc != GL_OK) {
        goto out;
    }
    rc = ledger_account_ensure(&w->lg, LEDGER_ACC_CASHOUT, "", 0,
                               &w->cashout_acct);
    if (rc == GL_OK) {
        rc = ledger_account_ensure(&w->lg, LEDGER_ACC_CLEARING,
                                   LEDGER_CH_COUNTER_CASH, 0, &w->cash_acct);
    }
    if (rc != GL_OK) {
        snprintf(err, 256, "ledger accounts: %s", gl_strerror(rc));
    }
out:
    crypto_wipe(pin_key, sizeof pin_key);
    return rc;
}

void hostd_worker_deinit(struct hostd_worker *w)
{
    hostd_proc_scratch_free(w);
    hostd_db_deinit(w);
    if (w->reg_ready) {
        registry_deinit(&w->reg);
    }
    if (w->ledger_ready) {
        ledger_deinit(&w->lg);
    }
    if (w->store_open) {
        store_close(&w->st);
    }
    free(w->rl_term);
    free(w->rl_voucher);
    crypto_wipe(&w->bdk, sizeof w->bdk);
    crypto_wipe(w->imk, sizeof w->imk);
    memset(w, 0, sizeof *w);
}

int hostd_db_init(struct hostd_worker *w, char *err)
{
    _Static_assert(HDB__COUNT <= GL_SQL_STMT_MAX,
                   "room for hostd's statements");
    int rc =
        gl_sql_open(&w->sql, hdb(w), "host", hdb_schema, hdb_sql, HDB__COUNT);
    if (rc != GL_OK) {
        snprintf(err, 256, "%.200s (%s)", w->sql.errmsg, gl_strerror(rc));
    }
    return rc;
}

void hostd_db_deinit(struct hostd_worker *w)
{
    gl_sql_close(&w->sql);
}

int hostd_db_wal_path(struct hostd_worker *w, char *out, size_t cap)
{
    const char *db = sqlite3_db_filename(hdb(w), "main");
    const char *wal = db != NULL ? sqlite3_filename_wal(db) : NULL;
    if (wal == NULL || wal[0] == '\0' ||
        (size_t)snprintf(out, cap, "%s", wal) >= cap) {
        return GL_ENOTFOUND;
    }
    return GL_OK;
}

int hostd_db_savepoint(struct hostd_worker *w, int q)
{
    return hdb_exec(w, q, NULL, 0);
}

int hostd_db_txn_get(struct hostd_worker *w, const char *tid,
                     const char *stan, const char *de7, struct hostd_txn *t)
{
    sqlite3_stmt *s =
        gl_sql_stmt(&w->sql, HDB_TXN_GET,
                    STORE_ARGS(STORE_T(tid), STORE_T(stan), STORE_T(de7)));
    int src, rc;
    src = sqlite3_step(s);
    if (src == SQLITE_DONE) {
        rc = GL_ENOTFOUND;
    } else if (src != SQLITE_ROW) {
        rc = hdb_err(w);
    } else {
        memset(t, 0, offsetof(struct hostd_txn, resp));
        gl_sql_copy_text(t->tid, sizeof t->tid, s, 0);
        gl_sql_copy_text(t->stan, sizeof t->stan, s, 1);
        gl_sql_copy_text(t->de7, sizeof t->de7, s, 2);
        gl_sql_copy_text(t->mti, sizeof t->mti, s, 3);
        gl_sql_copy_text(t->digest, sizeof t->digest, s, 4);
        gl_sql_copy_text(t->proc, sizeof t->proc, s, 5);
        gl_sql_copy_text(t->pan, sizeof t->pan, s, 6);
        t->req_amount = sqlite3_column_int64(s, 7);
        t->amount = sqlite3_column_int64(s, 8);
        gl_sql_copy_text(t->rc, sizeof t->rc, s, 9);
        t->op = sqlite3_column_int(s, 10);
        gl_sql_copy_text(t->pieces, sizeof t->pieces, s, 11);
        t->state = sqlite3_column_int(s, 12);
        t->refunded = sqlite3_column_int64(s, 13);
        t->batch = sqlite3_column_int64(s, 14);
        t->bcls = sqlite3_column_int(s, 15);
        gl_sql_copy_text(t->target, sizeof t->target, s, 16);
        size_t n = (size_t)sqlite3_column_bytes(s, 17);
        const void *b = sqlite3_column_blob(s, 17);
        if (n > sizeof t->resp) {
            n = 0;
        }
        if (b != NULL) {
            memcpy(t->resp, b, n);
        }
        t->resp_len = b != NULL ? n : 0;
        t->created = sqlite3_column_int64(s, 18);
        rc = GL_OK;
    }
    sqlite3_reset(s);
    return rc;
}

/*
 * One window of the sweep, in the caller's transaction: answers older
 * than HOSTD_ANSWER_DAYS in rowids (purge_from, purge_from + window], but
 * those of a terminal's open batch (its close still counts them).  The
 * window moves on once the row after it is old too; a failure only logs
 * (the answer being stored matters, the sweep comes again).
 */
static void hdb_sweep(struct hostd_worker *w, int64_t now)
{
    int64_t cutoff = now - (int64_t)HOSTD_ANSWER_DAYS * 86400, after = 0;
    int rc = gl_sql_exec(&w->sql, HDB_TXN_PURGE,
                         STORE_ARGS(STORE_I(cutoff), STORE_I(w->purge_from),
                                    STORE_I(HOSTD_PURGE_WINDOW)),
                         NULL);
    if (rc == GL_OK) {
        rc = gl_sql_exec(&w->sql, HDB_EARLY_PURGE,
                         STORE_ARGS(STORE_I(cutoff)), NULL);
    }
    if (rc == GL_OK) {
        rc = gl_sql_get_int(&w->sql, HDB_TXN_AFTER,
                            STORE_ARGS(STORE_I(w->purge_from),
                                       STORE_I(HOSTD_PURGE_WINDOW)),
                            &after);
        if (rc == GL_OK && after < cutoff) {
            w->purge_from += HOSTD_PURGE_WINDOW;
        }
        rc = rc == GL_ENOTFOUND ? GL_OK : rc;
    }
    if (rc != GL_OK) {
        GL_LOG_WARN("hostd", "sweep of old answers: %s (%.150s)",
                    gl_strerror(rc), w->sql.errmsg);
    }
}

int hostd_db_txn_put(struct hostd_worker *w, const struct hostd_txn *t)
{
    if (++w->puts % HOSTD_PURGE_EVERY == 0) {
        hdb_sweep(w, t->created);
    }
    return hdb_exec(
        w, HDB_TXN_PUT,
        STORE_ARGS(STORE_T(t->tid), STORE_T(t->stan), STORE_T(t->de7),
                   STORE_T(t->mti), STORE_T(t->digest), STORE_T(t->proc),
                   STORE_T(t->pan), STORE_I(t->req_amount), STORE_I(t->amount),
                   STORE_T(t->rc), STORE_I(t->op), STORE_T(t->pieces),
                   STORE_I(t->state), STORE_I(t->refunded), STORE_I(t->batch),
                   STORE_I(t->bcls), STORE_T(t->target),
                   STORE_B(t->resp, t->resp_len), STORE_I(t->created)));
}

static int hdb_key4(struct hostd_worker *w, int q, const char *tid,
                    const char *stan, const char *de7, int64_t v)
{
    return hdb_exec(
        w, q,
        STORE_ARGS(STORE_T(tid), STORE_T(stan), STORE_T(de7), STORE_I(v)));
}

int hostd_db_txn_set_state(struct hostd_worker *w, const char *tid,
                           const char *stan, const char *de7, int state)
{
    return hdb_key4(w, HDB_TXN_SET_STATE, tid, stan, de7, state);
}

int hostd_db_txn_add_refunded(struct hostd_worker *w, const char *tid,
                              const char *stan, const char *de7,
                              int64_t amount)
{
    return hdb_key4(w, HDB_TXN_ADD_REFUNDED, tid, stan, de7, amount);
}

int hostd_db_totals(struct hostd_worker *w, int q, const char *tid,
                    int64_t batch, int64_t cnt[5], int64_t sum[5])
{
    sqlite3_stmt *s =
        gl_sql_stmt(&w->sql, q, STORE_ARGS(STORE_T(tid), STORE_I(batch)));
    int src, rc = GL_OK;
    for (int i = 0; i < 5; i++) {
        cnt[i] = sum[i] = 0;
    }
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        int c = sqlite3_column_int(s, 0);
        if (c > 0 && c < 5) {
            cnt[c] = sqlite3_column_int64(s, 1);
            sum[c] = sqlite3_column_int64(s, 2);
        }
    }
    if (src != SQLITE_DONE) {
        rc = hdb_err(w);
    }
    sqlite3_reset(s);
    return rc;
}

int hostd_db_early_get(struct hostd_worker *w, const char *tid,
                       const char *stan, const char *de7)
{
    sqlite3_stmt *s =
        gl_sql_stmt(&w->sql, HDB_EARLY_GET,
                    STORE_ARGS(STORE_T(tid), STORE_T(stan), STORE_T(de7)));
    int src = sqlite3_step(s);
    int rc = src == SQLITE_ROW ? 1 : src == SQLITE_DONE ? 0 : hdb_err(w);
    sqlite3_reset(s);
    return rc;
}

int hostd_db_early_put(struct hostd_worker *w, const char *tid,
                       const char *stan, const char *de7, int64_t now)
{
    return hdb_key4(w, HDB_EARLY_PUT, tid, stan, de7, now);
}

int64_t hostd_db_atc_get(struct hostd_worker *w, const char *number)
{
    int64_t v = 0;
    int rc =
        gl_sql_get_int(&w->sql, HDB_ATC_GET, STORE_ARGS(STORE_T(number)), &v);
    return rc == GL_OK || rc == GL_ENOTFOUND ? v : hdb_logged(w, rc);
}

int hostd_db_atc_put(struct hostd_worker *w, const char *number, int64_t atc)
{
    return hdb_exec(w, HDB_ATC_PUT, STORE_ARGS(STORE_T(number), STORE_I(atc)));
}

int hostd_db_upload_put(struct hostd_worker *w, const char *tid,
                        int64_t batch, const char *stan, const char *de7,
                        int bcls, int64_t amount)
{
    return hdb_exec(w, HDB_UPLOAD_PUT,
                    STORE_ARGS(STORE_T(tid), STORE_I(batch), STORE_T(stan),
                               STORE_T(de7), STORE_I(bcls), STORE_I(amount)));
}

int hostd_batch_begin(struct hostd_worker *w)
{
    return ledger_batch_begin(&w->lg);
}

int hostd_batch_commit(struct hostd_worker *w)
{
    return ledger_batch_commit(&w->lg);
}

void hostd_batch_rollback(struct hostd_worker *w)
{
    ledger_batch_rollback(&w->lg);
}

void hostd_expire_holds(struct hostd_worker *w)
{
    int64_t now = ledger_now(&w->lg);
    int n = 0;
    if (now == w->last_expire) {
        return;
    }
    w->last_expire = now;
    if (ledger_holds_expire(&w->lg, now, &n) == GL_OK && n > 0) {
        GL_LOG_INFO("hostd", "loop %d: %d expired hold(s) released", w->id,
                    n);
    }
}
