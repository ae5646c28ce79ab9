/*
 * store.c - the backend-independent part of the storage interface: dispatch
 * through the ops table, and the transaction/savepoint discipline of one
 * operation inside or outside a group commit (see store.h).
 */
#include "store.h"

#include <assert.h>
#include <string.h>

#include "gl_err.h"

int store_open(struct store *st, const struct store_ops *ops,
               const struct store_config *cfg, const char *path)
{
    assert(st != NULL && path != NULL);
    memset(st, 0, sizeof *st);
    st->ops = ops != NULL ? ops : &store_sqlite_ops;
    if (cfg != NULL) {
        st->cfg = *cfg;
    }
    if (st->cfg.busy_timeout_ms <= 0) {
        st->cfg.busy_timeout_ms = 5000;
    }
    return st->ops->open(st, path);
}

void store_close(struct store *st)
{
    if (st == NULL || st->ops == NULL) {
        return;
    }
    st->ops->close(st);
    st->txn_depth = 0;
    st->txn_dead = 0;
}

int store_exec_sql(struct store *st, const char *sql)
{
    return st->ops->exec_sql(st, sql);
}

int store_query(struct store *st, enum store_q q, const struct store_val *a,
                size_t n, struct store_cursor *cur)
{
    assert(q >= 0 && q < STORE_Q__COUNT);
    return st->ops->query(st, q, a, n, cur);
}

int store_next(struct store_cursor *cur)
{
    return cur->st->ops->next(cur);
}

int64_t store_col_int(struct store_cursor *cur, int col)
{
    return cur->st->ops->col_int(cur, col);
}

const char *store_col_text(struct store_cursor *cur, int col)
{
    return cur->st->ops->col_text(cur, col);
}

const void *store_col_blob(struct store_cursor *cur, int col, size_t *len)
{
    return cur->st->ops->col_blob(cur, col, len);
}

int store_col_is_null(struct store_cursor *cur, int col)
{
    return cur->st->ops->col_is_null(cur, col);
}

void store_done(struct store_cursor *cur)
{
    if (cur->st != NULL && cur->stmt != NULL) {
        cur->st->ops->done(cur);
    }
    cur->stmt = NULL;
}

int store_exec(struct store *st, enum store_q q, const struct store_val *a,
               size_t n, int64_t *changes)
{
    struct store_cursor cur = {0};
    int rc = store_query(st, q, a, n, &cur);
    if (rc == GL_OK) {
        do {
            rc = store_next(&cur);
        } while (rc == 1);
        store_done(&cur);
    }
    if (changes != NULL) {
        *changes = rc == GL_OK ? st->ops->changes(st) : 0;
    }
    return rc;
}

int store_get_int(struct store *st, enum store_q q, const struct store_val *a,
                  size_t n, int64_t *out)
{
    struct store_cursor cur = {0};
    int rc = store_query(st, q, a, n, &cur);
    *out = 0;
    if (rc != GL_OK) {
        return rc;
    }
    rc = store_next(&cur);
    if (rc == 1) {
        *out = store_col_int(&cur, 0);
        rc = GL_OK;
    } else if (rc == 0) {
        rc = GL_ENOTFOUND;
    }
    store_done(&cur);
    return rc;
}

int store_txn_begin(struct store *st)
{
    assert(st->txn_depth == 0);
    int rc = store_exec(st, STORE_Q_BEGIN, NULL, 0, NULL);
    if (rc == GL_OK) {
        st->txn_depth = 1;
        st->txn_dead = 0;
    }
    return rc;
}

int store_txn_commit(struct store *st)
{
    int rc;
    assert(st->txn_depth == 1);
    if (st->txn_dead || !st->ops->in_txn(st)) {
        rc = GL_LEDGER_ABORTED;
        goto out;
    }
    rc = store_exec(st, STORE_Q_COMMIT, NULL, 0, NULL);
out:
    if (rc != GL_OK && st->ops->in_txn(st)) {
        (void)store_exec(st, STORE_Q_ROLLBACK, NULL, 0, NULL);
    }
    st->txn_depth = 0;
    st->txn_dead = 0;
    return rc;
}

void store_txn_rollback(struct store *st)
{
    if (st->ops->in_txn(st)) {
        (void)store_exec(st, STORE_Q_ROLLBACK, NULL, 0, NULL);
    }
    st->txn_depth = 0;
    st->txn_dead = 0;
}

int store_txn_active(const struct store *st)
{
    return st->txn_depth == 1;
}

int store_op_begin(struct store *st)
{
    if (st->txn_depth == 0) {
        return store_exec(st, STORE_Q_BEGIN, NULL, 0, NULL);
    }
    if (st->txn_dead || !st->ops->in_txn(st)) {
        st->txn_dead = 1;
        return GL_LEDGER_ABORTED;
    }
    return store_exec(st, STORE_Q_SAVEPOINT, NULL, 0, NULL);
}

int store_op_end(struct store *st, int rc)
{
    if (st->txn_depth == 0) {
        if (rc == GL_OK) {
            rc = store_exec(st, STORE_Q_COMMIT, NULL, 0, NULL);
        }
        if (rc != GL_OK && st->ops->in_txn(st)) {
            (void)store_exec(st, STORE_Q_ROLLBACK, NULL, 0, NULL);
        }
        return rc;
    }
    if (!st->ops->in_txn(st)) {
        /* The backend rolled the whole group back (e.g. a full disk). */
        st->txn_dead = 1;
        return GL_LEDGER_ABORTED;
    }
    if (rc == GL_OK) {
        rc = store_exec(st, STORE_Q_RELEASE, NULL, 0, NULL);
        if (rc == GL_OK) {
            return GL_OK;
        }
    }
    if (store_exec(st, STORE_Q_ROLLBACK_TO, NULL, 0, NULL) != GL_OK ||
        store_exec(st, STORE_Q_RELEASE, NULL, 0, NULL) != GL_OK ||
        !st->ops->in_txn(st)) {
        st->txn_dead = 1;
        return GL_LEDGER_ABORTED;
    }
    return rc;
}

const char *store_errmsg(const struct store *st)
{
    return st->errmsg;
}
